using System;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Compute.Dataflow;
using Kernel.Persist;
using Kernel.Persist.Data;
using Kernel.Persist.Shard;

namespace Kernel.Compute.Sources;

/// <summary>
/// Feeds one source import of a dataflow from a persist shard: opens a leased reader, waits for the as-of to be
/// readable, pushes the snapshot at the as-of, then listens and pushes every later update with its progress.
/// </summary>
/// <remarks>
/// Runs as a task on the replica's node loop: persist I/O is awaited here, while the dataflow itself stays
/// synchronous (pushes only fill the input's buffer; the replica steps the dataflow after <c>wake</c>).
/// The reader's since follows the dataflow's compaction frontier but never passes the listen (a listen needs
/// the since at or below the last delivered time). Failures are reported through <c>report</c> and retried
/// with backoff; cancellation stops the task and expires the reader.
/// </remarks>
public sealed class PersistSource
{
    private static readonly TimeSpan s_pollTimeout = TimeSpan.FromSeconds(1);

    private readonly PersistClient _client;
    private readonly ShardId _shard;
    private readonly InputNode _input;
    private readonly Action _wake;
    private readonly Action<string, string> _report;
    private readonly Func<Frontier> _compactionFrontier;

    public PersistSource(PersistClient client, ShardId shard, InputNode input, Func<Frontier> compactionFrontier, Action wake, Action<string, string> report)
    {
        _client = client;
        _shard = shard;
        _input = input;
        _compactionFrontier = compactionFrontier;
        _wake = wake;
        _report = report;
    }

    /// <summary>
    /// True once the snapshot at the as-of has been read and pushed: from then on the source needs only times from its
    /// listen's frontier on, which its own reader holds. Before, it needs its as-of readable, which only a controller's
    /// hold keeps so.
    /// </summary>
    public bool SnapshotRead { get; private set; }

    /// <summary>Runs until cancelled or the shard's upper closes; never throws except on a broken invariant.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        ReadHandle? reader = null;
        try
        {
            reader = await RetryAsync(() => _client.OpenLeasedReaderAsync(_shard, "compute source " + _input.Name, ct), "open reader", ct);
            if (reader is null)
            {
                return;
            }
            ulong asOf = _input.AsOf;
            Listen? listen = null;
            for (int attempt = 0; listen is null && !ct.IsCancellationRequested; attempt++)
            {
                PersistResult<Subscription> subscribed = await reader.SubscribeAsync(asOf, s_pollTimeout, ct);
                if (subscribed.IsOk)
                {
                    foreach (Update update in subscribed.Value!.Snapshot)
                    {
                        _input.Push(update.Row, update.Time, update.Diff);
                    }
                    listen = subscribed.Value.Listen;
                    SnapshotRead = true;
                    _input.AdvanceTo(listen.Frontier);
                    _wake();
                }
                else if (subscribed.Error!.Kind == PersistErrorKind.TimedOut)
                {
                    attempt = -1;
                }
                else if (!await ReportAndBackoffAsync(subscribed.Error, "snapshot", attempt, ct))
                {
                    return;
                }
            }
            for (int attempt = 0; listen is not null && !ct.IsCancellationRequested && !listen.Frontier.IsEmpty;)
            {
                PersistResult<ListenEvent> next = await listen.NextAsync(s_pollTimeout, ct);
                if (ct.IsCancellationRequested)
                {
                    return;
                }
                if (next.IsOk)
                {
                    attempt = 0;
                    foreach (Update update in next.Value!.Updates)
                    {
                        _input.Push(update.Row, update.Time, update.Diff);
                    }
                    _input.AdvanceTo(next.Value.Progress);
                    _wake();
                    await DowngradeAsync(reader, listen.Frontier, ct);
                }
                else if (next.Error!.Kind == PersistErrorKind.TimedOut)
                {
                    await DowngradeAsync(reader, listen.Frontier, ct);
                }
                else if (!await ReportAndBackoffAsync(next.Error, "listen", attempt++, ct))
                {
                    return;
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
        }
    }

    private async Task DowngradeAsync(ReadHandle reader, Frontier listenFrontier, CancellationToken ct)
    {
        // The since may follow the compaction frontier but must stay at or below the last delivered time.
        Frontier target = _compactionFrontier();
        if (!listenFrontier.IsEmpty && listenFrontier.Time > 0)
        {
            target = Frontier.Meet(target, Frontier.At(listenFrontier.Time - 1));
        }
        if (!target.IsEmpty)
        {
            // Rate-limited: a source that moved its since after every event would race the table's writer for
            // every commit.
            await reader.MaybeDowngradeSinceAsync(target, ct);
        }
    }

    private async Task<T?> RetryAsync<T>(Func<Task<PersistResult<T>>> operation, string what, CancellationToken ct)
        where T : class
    {
        for (int attempt = 0; !ct.IsCancellationRequested; attempt++)
        {
            PersistResult<T> result = await operation();
            if (result.IsOk)
            {
                return result.Value;
            }
            if (!await ReportAndBackoffAsync(result.Error!, what, attempt, ct))
            {
                return null;
            }
        }
        return null;
    }

    /// <summary>Reports a failure; false when it is permanent (the source stops), true after a backoff.</summary>
    private async Task<bool> ReportAndBackoffAsync(PersistError error, string what, int attempt, CancellationToken ct)
    {
        bool permanent = error.Kind is PersistErrorKind.ShardDropped or PersistErrorKind.AsOfCompactedAway or PersistErrorKind.Corrupt or PersistErrorKind.HandleExpired;
        _report("source-error", $"{_input.Name} ({_shard}): {what}: {error}");
        if (permanent)
        {
            return false;
        }
        await _client.Context.BackoffAsync(attempt, ct);
        return true;
    }
}
