using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Compute.Arrangements;
using Kernel.Compute.Dataflow;
using Kernel.Expr;
using Kernel.Persist;
using Kernel.Persist.Data;
using Kernel.Persist.Shard;

namespace Kernel.Compute.Sinks;

/// <summary>
/// Writes a collection (a materialized view) to a persist shard with compare_and_append as its frontier
/// advances, correcting itself against what the shard holds.
/// </summary>
/// <remarks>
/// <para>State: <c>desired</c>, every update the dataflow produced (consolidated now and then, times below the
/// shard's upper advanced to it), and the correction buffer <c>correction = desired − persisted</c>. A write of
/// [upper, frontier) appends the correction's updates at times before the frontier, advanced to the upper; when it
/// commits, exactly those updates leave the buffer, so the shard at every time below the new upper equals the
/// collection.</para>
/// <para>When the shard's upper is not where this sink believed (at start, after a restart, or because another
/// replica wrote first), the sink reads the shard's contents at upper − 1 and rebuilds the correction from
/// <c>desired</c>: nothing is written twice and nothing is lost, whoever wrote the earlier intervals. The rebuild
/// waits until the dataflow's frontier is beyond that upper, so <c>desired</c> is complete there.</para>
/// <para>Writes start only after <see cref="AllowWrites"/>. An error in the collection stops writing at the
/// error's time (nothing at or past it is written) and is reported once.</para>
/// <para>Runs as a task on the replica's loop; <see cref="Notify"/> wakes it after the dataflow stepped.</para>
/// </remarks>
public sealed class PersistSink
{
    private readonly PersistClient _client;
    private readonly ShardId _shard;
    private readonly SinkBuffer _buffer;
    private readonly Action<string, string> _report;
    private readonly Action _progress;
    private readonly Replica.Signal _signal = new();
    private readonly ErrorCollection _errors = new();
    private List<Update> _desired = [];
    private List<Update> _correction = [];
    private int _desiredConsolidatedCount;
    private int _correctionConsolidatedCount;
    private bool _writesAllowed;
    private EvalError? _reportedError;

    public PersistSink(PersistClient client, ShardId shard, SinkBuffer buffer, Action progress, Action<string, string> report)
    {
        _client = client;
        _shard = shard;
        _buffer = buffer;
        _progress = progress;
        _report = report;
    }

    public GlobalId Id => _buffer.Id;

    /// <summary>The shard's upper as of this sink's last successful write or read (its output frontier).</summary>
    public Frontier DurableUpper { get; private set; } = Frontier.Minimum;

    /// <summary>Allows writing from now on.</summary>
    public void AllowWrites()
    {
        _writesAllowed = true;
        _signal.Set();
    }

    /// <summary>Wakes the sink: its buffer may have new updates or a new frontier.</summary>
    public void Notify() => _signal.Set();

    public async Task RunAsync(CancellationToken ct)
    {
        WriteHandle? writer = null;
        ReadHandle? reader = null;
        // Cancellation wakes the wait below; the loop condition then ends the task.
        using CancellationTokenRegistration wakeOnCancel = ct.Register(_signal.Set);
        try
        {
            writer = await OpenAsync(() => _client.OpenWriterAsync(_shard, "compute sink " + Id, ct), ct);
            reader = await OpenAsync(() => _client.OpenLeasedReaderAsync(_shard, "compute sink " + Id, ct), ct);
            if (writer is null || reader is null)
            {
                return;
            }
            bool resync = true;
            int attempt = 0;
            // Each round either waits for a wake-up or makes one persist call; bounded by cancellation.
            while (!ct.IsCancellationRequested)
            {
                Drain(resync);
                Frontier frontier = _buffer.Frontier;
                if (resync)
                {
                    PersistResult<Frontier> upper = await writer.FetchRecentUpperAsync(ct);
                    if (!upper.IsOk)
                    {
                        if (!await FailedAsync(upper.Error!, attempt++, ct))
                        {
                            return;
                        }
                        continue;
                    }
                    SetDurableUpper(upper.Value);
                    if (DurableUpper.IsEmpty)
                    {
                        return;
                    }
                    if (frontier <= DurableUpper)
                    {
                        await _signal.WaitAsync();
                        continue;
                    }
                    PersistResult<bool> rebuilt = await RebuildCorrectionAsync(reader, ct);
                    if (!rebuilt.IsOk)
                    {
                        if (!await FailedAsync(rebuilt.Error!, attempt++, ct))
                        {
                            return;
                        }
                        continue;
                    }
                    resync = false;
                }
                if (!_writesAllowed || frontier <= DurableUpper)
                {
                    await _signal.WaitAsync();
                    continue;
                }
                Frontier target = frontier;
                if (!_errors.IsEmpty && _errors.FirstInRange(DurableUpper.Time, frontier) is { } failure)
                {
                    target = Frontier.At(failure.Time);
                    if (_reportedError != failure.Error)
                    {
                        _reportedError = failure.Error;
                        _report("sink-error", $"materialized view sink {Id} stops writing at {failure.Time}: {failure.Error}");
                    }
                    if (target <= DurableUpper)
                    {
                        await _signal.WaitAsync();
                        continue;
                    }
                }
                List<Update> batch = TakeBatch(DurableUpper.Time, target, out List<Update> rest);
                PersistResult<AppendResult> appended = await writer.CompareAndAppendAsync(batch, DurableUpper, target, ct);
                if (!appended.IsOk)
                {
                    if (appended.Error!.Kind == PersistErrorKind.HandleExpired)
                    {
                        // Whether the write committed is unknown: reopen and rebuild from what the shard holds.
                        writer = await OpenAsync(() => _client.OpenWriterAsync(_shard, "compute sink " + Id, ct), ct);
                        if (writer is null)
                        {
                            return;
                        }
                        resync = true;
                        continue;
                    }
                    if (!await FailedAsync(appended.Error, attempt++, ct))
                    {
                        return;
                    }
                    resync = true;
                    continue;
                }
                attempt = 0;
                AppendResult result = appended.Value!;
                if (result.Committed)
                {
                    _correction = rest;
                    _correctionConsolidatedCount = Math.Min(_correctionConsolidatedCount, rest.Count);
                    SetDurableUpper(target);
                    if (!target.IsEmpty && target.Time > 0)
                    {
                        await reader.MaybeDowngradeSinceAsync(Frontier.At(target.Time - 1), ct);
                    }
                    if (target.IsEmpty)
                    {
                        return;
                    }
                }
                else
                {
                    // Another writer moved the upper: read what the shard holds and continue from there.
                    SetDurableUpper(result.CurrentUpper);
                    resync = true;
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        finally
        {
            if (reader is not null)
            {
                await reader.ExpireAsync(CancellationToken.None);
            }
            if (writer is not null)
            {
                await writer.ExpireAsync(CancellationToken.None);
            }
        }
    }

    /// <summary>Moves the buffer's new updates into <c>desired</c> (and the correction unless it will be rebuilt).</summary>
    private void Drain(bool resync)
    {
        foreach (Update update in _buffer.Data)
        {
            _desired.Add(update);
            if (!resync)
            {
                _correction.Add(update);
            }
        }
        _buffer.Data.Clear();
        foreach (ErrorUpdate error in _buffer.Errors)
        {
            _errors.Insert(error.Error, error.Time, error.Diff);
        }
        _buffer.Errors.Clear();
        if (_desired.Count > 2 * Math.Max(1024, _desiredConsolidatedCount))
        {
            AdvanceAndConsolidate(_desired);
            _desiredConsolidatedCount = _desired.Count;
        }
        if (_correction.Count > 2 * Math.Max(1024, _correctionConsolidatedCount))
        {
            AdvanceAndConsolidate(_correction);
            _correctionConsolidatedCount = _correction.Count;
        }
    }

    private void AdvanceAndConsolidate(List<Update> updates)
    {
        if (!DurableUpper.IsEmpty)
        {
            Consolidation.AdvanceAndConsolidateInPlace(updates, DurableUpper);
        }
    }

    /// <summary>correction = desired − (shard contents at upper − 1), every time advanced to the upper.</summary>
    private async Task<PersistResult<bool>> RebuildCorrectionAsync(ReadHandle reader, CancellationToken ct)
    {
        ulong upper = DurableUpper.Time;
        List<Update> persisted = [];
        if (upper > 0)
        {
            PersistResult<List<Update>> snapshot = await reader.SnapshotAsync(upper - 1, ct);
            if (!snapshot.IsOk)
            {
                return snapshot.Error!;
            }
            persisted = snapshot.Value!;
        }
        AdvanceAndConsolidate(_desired);
        _desiredConsolidatedCount = _desired.Count;
        var correction = new List<Update>(_desired.Count + persisted.Count);
        correction.AddRange(_desired);
        foreach (Update update in persisted)
        {
            correction.Add(new Update(update.Row, upper, checked(-update.Diff)));
        }
        _correction = Consolidation.AdvanceAndConsolidateInPlace(correction, DurableUpper);
        _correctionConsolidatedCount = _correction.Count;
        return true;
    }

    /// <summary>The correction's updates before <paramref name="target"/>, advanced to <paramref name="lower"/>; <paramref name="rest"/> gets the others.</summary>
    private List<Update> TakeBatch(ulong lower, Frontier target, out List<Update> rest)
    {
        var batch = new List<Update>();
        rest = [];
        foreach (Update update in _correction)
        {
            if (target.LessEqual(update.Time))
            {
                rest.Add(update);
            }
            else
            {
                batch.Add(update.Time < lower ? update with { Time = lower } : update);
            }
        }
        return Consolidation.ConsolidateInPlace(batch);
    }

    private void SetDurableUpper(Frontier upper)
    {
        if (upper > DurableUpper)
        {
            DurableUpper = upper;
            _progress();
        }
    }

    private async Task<T?> OpenAsync<T>(Func<Task<PersistResult<T>>> open, CancellationToken ct)
        where T : class
    {
        for (int attempt = 0; !ct.IsCancellationRequested; attempt++)
        {
            PersistResult<T> opened = await open();
            if (opened.IsOk)
            {
                return opened.Value;
            }
            if (!await FailedAsync(opened.Error!, attempt, ct))
            {
                return null;
            }
        }
        return null;
    }

    /// <summary>Reports a failure; false when it is permanent (the sink stops), true after a backoff.</summary>
    private async Task<bool> FailedAsync(PersistError error, int attempt, CancellationToken ct)
    {
        _report("sink-error", $"materialized view sink {Id} ({_shard}): {error}");
        if (error.Kind is PersistErrorKind.ShardDropped or PersistErrorKind.Corrupt)
        {
            return false;
        }
        await _client.Context.BackoffAsync(attempt, ct);
        return true;
    }
}
