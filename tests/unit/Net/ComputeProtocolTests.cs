using System;
using System.Collections.Immutable;
using System.Linq;
using Kernel.Expr;
using Kernel.Net.Compute;
using Kernel.Persist.Data;
using Xunit;
using Xunit.Sdk;

namespace Kernel.Tests.Unit.Net;

public sealed class ComputeProtocolTests
{
    /// <summary>
    /// Property: every generated command decodes to a structurally equal command, and re-encodes to the same bytes.
    /// The generator covers every command, plan node, datum kind and optional field.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Command_RandomSeeded_RoundTripsExactly(int seed)
    {
        var generator = new ProtocolGenerator(seed);
        for (int i = 0; i < 1500; i++)
        {
            ComputeCommand command = generator.Command();
            byte[] encoded = ComputeProtocol.EncodeCommand(command);

            Assert.True(ComputeProtocol.TryDecodeCommand(encoded, out ComputeCommand? decoded, out string error), $"seed {seed} message {i}: {error}");
            StructuralAssert.Equal(command, decoded);
            Assert.Equal(encoded, ComputeProtocol.EncodeCommand(decoded!));
        }
    }

    /// <summary>Property: every generated response decodes to a structurally equal response with the same encoding.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Response_RandomSeeded_RoundTripsExactly(int seed)
    {
        var generator = new ProtocolGenerator(seed);
        for (int i = 0; i < 1500; i++)
        {
            ComputeResponse response = generator.Response();
            byte[] encoded = ComputeProtocol.EncodeResponse(response);

            Assert.True(ComputeProtocol.TryDecodeResponse(encoded, out ComputeResponse? decoded, out string error), $"seed {seed} message {i}: {error}");
            StructuralAssert.Equal(response, decoded);
            Assert.Equal(encoded, ComputeProtocol.EncodeResponse(decoded!));
        }
    }

    [Fact]
    public void Generator_CoversEveryRelationAndScalarNode()
    {
        var generator = new ProtocolGenerator(7);
        var seen = new System.Collections.Generic.HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < 300; i++)
        {
            Collect(generator.Relation(4), seen);
        }

        string[] expected =
        [
            nameof(Constant), nameof(Get), nameof(Map), nameof(Filter), nameof(Project), nameof(Join), nameof(Reduce), nameof(Distinct),
            nameof(Union), nameof(Negate), nameof(Threshold), nameof(TopK), nameof(ColumnRef), nameof(Literal), nameof(CallUnary),
            nameof(CallBinary), nameof(CallVariadic), nameof(IfThenElse), nameof(Cast),
        ];
        Assert.Empty(expected.Except(seen));
    }

    [Fact]
    public void Datum_AwkwardValues_SurviveBitForBit()
    {
        double nanWithPayload = BitConverter.Int64BitsToDouble(unchecked((long)0x7FF8_0000_DEAD_BEEFUL));
        double negativeNan = BitConverter.Int64BitsToDouble(unchecked((long)0xFFF8_0000_0000_0042UL));
        Row row = new(
            Datum.FromFloat64(-0.0),
            Datum.FromFloat64(nanWithPayload),
            Datum.FromFloat64(negativeNan),
            Datum.FromFloat64(double.Epsilon),
            Datum.FromDecimal(1.00m),
            Datum.FromDecimal(new decimal(0, 0, 0, true, 5)), // negative zero with scale 5
            Datum.FromDecimal(decimal.MaxValue),
            Datum.FromString("lone \uD800 surrogate"),
            Datum.FromString("pair 😀 and ünïcødé"),
            Datum.FromString(""),
            Datum.FromBytes([]),
            Datum.FromBytes([0, 255, 1]),
            Datum.FromInt64(long.MinValue),
            Datum.FromDate(-1),
            Datum.FromTimestamp(long.MaxValue),
            Datum.FromBool(true),
            Datum.Null);
        var response = new PeekResponse(new PeekUuid(1, 2), new PeekRows([(row, 3), (Row.Empty, 1)]));

        Assert.True(ComputeProtocol.TryDecodeResponse(ComputeProtocol.EncodeResponse(response), out ComputeResponse? decoded, out string error), error);

        Row back = ((PeekRows)((PeekResponse)decoded!).Result).Rows[0].Row;
        for (int i = 0; i < row.Count; i++)
        {
            Assert.Equal(row[i].Kind, back[i].Kind);
            Assert.True(row[i].Equals(back[i]), $"column {i}: {row[i]} became {back[i]}");
        }
        Assert.Equal(BitConverter.DoubleToInt64Bits(nanWithPayload), BitConverter.DoubleToInt64Bits(back[1].AsFloat64));
        Assert.Equal(decimal.GetBits(new decimal(0, 0, 0, true, 5)), decimal.GetBits(back[5].AsDecimal));
        Assert.Equal("lone \uD800 surrogate", back[7].AsString);
    }

    [Fact]
    public void StructuralAssert_DifferentNestedValue_Fails()
    {
        static ComputeCommand With(double value) => new CreateDataflow(new DataflowDescription(
            "d", [], [], [new BuildDesc(GlobalId.UserId(1), new Filter(new Constant([(new Row(Datum.FromFloat64(value)), 1)], RelationType.Empty), []))], [], [], 0, null));

        StructuralAssert.Equal(With(0.0), With(0.0));
        Assert.Throws<XunitException>(() => StructuralAssert.Equal(With(0.0), With(-0.0)));
    }

    [Fact]
    public void Decode_EveryTruncationOfValidMessages_ReturnsError()
    {
        var generator = new ProtocolGenerator(11);
        for (int i = 0; i < 60; i++)
        {
            byte[] command = ComputeProtocol.EncodeCommand(generator.Command());
            byte[] response = ComputeProtocol.EncodeResponse(generator.Response());
            for (int length = 0; length < command.Length; length++)
            {
                Assert.False(ComputeProtocol.TryDecodeCommand(command.AsSpan(0, length), out ComputeCommand? decoded, out string error));
                Assert.Null(decoded);
                Assert.NotEmpty(error);
            }
            for (int length = 0; length < response.Length; length++)
            {
                Assert.False(ComputeProtocol.TryDecodeResponse(response.AsSpan(0, length), out ComputeResponse? decoded, out string error));
                Assert.Null(decoded);
                Assert.NotEmpty(error);
            }
        }
    }

    /// <summary>Random bytes, and valid messages with random bytes flipped, never make the decoder throw.</summary>
    [Fact]
    public void Decode_GarbageAndCorruptedBytes_NeverThrows()
    {
        var random = new Random(5);
        var generator = new ProtocolGenerator(5);
        int refused = 0;
        for (int i = 0; i < 3000; i++)
        {
            byte[] bytes;
            if (i % 2 == 0)
            {
                bytes = new byte[random.Next(64)];
                random.NextBytes(bytes);
            }
            else
            {
                bytes = i % 4 == 1 ? ComputeProtocol.EncodeCommand(generator.Command()) : ComputeProtocol.EncodeResponse(generator.Response());
                for (int flips = 1 + random.Next(3); flips > 0 && bytes.Length > ComputeProtocol.EnvelopeBytes; flips--)
                {
                    bytes[random.Next(ComputeProtocol.EnvelopeBytes, bytes.Length)] = (byte)random.Next(256);
                }
            }

            bool commandOk = ComputeProtocol.TryDecodeCommand(bytes, out ComputeCommand? command, out string commandError);
            bool responseOk = ComputeProtocol.TryDecodeResponse(bytes, out ComputeResponse? response, out string responseError);

            Assert.Equal(commandOk, command is not null);
            Assert.Equal(responseOk, response is not null);
            Assert.True(commandOk || commandError.Length > 0);
            Assert.True(responseOk || responseError.Length > 0);
            refused += (commandOk ? 0 : 1) + (responseOk ? 0 : 1);
        }
        Assert.True(refused > 3000, $"only {refused} of 6000 decodes refused garbage");
    }

    [Fact]
    public void Decode_ResponseFrameAsCommand_ReturnsError()
    {
        byte[] response = ComputeProtocol.EncodeResponse(new Status("k", "d"));

        Assert.False(ComputeProtocol.TryDecodeCommand(response, out ComputeCommand? command, out string error));
        Assert.Null(command);
        Assert.Contains("command", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_ProjectionPastInputColumns_ReturnsErrorNotException()
    {
        // A projection is built with valid indices, then its encoding is edited to point past the input's one column.
        var input = new Get(GlobalId.UserId(1), new RelationType([new ColumnType(SqlType.Int64)]));
        var command = new CreateDataflow(new DataflowDescription("d", [], [], [new BuildDesc(GlobalId.UserId(2), new Project(input, [0]))], [], [], 0, null));
        byte[] encoded = ComputeProtocol.EncodeCommand(command);
        // The outputs field (field 2, packed varints) holds the single byte 0: its tag 0x12, length 1, value 0x00.
        int at = encoded.AsSpan().IndexOf(new byte[] { 0x12, 0x01, 0x00 });
        Assert.True(at > 0);
        encoded[at + 2] = 0x05;

        Assert.False(ComputeProtocol.TryDecodeCommand(encoded, out ComputeCommand? decoded, out string error));
        Assert.Null(decoded);
        Assert.Contains("projection column 5", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Command_DeeplyNestedPlan_RoundTrips()
    {
        RelationExpr plan = new Get(GlobalId.UserId(1), new RelationType([new ColumnType(SqlType.Int64)]));
        ScalarExpr predicate = new ColumnRef(0, new ColumnType(SqlType.Int64));
        for (int i = 0; i < 150; i++)
        {
            plan = new Negate(plan);
            predicate = new CallUnary(UnaryFunc.Not, predicate, new ColumnType(SqlType.Bool));
        }
        plan = new Filter(plan, [predicate]);
        var command = new CreateDataflow(new DataflowDescription("deep", [], [], [new BuildDesc(GlobalId.UserId(2), plan)], [], [], 0, null));

        Assert.True(ComputeProtocol.TryDecodeCommand(ComputeProtocol.EncodeCommand(command), out ComputeCommand? decoded, out string error), error);
        StructuralAssert.Equal(command, decoded);
    }

    [Fact]
    public void Command_UpdateConfiguration_DuplicateNameOnTheWire_ReturnsError()
    {
        byte[] encoded = ComputeProtocol.EncodeCommand(new UpdateConfiguration(
            ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, [new("a", "1"), new System.Collections.Generic.KeyValuePair<string, string>("b", "2")])));
        // Rename b to a in place: the same length, so the envelope stays valid.
        int at = Array.LastIndexOf(encoded, (byte)'b');
        encoded[at] = (byte)'a';

        Assert.False(ComputeProtocol.TryDecodeCommand(encoded, out _, out string error));
        Assert.Contains("appears twice", error, StringComparison.Ordinal);
    }

    private static void Collect(RelationExpr expr, System.Collections.Generic.HashSet<string> seen)
    {
        seen.Add(expr.GetType().Name);
        switch (expr)
        {
            case Map m: Collect(m.Input, seen); foreach (ScalarExpr s in m.Scalars) { Collect(s, seen); } break;
            case Filter f: Collect(f.Input, seen); foreach (ScalarExpr s in f.Predicates) { Collect(s, seen); } break;
            case Project p: Collect(p.Input, seen); break;
            case Join j: Collect(j.Left, seen); Collect(j.Right, seen); break;
            case Reduce r: Collect(r.Input, seen); foreach (AggregateExpr a in r.Aggregates) { Collect(a.Expr, seen); } break;
            case Distinct d: Collect(d.Input, seen); break;
            case Union u: foreach (RelationExpr i in u.Inputs) { Collect(i, seen); } break;
            case Negate n: Collect(n.Input, seen); break;
            case Threshold t: Collect(t.Input, seen); break;
            case TopK k: Collect(k.Input, seen); break;
        }
    }

    private static void Collect(ScalarExpr expr, System.Collections.Generic.HashSet<string> seen)
    {
        seen.Add(expr.GetType().Name);
        switch (expr)
        {
            case CallUnary u: Collect(u.Arg, seen); break;
            case CallBinary b: Collect(b.Left, seen); Collect(b.Right, seen); break;
            case CallVariadic v: foreach (ScalarExpr a in v.Args) { Collect(a, seen); } break;
            case IfThenElse i: Collect(i.Cond, seen); Collect(i.Then, seen); Collect(i.Else, seen); break;
            case Cast c: Collect(c.Arg, seen); break;
        }
    }
}
