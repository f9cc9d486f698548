using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Kernel.Expr;
using Kernel.Net.Compute;
using Kernel.Persist.Data;

namespace Kernel.Tests.Unit.Net;

/// <summary>
/// Seeded random compute commands and responses covering every record type, every relation and scalar node,
/// every datum kind (with the awkward values: negative zero, NaN payloads, decimal scales, lone surrogates)
/// and every optional field both present and absent.
/// </summary>
public sealed class ProtocolGenerator(int seed)
{
    private readonly Random _random = new(seed);

    public ComputeCommand Command() => _random.Next(10) switch
    {
        0 => new Hello(NextUInt64(), NextUInt64(), (uint)_random.Next()),
        1 => new CreateInstance(Text(), Text(), _random.Next(-5, 64)),
        2 => new InitializationComplete(),
        3 => new AllowWrites(),
        4 => new UpdateConfiguration(Enumerable.Range(0, _random.Next(4)).Select(i => KeyValuePairFor(i)).ToImmutableSortedDictionary(StringComparer.Ordinal)),
        5 => new CreateDataflow(Dataflow()),
        6 => new Schedule(Id()),
        7 => new AllowCompaction(Id(), Frontier()),
        8 => new Peek(new PeekUuid(NextUInt64(), NextUInt64()), Id(), NextUInt64(), Finishing()),
        _ => new CancelPeek(new PeekUuid(NextUInt64(), NextUInt64())),
    };

    public ComputeResponse Response() => _random.Next(4) switch
    {
        0 => new Frontiers(Id(), OptionalFrontier(), OptionalFrontier(), OptionalFrontier()),
        1 => new PeekResponse(new PeekUuid(NextUInt64(), NextUInt64()), _random.Next(3) switch
        {
            0 => new PeekRows(Enumerable.Range(0, _random.Next(6)).Select(_ => (Row(), (long)NextUInt64())).ToImmutableArray()),
            1 => new PeekError(Text(), Text()),
            _ => new PeekCanceled(),
        }),
        2 => new SubscribeResponse(Id(), _random.Next(3) switch
        {
            0 => new SubscribeBatch(Frontier(), Frontier(), Enumerable.Range(0, _random.Next(6)).Select(_ => new Update(Row(), NextUInt64(), (long)NextUInt64())).ToImmutableArray()),
            1 => new SubscribeError(Text(), Text()),
            _ => new SubscribeDropped(),
        }),
        _ => new Status(Text(), Text()),
    };

    public DataflowDescription Dataflow() => new(
        Text(),
        Many(3, () => new SourceImport(Id(), Text(), RelationType())),
        Many(2, () => new IndexImport(Id(), Id(), Indices(4), RelationType())),
        Many(3, () => new BuildDesc(Id(), Relation(4))),
        Many(2, () => new IndexExport(Id(), Id(), Indices(4), RelationType())),
        Many(2, () => new SinkExport(Id(), Id(), _random.Next(2) == 0 ? new PersistSinkTarget(Text()) : new SubscribeSinkTarget(), RelationType())),
        NextUInt64(),
        _random.Next(2) == 0 ? null : NextUInt64());

    public RelationExpr Relation(int depth)
    {
        int pick = depth <= 0 ? _random.Next(2) : _random.Next(12);
        switch (pick)
        {
            case 0:
            {
                RelationType type = RelationType();
                return new Constant(Many(4, () => (Row(), (long)NextUInt64())), type);
            }
            case 1:
                return new Get(Id(), RelationType());
            case 2:
                return new Map(Relation(depth - 1), Many(3, () => Scalar(2)));
            case 3:
                return new Filter(Relation(depth - 1), Many(3, () => Scalar(2)));
            case 4:
            {
                RelationExpr input = Relation(depth - 1);
                return new Project(input, Indices(input.Type.Arity));
            }
            case 5:
                return new Join(Relation(depth - 1), Relation(depth - 1), Indices(3), Indices(3));
            case 6:
            {
                RelationExpr input = Relation(depth - 1);
                return new Reduce(
                    input,
                    Indices(input.Type.Arity),
                    Many(3, () => new AggregateExpr((AggregateFunc)_random.Next(7), Scalar(2), _random.Next(2) == 0, ColumnType())),
                    _random.Next(2) == 0);
            }
            case 7:
                return new Distinct(Relation(depth - 1));
            case 8:
                return new Union(Enumerable.Range(0, 1 + _random.Next(3)).Select(_ => Relation(depth - 1)).ToImmutableArray());
            case 9:
                return new Negate(Relation(depth - 1));
            case 10:
                return new Threshold(Relation(depth - 1));
            default:
                return new TopK(Relation(depth - 1), Indices(3), Many(3, Order), _random.Next(2) == 0 ? null : (long)NextUInt64(), (long)NextUInt64());
        }
    }

    public ScalarExpr Scalar(int depth)
    {
        int pick = depth <= 0 ? _random.Next(2) : _random.Next(7);
        return pick switch
        {
            0 => new ColumnRef(_random.Next(100), ColumnType()),
            1 => new Literal(Datum(), ColumnType()),
            2 => new CallUnary((UnaryFunc)_random.Next(Enum.GetValues<UnaryFunc>().Length), Scalar(depth - 1), ColumnType()),
            3 => new CallBinary((BinaryFunc)_random.Next(Enum.GetValues<BinaryFunc>().Length), Scalar(depth - 1), Scalar(depth - 1), ColumnType()),
            4 => new CallVariadic((VariadicFunc)_random.Next(Enum.GetValues<VariadicFunc>().Length), Many(3, () => Scalar(depth - 1)), ColumnType()),
            5 => new IfThenElse(Scalar(depth - 1), Scalar(depth - 1), Scalar(depth - 1), ColumnType()),
            _ => new Cast(Scalar(depth - 1), SqlType(), _random.Next(2) == 0, ColumnType()),
        };
    }

    public Row Row() => new(Enumerable.Range(0, _random.Next(5)).Select(_ => Datum()).ToArray());

    public Datum Datum()
    {
        switch (_random.Next(9))
        {
            case 0:
                return global::Kernel.Persist.Data.Datum.Null;
            case 1:
                return global::Kernel.Persist.Data.Datum.FromBool(_random.Next(2) == 0);
            case 2:
                return global::Kernel.Persist.Data.Datum.FromInt64(_random.Next(3) switch { 0 => long.MinValue, 1 => long.MaxValue, _ => (long)NextUInt64() });
            case 3:
            {
                long bits = _random.Next(4) switch
                {
                    0 => BitConverter.DoubleToInt64Bits(-0.0),
                    1 => unchecked((long)0x7FF8_0000_0000_0001UL | (long)(NextUInt64() & 0xFFFF_FFFF)), // a NaN with a payload
                    2 => unchecked((long)0xFFF0_0000_0000_0000UL), // negative infinity
                    _ => (long)NextUInt64(),
                };
                return global::Kernel.Persist.Data.Datum.FromFloat64(BitConverter.Int64BitsToDouble(bits));
            }
            case 4:
                return global::Kernel.Persist.Data.Datum.FromDecimal(new decimal(_random.Next(), _random.Next(), _random.Next(), _random.Next(2) == 0, (byte)_random.Next(29)));
            case 5:
                return global::Kernel.Persist.Data.Datum.FromString(RawText());
            case 6:
            {
                byte[] bytes = new byte[_random.Next(12)];
                _random.NextBytes(bytes);
                return global::Kernel.Persist.Data.Datum.FromBytes(bytes);
            }
            case 7:
                return global::Kernel.Persist.Data.Datum.FromDate((long)NextUInt64());
            default:
                return global::Kernel.Persist.Data.Datum.FromTimestamp((long)NextUInt64());
        }
    }

    /// <summary>A string a datum may hold: any UTF-16, lone surrogates included.</summary>
    public string RawText()
    {
        var chars = new char[_random.Next(10)];
        for (int i = 0; i < chars.Length; i++)
        {
            chars[i] = _random.Next(4) switch
            {
                0 => (char)_random.Next(0xD800, 0xE000), // a surrogate, usually unpaired
                1 => (char)_random.Next(0x80, 0xD800),
                _ => (char)_random.Next(0x20, 0x7F),
            };
        }
        return new string(chars);
    }

    /// <summary>A well-formed string for names and messages (which travel as protobuf strings).</summary>
    public string Text() => _random.Next(5) switch
    {
        0 => "",
        1 => "ünïcødé ✓ 😀",
        _ => new string(Enumerable.Range(0, _random.Next(12)).Select(_ => (char)_random.Next(0x20, 0x7F)).ToArray()),
    };

    private KeyValuePair<string, string> KeyValuePairFor(int i) => new("param_" + i.ToString(System.Globalization.CultureInfo.InvariantCulture) + Text(), Text());

    public GlobalId Id() => new((GlobalIdKind)"sut"[_random.Next(3)], NextUInt64());

    public Frontier Frontier() => _random.Next(3) == 0 ? global::Kernel.Persist.Data.Frontier.Empty : global::Kernel.Persist.Data.Frontier.At(_random.Next(2) == 0 ? 0 : NextUInt64());

    private Frontier? OptionalFrontier() => _random.Next(3) == 0 ? null : Frontier();

    public SqlType SqlType() => _random.Next(3) switch
    {
        0 => global::Kernel.Expr.SqlType.VarcharOf(_random.Next(1000)),
        1 => global::Kernel.Expr.SqlType.NumericOf(_random.Next(1, 39), _random.Next(-1, 20)),
        _ => new SqlType((SqlTypeKind)_random.Next(11)),
    };

    public ColumnType ColumnType() => new(SqlType(), _random.Next(2) == 0);

    public RelationType RelationType() => new(Many(4, ColumnType));

    private RowSetFinishing Finishing() => new(Many(3, Order), _random.Next(2) == 0 ? null : (long)NextUInt64(), (long)NextUInt64(), Indices(6));

    private ColumnOrder Order() => new(_random.Next(20), _random.Next(2) == 0, _random.Next(2) == 0);

    /// <summary>Up to four column indices below <paramref name="arity"/> (none when it is zero).</summary>
    private ImmutableArray<int> Indices(int arity) =>
        arity == 0 ? ImmutableArray<int>.Empty : Enumerable.Range(0, _random.Next(5)).Select(_ => _random.Next(arity)).ToImmutableArray();

    private ImmutableArray<T> Many<T>(int countMax, Func<T> next) => Enumerable.Range(0, _random.Next(countMax + 1)).Select(_ => next()).ToImmutableArray();

    private ulong NextUInt64() => _random.Next(4) == 0 ? (ulong)_random.Next(100) : (ulong)_random.NextInt64() ^ ((ulong)_random.Next(2) << 63);
}
