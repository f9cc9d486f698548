using System;
using System.Diagnostics.CodeAnalysis;
using Kernel.Expr.Text;
using Kernel.Persist.Data;

namespace Kernel.Expr.Eval;

/// <summary>Functions of one argument.</summary>
public static partial class Evaluator
{
    private static readonly EvalError s_negativeSqrt = new("2201F", "cannot take square root of a negative number");

    private static bool TryEvalUnary(CallUnary call, ReadOnlySpan<Datum> row, out Datum value, [NotNullWhen(false)] out EvalError? error)
    {
        if (!TryEval(call.Arg, row, out Datum arg, out error))
        {
            value = Datum.Null;
            return false;
        }
        // The null tests are the only functions of one argument that see NULL.
        switch (call.Func)
        {
            case UnaryFunc.IsNull:
                return Ok(Datum.FromBool(arg.IsNull), out value, out error);
            case UnaryFunc.IsNotNull:
                return Ok(Datum.FromBool(!arg.IsNull), out value, out error);
            case UnaryFunc.IsTrue:
                return Ok(Datum.FromBool(IsBool(arg, true)), out value, out error);
            case UnaryFunc.IsFalse:
                return Ok(Datum.FromBool(IsBool(arg, false)), out value, out error);
            case UnaryFunc.IsNotTrue:
                return Ok(Datum.FromBool(!IsBool(arg, true)), out value, out error);
            case UnaryFunc.IsNotFalse:
                return Ok(Datum.FromBool(!IsBool(arg, false)), out value, out error);
            default:
                break;
        }
        if (arg.IsNull)
        {
            return Ok(Datum.Null, out value, out error);
        }
        SqlTypeKind resultKind = call.ResultType.Type.Kind;
        switch (call.Func, arg.Kind)
        {
            case (UnaryFunc.Not, DatumKind.Bool):
                return Ok(Datum.FromBool(!arg.AsBool), out value, out error);

            case (UnaryFunc.Negate, DatumKind.Int64):
            {
                long operand = arg.AsInt64;
                // -long.MinValue has no long; for the narrower types the range check catches -(-32768) and the like.
                if (operand == long.MinValue)
                {
                    return Fail(IntegerOutOfRange(resultKind), out value, out error);
                }
                return IntegerResult(-operand, resultKind, out value, out error);
            }
            case (UnaryFunc.Negate, DatumKind.Float64):
                return Ok(Datum.FromFloat64(-arg.AsFloat64), out value, out error);
            case (UnaryFunc.Negate, DatumKind.Decimal):
                return Ok(Datum.FromDecimal(Numerics.Normalize(-arg.AsDecimal)), out value, out error);

            case (UnaryFunc.Abs, DatumKind.Int64):
            {
                long operand = arg.AsInt64;
                if (operand == long.MinValue)
                {
                    return Fail(IntegerOutOfRange(resultKind), out value, out error);
                }
                return IntegerResult(Math.Abs(operand), resultKind, out value, out error);
            }
            case (UnaryFunc.Abs, DatumKind.Float64):
                return Ok(Datum.FromFloat64(Math.Abs(arg.AsFloat64)), out value, out error);
            case (UnaryFunc.Abs, DatumKind.Decimal):
                return Ok(Datum.FromDecimal(Math.Abs(arg.AsDecimal)), out value, out error);

            case (UnaryFunc.Lower, DatumKind.String):
                return Ok(Datum.FromString(arg.AsString.ToLowerInvariant()), out value, out error);
            case (UnaryFunc.Upper, DatumKind.String):
                return Ok(Datum.FromString(arg.AsString.ToUpperInvariant()), out value, out error);
            case (UnaryFunc.CharLength, DatumKind.String):
                return Ok(Datum.FromInt64(CharacterCount(arg.AsString)), out value, out error);
            case (UnaryFunc.Trim, DatumKind.String):
                // trim(x) with no characters named removes spaces only, as PostgreSQL's btrim does.
                return Ok(Datum.FromString(arg.AsString.Trim(' ')), out value, out error);

            case (UnaryFunc.Floor or UnaryFunc.Ceil or UnaryFunc.Round, DatumKind.Int64):
                return Ok(arg, out value, out error);
            case (UnaryFunc.Floor, DatumKind.Float64):
                return Ok(Datum.FromFloat64(Math.Floor(arg.AsFloat64)), out value, out error);
            case (UnaryFunc.Ceil, DatumKind.Float64):
                return Ok(Datum.FromFloat64(Math.Ceiling(arg.AsFloat64)), out value, out error);
            case (UnaryFunc.Round, DatumKind.Float64):
                // PostgreSQL's round(float8) is rint: halves go to the even neighbour.
                return Ok(Datum.FromFloat64(Math.Round(arg.AsFloat64, MidpointRounding.ToEven)), out value, out error);
            case (UnaryFunc.Floor, DatumKind.Decimal):
                return Ok(Datum.FromDecimal(Numerics.WithScale(Math.Floor(arg.AsDecimal), 0)), out value, out error);
            case (UnaryFunc.Ceil, DatumKind.Decimal):
                return Ok(Datum.FromDecimal(Numerics.WithScale(Math.Ceiling(arg.AsDecimal), 0)), out value, out error);
            case (UnaryFunc.Round, DatumKind.Decimal):
                return Ok(Datum.FromDecimal(Numerics.WithScale(arg.AsDecimal, 0)), out value, out error);

            case (UnaryFunc.Sqrt, DatumKind.Float64):
            {
                double operand = arg.AsFloat64;
                if (operand < 0)
                {
                    return Fail(s_negativeSqrt, out value, out error);
                }
                return Ok(Datum.FromFloat64(Math.Sqrt(operand)), out value, out error);
            }
            case (UnaryFunc.Sqrt, DatumKind.Decimal):
            {
                decimal operand = arg.AsDecimal;
                if (operand < 0)
                {
                    return Fail(s_negativeSqrt, out value, out error);
                }
                return Ok(Datum.FromDecimal(Numerics.WithScale(SqrtDecimal(operand), Numerics.SqrtScale(operand))), out value, out error);
            }
            case (UnaryFunc.Sqrt, DatumKind.Int64):
            {
                long operand = arg.AsInt64;
                if (operand < 0)
                {
                    return Fail(s_negativeSqrt, out value, out error);
                }
                return Ok(Datum.FromFloat64(Math.Sqrt(operand)), out value, out error);
            }
            default:
                return Fail(Internal($"{call.Func} is not defined on a {arg.Kind} operand"), out value, out error);
        }
    }

    private static bool IsBool(Datum value, bool wanted) => value.Kind == DatumKind.Bool && value.AsBool == wanted;

    /// <summary>Characters as PostgreSQL counts them in UTF-8: code points, so a surrogate pair is one.</summary>
    private static long CharacterCount(string text)
    {
        long count = text.Length;
        for (int i = 0; i + 1 < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && char.IsLowSurrogate(text[i + 1]))
            {
                count--;
                i++;
            }
        }
        return count;
    }

    /// <summary>Square root in decimal: a double estimate refined by Newton steps to decimal's precision.</summary>
    private static decimal SqrtDecimal(decimal operand)
    {
        if (operand == 0)
        {
            return 0m;
        }
        decimal estimate = (decimal)Math.Sqrt((double)operand);
        for (int step = 0; step < 4 && estimate != 0; step++)
        {
            decimal next = (estimate + (operand / estimate)) / 2;
            if (next == estimate)
            {
                break;
            }
            estimate = next;
        }
        return estimate;
    }
}
