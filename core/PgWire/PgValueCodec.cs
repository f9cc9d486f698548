using System;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Kernel.Expr;
using Kernel.Expr.Text;
using Kernel.Persist.Data;

namespace Kernel.PgWire;

/// <summary>
/// Datum ↔ wire value, in PostgreSQL's text format (through <see cref="DatumText"/>) and binary format (the
/// <c>typsend</c>/<c>typreceive</c> forms: bool 1 byte; int2/int4/int8 and float8 big-endian; numeric base-10000
/// with weight, sign and display scale; text UTF-8; date int32 days and timestamp int64 microseconds since
/// 2000-01-01).
/// </summary>
/// <remarks>
/// Decoding is input from clients: every failure is a <see cref="PgError"/> with a SQLSTATE (22P02 and friends from
/// the text parser; 22P03 for malformed binary, as PostgreSQL does; 22003/22008 for values out of range; 22021 for
/// bad UTF-8). Encoding takes values the session produced, so a datum of the wrong kind is a bug and throws.
/// </remarks>
public static class PgValueCodec
{
    public const short TextFormat = 0;
    public const short BinaryFormat = 1;

    /// <summary>Days from 1970-01-01 (the datum epoch) to 2000-01-01 (PostgreSQL's).</summary>
    public const long PgEpochDays = 10_957;

    /// <summary>Microseconds from 1970-01-01 to 2000-01-01.</summary>
    public const long PgEpochMicros = PgEpochDays * 86_400_000_000L;

    private const ushort NumericPositive = 0x0000;
    private const ushort NumericNegative = 0x4000;
    private const ushort NumericNaN = 0xC000;
    private const int NumericDisplayScaleMax = 0x3FFF;

    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Writes <paramref name="value"/> (not NULL) of <paramref name="type"/> in <paramref name="format"/>, without a length.</summary>
    public static void Encode(Datum value, SqlType type, short format, PgBackendWriter writer)
    {
        if (value.IsNull)
        {
            throw new ArgumentException("NULL has no wire form; write length -1 instead", nameof(value));
        }
        if (format == TextFormat || type.Kind == SqlTypeKind.Unknown)
        {
            writer.WriteUtf8(type.Kind == SqlTypeKind.Unknown && value.Kind == DatumKind.String ? value.AsString : DatumText.Format(value, type));
            return;
        }
        switch (type.Kind)
        {
            case SqlTypeKind.Bool:
                writer.WriteByte(value.AsBool ? (byte)1 : (byte)0);
                break;
            case SqlTypeKind.Int16:
                writer.WriteInt16(checked((short)value.AsInt64));
                break;
            case SqlTypeKind.Int32:
                writer.WriteInt32(checked((int)value.AsInt64));
                break;
            case SqlTypeKind.Int64:
                writer.WriteInt64(value.AsInt64);
                break;
            case SqlTypeKind.Float64:
                writer.WriteInt64(BitConverter.DoubleToInt64Bits(value.AsFloat64));
                break;
            case SqlTypeKind.Numeric:
                WriteNumeric(value.AsDecimal, writer);
                break;
            case SqlTypeKind.Text:
            case SqlTypeKind.Varchar:
                writer.WriteUtf8(value.AsString);
                break;
            case SqlTypeKind.Date:
                writer.WriteInt32(checked((int)(value.AsDate - PgEpochDays)));
                break;
            case SqlTypeKind.Timestamp:
                writer.WriteInt64(checked(value.AsTimestamp - PgEpochMicros));
                break;
            default:
                throw new InvalidOperationException($"no binary form for {type}");
        }
    }

    /// <summary>The wire bytes of one value (tests and COPY use this; rows are written in place by <see cref="Encode"/>).</summary>
    public static byte[] EncodeToArray(Datum value, SqlType type, short format)
    {
        var writer = new PgBackendWriter();
        Encode(value, type, format, writer);
        return writer.Buffered.ToArray();
    }

    /// <summary>
    /// Decodes a non-NULL parameter value of <paramref name="type"/>. A parameter of type
    /// <see cref="SqlType.Unknown"/> is its text as a string (in either format).
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<byte> bytes, SqlType type, short format, out Datum value, out PgError? error)
    {
        value = Datum.Null;
        error = null;
        if (format != TextFormat && format != BinaryFormat)
        {
            error = new PgError("08P01", $"unsupported format code: {format}");
            return false;
        }
        if (format == TextFormat || type.Kind == SqlTypeKind.Unknown)
        {
            if (!TryUtf8(bytes, out string text, out error))
            {
                return false;
            }
            if (type.Kind == SqlTypeKind.Unknown)
            {
                value = Datum.FromString(text);
                return true;
            }
            if (!DatumText.TryParse(text, type, out value, out EvalError? parseError))
            {
                error = new PgError(parseError.SqlState, parseError.Message);
                return false;
            }
            return true;
        }
        return TryDecodeBinary(bytes, type, out value, out error);
    }

    private static bool TryDecodeBinary(ReadOnlySpan<byte> bytes, SqlType type, out Datum value, out PgError? error)
    {
        value = Datum.Null;
        error = null;
        int fixedBytes = type.PgSize;
        if (fixedBytes > 0 && bytes.Length != fixedBytes)
        {
            error = BadBinary(type, $"expected {fixedBytes} bytes, got {bytes.Length}");
            return false;
        }
        switch (type.Kind)
        {
            case SqlTypeKind.Bool:
                if (bytes[0] > 1)
                {
                    error = BadBinary(type, $"invalid boolean byte {bytes[0]}");
                    return false;
                }
                value = Datum.FromBool(bytes[0] == 1);
                return true;
            case SqlTypeKind.Int16:
                value = Datum.FromInt64(BinaryPrimitives.ReadInt16BigEndian(bytes));
                return true;
            case SqlTypeKind.Int32:
                value = Datum.FromInt64(BinaryPrimitives.ReadInt32BigEndian(bytes));
                return true;
            case SqlTypeKind.Int64:
                value = Datum.FromInt64(BinaryPrimitives.ReadInt64BigEndian(bytes));
                return true;
            case SqlTypeKind.Float64:
                value = Datum.FromFloat64(BinaryPrimitives.ReadDoubleBigEndian(bytes));
                return true;
            case SqlTypeKind.Numeric:
                return TryReadNumeric(bytes, out value, out error);
            case SqlTypeKind.Text:
            case SqlTypeKind.Varchar:
                if (!TryUtf8(bytes, out string text, out error))
                {
                    return false;
                }
                value = Datum.FromString(text);
                return true;
            case SqlTypeKind.Date:
            {
                int days = BinaryPrimitives.ReadInt32BigEndian(bytes);
                if (days is int.MaxValue or int.MinValue)
                {
                    error = new PgError("22008", "date out of range: infinite dates are not supported");
                    return false;
                }
                value = Datum.FromDate(days + PgEpochDays);
                return true;
            }
            case SqlTypeKind.Timestamp:
            {
                long micros = BinaryPrimitives.ReadInt64BigEndian(bytes);
                if (micros is long.MaxValue or long.MinValue || micros > long.MaxValue - PgEpochMicros)
                {
                    error = new PgError("22008", "timestamp out of range: infinite timestamps are not supported");
                    return false;
                }
                value = Datum.FromTimestamp(micros + PgEpochMicros);
                return true;
            }
            default:
                error = new PgError("0A000", $"binary format is not supported for type {type}");
                return false;
        }
    }

    /// <summary>PostgreSQL's numeric send form: ndigits, weight, sign, dscale (int16 each), then base-10000 digits.</summary>
    public static void WriteNumeric(decimal value, PgBackendWriter writer)
    {
        string text = Math.Abs(value).ToString(CultureInfo.InvariantCulture);
        int point = text.IndexOf('.', StringComparison.Ordinal);
        string integer = point < 0 ? text : text[..point];
        string fraction = point < 0 ? "" : text[(point + 1)..];
        int scale = fraction.Length;
        integer = integer.TrimStart('0');
        // Align both parts to groups of four decimal digits around the point.
        integer = new string('0', (4 - integer.Length % 4) % 4) + integer;
        fraction += new string('0', (4 - fraction.Length % 4) % 4);
        string digits = integer + fraction;
        int groups = digits.Length / 4;
        int weight = integer.Length / 4 - 1;
        int first = 0;
        while (first < groups && digits.AsSpan(first * 4, 4).SequenceEqual("0000"))
        {
            first++;
        }
        int last = groups;
        while (last > first && digits.AsSpan((last - 1) * 4, 4).SequenceEqual("0000"))
        {
            last--;
        }
        if (first == last)
        {
            // Zero: no digits, weight 0, positive, whatever the scale.
            writer.WriteInt16(0);
            writer.WriteInt16(0);
            writer.WriteInt16((short)NumericPositive);
            writer.WriteInt16((short)scale);
            return;
        }
        writer.WriteInt16((short)(last - first));
        writer.WriteInt16((short)(weight - first));
        writer.WriteInt16((short)(value < 0 ? NumericNegative : NumericPositive));
        writer.WriteInt16((short)scale);
        for (int g = first; g < last; g++)
        {
            writer.WriteInt16(short.Parse(digits.AsSpan(g * 4, 4), NumberStyles.None, CultureInfo.InvariantCulture));
        }
    }

    private static bool TryReadNumeric(ReadOnlySpan<byte> bytes, out Datum value, out PgError? error)
    {
        value = Datum.Null;
        error = null;
        SqlType type = SqlType.Numeric;
        if (bytes.Length < 8)
        {
            error = BadBinary(type, "shorter than its header");
            return false;
        }
        int count = BinaryPrimitives.ReadInt16BigEndian(bytes);
        int weight = BinaryPrimitives.ReadInt16BigEndian(bytes[2..]);
        ushort sign = BinaryPrimitives.ReadUInt16BigEndian(bytes[4..]);
        int scale = BinaryPrimitives.ReadInt16BigEndian(bytes[6..]);
        if (count < 0 || bytes.Length != 8 + 2 * count)
        {
            error = BadBinary(type, $"{count} digits do not match {bytes.Length} bytes");
            return false;
        }
        if (sign == NumericNaN || sign >= 0xD000)
        {
            error = new PgError("22P03", "NaN and infinite numeric values are not supported");
            return false;
        }
        if (sign is not (NumericPositive or NumericNegative))
        {
            error = BadBinary(type, "invalid sign");
            return false;
        }
        if (scale is < 0 or > NumericDisplayScaleMax)
        {
            error = BadBinary(type, "invalid scale");
            return false;
        }
        // Each base-10000 digit is four decimal digits; digit i stands for 10000^(weight - i).
        var integer = new StringBuilder();
        var fraction = new StringBuilder();
        for (int i = 0; i < count; i++)
        {
            int digit = BinaryPrimitives.ReadInt16BigEndian(bytes[(8 + 2 * i)..]);
            if (digit is < 0 or > 9999)
            {
                error = BadBinary(type, "invalid digit");
                return false;
            }
            string four = digit.ToString("D4", CultureInfo.InvariantCulture);
            int power = weight - i;
            if (power >= 0)
            {
                integer.Append(four);
            }
            else
            {
                if (fraction.Length == 0)
                {
                    fraction.Append('0', 4 * (-power - 1)); // groups of zeros between the point and the first digit
                }
                fraction.Append(four);
            }
            if (integer.Length > 40)
            {
                error = new PgError("22003", "numeric value out of range: more than 28 significant digits before the point");
                return false;
            }
        }
        if (count > 0 && weight >= count)
        {
            integer.Append('0', 4 * (weight - count + 1)); // trailing zero groups before the point
            if (integer.Length > 40)
            {
                error = new PgError("22003", "numeric value out of range: more than 28 significant digits before the point");
                return false;
            }
        }
        // The display scale decides the digits after the point: pad with zeros, or cut (PostgreSQL sends no more).
        int kept = Math.Min(scale, 28);
        string fractionText = fraction.Length >= kept ? fraction.ToString(0, kept) : fraction.ToString().PadRight(kept, '0');
        string text = (sign == NumericNegative ? "-" : "") + (integer.Length == 0 ? "0" : integer.ToString()) + (kept > 0 ? "." + fractionText : "");
        if (!decimal.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal parsed))
        {
            error = new PgError("22003", "numeric value out of range for the kernel's numeric (28 significant digits)");
            return false;
        }
        value = Datum.FromDecimal(parsed);
        return true;
    }

    private static bool TryUtf8(ReadOnlySpan<byte> bytes, out string text, out PgError? error)
    {
        try
        {
            text = s_strictUtf8.GetString(bytes);
            error = null;
            return true;
        }
        catch (DecoderFallbackException)
        {
            text = "";
            error = new PgError("22021", "invalid byte sequence for encoding \"UTF8\"");
            return false;
        }
    }

    private static PgError BadBinary(SqlType type, string why) =>
        new("22P03", $"incorrect binary data format for type {type.Name}: {why}");
}
