using System;
using System.Collections.Generic;
using System.Globalization;
using System.Threading.Tasks;
using Kernel.Expr;
using Kernel.Persist;
using Kernel.Persist.Data;
using Kernel.Persist.Shard;
using Kernel.Runtime;

namespace Kernel.Control.Catalog;

/// <summary>What kind of object a catalog entry is. Values are durable.</summary>
public enum CatalogEntryKind
{
    Table = 1,
    View = 2,
    MaterializedView = 3,
    Index = 4,
}

/// <summary>
/// One durable catalog entry: the statement that created the object (re-planned at every start, so the plan
/// language may change between versions without migrating the catalog) and the persist shard that stores its
/// contents (tables and materialized views).
/// </summary>
public sealed record CatalogEntry(GlobalId Id, string Name, CatalogEntryKind Kind, string CreateSql, string? ShardId);

/// <summary>Why a catalog transaction did not commit.</summary>
public enum CatalogWriteStatus
{
    Committed,

    /// <summary>A newer environmentd opened the catalog: this process must stop writing and exit.</summary>
    Fenced,

    /// <summary>Persist failed in a way retries did not fix; whether the transaction committed is unknown.</summary>
    Unavailable,
}

/// <summary>
/// The durable catalog: a persist shard whose contents are the catalog's rows, changed by transactions that
/// compare_and_append one batch each. Opening it writable bumps an epoch stored in the shard itself; a process
/// that finds a larger epoch than its own after an upper mismatch has been fenced and must stop.
/// </summary>
/// <remarks>
/// Rows are <c>(kind, key, name, item kind, create sql, shard)</c> with kind one of <c>epoch</c>, <c>id</c> (the
/// next user id) or <c>item</c>. Catalog times are the shard's own counter (each transaction takes the interval
/// [upper, upper + 1)); they order catalog changes and are unrelated to the timeline's timestamps. Owned by the
/// environmentd node loop; transactions run one at a time.
/// </remarks>
public sealed class DurableCatalog
{
    /// <summary>The well-known shard that holds the catalog.</summary>
    public static readonly ShardId CatalogShard = new("s" + new string('0', 31) + "1");

    private readonly WriteHandle _writer;
    private readonly IClock _clock;
    private readonly SortedDictionary<GlobalId, CatalogEntry> _entries;
    private ulong _upper;
    private ulong? _durableNextUserId; // the id counter as the shard holds it; null before the first id row

    private DurableCatalog(WriteHandle writer, IClock clock, SortedDictionary<GlobalId, CatalogEntry> entries, ulong epoch, ulong nextUserId, bool idStored, ulong upper)
    {
        _clock = clock;
        _durableNextUserId = idStored ? nextUserId : null;
        _writer = writer;
        _entries = entries;
        Epoch = epoch;
        NextUserId = nextUserId;
        _upper = upper;
    }

    /// <summary>This process's epoch: larger than that of every process that opened the catalog before.</summary>
    public ulong Epoch { get; }

    /// <summary>The next user id to allocate (ids are never reused, even after a drop).</summary>
    public ulong NextUserId { get; private set; }

    public bool Fenced { get; private set; }

    /// <summary>What showed this process that it was fenced, for its last words.</summary>
    public string FenceReason { get; private set; } = "";

    /// <summary>Every entry, in id order (creation order: an object's dependencies always come first).</summary>
    public IEnumerable<CatalogEntry> Entries => _entries.Values;

    public CatalogEntry? Find(GlobalId id) => _entries.GetValueOrDefault(id);

    /// <summary>Opens the catalog writable: reads its contents and commits a bumped epoch, fencing the previous owner.</summary>
    public static async Task<(DurableCatalog? Catalog, string Error)> OpenAsync(PersistClient persist)
    {
        PersistResult<WriteHandle> writer = await persist.OpenWriterAsync(CatalogShard, "catalog");
        if (!writer.IsOk)
        {
            return (null, $"opening the catalog shard: {writer.Error}");
        }
        PersistResult<ReadHandle> reader = await persist.OpenLeasedReaderAsync(CatalogShard, "catalog open");
        if (!reader.IsOk)
        {
            return (null, $"opening the catalog shard: {reader.Error}");
        }
        try
        {
            // Bounded: each round either commits the new epoch or observes a newer upper from a concurrent opener.
            for (int attempt = 0; attempt < 100; attempt++)
            {
                PersistResult<Frontier> upperResult = await writer.Value!.FetchRecentUpperAsync();
                if (!upperResult.IsOk)
                {
                    return (null, $"reading the catalog's upper: {upperResult.Error}");
                }
                ulong upper = upperResult.Value!.Time;
                List<Update> contents = [];
                if (upper > 0)
                {
                    PersistResult<List<Update>> snapshot = await reader.Value!.SnapshotAsync(upper - 1);
                    if (!snapshot.IsOk)
                    {
                        return (null, $"reading the catalog: {snapshot.Error}");
                    }
                    contents = snapshot.Value!;
                }
                var entries = new SortedDictionary<GlobalId, CatalogEntry>();
                ulong epoch = 0;
                ulong nextUserId = 1;
                bool idStored = false;
                Row? epochRow = null;
                foreach (Update update in contents)
                {
                    if (update.Diff != 1)
                    {
                        return (null, $"the catalog is corrupt: row {update.Row} has multiplicity {update.Diff}");
                    }
                    string kind = update.Row[0].AsString;
                    switch (kind)
                    {
                        case "epoch":
                            epoch = ulong.Parse(update.Row[2].AsString, CultureInfo.InvariantCulture);
                            epochRow = update.Row;
                            break;
                        case "id":
                            nextUserId = ulong.Parse(update.Row[2].AsString, CultureInfo.InvariantCulture);
                            idStored = true;
                            break;
                        case "item":
                            CatalogEntry entry = DecodeItem(update.Row);
                            entries[entry.Id] = entry;
                            break;
                        default:
                            return (null, $"the catalog is corrupt: unknown row kind '{kind}'");
                    }
                }
                ulong newEpoch = epoch + 1;
                var changes = new List<Update>();
                if (epochRow is not null)
                {
                    changes.Add(new Update(epochRow, upper, -1));
                }
                changes.Add(new Update(EpochRow(newEpoch), upper, 1));
                PersistResult<AppendResult> appended = await writer.Value!.CompareAndAppendAsync(changes, Frontier.At(upper), Frontier.At(upper + 1));
                if (!appended.IsOk)
                {
                    return (null, $"writing the catalog's epoch: {appended.Error}");
                }
                if (appended.Value!.Committed)
                {
                    return (new DurableCatalog(writer.Value!, persist.Context.Clock, entries, newEpoch, nextUserId, idStored, upper + 1), "");
                }
            }
            return (null, "the catalog's upper kept moving while opening it: another environmentd is starting at the same time");
        }
        finally
        {
            await reader.Value!.ExpireAsync();
        }
    }

    /// <summary>Allocates a user id. The allocation becomes durable with the next transaction that uses it.</summary>
    public GlobalId AllocateUserId() => GlobalId.UserId(NextUserId++);

    /// <summary>Commits <paramref name="added"/> and removes <paramref name="removed"/> in one transaction.</summary>
    public async Task<CatalogWriteStatus> CommitAsync(IReadOnlyList<CatalogEntry> added, IReadOnlyList<GlobalId> removed)
    {
        if (Fenced)
        {
            return CatalogWriteStatus.Fenced;
        }
        ulong time = _upper;
        var changes = new List<Update>();
        foreach (GlobalId id in removed)
        {
            if (_entries.TryGetValue(id, out CatalogEntry? entry))
            {
                changes.Add(new Update(EncodeItem(entry), time, -1));
            }
        }
        foreach (CatalogEntry entry in added)
        {
            changes.Add(new Update(EncodeItem(entry), time, 1));
        }
        // The id counter is rewritten with every transaction (retract the durable value, insert the current one).
        ulong durableNext = _durableNextUserId ?? 0;
        if (durableNext != NextUserId)
        {
            if (_durableNextUserId is not null)
            {
                changes.Add(new Update(IdRow(durableNext), time, -1));
            }
            changes.Add(new Update(IdRow(NextUserId), time, 1));
        }
        PersistResult<AppendResult> appended = await _writer.CompareAndAppendAsync(changes, Frontier.At(time), Frontier.At(time + 1));
        if (!appended.IsOk)
        {
            // The append may or may not have landed. Only this process writes the catalog while it holds the newest
            // epoch, so the upper tells: time + 1 means it landed, time means it did not, anything else is a newer
            // process. Until the upper can be read, the outcome stays unknown and nothing else is written.
            CatalogWriteStatus? resolved = await ResolveUncertainAsync(time);
            if (resolved != CatalogWriteStatus.Committed)
            {
                return resolved ?? CatalogWriteStatus.Unavailable;
            }
        }
        else if (!appended.Value!.Committed)
        {
            // Only this process writes the catalog while it holds the newest epoch: a moved upper means a newer
            // process bumped the epoch.
            FenceReason = $"catalog append at {time} found the upper at {appended.Value.CurrentUpper} ({appended.Value.Status})";
            Fenced = true;
            return CatalogWriteStatus.Fenced;
        }
        _upper = time + 1;
        _durableNextUserId = NextUserId;
        foreach (GlobalId id in removed)
        {
            _entries.Remove(id);
        }
        foreach (CatalogEntry entry in added)
        {
            _entries[entry.Id] = entry;
        }
        return CatalogWriteStatus.Committed;
    }

    /// <summary>
    /// Reads the upper after an append with an unknown outcome: Committed when it landed, null when it did not (so the
    /// caller reports the failure and nothing changed), Fenced when another process wrote.
    /// </summary>
    private async Task<CatalogWriteStatus?> ResolveUncertainAsync(ulong time)
    {
        // Bounded: reads of the upper with backoff for about a minute. If none succeeds, the outcome cannot be known
        // here: the process stops as if fenced, and a restart re-reads the catalog from persist.
        for (int attempt = 0; attempt < 60; attempt++)
        {
            if (attempt > 0)
            {
                await _clock.Delay(TimeSpan.FromMilliseconds(Math.Min(1000, 10 << Math.Min(attempt, 7))));
            }
            PersistResult<Frontier> upper = await _writer.FetchRecentUpperAsync();
            if (upper.IsOk)
            {
                Frontier now = upper.Value!;
                if (now == Frontier.At(time + 1))
                {
                    return CatalogWriteStatus.Committed;
                }
                if (now == Frontier.At(time))
                {
                    return null;
                }
                FenceReason = $"after an append with an unknown outcome at {time}, the catalog's upper is {now}";
                Fenced = true;
                return CatalogWriteStatus.Fenced;
            }
        }
        FenceReason = $"the catalog's upper could not be read after an append with an unknown outcome at {time}";
        Fenced = true;
        return CatalogWriteStatus.Fenced;
    }

    private static Row EpochRow(ulong epoch) => Row6("epoch", "", epoch.ToString(CultureInfo.InvariantCulture), "", "", "");

    private static Row IdRow(ulong next) => Row6("id", "user", next.ToString(CultureInfo.InvariantCulture), "", "", "");

    private static Row EncodeItem(CatalogEntry entry) => Row6(
        "item", entry.Id.ToString(), entry.Name, ((int)entry.Kind).ToString(CultureInfo.InvariantCulture), entry.CreateSql, entry.ShardId ?? "");

    private static CatalogEntry DecodeItem(Row row)
    {
        if (!GlobalId.TryParse(row[1].AsString, out GlobalId id))
        {
            throw new InvalidOperationException($"the catalog is corrupt: '{row[1].AsString}' is not an id");
        }
        string shard = row[5].AsString;
        return new CatalogEntry(id, row[2].AsString, (CatalogEntryKind)int.Parse(row[3].AsString, CultureInfo.InvariantCulture), row[4].AsString, shard.Length == 0 ? null : shard);
    }

    private static Row Row6(string kind, string key, string a, string b, string c, string d) => new(
        Datum.FromString(kind), Datum.FromString(key), Datum.FromString(a), Datum.FromString(b), Datum.FromString(c), Datum.FromString(d));
}
