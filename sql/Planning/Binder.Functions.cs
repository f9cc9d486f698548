using System.Collections.Generic;
using System.Collections.Immutable;
using Kernel.Expr;
using Kernel.Persist.Data;
using Kernel.Sql.Syntax;
using ColumnRef = Kernel.Expr.ColumnRef;

namespace Kernel.Sql.Planning;

internal sealed partial class Binder
{
    /// <summary>Whether <paramref name="name"/> is an aggregate function (supported or not: either way it is not a scalar call).</summary>
    public static bool IsAggregateName(string name) => name is "count" or "sum" or "min" or "max" or "avg" or "bool_and" or "bool_or"
        or "every" or "string_agg" or "array_agg" or "stddev" or "stddev_pop" or "stddev_samp" or "variance" or "var_pop"
        or "var_samp" or "jsonb_agg" or "json_agg" or "bit_and" or "bit_or";

    private ScalarExpr BindFunction(FunctionCall call, ExprContext cx)
    {
        string name = call.Name.Name;
        if (call.Name.Parts.Count > 1 && call.Name.Parts[^2] is not ("pg_catalog" or "public" or "mz_catalog"))
        {
            throw Error("42883", $"function {string.Join('.', (IEnumerable<string>)call.Name.Parts)} does not exist", call, s_functionHint);
        }
        if (call.Over is not null)
        {
            throw NotSupported("window functions are", call);
        }
        if (IsAggregateName(name))
        {
            return BindAggregate(name, call, cx);
        }
        if (call.Distinct || call.Star || call.OrderBy.Count > 0 || call.Filter is not null)
        {
            string what = call.Distinct ? "DISTINCT" : call.Star ? "*" : call.Filter is not null ? "FILTER" : "ORDER BY";
            throw Error("42809", $"{what} specified, but {name} is not an aggregate function", call);
        }
        var args = new List<ScalarExpr>(call.Arguments.Count);
        foreach (Expression argument in call.Arguments)
        {
            args.Add(BindExpr(argument, cx));
        }
        switch (name, args.Count)
        {
            case ("lower", 1):
                return StringUnary(UnaryFunc.Lower, call, args, SqlType.Text);
            case ("upper", 1):
                return StringUnary(UnaryFunc.Upper, call, args, SqlType.Text);
            case ("length" or "char_length" or "character_length", 1):
                return StringUnary(UnaryFunc.CharLength, call, args, SqlType.Int32);
            case ("btrim" or "trim", 1):
                return StringUnary(UnaryFunc.Trim, call, args, SqlType.Text);
            case ("abs", 1):
            {
                ScalarExpr arg = NumberArgument(call, args, SqlType.Float64);
                return new CallUnary(UnaryFunc.Abs, arg, arg.Type);
            }
            case ("round" or "floor" or "ceil" or "ceiling" or "sqrt", 1):
            {
                // Integers go to double precision, PostgreSQL's preferred numeric type; numeric stays numeric.
                ScalarExpr arg = NumberArgument(call, args, SqlType.Float64);
                SqlType type = arg.Type.Type.Kind == SqlTypeKind.Numeric ? SqlType.Numeric : SqlType.Float64;
                arg = Coerce(arg, type, CastContext.Implicit, call);
                UnaryFunc func = name switch
                {
                    "round" => UnaryFunc.Round,
                    "floor" => UnaryFunc.Floor,
                    "sqrt" => UnaryFunc.Sqrt,
                    _ => UnaryFunc.Ceil,
                };
                return new CallUnary(func, arg, new ColumnType(type, arg.Type.Nullable));
            }
            case ("round", 2):
            {
                ScalarExpr value = TryCoerce(args[0], SqlType.Numeric, CastContext.Implicit, call) ?? throw FunctionError(name, args, call);
                ScalarExpr places = TryCoerce(args[1], SqlType.Int32, CastContext.Implicit, call) ?? throw FunctionError(name, args, call);
                return new CallBinary(BinaryFunc.RoundTo, value, places, new ColumnType(SqlType.Numeric, value.Type.Nullable || places.Type.Nullable));
            }
            case ("power" or "pow", 2):
            {
                ScalarExpr left = TryCoerce(args[0], SqlType.Float64, CastContext.Implicit, call) ?? throw FunctionError(name, args, call);
                ScalarExpr right = TryCoerce(args[1], SqlType.Float64, CastContext.Implicit, call) ?? throw FunctionError(name, args, call);
                return new CallBinary(BinaryFunc.Power, left, right, new ColumnType(SqlType.Float64, left.Type.Nullable || right.Type.Nullable));
            }
            case ("concat", _):
            {
                var texts = ImmutableArray.CreateBuilder<ScalarExpr>(args.Count);
                foreach (ScalarExpr arg in args)
                {
                    texts.Add(Coerce(arg, SqlType.Text, CastContext.Explicit, call));
                }
                return new CallVariadic(VariadicFunc.ConcatAll, texts.MoveToImmutable(), new ColumnType(SqlType.Text, false));
            }
            case ("coalesce" or "greatest" or "least", > 0):
            {
                SqlType common = CommonTypeOf(args, name.ToUpperInvariant(), call);
                var coerced = ImmutableArray.CreateBuilder<ScalarExpr>(args.Count);
                bool allNullable = true;
                bool anyNullable = false;
                for (int i = 0; i < args.Count; i++)
                {
                    ScalarExpr arg = Coerce(args[i], common, CastContext.Implicit, call.Arguments[i]);
                    allNullable &= arg.Type.Nullable;
                    anyNullable |= arg.Type.Nullable;
                    coerced.Add(arg);
                }
                VariadicFunc func = name switch
                {
                    "coalesce" => VariadicFunc.Coalesce,
                    "greatest" => VariadicFunc.Greatest,
                    _ => VariadicFunc.Least,
                };
                return new CallVariadic(func, coerced.MoveToImmutable(), new ColumnType(common, allNullable));
            }
            case ("nullif", 2):
            {
                SqlType common = CommonTypeOf(args, "NULLIF", call);
                ScalarExpr value = Coerce(args[0], common, CastContext.Implicit, call.Arguments[0]);
                ScalarExpr other = Coerce(args[1], common, CastContext.Implicit, call.Arguments[1]);
                return new IfThenElse(Compare(BinaryFunc.Eq, value, other), Literal.Null(common), value, new ColumnType(common, true));
            }
            default:
                throw FunctionError(name, args, call);
        }
    }

    private static PlanException FunctionError(string name, List<ScalarExpr> args, SyntaxNode at)
    {
        var types = new List<string>(args.Count);
        foreach (ScalarExpr arg in args)
        {
            types.Add(arg.Type.Type.Name);
        }
        return Error("42883", $"function {name}({string.Join(", ", types)}) does not exist", at, s_functionHint);
    }

    private CallUnary StringUnary(UnaryFunc func, FunctionCall call, List<ScalarExpr> args, SqlType result)
    {
        ScalarExpr arg = args[0];
        if (!(arg.Type.Type.IsString || arg.Type.Type.Kind == SqlTypeKind.Unknown))
        {
            throw FunctionError(call.Name.Name, args, call);
        }
        arg = Coerce(arg, SqlType.Text, CastContext.Implicit, call);
        return new CallUnary(func, arg, new ColumnType(result, arg.Type.Nullable));
    }

    private ScalarExpr NumberArgument(FunctionCall call, List<ScalarExpr> args, SqlType forUnknown)
    {
        ScalarExpr arg = args[0];
        if (arg.Type.Type.Kind == SqlTypeKind.Unknown)
        {
            return Coerce(arg, forUnknown, CastContext.Implicit, call);
        }
        if (!arg.Type.Type.IsNumber)
        {
            throw FunctionError(call.Name.Name, args, call);
        }
        return arg;
    }

    private ScalarExpr BindAggregate(string name, FunctionCall call, ExprContext cx)
    {
        if (cx.InAggregate)
        {
            throw Error("42803", "aggregate function calls cannot be nested", call);
        }
        if (cx.Grouping is not Grouping grouping)
        {
            throw Error("42803", $"aggregate functions are not allowed in {cx.Clause}", call);
        }
        if (name is not ("count" or "sum" or "min" or "max" or "avg" or "bool_and" or "bool_or" or "every"))
        {
            throw NotSupported($"aggregate function {name} is", call);
        }
        if (call.OrderBy.Count > 0)
        {
            throw NotSupported("ORDER BY in an aggregate call is", call);
        }
        var inner = new ExprContext(grouping.InputScope, cx.Clause, grouping, InAggregate: true);
        ScalarExpr? filter = call.Filter is null ? null : CoerceToBool(BindExpr(call.Filter, inner), "FILTER", call.Filter);

        if (name == "count" && (call.Star || call.Arguments.Count == 0))
        {
            if (!call.Star)
            {
                throw Error("42883", "function count() does not exist", call, s_functionHint);
            }
            if (filter is null)
            {
                return AddAggregate(grouping, AggregateFunc.CountAll, new Literal(Datum.FromBool(true), new ColumnType(SqlType.Bool, false)), false, new ColumnType(SqlType.Int64, false));
            }
            // count(*) FILTER (WHERE f) counts the rows where f holds: count of a value that is NULL elsewhere.
            ScalarExpr marker = new IfThenElse(filter, new Literal(Datum.FromBool(true), new ColumnType(SqlType.Bool, false)), Literal.Null(SqlType.Bool), new ColumnType(SqlType.Bool, true));
            return AddAggregate(grouping, AggregateFunc.Count, marker, false, new ColumnType(SqlType.Int64, false));
        }
        if (call.Arguments.Count != 1)
        {
            var bound = new List<ScalarExpr>();
            foreach (Expression argument in call.Arguments)
            {
                bound.Add(BindExpr(argument, inner));
            }
            throw FunctionError(name, bound, call);
        }
        ScalarExpr arg = BindExpr(call.Arguments[0], inner);
        if (arg.Type.Type.Kind == SqlTypeKind.Unknown && name is not "count")
        {
            arg = Coerce(arg, name is "bool_and" or "bool_or" or "every" ? SqlType.Bool : name is "min" or "max" ? SqlType.Text : SqlType.Numeric, CastContext.Implicit, call);
        }
        if (filter is not null)
        {
            arg = new IfThenElse(filter, arg, Literal.Null(arg.Type.Type), new ColumnType(arg.Type.Type, true));
        }
        SqlType type = arg.Type.Type;
        switch (name)
        {
            case "count":
                return AddAggregate(grouping, AggregateFunc.Count, arg, call.Distinct, new ColumnType(SqlType.Int64, false));
            case "sum":
                return AddAggregate(grouping, AggregateFunc.Sum, arg, call.Distinct, new ColumnType(SumType(type) ?? throw FunctionError(name, [arg], call), true));
            case "min" or "max":
                if (type.Kind == SqlTypeKind.Bool)
                {
                    throw FunctionError(name, [arg], call);
                }
                return AddAggregate(grouping, name == "min" ? AggregateFunc.Min : AggregateFunc.Max, arg, call.Distinct, new ColumnType(type, true));
            case "bool_and" or "every" or "bool_or":
                if (type.Kind != SqlTypeKind.Bool)
                {
                    throw FunctionError(name, [arg], call);
                }
                return AddAggregate(grouping, name == "bool_or" ? AggregateFunc.BoolOr : AggregateFunc.BoolAnd, arg, call.Distinct, new ColumnType(SqlType.Bool, true));
            default:
            {
                // avg = sum / count, NULL (not a division by zero) when the group has no non-NULL value.
                SqlType? sumType = SumType(type);
                if (sumType is null)
                {
                    throw FunctionError(name, [arg], call);
                }
                SqlType result = type.Kind == SqlTypeKind.Float64 ? SqlType.Float64 : SqlType.Numeric;
                ScalarExpr sum = AddAggregate(grouping, AggregateFunc.Sum, arg, call.Distinct, new ColumnType(sumType.Value, true));
                ScalarExpr count = AddAggregate(grouping, AggregateFunc.Count, arg, call.Distinct, new ColumnType(SqlType.Int64, false));
                ScalarExpr isZero = Compare(BinaryFunc.Eq, count, new Literal(Datum.FromInt64(0), new ColumnType(SqlType.Int64, false)));
                ScalarExpr numerator = sum.Type.Type == result ? sum : new Cast(sum, result, false, new ColumnType(result, true));
                ScalarExpr denominator = new Cast(count, result, false, new ColumnType(result, false));
                ScalarExpr quotient = new CallBinary(BinaryFunc.Div, numerator, denominator, new ColumnType(result, true));
                return new IfThenElse(isZero, Literal.Null(result), quotient, new ColumnType(result, true));
            }
        }
    }

    /// <summary>PostgreSQL's sum result type: bigint for smallint and integer, numeric for bigint and numeric, double for double.</summary>
    private static SqlType? SumType(SqlType input) => input.Kind switch
    {
        SqlTypeKind.Int16 or SqlTypeKind.Int32 => SqlType.Int64,
        SqlTypeKind.Int64 or SqlTypeKind.Numeric => SqlType.Numeric,
        SqlTypeKind.Float64 => SqlType.Float64,
        _ => null,
    };

    private static ColumnRef AddAggregate(Grouping grouping, AggregateFunc func, ScalarExpr expr, bool distinct, ColumnType type)
    {
        var aggregate = new AggregateExpr(func, expr, distinct, type);
        int index = grouping.Aggregates.IndexOf(aggregate);
        if (index < 0)
        {
            index = grouping.Aggregates.Count;
            grouping.Aggregates.Add(aggregate);
        }
        return new ColumnRef(grouping.Keys.Count + index, type);
    }
}
