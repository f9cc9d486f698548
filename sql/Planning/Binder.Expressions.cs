using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using Kernel.Expr;
using Kernel.Persist.Data;
using Kernel.Sql.Syntax;
using ColumnRef = Kernel.Expr.ColumnRef;
using SyntaxColumnRef = Kernel.Sql.Syntax.ColumnRef;

namespace Kernel.Sql.Planning;

/// <summary>One GROUP BY key: its syntax (matched against later expressions), the input column it reads, and its type.</summary>
internal sealed record GroupKey(Expression? Syntax, int InputColumn, ColumnType Type);

/// <summary>
/// The state of binding expressions above a GROUP BY: keys become columns 0..k-1 of the reduce, aggregates the
/// columns after them, and any other column reference is an error.
/// </summary>
internal sealed class Grouping(Scope inputScope, List<GroupKey> keys)
{
    public Scope InputScope { get; } = inputScope;

    public List<GroupKey> Keys { get; } = keys;

    public List<AggregateExpr> Aggregates { get; } = [];
}

/// <summary>Where an expression is bound: its input columns, the clause (for messages) and, above a GROUP BY, the grouping.</summary>
internal sealed record ExprContext(Scope Scope, string Clause, Grouping? Grouping = null, bool InAggregate = false);

internal sealed partial class Binder
{
    private static readonly string s_operatorHint = "No operator matches the given name and argument types. You might need to add explicit type casts.";
    private static readonly string s_functionHint = "No function matches the given name and argument types. You might need to add explicit type casts.";

    public ScalarExpr BindExpr(Expression expr, ExprContext cx)
    {
        System.Runtime.CompilerServices.RuntimeHelpers.EnsureSufficientExecutionStack();
        if (cx.Grouping is Grouping grouping && !cx.InAggregate)
        {
            if (expr is SyntaxColumnRef reference)
            {
                int input = grouping.InputScope.Resolve(reference);
                for (int k = 0; k < grouping.Keys.Count; k++)
                {
                    if (grouping.Keys[k].InputColumn == input)
                    {
                        return new ColumnRef(k, grouping.Keys[k].Type);
                    }
                }
                throw UngroupedColumn(grouping.InputScope, input, reference);
            }
            for (int k = 0; k < grouping.Keys.Count; k++)
            {
                if (grouping.Keys[k].Syntax is Expression key && key.Equals(expr) && expr is not IntegerLiteral)
                {
                    return new ColumnRef(k, grouping.Keys[k].Type);
                }
            }
        }

        return expr switch
        {
            SyntaxColumnRef reference => BindColumn(reference, cx),
            Parameter parameter => BindParameter(parameter),
            IntegerLiteral integer => IntegerConstant(integer.Value),
            NumericLiteral numeric => NumericConstant(numeric.Text, negate: false, numeric),
            StringLiteral text => new Literal(Datum.FromString(text.Value), new ColumnType(SqlType.Unknown, false)),
            BooleanLiteral boolean => new Literal(Datum.FromBool(boolean.Value), new ColumnType(SqlType.Bool, false)),
            NullLiteral => Literal.Null(SqlType.Unknown),
            DefaultValue => throw Error("42601", "DEFAULT is not allowed in this context", expr),
            UnaryOperation unary => BindUnary(unary, cx),
            BinaryOperation binary => BindBinary(binary, cx),
            AndExpression and => BindLogical(VariadicFunc.And, "AND", and.Operands, cx),
            OrExpression or => BindLogical(VariadicFunc.Or, "OR", or.Operands, cx),
            NotExpression not => Unary(UnaryFunc.Not, CoerceToBool(BindExpr(not.Operand, cx), "NOT", not.Operand)),
            IsNullExpression isNull => new CallUnary(
                isNull.Negated ? UnaryFunc.IsNotNull : UnaryFunc.IsNull, BindExpr(isNull.Operand, cx), new ColumnType(SqlType.Bool, false)),
            IsBooleanExpression test => BindBooleanTest(test, cx),
            IsDistinctFromExpression distinct => BindDistinctFrom(distinct, cx),
            BetweenExpression between => BindBetween(between, cx),
            InListExpression inList => BindInList(inList, cx),
            LikeExpression like => BindLike(like, cx),
            CastExpression cast => BindCast(cast, cx),
            FunctionCall call => BindFunction(call, cx),
            CaseExpression caseExpr => BindCase(caseExpr, cx),
            ExistsExpression => throw NotSupported("EXISTS subqueries are", expr),
            SubqueryExpression => throw NotSupported("scalar subqueries are", expr),
            InSubqueryExpression => throw NotSupported("IN (subquery) is", expr),
            QuantifiedSubqueryExpression => throw NotSupported("ANY/ALL (subquery) is", expr),
            QuantifiedArrayExpression => throw NotSupported("ANY/ALL (array) is", expr),
            RowConstructor => throw NotSupported("row constructors are", expr),
            SqlValueFunction function => throw NotSupported($"{function.Kind} is", expr),
            BitStringLiteral => throw NotSupported("bit strings are", expr),
            _ => throw NotSupported($"expression {expr.GetType().Name} is", expr),
        };
    }

    private static PlanException UngroupedColumn(Scope scope, int input, SyntaxNode at) =>
        Error("42803", $"column \"{scope.QualifiedName(input)}\" must appear in the GROUP BY clause or be used in an aggregate function", at);

    private static ColumnRef BindColumn(SyntaxColumnRef reference, ExprContext cx)
    {
        int index = cx.Scope.Resolve(reference);
        return new ColumnRef(index, cx.Scope.Columns[index].Type);
    }

    private ParameterRef BindParameter(Parameter parameter)
    {
        if (parameter.Number < 1 || parameter.Number > ParametersMax)
        {
            throw Error("42P02", $"there is no parameter ${parameter.Number}", parameter);
        }
        while (_parameterTypes.Count < parameter.Number)
        {
            _parameterTypes.Add(SqlType.Unknown);
        }
        return new ParameterRef(parameter.Number - 1, new ColumnType(_parameterTypes[parameter.Number - 1], true));
    }

    private static Literal IntegerConstant(long value) =>
        new(Datum.FromInt64(value), new ColumnType(value is >= int.MinValue and <= int.MaxValue ? SqlType.Int32 : SqlType.Int64, false));

    private static Literal NumericConstant(string text, bool negate, SyntaxNode at)
    {
        if (!decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out decimal value))
        {
            throw Error("22003", $"numeric constant {text} is out of the supported range (28 significant digits)", at);
        }
        if (negate)
        {
            value = -value;
        }
        // An integer too large for bigint arrives here; -9223372036854775808 fits once negated.
        bool integral = text.AsSpan().IndexOfAnyExceptInRange('0', '9') < 0;
        if (integral && value >= long.MinValue && value <= long.MaxValue)
        {
            return new Literal(Datum.FromInt64((long)value), new ColumnType(SqlType.Int64, false));
        }
        return new Literal(Datum.FromDecimal(value), new ColumnType(SqlType.Numeric, false));
    }

    private static CallUnary Unary(UnaryFunc func, ScalarExpr arg) => new(func, arg, new ColumnType(SqlType.Bool, arg.Type.Nullable));

    private ScalarExpr BindUnary(UnaryOperation unary, ExprContext cx)
    {
        if (unary.Operator == "-" && unary.Operand is IntegerLiteral integer)
        {
            return IntegerConstant(-integer.Value);
        }
        if (unary.Operator == "-" && unary.Operand is NumericLiteral numeric)
        {
            return NumericConstant(numeric.Text, negate: true, numeric);
        }
        ScalarExpr operand = BindExpr(unary.Operand, cx);
        SqlType type = operand.Type.Type;
        if (unary.Operator is "-" or "+" && type.IsNumber)
        {
            if (unary.Operator == "+")
            {
                return operand;
            }
            if (operand is Literal { Value.IsNull: false } literal)
            {
                Datum negated = literal.Value.Kind switch
                {
                    DatumKind.Int64 when literal.Value.AsInt64 != long.MinValue => Datum.FromInt64(-literal.Value.AsInt64),
                    DatumKind.Float64 => Datum.FromFloat64(-literal.Value.AsFloat64),
                    DatumKind.Decimal => Datum.FromDecimal(-literal.Value.AsDecimal),
                    _ => Datum.Null,
                };
                if (!negated.IsNull)
                {
                    return literal with { Value = negated };
                }
            }
            return new CallUnary(UnaryFunc.Negate, operand, operand.Type);
        }
        throw Error("42883", $"operator does not exist: {unary.Operator} {type.Name}", unary, s_operatorHint);
    }

    private ScalarExpr BindBinary(BinaryOperation binary, ExprContext cx)
    {
        ScalarExpr left = BindExpr(binary.Left, cx);
        ScalarExpr right = BindExpr(binary.Right, cx);
        return binary.Operator switch
        {
            "+" => Arithmetic(BinaryFunc.Add, binary, left, right),
            "-" => Arithmetic(BinaryFunc.Sub, binary, left, right),
            "*" => Arithmetic(BinaryFunc.Mul, binary, left, right),
            "/" => Arithmetic(BinaryFunc.Div, binary, left, right),
            "%" => Arithmetic(BinaryFunc.Mod, binary, left, right),
            "=" => Comparison(BinaryFunc.Eq, binary, left, right),
            "<>" => Comparison(BinaryFunc.NotEq, binary, left, right),
            "<" => Comparison(BinaryFunc.Lt, binary, left, right),
            "<=" => Comparison(BinaryFunc.Lte, binary, left, right),
            ">" => Comparison(BinaryFunc.Gt, binary, left, right),
            ">=" => Comparison(BinaryFunc.Gte, binary, left, right),
            "||" => Concat(binary, left, right),
            "~~" => Like(left, right, caseInsensitive: false, negated: false, binary),
            "!~~" => Like(left, right, caseInsensitive: false, negated: true, binary),
            "~~*" => Like(left, right, caseInsensitive: true, negated: false, binary),
            "!~~*" => Like(left, right, caseInsensitive: true, negated: true, binary),
            _ => throw OperatorError(binary.Operator, left, right, binary),
        };
    }

    private static PlanException OperatorError(string op, ScalarExpr left, ScalarExpr right, SyntaxNode at) =>
        Error("42883", $"operator does not exist: {left.Type.Type.Name} {op} {right.Type.Type.Name}", at, s_operatorHint);

    private static int NumberRank(SqlTypeKind kind) => kind switch
    {
        SqlTypeKind.Int16 => 1,
        SqlTypeKind.Int32 => 2,
        SqlTypeKind.Int64 => 3,
        SqlTypeKind.Numeric => 4,
        SqlTypeKind.Float64 => 5,
        _ => 0,
    };

    private CallBinary Arithmetic(BinaryFunc func, BinaryOperation at, ScalarExpr left, ScalarExpr right)
    {
        SqlType lt = left.Type.Type;
        SqlType rt = right.Type.Type;
        string op = at.Operator;
        if (lt.Kind == SqlTypeKind.Unknown && rt.Kind == SqlTypeKind.Unknown)
        {
            throw Error("42725", $"operator is not unique: unknown {op} unknown", at,
                "Could not choose a best candidate operator. You might need to add explicit type casts.");
        }
        if (lt.Kind is SqlTypeKind.Date or SqlTypeKind.Timestamp || rt.Kind is SqlTypeKind.Date or SqlTypeKind.Timestamp)
        {
            throw NotSupported($"operator {lt.Name} {op} {rt.Name} is", at);
        }
        if (lt.Kind == SqlTypeKind.Unknown && rt.IsNumber)
        {
            lt = new SqlType(rt.Kind);
        }
        if (rt.Kind == SqlTypeKind.Unknown && lt.IsNumber)
        {
            rt = new SqlType(lt.Kind);
        }
        if (!lt.IsNumber || !rt.IsNumber)
        {
            throw OperatorError(op, left, right, at);
        }
        SqlType common = new(NumberRank(lt.Kind) >= NumberRank(rt.Kind) ? lt.Kind : rt.Kind);
        if (func == BinaryFunc.Mod && common.Kind == SqlTypeKind.Float64)
        {
            throw OperatorError(op, left, right, at);
        }
        ScalarExpr l = Coerce(left, common, CastContext.Implicit, at.Left);
        ScalarExpr r = Coerce(right, common, CastContext.Implicit, at.Right);
        return new CallBinary(func, l, r, new ColumnType(common, l.Type.Nullable || r.Type.Nullable));
    }

    private CallBinary Comparison(BinaryFunc func, SyntaxNode at, ScalarExpr left, ScalarExpr right, string? op = null)
    {
        SqlType common = TypeRules.CommonType([left.Type.Type, right.Type.Type])
            ?? throw OperatorError(op ?? (at as BinaryOperation)?.Operator ?? "=", left, right, at);
        ScalarExpr l = Coerce(left, common, CastContext.Implicit, at);
        ScalarExpr r = Coerce(right, common, CastContext.Implicit, at);
        bool nullable = func != BinaryFunc.IsDistinctFrom && (l.Type.Nullable || r.Type.Nullable);
        return new CallBinary(func, l, r, new ColumnType(SqlType.Bool, nullable));
    }

    private CallBinary Concat(BinaryOperation at, ScalarExpr left, ScalarExpr right)
    {
        bool leftText = left.Type.Type.IsString || left.Type.Type.Kind == SqlTypeKind.Unknown;
        bool rightText = right.Type.Type.IsString || right.Type.Type.Kind == SqlTypeKind.Unknown;
        if (!leftText && !rightText)
        {
            throw OperatorError("||", left, right, at);
        }
        ScalarExpr l = Coerce(left, SqlType.Text, leftText ? CastContext.Implicit : CastContext.Explicit, at.Left);
        ScalarExpr r = Coerce(right, SqlType.Text, rightText ? CastContext.Implicit : CastContext.Explicit, at.Right);
        return new CallBinary(BinaryFunc.Concat, l, r, new ColumnType(SqlType.Text, l.Type.Nullable || r.Type.Nullable));
    }

    private ScalarExpr Like(ScalarExpr operand, ScalarExpr pattern, bool caseInsensitive, bool negated, SyntaxNode at)
    {
        string op = (negated ? "!" : string.Empty) + (caseInsensitive ? "~~*" : "~~");
        bool operandText = operand.Type.Type.IsString || operand.Type.Type.Kind == SqlTypeKind.Unknown;
        bool patternText = pattern.Type.Type.IsString || pattern.Type.Type.Kind == SqlTypeKind.Unknown;
        if (!operandText || !patternText)
        {
            throw OperatorError(op, operand, pattern, at);
        }
        ScalarExpr l = Coerce(operand, SqlType.Text, CastContext.Implicit, at);
        ScalarExpr r = Coerce(pattern, SqlType.Text, CastContext.Implicit, at);
        ScalarExpr like = new CallBinary(caseInsensitive ? BinaryFunc.ILike : BinaryFunc.Like, l, r,
            new ColumnType(SqlType.Bool, l.Type.Nullable || r.Type.Nullable));
        return negated ? Unary(UnaryFunc.Not, like) : like;
    }

    private ScalarExpr BindLike(LikeExpression like, ExprContext cx)
    {
        if (like.Escape is not null && !(like.Escape is StringLiteral { Value: "\\" }))
        {
            throw NotSupported("LIKE ... ESCAPE other than backslash is", like.Escape);
        }
        return Like(BindExpr(like.Operand, cx), BindExpr(like.Pattern, cx), like.CaseInsensitive, like.Negated, like);
    }

    private CallVariadic BindLogical(VariadicFunc func, string name, NodeList<Expression> operands, ExprContext cx)
    {
        var args = ImmutableArray.CreateBuilder<ScalarExpr>(operands.Count);
        bool nullable = false;
        foreach (Expression operand in operands)
        {
            ScalarExpr arg = CoerceToBool(BindExpr(operand, cx), name, operand);
            nullable |= arg.Type.Nullable;
            args.Add(arg);
        }
        return new CallVariadic(func, args.MoveToImmutable(), new ColumnType(SqlType.Bool, nullable));
    }

    /// <summary>Coerces a condition to boolean, or fails with PostgreSQL's <c>argument of WHERE must be type boolean</c>.</summary>
    public ScalarExpr CoerceToBool(ScalarExpr expr, string clause, SyntaxNode at)
    {
        if (expr.Type.Type.Kind is SqlTypeKind.Bool or SqlTypeKind.Unknown)
        {
            return Coerce(expr, SqlType.Bool, CastContext.Implicit, at);
        }
        throw Error("42804", $"argument of {clause} must be type boolean, not type {expr.Type.Type.Name}", at);
    }

    private CallUnary BindBooleanTest(IsBooleanExpression test, ExprContext cx)
    {
        ScalarExpr operand = CoerceToBool(BindExpr(test.Operand, cx), test.Kind == BooleanTestKind.Unknown ? "IS UNKNOWN" : "IS TRUE", test.Operand);
        UnaryFunc func = (test.Kind, test.Negated) switch
        {
            (BooleanTestKind.True, false) => UnaryFunc.IsTrue,
            (BooleanTestKind.True, true) => UnaryFunc.IsNotTrue,
            (BooleanTestKind.False, false) => UnaryFunc.IsFalse,
            (BooleanTestKind.False, true) => UnaryFunc.IsNotFalse,
            (_, false) => UnaryFunc.IsNull,
            (_, true) => UnaryFunc.IsNotNull,
        };
        return new CallUnary(func, operand, new ColumnType(SqlType.Bool, false));
    }

    private ScalarExpr BindDistinctFrom(IsDistinctFromExpression distinct, ExprContext cx)
    {
        CallBinary test = Comparison(BinaryFunc.IsDistinctFrom, distinct, BindExpr(distinct.Left, cx), BindExpr(distinct.Right, cx), "IS DISTINCT FROM");
        return distinct.Negated ? new CallUnary(UnaryFunc.Not, test, new ColumnType(SqlType.Bool, false)) : test;
    }

    private ScalarExpr BindBetween(BetweenExpression between, ExprContext cx)
    {
        ScalarExpr operand = BindExpr(between.Operand, cx);
        ScalarExpr low = BindExpr(between.Low, cx);
        ScalarExpr high = BindExpr(between.High, cx);
        SqlType common = TypeRules.CommonType([operand.Type.Type, low.Type.Type, high.Type.Type])
            ?? throw OperatorError(">=", operand, low.Type.Type.Kind == SqlTypeKind.Unknown ? high : low, between);
        operand = Coerce(operand, common, CastContext.Implicit, between.Operand);
        low = Coerce(low, common, CastContext.Implicit, between.Low);
        high = Coerce(high, common, CastContext.Implicit, between.High);
        ScalarExpr range = Range(operand, low, high, between.Negated);
        if (between.Symmetric)
        {
            ScalarExpr swapped = Range(operand, high, low, between.Negated);
            range = Logical(between.Negated ? VariadicFunc.And : VariadicFunc.Or, range, swapped);
        }
        return range;
    }

    private static CallVariadic Range(ScalarExpr operand, ScalarExpr low, ScalarExpr high, bool negated)
    {
        if (negated)
        {
            return Logical(VariadicFunc.Or, Compare(BinaryFunc.Lt, operand, low), Compare(BinaryFunc.Gt, operand, high));
        }
        return Logical(VariadicFunc.And, Compare(BinaryFunc.Gte, operand, low), Compare(BinaryFunc.Lte, operand, high));
    }

    private static CallBinary Compare(BinaryFunc func, ScalarExpr left, ScalarExpr right) =>
        new(func, left, right, new ColumnType(SqlType.Bool, left.Type.Nullable || right.Type.Nullable));

    private static CallVariadic Logical(VariadicFunc func, params ReadOnlySpan<ScalarExpr> args)
    {
        bool nullable = false;
        foreach (ScalarExpr arg in args)
        {
            nullable |= arg.Type.Nullable;
        }
        return new CallVariadic(func, [.. args], new ColumnType(SqlType.Bool, nullable));
    }

    private ScalarExpr BindInList(InListExpression inList, ExprContext cx)
    {
        ScalarExpr operand = BindExpr(inList.Operand, cx);
        var items = new List<ScalarExpr>(inList.Items.Count);
        var types = new List<SqlType>(inList.Items.Count + 1) { operand.Type.Type };
        foreach (Expression item in inList.Items)
        {
            ScalarExpr bound = BindExpr(item, cx);
            items.Add(bound);
            types.Add(bound.Type.Type);
        }
        SqlType common = TypeRules.CommonType(types) ?? throw OperatorError("=", operand, FirstOtherType(items, operand), inList);
        operand = Coerce(operand, common, CastContext.Implicit, inList.Operand);
        var tests = ImmutableArray.CreateBuilder<ScalarExpr>(items.Count);
        bool nullable = false;
        for (int i = 0; i < items.Count; i++)
        {
            CallBinary test = Compare(inList.Negated ? BinaryFunc.NotEq : BinaryFunc.Eq, operand, Coerce(items[i], common, CastContext.Implicit, inList.Items[i]));
            nullable |= test.Type.Nullable;
            tests.Add(test);
        }
        if (tests.Count == 1)
        {
            return tests[0];
        }
        return new CallVariadic(inList.Negated ? VariadicFunc.And : VariadicFunc.Or, tests.MoveToImmutable(), new ColumnType(SqlType.Bool, nullable));
    }

    private static ScalarExpr FirstOtherType(List<ScalarExpr> items, ScalarExpr operand)
    {
        foreach (ScalarExpr item in items)
        {
            if (TypeRules.CommonType([operand.Type.Type, item.Type.Type]) is null)
            {
                return item;
            }
        }
        return items[0];
    }

    private ScalarExpr BindCast(CastExpression cast, ExprContext cx)
    {
        SqlType target = ResolveType(cast.Type);
        ScalarExpr operand = BindExpr(cast.Operand, cx);
        return Coerce(operand, target, CastContext.Explicit, cast);
    }

    private ScalarExpr BindCase(CaseExpression caseExpr, ExprContext cx)
    {
        ScalarExpr? operand = caseExpr.Operand is null ? null : BindExpr(caseExpr.Operand, cx);
        var conditions = new List<ScalarExpr>(caseExpr.Whens.Count);
        var results = new List<ScalarExpr>(caseExpr.Whens.Count + 1);
        foreach (WhenClause when in caseExpr.Whens)
        {
            ScalarExpr condition = BindExpr(when.Condition, cx);
            condition = operand is null
                ? CoerceToBool(condition, "CASE/WHEN", when.Condition)
                : Comparison(BinaryFunc.Eq, when.Condition, operand, condition, "=");
            conditions.Add(condition);
            results.Add(BindExpr(when.Result, cx));
        }
        ScalarExpr otherwise = caseExpr.Else is null ? Literal.Null(SqlType.Unknown) : BindExpr(caseExpr.Else, cx);
        results.Add(otherwise);
        SqlType common = CommonTypeOf(results, "CASE", caseExpr);
        ScalarExpr result = Coerce(otherwise, common, CastContext.Implicit, caseExpr.Else ?? caseExpr);
        for (int i = conditions.Count - 1; i >= 0; i--)
        {
            ScalarExpr then = Coerce(results[i], common, CastContext.Implicit, caseExpr.Whens[i].Result);
            result = new IfThenElse(conditions[i], then, result, new ColumnType(common, then.Type.Nullable || result.Type.Nullable));
        }
        return result;
    }

    /// <summary>The common type of <paramref name="exprs"/> for <paramref name="construct"/> (CASE, COALESCE, VALUES...), or 42804.</summary>
    private static SqlType CommonTypeOf(List<ScalarExpr> exprs, string construct, SyntaxNode at)
    {
        var types = new List<SqlType>(exprs.Count);
        foreach (ScalarExpr expr in exprs)
        {
            types.Add(expr.Type.Type);
        }
        if (TypeRules.CommonType(types) is SqlType common)
        {
            return common;
        }
        SqlType first = default;
        foreach (SqlType type in types)
        {
            if (type.Kind == SqlTypeKind.Unknown)
            {
                continue;
            }
            if (first.Kind == SqlTypeKind.Unknown)
            {
                first = type;
            }
            else if (TypeRules.CommonType([first, type]) is null)
            {
                throw Error("42804", $"{construct} types {first.Name} and {type.Name} cannot be matched", at);
            }
        }
        throw Error("42804", $"{construct} types cannot be matched", at);
    }

    /// <summary>Converts <paramref name="expr"/> to <paramref name="target"/> in <paramref name="context"/>, or fails with PostgreSQL's error.</summary>
    public ScalarExpr Coerce(ScalarExpr expr, SqlType target, CastContext context, SyntaxNode? at)
    {
        SqlType source = expr.Type.Type;
        if (TryCoerce(expr, target, context, at) is ScalarExpr coerced)
        {
            return coerced;
        }
        if (context == CastContext.Explicit)
        {
            throw Error("42846", $"cannot cast type {source.Name} to {target.Name}", at);
        }
        throw Error("42804", $"expression is of type {source.Name}, but {target.Name} is required", at,
            "You will need to rewrite or cast the expression.");
    }

    /// <summary>Like <see cref="Coerce"/>, but null when no cast exists in <paramref name="context"/> (a bad constant still throws).</summary>
    public ScalarExpr? TryCoerce(ScalarExpr expr, SqlType target, CastContext context, SyntaxNode? at)
    {
        SqlType source = expr.Type.Type;
        if (target.Kind == SqlTypeKind.Unknown || source == target)
        {
            return expr;
        }
        if (expr is Literal { Type.Type.Kind: SqlTypeKind.Unknown } unknown)
        {
            if (unknown.Value.IsNull)
            {
                return Literal.Null(target);
            }
            if (!TypeRules.TryParse(unknown.Value.AsString, target, context == CastContext.Explicit, out Datum parsed, out PlanError? error))
            {
                throw new PlanException(error! with { Position = at is { Location.IsKnown: true } ? at.Location.Offset + 1 : null });
            }
            return new Literal(parsed, new ColumnType(target, false));
        }
        if (expr is ParameterRef { Type.Type.Kind: SqlTypeKind.Unknown } parameter)
        {
            SqlType inferred = new(target.Kind);
            _parameterTypes[parameter.Index] = inferred;
            ScalarExpr typed = new ParameterRef(parameter.Index, new ColumnType(inferred, true));
            return inferred == target ? typed : TryCoerce(typed, target, context, at);
        }
        if (source.Kind == target.Kind && target.Length < 0 && target.Precision < 0)
        {
            // A modifier is only dropped: varchar(3) is already a varchar.
            return expr;
        }
        if (!TypeRules.CanCast(source, target, context))
        {
            return null;
        }
        if (expr is Literal { Value.IsNull: true })
        {
            return Literal.Null(target);
        }
        if (expr is Literal literal && FoldWidening(literal.Value, target) is Datum folded)
        {
            return new Literal(folded, new ColumnType(target, false));
        }
        return new Cast(expr, target, context == CastContext.Explicit, new ColumnType(target, expr.Type.Nullable));
    }

    /// <summary>Exact conversions of number constants done at plan time (integer → bigint, numeric, double precision).</summary>
    private static Datum? FoldWidening(Datum value, SqlType target)
    {
        if (target.Precision >= 0 || target.Length >= 0)
        {
            return null;
        }
        return (value.Kind, target.Kind) switch
        {
            (DatumKind.Int64, SqlTypeKind.Int64) => value,
            (DatumKind.Int64, SqlTypeKind.Numeric) => Datum.FromDecimal(value.AsInt64),
            (DatumKind.Int64, SqlTypeKind.Float64) => Datum.FromFloat64(value.AsInt64),
            (DatumKind.String, SqlTypeKind.Text or SqlTypeKind.Varchar) => value,
            _ => null,
        };
    }

    /// <summary>The kernel type for a type name as the parser spells it, or 0A000 / 42704.</summary>
    public static SqlType ResolveType(TypeName type)
    {
        string name = type.Name.Name;
        NodeList<int> mods = type.Modifiers;
        switch (name)
        {
            case "bool" or "boolean":
                return SqlType.Bool;
            case "int2" or "smallint":
                return SqlType.Int16;
            case "int4" or "int" or "integer":
                return SqlType.Int32;
            case "int8" or "bigint":
                return SqlType.Int64;
            case "float8" or "float4" or "real" or "double precision" or "float":
                // real (float4) is stored as double precision: the kernel has one floating-point type.
                return SqlType.Float64;
            case "numeric" or "decimal":
                if (mods.Count == 0)
                {
                    return SqlType.Numeric;
                }
                int precision = mods[0];
                int scale = mods.Count > 1 ? mods[1] : 0;
                if (precision < 1 || precision > 1000)
                {
                    throw Error("22023", $"NUMERIC precision {precision} must be between 1 and 1000", type);
                }
                if (scale < 0 || scale > precision)
                {
                    throw Error("22023", $"NUMERIC scale {scale} must be between 0 and precision {precision}", type);
                }
                return SqlType.NumericOf(precision, scale);
            case "text":
                return SqlType.Text;
            case "varchar":
                if (mods.Count == 0)
                {
                    return SqlType.Varchar;
                }
                if (mods[0] < 1)
                {
                    throw Error("22023", "length for type varchar must be at least 1", type);
                }
                return SqlType.VarcharOf(mods[0]);
            case "date":
                return SqlType.Date;
            case "timestamp":
                return SqlType.Timestamp;
            case "bpchar" or "char" or "character":
                throw NotSupported("type character (blank-padded char) is", type);
            case "timestamptz" or "time" or "timetz" or "interval" or "bytea" or "json" or "jsonb" or "uuid" or "bit" or "varbit" or "oid" or "regclass":
                throw NotSupported($"type {name} is", type);
            default:
                throw Error("42704", $"type \"{name}\" does not exist", type);
        }
    }
}
