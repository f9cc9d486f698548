using System;
using System.Collections.Generic;
using System.Numerics;
using Kernel.Expr;
using Kernel.Persist.Data;

namespace Kernel.Compute.Dataflow;

/// <summary>
/// The running state of one aggregate over one group, updated by (value, diff) in O(1) for the accumulable
/// aggregates (count, sum, bool_and, bool_or) and O(log n) for min/max (a sorted multiset of the values).
/// Distinct aggregates first dedupe through a value → count map and feed the inner state only when a value
/// appears (count 0 → positive) or disappears (positive → 0), so they stay incremental too.
/// </summary>
/// <remarks>
/// Sums are exact so that retractions never leave drift: integers accumulate in 128 bits (a sum of fewer than
/// 2^64 bigint values cannot overflow it) and are range-checked only when the result is produced; numeric
/// accumulates in decimal (an intermediate overflow poisons the group's sum with 22003 until the group is empty);
/// double precision accumulates in exact fixed point: every finite double is an integer multiple of 2^-1074, so
/// the sum is kept as a BigInteger count of 2^-1074 units (plus counts of +Infinity, -Infinity and NaN) and
/// rounded once, on output. Keeping the multiset and re-summing would also be exact but costs the group's size
/// per change; fixed point costs one big-integer add.
/// </remarks>
internal sealed class AggregateState
{
    private const int FloatScale = 1074;

    private readonly AggregateExpr _aggregate;
    private long _nonNull;
    private Int128 _integerSum;
    private decimal _decimalSum;
    private long _decimalOverflows;
    private BigInteger _floatSum;
    private long _positiveInfinities;
    private long _negativeInfinities;
    private long _nans;
    private long _trues;
    private long _falses;
    private SortedSet<Datum>? _values;
    private Dictionary<Datum, long>? _valueCounts;
    private Dictionary<Datum, long>? _distinct;

    public AggregateState(AggregateExpr aggregate)
    {
        _aggregate = aggregate;
    }

    /// <summary>True when the state holds nothing (every value retracted).</summary>
    public bool IsEmpty => _nonNull == 0 && (_distinct is null || _distinct.Count == 0) && (_valueCounts is null || _valueCounts.Count == 0);

    /// <summary>Adds <paramref name="diff"/> copies of <paramref name="value"/> (negative retracts).</summary>
    public void Apply(Datum value, long diff)
    {
        if (value.IsNull || diff == 0)
        {
            return;
        }
        if (_aggregate.Distinct)
        {
            _distinct ??= [];
            _distinct.TryGetValue(value, out long before);
            long after = checked(before + diff);
            if (after == 0)
            {
                _distinct.Remove(value);
            }
            else
            {
                _distinct[value] = after;
            }
            bool wasPresent = before > 0;
            bool isPresent = after > 0;
            if (wasPresent != isPresent)
            {
                ApplyInner(value, isPresent ? 1 : -1);
            }
            return;
        }
        ApplyInner(value, diff);
    }

    /// <summary>The aggregate's value; <paramref name="groupCount"/> is the group's row count (for count(*)).</summary>
    public bool TryResult(long groupCount, out Datum result, out EvalError? error)
    {
        error = null;
        result = Datum.Null;
        switch (_aggregate.Func)
        {
            case AggregateFunc.CountAll:
                result = Datum.FromInt64(groupCount);
                return true;
            case AggregateFunc.Count:
                result = Datum.FromInt64(_nonNull);
                return true;
            case AggregateFunc.Sum:
                return _nonNull == 0 || TrySum(out result, out error);
            case AggregateFunc.Min:
                if (_values is { Count: > 0 })
                {
                    result = _values.Min;
                }
                return true;
            case AggregateFunc.Max:
                if (_values is { Count: > 0 })
                {
                    result = _values.Max;
                }
                return true;
            case AggregateFunc.BoolAnd:
                result = _falses > 0 ? Datum.FromBool(false) : _trues > 0 ? Datum.FromBool(true) : Datum.Null;
                return true;
            case AggregateFunc.BoolOr:
                result = _trues > 0 ? Datum.FromBool(true) : _falses > 0 ? Datum.FromBool(false) : Datum.Null;
                return true;
            default:
                throw new InvalidOperationException($"unknown aggregate {_aggregate.Func}");
        }
    }

    private void ApplyInner(Datum value, long diff)
    {
        _nonNull = checked(_nonNull + diff);
        switch (_aggregate.Func)
        {
            case AggregateFunc.CountAll:
            case AggregateFunc.Count:
                break;
            case AggregateFunc.Sum:
                AddToSum(value, diff);
                break;
            case AggregateFunc.Min:
            case AggregateFunc.Max:
                _values ??= new SortedSet<Datum>();
                _valueCounts ??= [];
                _valueCounts.TryGetValue(value, out long before);
                long after = checked(before + diff);
                if (after == 0)
                {
                    _valueCounts.Remove(value);
                    _values.Remove(value);
                }
                else
                {
                    _valueCounts[value] = after;
                    if (before == 0)
                    {
                        _values.Add(value);
                    }
                }
                break;
            case AggregateFunc.BoolAnd:
            case AggregateFunc.BoolOr:
                if (value.Kind != DatumKind.Bool)
                {
                    throw new InvalidOperationException($"{_aggregate.Func} over a {value.Kind} value");
                }
                if (value.AsBool)
                {
                    _trues = checked(_trues + diff);
                }
                else
                {
                    _falses = checked(_falses + diff);
                }
                break;
            default:
                throw new InvalidOperationException($"unknown aggregate {_aggregate.Func}");
        }
    }

    private void AddToSum(Datum value, long diff)
    {
        switch (value.Kind)
        {
            case DatumKind.Int64:
                _integerSum += (Int128)value.AsInt64 * diff;
                break;
            case DatumKind.Decimal:
                try
                {
                    _decimalSum = checked(_decimalSum + (value.AsDecimal * diff));
                }
                catch (OverflowException)
                {
                    // The decimal sum cannot represent this state; remember how many values are unaccounted for.
                    _decimalOverflows = checked(_decimalOverflows + Math.Abs(diff));
                }
                break;
            case DatumKind.Float64:
                AddFloat(value.AsFloat64, diff);
                break;
            default:
                throw new InvalidOperationException($"sum over a {value.Kind} value");
        }
    }

    private void AddFloat(double value, long diff)
    {
        if (double.IsNaN(value))
        {
            _nans = checked(_nans + diff);
            return;
        }
        if (double.IsPositiveInfinity(value))
        {
            _positiveInfinities = checked(_positiveInfinities + diff);
            return;
        }
        if (double.IsNegativeInfinity(value))
        {
            _negativeInfinities = checked(_negativeInfinities + diff);
            return;
        }
        long bits = BitConverter.DoubleToInt64Bits(value);
        int exponent = (int)((bits >> 52) & 0x7FF);
        long mantissa = bits & 0xFFFFFFFFFFFFFL;
        int shift = 0;
        if (exponent != 0)
        {
            mantissa |= 1L << 52;
            shift = exponent - 1;
        }
        if (mantissa == 0)
        {
            return;
        }
        BigInteger units = new BigInteger(mantissa) << shift;
        if (bits < 0)
        {
            units = -units;
        }
        _floatSum += units * diff;
    }

    private bool TrySum(out Datum result, out EvalError? error)
    {
        error = null;
        result = Datum.Null;
        switch (_aggregate.ResultType.Type.Kind)
        {
            case SqlTypeKind.Int16:
            case SqlTypeKind.Int32:
            case SqlTypeKind.Int64:
                if (_integerSum > long.MaxValue || _integerSum < long.MinValue)
                {
                    error = EvalError.OutOfRange("bigint");
                    return false;
                }
                result = Datum.FromInt64((long)_integerSum);
                return true;
            case SqlTypeKind.Numeric:
                if (_decimalOverflows > 0)
                {
                    error = EvalError.OutOfRange("numeric");
                    return false;
                }
                try
                {
                    result = Datum.FromDecimal(checked(_decimalSum + (decimal)_integerSum));
                    return true;
                }
                catch (OverflowException)
                {
                    error = EvalError.OutOfRange("numeric");
                    return false;
                }
            case SqlTypeKind.Float64:
                return TryFloatSum(out result, out error);
            default:
                throw new InvalidOperationException($"sum into {_aggregate.ResultType}");
        }
    }

    private bool TryFloatSum(out Datum result, out EvalError? error)
    {
        error = null;
        if (_nans > 0 || (_positiveInfinities > 0 && _negativeInfinities > 0))
        {
            result = Datum.FromFloat64(double.NaN);
            return true;
        }
        if (_positiveInfinities > 0)
        {
            result = Datum.FromFloat64(double.PositiveInfinity);
            return true;
        }
        if (_negativeInfinities > 0)
        {
            result = Datum.FromFloat64(double.NegativeInfinity);
            return true;
        }
        double sum = Math.ScaleB((double)_floatSum, -FloatScale);
        if (double.IsInfinity(sum) || (double.IsNaN(sum) && !_floatSum.IsZero))
        {
            // The exact sum overflows before scaling when the BigInteger is beyond double range; scale first.
            sum = ScaleLarge(_floatSum);
        }
        if (double.IsInfinity(sum))
        {
            result = Datum.Null;
            error = new EvalError("22003", "value out of range: overflow");
            return false;
        }
        result = Datum.FromFloat64(sum);
        return true;
    }

    private static double ScaleLarge(BigInteger units)
    {
        // Drop low bits until the integer fits a double, then scale by what remains (rounding happens once more,
        // only for sums beyond 2^1023 units, i.e. far above 1e-16, where the dropped bits are below an ulp anyway).
        long bitLength = (long)units.GetBitLength();
        int drop = (int)Math.Max(0, bitLength - 1000);
        return Math.ScaleB((double)(units >> drop), drop - FloatScale);
    }
}
