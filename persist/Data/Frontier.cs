using System;
using System.Globalization;

namespace Kernel.Persist.Data;

/// <summary>
/// A frontier over totally ordered <c>ulong</c> time: the least time that may still change, or empty when
/// nothing will ever change again. A shard's <c>since</c> and <c>upper</c> are frontiers; its readable times
/// are those <c>t</c> with <c>since &lt;= t &lt; upper</c>.
/// </summary>
/// <remarks>
/// Frontiers are totally ordered too: by timestamp, with the empty frontier above every timestamp. So the
/// meet of two frontiers is their minimum and the join their maximum.
/// </remarks>
public readonly struct Frontier : IEquatable<Frontier>, IComparable<Frontier>
{
    private readonly ulong _time;
    private readonly bool _isEmpty;

    private Frontier(ulong time, bool isEmpty)
    {
        _time = time;
        _isEmpty = isEmpty;
    }

    /// <summary>The frontier at time 0: nothing is complete yet.</summary>
    public static Frontier Minimum => default;

    /// <summary>Closed forever.</summary>
    public static Frontier Empty => new(0, true);

    public static Frontier At(ulong time) => new(time, false);

    public bool IsEmpty => _isEmpty;

    /// <summary>The frontier's timestamp; a bug to ask of the empty frontier.</summary>
    public ulong Time => _isEmpty ? throw new InvalidOperationException("the empty frontier has no timestamp") : _time;

    /// <summary>True when <paramref name="time"/> is at or beyond this frontier (not yet complete, for an upper).</summary>
    public bool LessEqual(ulong time) => !_isEmpty && _time <= time;

    /// <summary>True when <paramref name="time"/> is before this frontier (complete, for an upper).</summary>
    public bool IsBeyond(ulong time) => !LessEqual(time);

    public static Frontier Meet(Frontier a, Frontier b) => a.CompareTo(b) <= 0 ? a : b;

    public static Frontier Join(Frontier a, Frontier b) => a.CompareTo(b) >= 0 ? a : b;

    /// <summary><paramref name="time"/> advanced to this frontier: the frontier's time if the time is below it.</summary>
    /// <remarks>Only meaningful for a non-empty frontier; advancing to the empty frontier is a bug.</remarks>
    public ulong Advance(ulong time) => _isEmpty
        ? throw new InvalidOperationException("cannot advance a time to the empty frontier")
        : Math.Max(time, _time);

    public int CompareTo(Frontier other)
    {
        if (_isEmpty || other._isEmpty)
        {
            return _isEmpty.CompareTo(other._isEmpty);
        }
        return _time.CompareTo(other._time);
    }

    public bool Equals(Frontier other) => _isEmpty == other._isEmpty && (_isEmpty || _time == other._time);

    public override bool Equals(object? obj) => obj is Frontier other && Equals(other);

    public override int GetHashCode() => _isEmpty ? -1 : _time.GetHashCode();

    public override string ToString() => _isEmpty ? "[]" : "[" + _time.ToString(CultureInfo.InvariantCulture) + "]";

    public static bool operator ==(Frontier left, Frontier right) => left.Equals(right);

    public static bool operator !=(Frontier left, Frontier right) => !left.Equals(right);

    public static bool operator <(Frontier left, Frontier right) => left.CompareTo(right) < 0;

    public static bool operator <=(Frontier left, Frontier right) => left.CompareTo(right) <= 0;

    public static bool operator >(Frontier left, Frontier right) => left.CompareTo(right) > 0;

    public static bool operator >=(Frontier left, Frontier right) => left.CompareTo(right) >= 0;
}
