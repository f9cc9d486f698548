using System.Collections.Generic;
using System.Collections.Immutable;
using Kernel.Compute.Arrangements;
using Kernel.Compute.Dataflow;
using Kernel.Expr;
using Kernel.Net.Compute;
using Kernel.Persist.Data;

namespace Kernel.Compute.Sinks;

/// <summary>
/// Streams a collection to the controller: each time the sink's frontier advances it emits one
/// <see cref="SubscribeBatch"/> with every change in [lower, upper), consolidated and sorted by time. Batches are
/// contiguous (each lower is the previous upper); the first starts at the as-of and holds the snapshot there.
/// An error in the collection ends the subscribe with <see cref="SubscribeError"/>.
/// </summary>
/// <remarks>Synchronous; the replica calls <see cref="Drive"/> after stepping the dataflow.</remarks>
public sealed class SubscribeSink
{
    private readonly SinkBuffer _buffer;
    private readonly ErrorCollection _errors = new();
    private List<Update> _pending = [];

    public SubscribeSink(SinkBuffer buffer, ulong asOf)
    {
        _buffer = buffer;
        Lower = Frontier.At(asOf);
    }

    public GlobalId Id => _buffer.Id;

    /// <summary>The upper of the last batch (the as-of before the first).</summary>
    public Frontier Lower { get; private set; }

    /// <summary>True once the subscribe completed, failed or was dropped: nothing more is sent.</summary>
    public bool IsDone { get; private set; }

    /// <summary>Sends nothing more (its batches went to a controller connection that is gone).</summary>
    public void Silence() => IsDone = true;

    /// <summary>Emits the batches that are complete; returns what to send (in order).</summary>
    public List<SubscribeEvent> Drive()
    {
        var events = new List<SubscribeEvent>();
        if (IsDone)
        {
            _buffer.Data.Clear();
            _buffer.Errors.Clear();
            return events;
        }
        _pending.AddRange(_buffer.Data);
        _buffer.Data.Clear();
        foreach (ErrorUpdate error in _buffer.Errors)
        {
            _errors.Insert(error.Error, error.Time, error.Diff);
        }
        _buffer.Errors.Clear();

        Frontier upper = _buffer.Frontier;
        if (upper <= Lower)
        {
            return events;
        }
        if (!_errors.IsEmpty && _errors.FirstInRange(Lower.Time, upper) is { } failure)
        {
            IsDone = true;
            events.Add(new SubscribeError(failure.Error.SqlState, failure.Error.Message));
            return events;
        }
        var batch = new List<Update>();
        var later = new List<Update>();
        ulong lower = Lower.Time;
        foreach (Update update in _pending)
        {
            if (upper.LessEqual(update.Time))
            {
                later.Add(update);
            }
            else
            {
                batch.Add(update.Time < lower ? update with { Time = lower } : update);
            }
        }
        _pending = later;
        Consolidation.ConsolidateInPlace(batch);
        batch.Sort(static (a, b) =>
        {
            int byTime = a.Time.CompareTo(b.Time);
            return byTime != 0 ? byTime : a.Row.CompareTo(b.Row);
        });
        events.Add(new SubscribeBatch(Lower, upper, batch.ToImmutableArray()));
        Lower = upper;
        if (!upper.IsEmpty)
        {
            _errors.Compact(upper);
        }
        IsDone = upper.IsEmpty;
        return events;
    }

    /// <summary>Marks the subscribe dropped; the caller sends <see cref="SubscribeDropped"/> if it was not done.</summary>
    public bool Drop()
    {
        bool wasRunning = !IsDone;
        IsDone = true;
        return wasRunning;
    }
}
