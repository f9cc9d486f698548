using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Text;
using System.Text.Unicode;
using Google.Protobuf;
using Kernel.Net.Proto;
using Kernel.Persist.Data;

namespace Kernel.Net.Compute;

/// <summary>
/// Rows to and from the packed <c>ProtoRows</c> form: one kind byte per datum and one packed array per value
/// representation, so a batch of rows costs a handful of arrays instead of a message per value.
/// </summary>
/// <remarks>
/// Encoding is exact: doubles travel as their 64 bits (negative zero and NaN payloads included), decimals as
/// their four <see cref="decimal.GetBits(decimal)"/> words (scale and sign of zero included), strings as strict
/// UTF-8, or as UTF-16LE under <see cref="Utf16StringKind"/> when the string is not well-formed UTF-16 (a lone
/// surrogate), which UTF-8 cannot carry. Decoding checks every count and value and reports the first problem.
/// </remarks>
internal static class RowPacking
{
    /// <summary>The wire kind of a string carried as UTF-16LE code units.</summary>
    public const byte Utf16StringKind = 0x80 | (byte)DatumKind.String;

    /// <summary>Packs rows as they are added; <see cref="Finish"/> hands the message over.</summary>
    public sealed class Writer
    {
        private readonly ProtoRows _proto = new();
        private byte[] _kinds;
        private int _kindCount;

        /// <param name="datumCountHint">The total number of datums expected, so the kind array is allocated once.</param>
        public Writer(int datumCountHint)
        {
            _kinds = datumCountHint == 0 ? [] : new byte[datumCountHint];
        }

        public void Add(Row row)
        {
            ReadOnlySpan<Datum> datums = row.Datums;
            _proto.Arities.Add((uint)datums.Length);
            if (_kindCount + datums.Length > _kinds.Length)
            {
                Array.Resize(ref _kinds, Math.Max(_kindCount + datums.Length, _kinds.Length * 2));
            }
            foreach (Datum datum in datums)
            {
                AddDatum(datum);
            }
        }

        public ProtoRows Finish()
        {
            _proto.Kinds = UnsafeByteOperations.UnsafeWrap(_kinds.AsMemory(0, _kindCount));
            return _proto;
        }

        private void AddDatum(Datum datum)
        {
            byte kind = (byte)datum.Kind;
            switch (datum.Kind)
            {
                case DatumKind.Null:
                    break;
                case DatumKind.Bool:
                    _proto.Fixed.Add(datum.AsBool ? 1UL : 0UL);
                    break;
                case DatumKind.Int64:
                    _proto.Fixed.Add((ulong)datum.AsInt64);
                    break;
                case DatumKind.Float64:
                    _proto.Fixed.Add((ulong)BitConverter.DoubleToInt64Bits(datum.AsFloat64));
                    break;
                case DatumKind.Date:
                    _proto.Fixed.Add((ulong)datum.AsDate);
                    break;
                case DatumKind.Timestamp:
                    _proto.Fixed.Add((ulong)datum.AsTimestamp);
                    break;
                case DatumKind.Decimal:
                {
                    Span<int> bits = stackalloc int[4];
                    decimal.GetBits(datum.AsDecimal, bits);
                    _proto.Decimals.Add(bits[0]);
                    _proto.Decimals.Add(bits[1]);
                    _proto.Decimals.Add(bits[2]);
                    _proto.Decimals.Add(bits[3]);
                    break;
                }
                case DatumKind.String:
                {
                    string text = datum.AsString;
                    byte[] utf8 = new byte[Encoding.UTF8.GetByteCount(text)];
                    OperationStatus status = Utf8.FromUtf16(text, utf8, out int read, out int written, replaceInvalidSequences: false);
                    if (status == OperationStatus.Done && read == text.Length && written == utf8.Length)
                    {
                        _proto.Strings.Add(UnsafeByteOperations.UnsafeWrap(utf8));
                    }
                    else
                    {
                        // A lone surrogate: UTF-8 cannot carry it, so the code units travel as they are.
                        byte[] utf16 = new byte[text.Length * 2];
                        for (int i = 0; i < text.Length; i++)
                        {
                            BinaryPrimitives.WriteUInt16LittleEndian(utf16.AsSpan(i * 2), text[i]);
                        }
                        _proto.Strings.Add(UnsafeByteOperations.UnsafeWrap(utf16));
                        kind = Utf16StringKind;
                    }
                    break;
                }
                case DatumKind.Bytes:
                    _proto.Blobs.Add(ByteString.CopyFrom(datum.AsBytes));
                    break;
                default:
                    throw new InvalidOperationException($"datum kind {datum.Kind} has no encoding");
            }
            _kinds[_kindCount++] = kind;
        }
    }

    /// <summary>The total datum count of the rows of <paramref name="items"/>, for sizing a <see cref="Writer"/>.</summary>
    public static int CountDatums<T>(IEnumerable<T> items, Func<T, Row> row)
    {
        long count = 0;
        foreach (T item in items)
        {
            count += row(item).Count;
        }
        return (int)Math.Min(count, Array.MaxLength);
    }

    /// <summary>Unpacks rows in order; every read checks the counts, and <see cref="CheckConsumed"/> checks nothing is left over.</summary>
    public sealed class Reader
    {
        private readonly ProtoRows _proto;
        private readonly ReadOnlyMemory<byte> _kinds;
        private Datum[] _scratch = new Datum[8];
        private int _row;
        private int _kind;
        private int _fixed;
        private int _decimal;
        private int _string;
        private int _blob;

        public Reader(ProtoRows proto)
        {
            _proto = proto;
            _kinds = proto.Kinds.Memory;
            long datums = 0;
            foreach (uint arity in proto.Arities)
            {
                datums += arity;
            }
            if (datums != _kinds.Length)
            {
                throw new MalformedMessageException($"rows declare {datums} values but carry {_kinds.Length} value kinds");
            }
        }

        public int RowCount => _proto.Arities.Count;

        public Row ReadRow()
        {
            if (_row >= _proto.Arities.Count)
            {
                throw new MalformedMessageException("fewer rows than expected");
            }
            int arity = (int)_proto.Arities[_row++];
            if (arity == 0)
            {
                return Row.Empty;
            }
            if (_scratch.Length < arity)
            {
                _scratch = new Datum[Math.Max(arity, _scratch.Length * 2)];
            }
            ReadOnlySpan<byte> kinds = _kinds.Span;
            for (int i = 0; i < arity; i++)
            {
                _scratch[i] = ReadDatum(kinds[_kind++]);
            }
            return new Row(_scratch.AsSpan(0, arity));
        }

        public void CheckConsumed()
        {
            if (_row != _proto.Arities.Count || _fixed != _proto.Fixed.Count || _decimal != _proto.Decimals.Count
                || _string != _proto.Strings.Count || _blob != _proto.Blobs.Count)
            {
                throw new MalformedMessageException("rows carry more values than their kinds use");
            }
        }

        private Datum ReadDatum(byte kind)
        {
            switch (kind)
            {
                case (byte)DatumKind.Null:
                    return Datum.Null;
                case (byte)DatumKind.Bool:
                {
                    ulong bits = NextFixed();
                    return bits <= 1 ? Datum.FromBool(bits == 1) : throw new MalformedMessageException($"bool value {bits} is neither 0 nor 1");
                }
                case (byte)DatumKind.Int64:
                    return Datum.FromInt64((long)NextFixed());
                case (byte)DatumKind.Float64:
                    return Datum.FromFloat64(BitConverter.Int64BitsToDouble((long)NextFixed()));
                case (byte)DatumKind.Date:
                    return Datum.FromDate((long)NextFixed());
                case (byte)DatumKind.Timestamp:
                    return Datum.FromTimestamp((long)NextFixed());
                case (byte)DatumKind.Decimal:
                    return Datum.FromDecimal(NextDecimal());
                case (byte)DatumKind.String:
                {
                    ReadOnlySpan<byte> utf8 = NextString().Span;
                    return Utf8.IsValid(utf8)
                        ? Datum.FromString(Encoding.UTF8.GetString(utf8))
                        : throw new MalformedMessageException("a string value is not valid UTF-8");
                }
                case Utf16StringKind:
                {
                    ReadOnlySpan<byte> utf16 = NextString().Span;
                    if (utf16.Length % 2 != 0)
                    {
                        throw new MalformedMessageException("a UTF-16 string value has an odd number of bytes");
                    }
                    var chars = new char[utf16.Length / 2];
                    for (int i = 0; i < chars.Length; i++)
                    {
                        chars[i] = (char)BinaryPrimitives.ReadUInt16LittleEndian(utf16[(i * 2)..]);
                    }
                    return Datum.FromString(new string(chars));
                }
                case (byte)DatumKind.Bytes:
                    return _blob < _proto.Blobs.Count
                        ? Datum.FromBytes(_proto.Blobs[_blob++].Span)
                        : throw new MalformedMessageException("rows carry fewer byte values than their kinds need");
                default:
                    throw new MalformedMessageException($"unknown value kind {kind}");
            }
        }

        private ulong NextFixed() => _fixed < _proto.Fixed.Count
            ? _proto.Fixed[_fixed++]
            : throw new MalformedMessageException("rows carry fewer fixed-width values than their kinds need");

        private ByteString NextString() => _string < _proto.Strings.Count
            ? _proto.Strings[_string++]
            : throw new MalformedMessageException("rows carry fewer string values than their kinds need");

        private decimal NextDecimal()
        {
            if (_decimal + 4 > _proto.Decimals.Count)
            {
                throw new MalformedMessageException("rows carry fewer decimal values than their kinds need");
            }
            int lo = _proto.Decimals[_decimal];
            int mid = _proto.Decimals[_decimal + 1];
            int hi = _proto.Decimals[_decimal + 2];
            int flags = _proto.Decimals[_decimal + 3];
            _decimal += 4;
            // decimal.GetBits: bits 0-15 and 24-30 of the flags are zero, bits 16-23 hold a scale of at most 28.
            int scale = (flags >> 16) & 0xFF;
            if ((flags & 0x7F00FFFF) != 0 || scale > 28)
            {
                throw new MalformedMessageException($"decimal flags 0x{flags:x8} are not valid");
            }
            return new decimal(lo, mid, hi, flags < 0, (byte)scale);
        }
    }
}

/// <summary>Thrown inside the decoder only, and caught at its entry points: a message is not a valid encoding.</summary>
internal sealed class MalformedMessageException(string message) : Exception(message);
