using System.Collections.Immutable;
using System.Linq;
using Kernel.Expr;
using Kernel.Persist.Data;

namespace Kernel.Tests.Unit.Compute;

/// <summary>Small builders for plans and descriptions in compute tests.</summary>
internal static class Plans
{
    public static readonly GlobalId Source1 = GlobalId.UserId(1);
    public static readonly GlobalId Source2 = GlobalId.UserId(2);
    public static readonly GlobalId View = GlobalId.UserId(10);
    public static readonly GlobalId IndexId = GlobalId.UserId(11);
    public static readonly ColumnType Int = new(SqlType.Int64, true);
    public static readonly ColumnType Bool = new(SqlType.Bool, true);

    public static RelationType Ints(int arity) => new(Enumerable.Repeat(Int, arity).ToImmutableArray());

    public static Get Get1 => new(Source1, Ints(3));

    public static Get Get2 => new(Source2, Ints(3));

    public static ColumnRef Col(int index, ColumnType? type = null) => new(index, type ?? Int);

    public static Literal Lit(long value) => new(Datum.FromInt64(value), new ColumnType(SqlType.Int64, false));

    public static CallBinary Binary(BinaryFunc func, ScalarExpr left, ScalarExpr right, ColumnType type) => new(func, left, right, type);

    public static AggregateExpr Agg(AggregateFunc func, ScalarExpr expr, bool distinct = false, ColumnType? type = null) =>
        new(func, expr, distinct, type ?? Int);

    /// <summary>A dataflow reading both sources, computing <paramref name="plan"/> as <see cref="View"/>, indexed as <see cref="IndexId"/>.</summary>
    public static DataflowDescription Indexed(RelationExpr plan, ulong asOf = 0, ImmutableArray<int>? key = null) => new(
        "test",
        [new SourceImport(Source1, "s" + new string('1', 32), Ints(3)), new SourceImport(Source2, "s" + new string('2', 32), Ints(3))],
        [],
        [new BuildDesc(View, plan)],
        [new IndexExport(IndexId, View, key ?? [], plan.Type)],
        [],
        asOf,
        null);
}
