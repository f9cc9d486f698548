using System;
using System.Collections.Generic;
using Kernel.Expr;
using Kernel.Persist.Data;

namespace Kernel.Compute.Arrangements;

/// <summary>
/// The error side of an arranged collection: error → (time, diff) history, compacted like an
/// <see cref="Arrangement"/>. A read at a time fails with the smallest error whose count there is positive.
/// </summary>
public sealed class ErrorCollection
{
    private readonly SortedDictionary<EvalError, List<(ulong Time, long Diff)>> _errors = [];

    public Frontier Since { get; private set; } = Frontier.Minimum;

    public bool IsEmpty => _errors.Count == 0;

    public void Insert(EvalError error, ulong time, long diff)
    {
        if (diff == 0)
        {
            return;
        }
        if (!Since.IsEmpty && time < Since.Time)
        {
            time = Since.Time;
        }
        if (!_errors.TryGetValue(error, out List<(ulong Time, long Diff)>? history))
        {
            history = [];
            _errors.Add(error, history);
        }
        history.Add((time, diff));
    }

    /// <summary>The smallest error with a positive count at <paramref name="time"/>, or null.</summary>
    public EvalError? SmallestAt(ulong time)
    {
        foreach ((EvalError error, List<(ulong Time, long Diff)> history) in _errors)
        {
            long count = 0;
            foreach ((ulong at, long diff) in history)
            {
                if (at <= time)
                {
                    count = checked(count + diff);
                }
            }
            if (count > 0)
            {
                return error;
            }
        }
        return null;
    }

    /// <summary>The smallest error with a positive count at some time before <paramref name="upper"/> and at or beyond <paramref name="lower"/>, with that time.</summary>
    public (EvalError Error, ulong Time)? FirstInRange(ulong lower, Frontier upper)
    {
        (EvalError Error, ulong Time)? first = null;
        var times = new SortedSet<ulong>();
        foreach (List<(ulong Time, long Diff)> history in _errors.Values)
        {
            foreach ((ulong at, _) in history)
            {
                times.Add(Math.Max(at, lower));
            }
        }
        foreach (ulong time in times)
        {
            if (upper.LessEqual(time))
            {
                break;
            }
            EvalError? error = SmallestAt(time);
            if (error is not null)
            {
                first = (error, time);
                break;
            }
        }
        return first;
    }

    /// <summary>Every (error, time, diff) held.</summary>
    public IEnumerable<(EvalError Error, ulong Time, long Diff)> Updates()
    {
        foreach ((EvalError error, List<(ulong Time, long Diff)> history) in _errors)
        {
            foreach ((ulong time, long diff) in history)
            {
                yield return (error, time, diff);
            }
        }
    }

    public void Compact(Frontier since)
    {
        if (since <= Since || since.IsEmpty)
        {
            return;
        }
        Since = since;
        var empty = new List<EvalError>();
        foreach ((EvalError error, List<(ulong Time, long Diff)> history) in _errors)
        {
            long below = 0;
            int write = 0;
            for (int i = 0; i < history.Count; i++)
            {
                if (history[i].Time <= since.Time)
                {
                    below = checked(below + history[i].Diff);
                }
                else
                {
                    history[write++] = history[i];
                }
            }
            history.RemoveRange(write, history.Count - write);
            if (below != 0)
            {
                history.Add((since.Time, below));
            }
            if (history.Count == 0)
            {
                empty.Add(error);
            }
        }
        foreach (EvalError error in empty)
        {
            _errors.Remove(error);
        }
    }
}
