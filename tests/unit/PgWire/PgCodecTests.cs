using System;
using System.Collections.Generic;
using System.Linq;
using Kernel.Expr;
using Kernel.Persist.Data;
using Kernel.PgWire;
using Xunit;

namespace Kernel.Tests.Unit.PgWire;

public sealed class PgFrontendReaderTests
{
    private static readonly byte[] s_stream =
    [
        .. Frontend.Startup(("user", "u"), ("database", "d")),
        .. Frontend.Query("select 1"),
        .. Frontend.Parse("s", "select $1", 23),
        .. Frontend.Sync(),
    ];

    private static List<PgFrontendMessage> ReadAll(PgFrontendReader reader)
    {
        var messages = new List<PgFrontendMessage>();
        while (reader.TryRead(out PgFrontendMessage message, out string violation) is var status && status != PgReadStatus.NeedMore)
        {
            Assert.True(status == PgReadStatus.Message, violation);
            messages.Add(message);
            reader.ExpectStartup = false; // the startup packet comes first only
        }
        return messages;
    }

    [Fact]
    public void TryRead_StreamSplitAtEveryBoundary_SameMessages()
    {
        var whole = new PgFrontendReader(1 << 30, 10_000);
        whole.Append(s_stream);
        List<PgFrontendMessage> expected = ReadAll(whole);
        Assert.Equal("\0QPS", new string([.. expected.Select(m => (char)m.Type)]));

        for (int cut = 1; cut < s_stream.Length; cut++)
        {
            var reader = new PgFrontendReader(1 << 30, 10_000);
            var got = new List<PgFrontendMessage>();
            reader.Append(s_stream.AsSpan(0, cut));
            got.AddRange(ReadAll(reader));
            reader.Append(s_stream.AsSpan(cut));
            got.AddRange(ReadAll(reader));

            Assert.Equal(expected.Count, got.Count);
            for (int i = 0; i < expected.Count; i++)
            {
                Assert.Equal(expected[i].Type, got[i].Type);
                Assert.Equal(expected[i].Body, got[i].Body);
            }
        }
    }

    [Fact]
    public void TryRead_OneByteAtATime_SameMessages()
    {
        var reader = new PgFrontendReader(1 << 30, 10_000);
        var got = new List<PgFrontendMessage>();
        foreach (byte b in s_stream)
        {
            reader.Append([b]);
            got.AddRange(ReadAll(reader));
        }

        Assert.Equal(4, got.Count);
        Assert.Equal(Frontend.CString("select 1"), got[1].Body);
        Assert.Equal(0, reader.BufferedBytes);
    }

    [Theory]
    [InlineData(new byte[] { (byte)'Q', 0xFF, 0xFF, 0xFF, 0xFF })] // negative
    [InlineData(new byte[] { (byte)'Q', 0, 0, 0, 3 })] // shorter than the length itself
    [InlineData(new byte[] { (byte)'Q', 0x40, 0, 0, 1 })] // over 1 GiB
    public void TryRead_BadLength_ViolationThatSticks(byte[] bytes)
    {
        var reader = new PgFrontendReader(1 << 30, 10_000) { ExpectStartup = false };
        reader.Append(bytes);

        Assert.Equal(PgReadStatus.Violation, reader.TryRead(out _, out string violation));
        Assert.Contains("invalid message length", violation, StringComparison.Ordinal);
        reader.Append(Frontend.Sync());
        Assert.Equal(PgReadStatus.Violation, reader.TryRead(out _, out _));
    }

    [Fact]
    public void TryRead_StartupPacketOverLimit_Violation()
    {
        var reader = new PgFrontendReader(1 << 30, 10_000);
        reader.Append([0, 1, 0, 0, 0, 3, 0, 0]);

        Assert.Equal(PgReadStatus.Violation, reader.TryRead(out _, out string violation));
        Assert.Contains("startup packet", violation, StringComparison.Ordinal);
    }

    [Fact]
    public void TryRead_LargeDeclaredLength_WaitsWithoutAllocating()
    {
        var reader = new PgFrontendReader(1 << 30, 10_000) { ExpectStartup = false };
        reader.Append([(byte)'Q', 0x3F, 0, 0, 0]);

        Assert.Equal(PgReadStatus.NeedMore, reader.TryRead(out _, out _));
        Assert.Equal(5, reader.BufferedBytes);
    }
}

public sealed class PgValueCodecTests
{
    public static TheoryData<decimal> Numerics =>
    [
        0m, 0.00m, 1m, -1m, 10000m, 9999m, 12.50m, -0.001m, 0.0001m, 0.00001m, 1234567.89m, 100000000m, -100000000.0001m,
        79228162514264337593543950335m, -79228162514264337593543950335m, 0.0000000000000000000000000001m, 7.9228162514264337593543950335m,
    ];

    [Theory]
    [MemberData(nameof(Numerics))]
    public void Numeric_Binary_RoundTripsValueAndScale(decimal value)
    {
        byte[] bytes = PgValueCodec.EncodeToArray(Datum.FromDecimal(value), SqlType.Numeric, PgValueCodec.BinaryFormat);

        Assert.True(PgValueCodec.TryDecode(bytes, SqlType.Numeric, PgValueCodec.BinaryFormat, out Datum back, out PgError? error), error?.Message);
        Assert.Equal(value, back.AsDecimal);
        Assert.Equal(value.Scale, back.AsDecimal.Scale);
    }

    [Fact]
    public void Numeric_Binary_MatchesPostgresLayout()
    {
        // numeric_send of 12345.678: ndigits 3, weight 1, sign +, dscale 3, digits 1 2345 6780.
        byte[] bytes = PgValueCodec.EncodeToArray(Datum.FromDecimal(12345.678m), SqlType.Numeric, PgValueCodec.BinaryFormat);
        Assert.Equal(new byte[] { 0, 3, 0, 1, 0, 0, 0, 3, 0, 1, 0x09, 0x29, 0x1A, 0x7C }, bytes);

        // -0.05: ndigits 1, weight -1, sign -, dscale 2, digit 500.
        byte[] negative = PgValueCodec.EncodeToArray(Datum.FromDecimal(-0.05m), SqlType.Numeric, PgValueCodec.BinaryFormat);
        Assert.Equal(new byte[] { 0, 1, 0xFF, 0xFF, 0x40, 0, 0, 2, 0x01, 0xF4 }, negative);

        // Zero with scale 2: no digits.
        byte[] zero = PgValueCodec.EncodeToArray(Datum.FromDecimal(0.00m), SqlType.Numeric, PgValueCodec.BinaryFormat);
        Assert.Equal(new byte[] { 0, 0, 0, 0, 0, 0, 0, 2 }, zero);
    }

    [Fact]
    public void Numeric_BinaryFromPostgres_WeightBeyondDigits()
    {
        // 100000000 as PostgreSQL sends it: one digit (1), weight 2.
        byte[] bytes = [0, 1, 0, 2, 0, 0, 0, 0, 0, 1];
        Assert.True(PgValueCodec.TryDecode(bytes, SqlType.Numeric, PgValueCodec.BinaryFormat, out Datum value, out _));
        Assert.Equal(100000000m, value.AsDecimal);
    }

    [Theory]
    [InlineData(new byte[] { 0, 1, 0, 0, 0xC0, 0, 0, 0, 0, 1 })] // NaN
    [InlineData(new byte[] { 0, 2, 0, 0, 0, 0, 0, 0, 0, 1 })] // fewer digits than declared
    [InlineData(new byte[] { 0, 1, 0, 0, 0, 0, 0, 0, 0x27, 0x10 })] // digit 10000
    [InlineData(new byte[] { 0, 1, 0, 20, 0, 0, 0, 0, 0, 1 })] // 10^80: out of range
    public void Numeric_BadBinary_ErrorNotException(byte[] bytes)
    {
        Assert.False(PgValueCodec.TryDecode(bytes, SqlType.Numeric, PgValueCodec.BinaryFormat, out _, out PgError? error));
        Assert.StartsWith("22", error!.SqlState, StringComparison.Ordinal);
    }

    public static TheoryData<SqlTypeKind, Datum> BinaryValues => new()
    {
        { SqlTypeKind.Bool, Datum.FromBool(true) },
        { SqlTypeKind.Bool, Datum.FromBool(false) },
        { SqlTypeKind.Int16, Datum.FromInt64(-32768) },
        { SqlTypeKind.Int32, Datum.FromInt64(int.MaxValue) },
        { SqlTypeKind.Int64, Datum.FromInt64(long.MinValue) },
        { SqlTypeKind.Float64, Datum.FromFloat64(-1.5e-300) },
        { SqlTypeKind.Float64, Datum.FromFloat64(double.NaN) },
        { SqlTypeKind.Numeric, Datum.FromDecimal(-3.14159m) },
        { SqlTypeKind.Text, Datum.FromString("snow ☃ and \t tabs") },
        { SqlTypeKind.Varchar, Datum.FromString("") },
        { SqlTypeKind.Date, Datum.FromDate(0) },
        { SqlTypeKind.Date, Datum.FromDate(-800_000) },
        { SqlTypeKind.Timestamp, Datum.FromTimestamp(1_700_000_000_123_456) },
        { SqlTypeKind.Timestamp, Datum.FromTimestamp(-1) },
    };

    [Theory]
    [MemberData(nameof(BinaryValues))]
    public void Binary_EveryType_RoundTrips(SqlTypeKind kind, Datum value)
    {
        var type = new SqlType(kind);
        byte[] bytes = PgValueCodec.EncodeToArray(value, type, PgValueCodec.BinaryFormat);

        Assert.True(PgValueCodec.TryDecode(bytes, type, PgValueCodec.BinaryFormat, out Datum back, out PgError? error), error?.Message);
        Assert.Equal(value, back);
        if (type.PgSize > 0)
        {
            Assert.Equal(type.PgSize, bytes.Length);
        }
    }

    [Fact]
    public void Binary_DateAndTimestamp_UsePostgresEpoch()
    {
        // 2000-01-01 is day 10957 since 1970 and day 0 for PostgreSQL.
        Assert.Equal(new byte[] { 0, 0, 0, 0 }, PgValueCodec.EncodeToArray(Datum.FromDate(10957), SqlType.Date, PgValueCodec.BinaryFormat));
        Assert.Equal(new byte[8], PgValueCodec.EncodeToArray(Datum.FromTimestamp(946_684_800_000_000), SqlType.Timestamp, PgValueCodec.BinaryFormat));
        Assert.Equal(new byte[] { 0, 0, 0, 0, 0, 0, 0, 42 }, PgValueCodec.EncodeToArray(Datum.FromInt64(42), SqlType.Int64, PgValueCodec.BinaryFormat));
    }

    [Theory]
    [InlineData(SqlTypeKind.Int32, new byte[] { 1, 2 })]
    [InlineData(SqlTypeKind.Bool, new byte[] { 2 })]
    [InlineData(SqlTypeKind.Text, new byte[] { 0xC3, 0x28 })]
    [InlineData(SqlTypeKind.Date, new byte[] { 0x7F, 0xFF, 0xFF, 0xFF })]
    public void Binary_Malformed_ErrorWithSqlState(SqlTypeKind kind, byte[] bytes)
    {
        Assert.False(PgValueCodec.TryDecode(bytes, new SqlType(kind), PgValueCodec.BinaryFormat, out _, out PgError? error));
        Assert.Matches("^22[0-9A-Z]{3}$", error!.SqlState);
    }

    [Fact]
    public void Unknown_TextOrBinary_IsTheString()
    {
        Assert.True(PgValueCodec.TryDecode("42"u8, SqlType.Unknown, PgValueCodec.TextFormat, out Datum text, out _));
        Assert.True(PgValueCodec.TryDecode("x"u8, SqlType.Unknown, PgValueCodec.BinaryFormat, out Datum binary, out _));

        Assert.Equal(Datum.FromString("42"), text);
        Assert.Equal(Datum.FromString("x"), binary);
    }

    [Theory]
    [InlineData(SqlTypeKind.Int32, "123", "123")]
    [InlineData(SqlTypeKind.Bool, "true", "t")]
    [InlineData(SqlTypeKind.Numeric, "-12.500", "-12.500")]
    [InlineData(SqlTypeKind.Text, "abc", "abc")]
    public void Text_ParsesThroughDatumText_AndFormatsBack(SqlTypeKind kind, string input, string output)
    {
        var type = new SqlType(kind);
        Assert.True(PgValueCodec.TryDecode(System.Text.Encoding.UTF8.GetBytes(input), type, PgValueCodec.TextFormat, out Datum value, out PgError? error), error?.Message);
        Assert.Equal(type.DatumKind, value.Kind);
        Assert.Equal(output, System.Text.Encoding.UTF8.GetString(PgValueCodec.EncodeToArray(value, type, PgValueCodec.TextFormat)));
    }
}

public sealed class PgBackendWriterTests
{
    [Fact]
    public void ErrorResponse_HasAllFieldsAndLength()
    {
        var writer = new PgBackendWriter();
        writer.ErrorOrNotice(new PgError("42601", "bad\0 thing", Detail: "d", Hint: "h", Position: 7), isNotice: false);
        var parser = new BackendParser();
        parser.Append(writer.Buffered);

        BackendMessage message = parser.TryRead()!;

        Assert.Equal('E', message.Type);
        Dictionary<char, string> fields = message.Fields();
        Assert.Equal(["ERROR", "ERROR", "42601", "bad thing", "d", "h", "7"], [fields['S'], fields['V'], fields['C'], fields['M'], fields['D'], fields['H'], fields['P']]);
        Assert.Null(parser.TryRead());
    }

    [Fact]
    public void Begin_Nested_Throws()
    {
        var writer = new PgBackendWriter();
        writer.Begin((byte)'T');

        Assert.Throws<InvalidOperationException>(() => writer.Begin((byte)'D'));
    }
}
