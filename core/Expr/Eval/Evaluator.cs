using System;
using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using Kernel.Expr.Text;
using Kernel.Persist.Data;

namespace Kernel.Expr.Eval;

/// <summary>
/// Evaluates scalar expressions over one input row with PostgreSQL 15 semantics: the hot path of every map and
/// filter. NULL propagates through strict functions; AND/OR use three-valued logic; runtime faults (overflow,
/// division by zero, bad input) are <see cref="EvalError"/> values with PostgreSQL's SQLSTATE and wording.
/// </summary>
/// <remarks>
/// Stateless and allocation-free for fixed-width results (strings and errors allocate). The planner types every
/// node, so operand datum kinds match the types it declared; a mismatch is a planner bug, reported as an XX000
/// error value rather than a crash, so that one bad expression fails only the queries that read it.
/// </remarks>
public static partial class Evaluator
{
    /// <summary>Evaluates <paramref name="expr"/> over the columns of one input row. True with the value, or false with the error.</summary>
    public static bool TryEval(ScalarExpr expr, ReadOnlySpan<Datum> row, out Datum value, [NotNullWhen(false)] out EvalError? error)
    {
        switch (expr)
        {
            case ColumnRef column:
                if ((uint)column.Index >= (uint)row.Length)
                {
                    return Fail(Internal($"column {column.Index} is outside the input row of {row.Length} columns"), out value, out error);
                }
                return Ok(row[column.Index], out value, out error);
            case Literal literal:
                return Ok(literal.Value, out value, out error);
            case CallUnary unary:
                return TryEvalUnary(unary, row, out value, out error);
            case CallBinary binary:
                return TryEvalBinary(binary, row, out value, out error);
            case CallVariadic variadic:
                return TryEvalVariadic(variadic, row, out value, out error);
            case IfThenElse branch:
                if (!TryIsTrue(branch.Cond, row, out bool takeThen, out error))
                {
                    value = Datum.Null;
                    return false;
                }
                return TryEval(takeThen ? branch.Then : branch.Else, row, out value, out error);
            case Cast cast:
                if (!TryEval(cast.Arg, row, out Datum argument, out error))
                {
                    value = Datum.Null;
                    return false;
                }
                return TryCast(argument, cast.Arg.Type.Type, cast.Target, cast.Explicit, out value, out error);
            case null:
                throw new ArgumentNullException(nameof(expr));
            default:
                return Fail(Internal($"unknown expression node {expr.GetType().Name}"), out value, out error);
        }
    }

    /// <summary>SQL truth of a predicate: true only for a true value (NULL and false are not true); false with an error on error.</summary>
    public static bool TryIsTrue(ScalarExpr predicate, ReadOnlySpan<Datum> row, out bool isTrue, [NotNullWhen(false)] out EvalError? error)
    {
        if (!TryEval(predicate, row, out Datum value, out error))
        {
            isTrue = false;
            return false;
        }
        isTrue = value.Kind == DatumKind.Bool && value.AsBool;
        return true;
    }

    private static bool TryEvalVariadic(CallVariadic call, ReadOnlySpan<Datum> row, out Datum value, [NotNullWhen(false)] out EvalError? error)
    {
        ImmutableArray<ScalarExpr> args = call.Args;
        switch (call.Func)
        {
            case VariadicFunc.And:
                return TryEvalLogic(args, row, decisive: false, out value, out error);
            case VariadicFunc.Or:
                return TryEvalLogic(args, row, decisive: true, out value, out error);
            case VariadicFunc.Coalesce:
                foreach (ScalarExpr arg in args)
                {
                    if (!TryEval(arg, row, out value, out error))
                    {
                        return false;
                    }
                    if (!value.IsNull)
                    {
                        return true;
                    }
                }
                return Ok(Datum.Null, out value, out error);
            case VariadicFunc.Greatest:
            case VariadicFunc.Least:
            {
                Datum best = Datum.Null;
                bool greatest = call.Func == VariadicFunc.Greatest;
                foreach (ScalarExpr arg in args)
                {
                    if (!TryEval(arg, row, out Datum candidate, out error))
                    {
                        value = Datum.Null;
                        return false;
                    }
                    if (candidate.IsNull)
                    {
                        continue;
                    }
                    if (best.IsNull)
                    {
                        best = candidate;
                        continue;
                    }
                    if (!TryCompare(candidate, best, out int order, out error))
                    {
                        value = Datum.Null;
                        return false;
                    }
                    if (greatest ? order > 0 : order < 0)
                    {
                        best = candidate;
                    }
                }
                return Ok(best, out value, out error);
            }
            case VariadicFunc.ConcatAll:
            {
                var builder = new StringBuilder();
                foreach (ScalarExpr arg in args)
                {
                    if (!TryEval(arg, row, out Datum part, out error))
                    {
                        value = Datum.Null;
                        return false;
                    }
                    if (!part.IsNull)
                    {
                        builder.Append(part.Kind == DatumKind.String ? part.AsString : DatumText.Format(part, arg.Type.Type));
                    }
                }
                return Ok(Datum.FromString(builder.ToString()), out value, out error);
            }
            default:
                return Fail(Internal($"unknown variadic function {call.Func}"), out value, out error);
        }
    }

    /// <summary>
    /// Three-valued AND (decisive value false) and OR (decisive value true). The decisive value wins over NULL and
    /// over errors in other arguments, so <c>x &lt;&gt; 0 AND 1/x &gt; 1</c> is false at x = 0. Otherwise the first
    /// error (left to right) is the result, then NULL if any argument was NULL.
    /// </summary>
    private static bool TryEvalLogic(ImmutableArray<ScalarExpr> args, ReadOnlySpan<Datum> row, bool decisive, out Datum value, [NotNullWhen(false)] out EvalError? error)
    {
        EvalError? firstError = null;
        bool sawNull = false;
        foreach (ScalarExpr arg in args)
        {
            if (!TryEval(arg, row, out Datum operand, out EvalError? argError))
            {
                firstError ??= argError;
                continue;
            }
            if (operand.IsNull)
            {
                sawNull = true;
                continue;
            }
            if (operand.Kind != DatumKind.Bool)
            {
                firstError ??= Internal($"logical operand of kind {operand.Kind}, not Bool");
                continue;
            }
            if (operand.AsBool == decisive)
            {
                return Ok(Datum.FromBool(decisive), out value, out error);
            }
        }
        if (firstError is not null)
        {
            return Fail(firstError, out value, out error);
        }
        return Ok(sawNull ? Datum.Null : Datum.FromBool(!decisive), out value, out error);
    }

    private static bool Ok(Datum result, out Datum value, out EvalError? error)
    {
        value = result;
        error = null;
        return true;
    }

    private static bool Fail(EvalError failure, out Datum value, [NotNullWhen(false)] out EvalError? error)
    {
        value = Datum.Null;
        error = failure;
        return false;
    }

    /// <summary>A planner bug observed at run time: an error value (XX000) so the replica keeps running.</summary>
    private static EvalError Internal(string message) => new("XX000", "internal error: " + message);
}
