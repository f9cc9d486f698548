using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.Threading.Tasks;
using Kernel.Persist.Native;
using Kernel.Runtime;

namespace Kernel.Persist.Location;

/// <summary>
/// <see cref="IConsensus"/> over the node's <see cref="IDurableStorage"/>: linearizable, crash-safe, and safe for
/// several processes sharing the directory on one machine, with no locks, leases or timeouts.
/// </summary>
/// <remarks>
/// <para><b>Primitives.</b> The storage seam gives two atomic, race-free steps: <c>CreateNew</c> (exactly one creator
/// of a name wins) and <c>Rename</c>, which atomically moves a file and, when two processes rename the same
/// source, succeeds for exactly one of them ("consuming" the source). Rename replaces its target, so it can only
/// be used where the target is known to be absent. A file is written, flushed and its directory synced before
/// any step depends on it, so every file that a rename publishes is complete: there are no torn versions.</para>
///
/// <para><b>Layout</b> of key directory <c>{root}/{FileNames.Encode(key)}/</c> (N: 20-digit seqno, W: random 128-bit
/// attempt id):</para>
/// <list type="bullet">
/// <item><c>h.N</c>: the head baton. Exists exactly while N is the head and no writer has taken it.</item>
/// <item><c>c.N.W</c>: writer W's complete candidate for version N+1 (written before W tries anything).</item>
/// <item><c>t.N.W</c>: W took the baton: <c>rename(h.N, t.N.W)</c>. Holds version N.</item>
/// <item><c>v.N</c>: version N archived after its successor was published (what scan and truncate see).</item>
/// <item><c>c.g.W</c>, <c>g.W.N</c>, <c>x.W</c>: W's first-write (genesis) candidate, its announcement, and
/// the candidate once voided.</item>
/// </list>
///
/// <para><b>Compare-and-set from N to N+1</b> (W): write <c>c.N.W</c>, flush; <c>rename(h.N, t.N.W)</c> (the
/// linearization point: only one writer can consume <c>h.N</c>); <c>rename(c.N.W, h.N+1)</c>; sync the directory,
/// then answer; <c>rename(t.N.W, v.N)</c>. Two syncs in all (the candidate's fsync and one directory sync),
/// because directory operations become durable in the order they were issued (<see cref="IDurableStorage"/>):
/// after a crash the directory holds a prefix of create-candidate, take, publish, so a durable take always has
/// its durable candidate, and a durable publish its take. If the baton is missing, the head is not N: a mismatch. Invariant: <c>h.N+1</c>
/// is created only from <c>c.N.W</c> where W consumed <c>h.N</c>, so by induction each baton exists at most
/// once, and a stale writer can never recreate an old one. A taken baton whose writer stopped (crash, pause)
/// never blocks anyone: a reader that finds <c>t.N.W</c> next to <c>c.N.W</c> completes the publish itself
/// (after syncing the directory so that the take it acts on is durable), and exactly one such rename
/// succeeds because each consumes the same unique source.</para>
///
/// <para><b>First write</b> (expected none, seqno N0) has no baton to consume. W writes <c>c.g.W</c>, announces
/// itself with <c>g.W.N0</c> (never renamed, so every listing sees it; made durable only after the candidate
/// is, because an announcement whose candidate and void are both gone reads as committed), syncs, and lists the directory: if the
/// key has versions or another attempt is committed, W voids itself (a mismatch); every other pending attempt
/// Z it voids by <c>rename(c.g.Z, x.Z)</c>; then W commits by <c>rename(c.g.W, h.N0)</c>. Commit and void of
/// an attempt consume the same file, so each attempt is decided exactly once. At most one attempt commits: of
/// two attempts, the one that announced later sees the earlier one and either voids it (so it cannot commit)
/// or finds it committed (and voids itself). A crashed attempt is voided by the next one, so it never blocks
/// the key. Committed announcements are kept forever; they let a reader find the head even when a listing
/// races with a rename.</para>
///
/// <para><b>Durability.</b> What another process acts on, and what a writer answers, is durable first: a writer
/// answers only after the sync that covers its take and publish; a helper syncs a take before publishing it; an
/// archive follows a durable publish; a head read syncs before it returns. A writer's own steps (candidate, take,
/// publish) need no sync between them, as the directory's operations survive a crash as a prefix. So after a
/// crash the directory holds a prefix of the protocol and every state any process observed is still there.
/// Error classes: any failure before the take is determinate (the candidate is deleted); a failed take is
/// resolved by looking for <c>t.N.W</c> (there: publish) and <c>c.N.W</c> (there: not taken, determinate; both gone:
/// indeterminate, since a truncate may have deleted a candidate whose take was still in flight); a failed sync after the take is indeterminate (the
/// take may be lost); a failed publish rename followed by a good sync is committed (readers finish it). Every file ends with its length and an xxHash64 checksum, so corruption is an error
/// naming the file, never data.</para>
///
/// <para><b>Truncation</b> deletes archived and taken versions below the cut, candidates that lost their race,
/// and voided first-write attempts (announcement first, durably, then the void). The committed announcement
/// and the head are never deleted.</para>
///
/// <para><b>Listings</b> may miss an entry renamed while they run (POSIX readdir does), so decisions never rest
/// on a listing alone: a baton is found by opening it, an attempt's state by opening its files, and a head read
/// that sees an inconsistent listing lists again (bounded).</para>
/// </remarks>
public sealed class FileConsensus : IConsensus
{
    private const int ResolveAttemptsMax = 64;
    private const int ProbeStepsMax = 64;
    private const int TakeAttemptsMax = 8;
    private const int GenesisRoundsMax = 16;
    private const int IdAttemptsMax = 8;
    private const uint RecordMagic = 0x3156434B; // "KCV1" little-endian
    private const int RecordHeaderBytes = 4 + 8 + 8;
    private const int RecordTrailerBytes = 8;

    private readonly IDurableStorage _storage;
    private readonly IRandom _random;
    private readonly IChecksum _checksum;
    private readonly string _root;

    /// <param name="storage">The node's disk; other processes may share the same directory through their own.</param>
    /// <param name="random">Source of attempt ids.</param>
    /// <param name="root">The directory, relative to the storage root, holding one directory per key; created on demand.</param>
    /// <param name="checksum">Record checksum; xxHash64 when null.</param>
    public FileConsensus(IDurableStorage storage, IRandom random, string root, IChecksum? checksum = null)
    {
        if (StoragePath.Validate(root) is string invalid)
        {
            throw new ArgumentException(invalid, nameof(root));
        }
        _storage = storage;
        _random = random;
        _root = root;
        _checksum = checksum ?? XxHash64Checksum.Shared;
    }

    private enum AttemptState
    {
        Pending,
        Voided,
        Committed,
    }

    public async ValueTask<LocationResult<VersionedData?>> HeadAsync(string key)
    {
        ConsensusChecks.Key(key);
        string dir = KeyDirectory(key);
        LocationResult<VersionedData?> head = await ResolveHeadAsync(key, dir);
        if (!head.IsOk || head.Value is null)
        {
            return head;
        }
        // The head may have been published by a process that has not synced yet: make it durable before anyone acts on it.
        IoResult synced = await _storage.SyncDirectoryAsync(dir);
        return synced.IsOk ? head : LocationError.Determinate($"consensus head '{key}': sync of {dir}: {synced}");
    }

    public async ValueTask<LocationResult<CasOutcome>> CompareAndSetAsync(string key, ulong? expected, VersionedData next)
    {
        ConsensusChecks.CompareAndSetArguments(key, expected, next);
        string dir = KeyDirectory(key);
        return expected is ulong seqno
            ? await AdvanceAsync(key, dir, seqno, next)
            : await GenesisAsync(key, dir, next);
    }

    public async ValueTask<LocationResult<IReadOnlyList<VersionedData>>> ScanAsync(string key, ulong from, int limit)
    {
        ConsensusChecks.Key(key);
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        string dir = KeyDirectory(key);
        var result = new List<VersionedData>();
        LocationResult<VersionedData?> head = await ResolveHeadAsync(key, dir);
        if (!head.IsOk)
        {
            return head.Error!;
        }
        if (head.Value is not VersionedData headVersion || limit == 0)
        {
            return LocationResult<IReadOnlyList<VersionedData>>.Ok(result);
        }
        LocationResult<KeyListing?> listed = await ListKeyAsync(key, dir);
        if (!listed.IsOk)
        {
            return listed.Error!;
        }
        KeyListing listing = listed.Value!;
        // Versions below the head live in v.N (archived) or t.N.W (taken, not yet archived). A listing can miss
        // a file being renamed from one to the other, so fill gaps between the lowest listed version and the head.
        var seqnos = new SortedSet<ulong>();
        foreach (ulong n in listing.Archives)
        {
            seqnos.Add(n);
        }
        foreach (ulong n in listing.Takes.Keys)
        {
            seqnos.Add(n);
        }
        if (seqnos.Count > 0)
        {
            for (ulong n = Math.Max(seqnos.Min, from); n < headVersion.SeqNo; n++)
            {
                seqnos.Add(n);
            }
        }
        foreach (ulong n in seqnos)
        {
            if (result.Count >= limit)
            {
                break;
            }
            if (n < from || n >= headVersion.SeqNo)
            {
                continue;
            }
            LocationResult<byte[]?> version = await ReadHistoricalAsync(key, dir, n, listing);
            if (!version.IsOk)
            {
                return version.Error!;
            }
            if (version.Value is byte[] data)
            {
                result.Add(new VersionedData(n, data));
            }
        }
        if (result.Count < limit && headVersion.SeqNo >= from)
        {
            result.Add(headVersion);
        }
        return LocationResult<IReadOnlyList<VersionedData>>.Ok(result);
    }

    public async ValueTask<LocationResult<long>> TruncateAsync(string key, ulong seqno)
    {
        ConsensusChecks.Key(key);
        string dir = KeyDirectory(key);
        LocationResult<VersionedData?> head = await ResolveHeadAsync(key, dir);
        if (!head.IsOk)
        {
            return head.Error!;
        }
        if (head.Value is not VersionedData headVersion)
        {
            return LocationError.Determinate($"consensus key '{key}' has no versions to truncate");
        }
        if (seqno > headVersion.SeqNo)
        {
            return LocationError.Determinate($"cannot truncate consensus key '{key}' below seqno {seqno}: its head is {headVersion.SeqNo}");
        }
        LocationResult<KeyListing?> listed = await ListKeyAsync(key, dir);
        if (!listed.IsOk)
        {
            return listed.Error!;
        }
        KeyListing listing = listed.Value!;
        var removed = new SortedSet<ulong>();
        foreach (ulong n in listing.Archives)
        {
            if (n < seqno)
            {
                LocationResult deleted = await DeleteAsync(key, dir, ArchiveName(n));
                if (!deleted.IsOk)
                {
                    return deleted.Error!;
                }
                removed.Add(n);
            }
        }
        foreach ((ulong n, List<string> takers) in listing.Takes)
        {
            // Below the head every take has been published (resolving the head above helped any in flight).
            if (n >= seqno)
            {
                continue;
            }
            foreach (string taker in takers)
            {
                LocationResult deleted = await DeleteAsync(key, dir, TakeName(n, taker));
                if (!deleted.IsOk)
                {
                    return deleted.Error!;
                }
            }
            removed.Add(n);
        }
        foreach ((ulong n, List<string> writers) in listing.Candidates)
        {
            // A candidate for version n+1 below the truncation point lost its race, or was published and is gone, or
            // belongs to a writer whose take is still in flight: that writer must not read its absence as a commit.
            if (n + 1 >= seqno)
            {
                continue;
            }
            foreach (string writer in writers)
            {
                LocationResult deleted = await DeleteAsync(key, dir, CandidateName(n, writer));
                if (!deleted.IsOk)
                {
                    return deleted.Error!;
                }
            }
        }
        LocationResult tidied = await TidyGenesisAttemptsAsync(key, dir, listing);
        if (!tidied.IsOk)
        {
            return tidied.Error!;
        }
        IoResult synced = await _storage.SyncDirectoryAsync(dir);
        return synced.IsOk
            ? LocationResult<long>.Ok(removed.Count)
            : LocationError.Indeterminate($"consensus truncate '{key}': sync of {dir}: {synced}");
    }

    public async ValueTask<LocationResult<IReadOnlyList<string>>> ListKeysAsync()
    {
        IoResult<IReadOnlyList<DirectoryEntry>> listed = await _storage.ListAsync(_root);
        var keys = new List<string>();
        if (listed.Status == IoStatus.NotFound)
        {
            return LocationResult<IReadOnlyList<string>>.Ok(keys);
        }
        if (!listed.IsOk)
        {
            return LocationError.Determinate($"consensus list keys: listing {_root}: {listed.Status}: {listed.Error}");
        }
        foreach (DirectoryEntry entry in listed.Value!)
        {
            if (!entry.IsDirectory || FileNames.Decode(entry.Name) is not string key)
            {
                continue;
            }
            LocationResult<VersionedData?> head = await ResolveHeadAsync(key, StoragePath.Combine(_root, entry.Name));
            if (!head.IsOk)
            {
                return head.Error!;
            }
            if (head.Value is not null)
            {
                keys.Add(key);
            }
        }
        keys.Sort(StringComparer.Ordinal);
        return LocationResult<IReadOnlyList<string>>.Ok(keys);
    }

    // ---- compare-and-set from a seqno ----

    private async ValueTask<LocationResult<CasOutcome>> AdvanceAsync(string key, string dir, ulong expected, VersionedData next)
    {
        // Cheap check first, so that an obviously stale writer does not write a candidate.
        IoResult<bool> batonThere = await StorageIo.ExistsAsync(_storage, PathIn(dir, HeadName(expected)));
        if (!batonThere.IsOk)
        {
            return LocationError.Determinate($"consensus compare_and_set '{key}': {batonThere.Status}: {batonThere.Error}");
        }
        if (!batonThere.Value)
        {
            LocationResult<VersionedData?> head = await ResolveHeadAsync(key, dir);
            if (!head.IsOk)
            {
                return head.Error!;
            }
            if (head.Value?.SeqNo != expected)
            {
                return CasOutcome.ExpectationMismatch;
            }
        }
        LocationResult<string> written = await WriteUniqueAsync(key, dir, writer => CandidateName(expected, writer), next);
        if (!written.IsOk)
        {
            return written.Error!;
        }
        string writerId = written.Value!;
        string candidate = PathIn(dir, CandidateName(expected, writerId));
        // No directory sync before the take: the candidate's bytes are flushed, and its entry was created before
        // the take in the same directory, so any crash that keeps the take keeps the candidate (directory
        // operations become durable in issue order; see IDurableStorage).
        string baton = PathIn(dir, HeadName(expected));
        string taken = PathIn(dir, TakeName(expected, writerId));
        for (int attempt = 0; attempt < TakeAttemptsMax; attempt++)
        {
            IoResult take = await _storage.RenameAsync(baton, taken);
            if (take.IsOk)
            {
                return await PublishAsync(key, dir, expected, writerId);
            }
            if (take.Status == IoStatus.NotFound)
            {
                // No baton: the head is not N, unless N is committed but not yet published. Resolving the head
                // publishes it, so try again exactly when the head is N.
                LocationResult<VersionedData?> head = await ResolveHeadAsync(key, dir);
                if (!head.IsOk)
                {
                    await _storage.DeleteAsync(candidate);
                    return head.Error!;
                }
                if (head.Value?.SeqNo == expected)
                {
                    continue;
                }
                await _storage.DeleteAsync(candidate);
                return CasOutcome.ExpectationMismatch;
            }
            // The rename failed in a way that may or may not have moved the baton: look.
            IoResult<bool> tookIt = await StorageIo.ExistsAsync(_storage, taken);
            if (!tookIt.IsOk)
            {
                return LocationError.Indeterminate($"consensus compare_and_set '{key}': take failed ({take}) and checking it failed ({tookIt.Status}: {tookIt.Error})");
            }
            if (tookIt.Value)
            {
                return await PublishAsync(key, dir, expected, writerId);
            }
            IoResult<bool> stillCandidate = await StorageIo.ExistsAsync(_storage, candidate);
            if (!stillCandidate.IsOk)
            {
                return LocationError.Indeterminate($"consensus compare_and_set '{key}': take failed ({take}) and checking it failed ({stillCandidate.Status}: {stillCandidate.Error})");
            }
            if (!stillCandidate.Value)
            {
                // Neither the take nor the candidate is there. Either the take happened, a helper published the
                // candidate and a truncate removed the take, or the take never happened and a truncate deleted the
                // candidate as a loser because the head moved on while the take was in flight (an I/O error reported
                // late). The two look the same on disk: the outcome is unknown. (Found by the simulator: answering
                // committed here let two writers win one interval, persist seed 1495 with upkeep in the background.)
                return LocationError.Indeterminate(
                    $"consensus compare_and_set '{key}': take failed ({take}) and candidate {CandidateName(expected, writerId)} is gone (published, or deleted by a truncate)");
            }
            await _storage.DeleteAsync(candidate);
            return LocationError.Determinate($"consensus compare_and_set '{key}': taking {baton}: {take}");
        }
        await _storage.DeleteAsync(candidate);
        return LocationError.Determinate($"consensus compare_and_set '{key}': the baton for seqno {expected} kept moving; too much contention");
    }

    /// <summary>After W took h.N: publish c.N.W as h.N+1, make take and publish durable with one sync, archive t.N.W.</summary>
    /// <remarks>
    /// The take is decided (no one else can consume h.N) but not yet durable when the publish is issued: one
    /// directory sync then makes both durable, in order (a crash keeps a prefix: nothing, the take, or take and
    /// publish; a kept take with a lost publish is completed by the next reader). Whatever the publish rename
    /// returned, the sync decides the answer: after it succeeds the take is durable, and a take whose publish
    /// is missing is finished by readers, so the write is committed; if it fails, the take may be lost in a crash.
    /// </remarks>
    private async ValueTask<LocationResult<CasOutcome>> PublishAsync(string key, string dir, ulong expected, string writerId)
    {
        IoResult published = await _storage.RenameAsync(PathIn(dir, CandidateName(expected, writerId)), PathIn(dir, HeadName(expected + 1)));
        IoResult durable = await _storage.SyncDirectoryAsync(dir);
        if (!durable.IsOk)
        {
            return LocationError.Indeterminate($"consensus compare_and_set '{key}': took seqno {expected} but could not sync {dir}: {durable}");
        }
        if (published.IsOk || published.Status == IoStatus.NotFound)
        {
            // Archive only once the publish is durable: a crash must never keep the archive but lose the publish.
            // (NotFound: a reader published on our behalf, after syncing the take; our sync made its publish durable.)
            await _storage.RenameAsync(PathIn(dir, TakeName(expected, writerId)), PathIn(dir, ArchiveName(expected)));
        }
        return CasOutcome.Committed;
    }

    // ---- first write ----

    private async ValueTask<LocationResult<CasOutcome>> GenesisAsync(string key, string dir, VersionedData next)
    {
        IoResult created = await StorageIo.EnsureDirectoryAsync(_storage, dir);
        if (!created.IsOk)
        {
            return LocationError.Determinate($"consensus compare_and_set '{key}': creating {dir}: {created}");
        }
        LocationResult<VersionedData?> head = await ResolveHeadAsync(key, dir);
        if (!head.IsOk)
        {
            return head.Error!;
        }
        if (head.Value is not null)
        {
            return CasOutcome.ExpectationMismatch;
        }
        LocationResult<string> written = await WriteUniqueAsync(key, dir, GenesisCandidateName, next);
        if (!written.IsOk)
        {
            return written.Error!;
        }
        string self = written.Value!;
        // The candidate must be durable before its announcement can be: an announcement whose candidate and
        // void are both missing reads as committed.
        IoResult synced = await _storage.SyncDirectoryAsync(dir);
        if (synced.IsOk)
        {
            synced = await StorageIo.CreateAndFlushAsync(_storage, PathIn(dir, GenesisAttemptName(self, next.SeqNo)), ReadOnlyMemory<byte>.Empty);
        }
        if (synced.IsOk)
        {
            synced = await _storage.SyncDirectoryAsync(dir);
        }
        if (!synced.IsOk)
        {
            await VoidAsync(dir, self);
            return LocationError.Determinate($"consensus compare_and_set '{key}': announcing the first write: {synced}");
        }
        for (int round = 0; round < GenesisRoundsMax; round++)
        {
            LocationResult<KeyListing?> listed = await ListKeyAsync(key, dir);
            if (!listed.IsOk)
            {
                await VoidAsync(dir, self);
                return listed.Error!;
            }
            KeyListing listing = listed.Value!;
            if (listing.MaxEvidence is not null)
            {
                await VoidAsync(dir, self);
                return CasOutcome.ExpectationMismatch;
            }
            bool otherCommitted = false;
            bool unsettled = false;
            foreach ((string other, ulong _) in listing.GenesisAttempts)
            {
                if (other == self)
                {
                    continue;
                }
                LocationResult<AttemptState> state = await AttemptStateAsync(key, dir, other);
                if (state.IsOk && state.Value == AttemptState.Pending)
                {
                    // Void it; if that rename loses a race, its owner decided first, so look again.
                    IoResult voided = await _storage.RenameAsync(PathIn(dir, GenesisCandidateName(other)), PathIn(dir, VoidedName(other)));
                    state = voided.IsOk ? AttemptState.Voided : await AttemptStateAsync(key, dir, other);
                }
                if (!state.IsOk || state.Value == AttemptState.Pending)
                {
                    unsettled = true;
                }
                else if (state.Value == AttemptState.Committed)
                {
                    otherCommitted = true;
                }
            }
            if (otherCommitted)
            {
                await VoidAsync(dir, self);
                return CasOutcome.ExpectationMismatch;
            }
            if (unsettled)
            {
                continue;
            }
            // Make the voids durable before committing, so a crash cannot revive an attempt we overruled.
            IoResult durable = await _storage.SyncDirectoryAsync(dir);
            if (!durable.IsOk)
            {
                await VoidAsync(dir, self);
                return LocationError.Determinate($"consensus compare_and_set '{key}': sync of {dir}: {durable}");
            }
            IoResult commit = await _storage.RenameAsync(PathIn(dir, GenesisCandidateName(self)), PathIn(dir, HeadName(next.SeqNo)));
            if (commit.Status == IoStatus.NotFound)
            {
                return CasOutcome.ExpectationMismatch; // a later attempt voided us first
            }
            if (!commit.IsOk)
            {
                LocationResult<AttemptState> state = await AttemptStateAsync(key, dir, self);
                if (!state.IsOk)
                {
                    return LocationError.Indeterminate($"consensus compare_and_set '{key}': first write {commit}, and checking it failed: {state.Error}");
                }
                if (state.Value == AttemptState.Voided)
                {
                    return CasOutcome.ExpectationMismatch;
                }
                if (state.Value == AttemptState.Pending)
                {
                    await VoidAsync(dir, self);
                    return LocationError.Determinate($"consensus compare_and_set '{key}': first write: {commit}");
                }
            }
            IoResult committedDurable = await _storage.SyncDirectoryAsync(dir);
            return committedDurable.IsOk
                ? CasOutcome.Committed
                : LocationError.Indeterminate($"consensus compare_and_set '{key}': first write published but sync of {dir} failed: {committedDurable}");
        }
        await VoidAsync(dir, self);
        return LocationError.Determinate($"consensus compare_and_set '{key}': first write kept racing other first writes; too much contention");
    }

    private async ValueTask VoidAsync(string dir, string attempt) =>
        await _storage.RenameAsync(PathIn(dir, GenesisCandidateName(attempt)), PathIn(dir, VoidedName(attempt)));

    private async ValueTask<LocationResult<AttemptState>> AttemptStateAsync(string key, string dir, string attempt)
    {
        IoResult<bool> pending = await StorageIo.ExistsAsync(_storage, PathIn(dir, GenesisCandidateName(attempt)));
        if (!pending.IsOk)
        {
            return LocationError.Determinate($"consensus '{key}': state of first-write attempt {attempt}: {pending.Status}: {pending.Error}");
        }
        if (pending.Value)
        {
            return AttemptState.Pending;
        }
        IoResult<bool> voided = await StorageIo.ExistsAsync(_storage, PathIn(dir, VoidedName(attempt)));
        if (!voided.IsOk)
        {
            return LocationError.Determinate($"consensus '{key}': state of first-write attempt {attempt}: {voided.Status}: {voided.Error}");
        }
        return voided.Value ? AttemptState.Voided : AttemptState.Committed;
    }

    /// <summary>Truncate's housekeeping: void pending first-write attempts (the key has a head, so they cannot win) and delete voided ones.</summary>
    private async ValueTask<LocationResult> TidyGenesisAttemptsAsync(string key, string dir, KeyListing listing)
    {
        foreach ((string attempt, ulong seqno) in listing.GenesisAttempts)
        {
            LocationResult<AttemptState> state = await AttemptStateAsync(key, dir, attempt);
            if (!state.IsOk)
            {
                return state.Error!;
            }
            if (state.Value == AttemptState.Pending)
            {
                await VoidAsync(dir, attempt);
            }
            else if (state.Value == AttemptState.Voided)
            {
                // Announcement first, durably: an announcement left without its void would read as committed.
                LocationResult deleted = await DeleteAsync(key, dir, GenesisAttemptName(attempt, seqno));
                if (deleted.IsOk)
                {
                    IoResult synced = await _storage.SyncDirectoryAsync(dir);
                    deleted = synced.IsOk
                        ? await DeleteAsync(key, dir, VoidedName(attempt))
                        : LocationError.Indeterminate($"consensus '{key}': sync of {dir}: {synced}");
                }
                if (!deleted.IsOk)
                {
                    return deleted;
                }
            }
        }
        return LocationResult.Ok;
    }

    // ---- reading the head ----

    /// <summary>The head, helping any writer that took the baton but has not published yet. Not synced.</summary>
    private async ValueTask<LocationResult<VersionedData?>> ResolveHeadAsync(string key, string dir)
    {
        for (int attempt = 0; attempt < ResolveAttemptsMax; attempt++)
        {
            LocationResult<KeyListing?> listed = await ListKeyAsync(key, dir);
            if (!listed.IsOk)
            {
                return listed.Error!;
            }
            if (listed.Value is not KeyListing listing)
            {
                return LocationResult<VersionedData?>.Ok(null);
            }
            ulong? start = listing.MaxEvidence;
            if (start is null)
            {
                foreach ((string genesisAttempt, ulong seqno) in listing.GenesisAttempts)
                {
                    LocationResult<AttemptState> state = await AttemptStateAsync(key, dir, genesisAttempt);
                    if (!state.IsOk)
                    {
                        return state.Error!;
                    }
                    if (state.Value == AttemptState.Committed)
                    {
                        start = seqno;
                        break;
                    }
                }
                if (start is null)
                {
                    // Linearized at the listing: every committed first write announces itself before committing.
                    return LocationResult<VersionedData?>.Ok(null);
                }
            }
            LocationResult<VersionedData?> probed = await ProbeAsync(key, dir, start.Value);
            if (!probed.IsOk || probed.Value is not null)
            {
                return probed;
            }
            // Null from the probe means the listing was stale: list again.
        }
        return LocationError.Determinate($"consensus head '{key}': the head kept moving while being read; too much contention");
    }

    /// <summary>Walks up from a committed seqno to the head; null when a listing turned out stale.</summary>
    private async ValueTask<LocationResult<VersionedData?>> ProbeAsync(string key, string dir, ulong committed)
    {
        ulong n = committed;
        for (int step = 0; step < ProbeStepsMax; step++)
        {
            string baton = PathIn(dir, HeadName(n));
            IoResult<byte[]> read = await StorageIo.ReadAllAsync(_storage, baton);
            if (read.IsOk)
            {
                // h.N exists only while N is the head: this open is the read's linearization point.
                (byte[]? data, string? error) = DecodeRecord(key, baton, read.Value!, n);
                return data is not null
                    ? new VersionedData(n, data)
                    : LocationError.Determinate(error!);
            }
            if (read.Status != IoStatus.NotFound)
            {
                return LocationError.Determinate($"consensus head '{key}': reading {baton}: {read.Status}: {read.Error}");
            }
            // N is committed but its baton is gone, so some W took it: N+1 is committed or being published.
            LocationResult<KeyListing?> listed = await ListKeyAsync(key, dir);
            if (!listed.IsOk)
            {
                return listed.Error!;
            }
            KeyListing listing = listed.Value ?? new KeyListing();
            if (listing.Takes.TryGetValue(n, out List<string>? takers))
            {
                foreach (string taker in takers)
                {
                    LocationResult helped = await HelpPublishAsync(key, dir, n, taker);
                    if (!helped.IsOk)
                    {
                        return helped.Error!;
                    }
                }
                n++;
            }
            else if (listing.MaxEvidence is ulong newest && newest > n)
            {
                n = newest;
            }
            else if (listing.Archives.Contains(n))
            {
                n++;
            }
            else
            {
                return LocationResult<VersionedData?>.Ok(null);
            }
        }
        return LocationResult<VersionedData?>.Ok(null);
    }

    /// <summary>W took h.N; if its candidate is still there, publish it as h.N+1 on W's behalf.</summary>
    private async ValueTask<LocationResult> HelpPublishAsync(string key, string dir, ulong n, string taker)
    {
        string candidate = PathIn(dir, CandidateName(n, taker));
        IoResult<bool> pending = await StorageIo.ExistsAsync(_storage, candidate);
        if (!pending.IsOk)
        {
            return LocationError.Determinate($"consensus '{key}': checking {candidate}: {pending.Status}: {pending.Error}");
        }
        if (!pending.Value)
        {
            return LocationResult.Ok; // already published
        }
        // Act only on a durable take: sync first, then publish.
        IoResult synced = await _storage.SyncDirectoryAsync(dir);
        if (!synced.IsOk)
        {
            return LocationError.Determinate($"consensus '{key}': sync of {dir} before completing a write: {synced}");
        }
        IoResult published = await _storage.RenameAsync(candidate, PathIn(dir, HeadName(n + 1)));
        if (!published.IsOk && published.Status != IoStatus.NotFound)
        {
            return LocationError.Determinate($"consensus '{key}': completing the write of seqno {n + 1}: {published}");
        }
        return LocationResult.Ok;
    }

    /// <summary>A version below the head: t.N.W or v.N, null when truncated meanwhile.</summary>
    private async ValueTask<LocationResult<byte[]?>> ReadHistoricalAsync(string key, string dir, ulong n, KeyListing listing)
    {
        var names = new List<string>();
        if (listing.Takes.TryGetValue(n, out List<string>? takers))
        {
            foreach (string taker in takers)
            {
                names.Add(TakeName(n, taker));
            }
        }
        names.Add(ArchiveName(n));
        foreach (string name in names)
        {
            string path = PathIn(dir, name);
            IoResult<byte[]> read = await StorageIo.ReadAllAsync(_storage, path);
            if (read.Status == IoStatus.NotFound)
            {
                continue;
            }
            if (!read.IsOk)
            {
                return LocationError.Determinate($"consensus scan '{key}': reading {path}: {read.Status}: {read.Error}");
            }
            (byte[]? data, string? error) = DecodeRecord(key, path, read.Value!, n);
            return data is not null ? LocationResult<byte[]?>.Ok(data) : LocationError.Determinate(error!);
        }
        return LocationResult<byte[]?>.Ok(null);
    }

    // ---- files and records ----

    private async ValueTask<LocationResult<string>> WriteUniqueAsync(string key, string dir, Func<string, string> nameOf, VersionedData version)
    {
        byte[] record = EncodeRecord(version.SeqNo, version.Data);
        for (int attempt = 0; attempt < IdAttemptsMax; attempt++)
        {
            string id = FileNames.RandomId(_random);
            IoResult written = await StorageIo.CreateAndFlushAsync(_storage, PathIn(dir, nameOf(id)), record);
            if (written.IsOk)
            {
                return id;
            }
            if (written.Status == IoStatus.NotFound)
            {
                return LocationError.Determinate($"consensus compare_and_set '{key}': the key has no versions");
            }
            if (written.Status != IoStatus.AlreadyExists)
            {
                return LocationError.Determinate($"consensus compare_and_set '{key}': writing a candidate: {written}");
            }
        }
        return LocationError.Determinate($"consensus compare_and_set '{key}': no unused candidate name after {IdAttemptsMax} attempts");
    }

    private async ValueTask<LocationResult> DeleteAsync(string key, string dir, string name)
    {
        IoResult deleted = await _storage.DeleteAsync(PathIn(dir, name));
        return deleted.IsOk || deleted.Status == IoStatus.NotFound
            ? LocationResult.Ok
            : LocationError.Indeterminate($"consensus '{key}': deleting {name}: {deleted}");
    }

    private byte[] EncodeRecord(ulong seqno, byte[] data)
    {
        byte[] record = new byte[RecordHeaderBytes + data.Length + RecordTrailerBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(record, RecordMagic);
        BinaryPrimitives.WriteUInt64LittleEndian(record.AsSpan(4), seqno);
        BinaryPrimitives.WriteUInt64LittleEndian(record.AsSpan(12), (ulong)data.Length);
        data.CopyTo(record.AsSpan(RecordHeaderBytes));
        int bodyBytes = RecordHeaderBytes + data.Length;
        BinaryPrimitives.WriteUInt64LittleEndian(record.AsSpan(bodyBytes), _checksum.Hash(record.AsSpan(0, bodyBytes)));
        return record;
    }

    private (byte[]? Data, string? Error) DecodeRecord(string key, string path, byte[] record, ulong expectedSeqNo)
    {
        string Fail(string why) => $"consensus key '{key}': {path} is corrupt: {why}";
        if (record.Length < RecordHeaderBytes + RecordTrailerBytes)
        {
            return (null, Fail($"{record.Length} bytes is shorter than any record"));
        }
        if (BinaryPrimitives.ReadUInt32LittleEndian(record) != RecordMagic)
        {
            return (null, Fail("bad magic number"));
        }
        ulong length = BinaryPrimitives.ReadUInt64LittleEndian(record.AsSpan(12));
        if (length != (ulong)(record.Length - RecordHeaderBytes - RecordTrailerBytes))
        {
            return (null, Fail($"the record says {length} data bytes but the file holds {record.Length - RecordHeaderBytes - RecordTrailerBytes}"));
        }
        int bodyBytes = record.Length - RecordTrailerBytes;
        if (_checksum.Hash(record.AsSpan(0, bodyBytes)) != BinaryPrimitives.ReadUInt64LittleEndian(record.AsSpan(bodyBytes)))
        {
            return (null, Fail("checksum mismatch"));
        }
        ulong seqno = BinaryPrimitives.ReadUInt64LittleEndian(record.AsSpan(4));
        if (seqno != expectedSeqNo)
        {
            return (null, Fail($"it holds seqno {seqno} where {expectedSeqNo} belongs"));
        }
        return (record.AsSpan(RecordHeaderBytes, (int)length).ToArray(), null);
    }

    private async ValueTask<LocationResult<KeyListing?>> ListKeyAsync(string key, string dir)
    {
        IoResult<IReadOnlyList<DirectoryEntry>> listed = await _storage.ListAsync(dir);
        if (listed.Status == IoStatus.NotFound)
        {
            return LocationResult<KeyListing?>.Ok(null);
        }
        if (!listed.IsOk)
        {
            return LocationError.Determinate($"consensus '{key}': listing {dir}: {listed.Status}: {listed.Error}");
        }
        var listing = new KeyListing();
        foreach (DirectoryEntry entry in listed.Value!)
        {
            if (!entry.IsDirectory)
            {
                listing.Add(entry.Name);
            }
        }
        return listing;
    }

    private string KeyDirectory(string key) => StoragePath.Combine(_root, FileNames.Encode(key));

    private static string PathIn(string dir, string name) => StoragePath.Combine(dir, name);

    private static string SeqNo(ulong n) => n.ToString("D20", CultureInfo.InvariantCulture);

    private static string HeadName(ulong n) => "h." + SeqNo(n);

    private static string TakeName(ulong n, string writer) => "t." + SeqNo(n) + "." + writer;

    private static string ArchiveName(ulong n) => "v." + SeqNo(n);

    private static string CandidateName(ulong n, string writer) => "c." + SeqNo(n) + "." + writer;

    private static string GenesisCandidateName(string attempt) => "c.g." + attempt;

    private static string GenesisAttemptName(string attempt, ulong seqno) => "g." + attempt + "." + SeqNo(seqno);

    private static string VoidedName(string attempt) => "x." + attempt;

    /// <summary>A key directory's files, parsed by role. Unknown names (temporary files of other tools) are ignored.</summary>
    private sealed class KeyListing
    {
        public SortedSet<ulong> Heads { get; } = [];

        public SortedSet<ulong> Archives { get; } = [];

        public SortedDictionary<ulong, List<string>> Takes { get; } = [];

        public SortedDictionary<ulong, List<string>> Candidates { get; } = [];

        public List<(string Attempt, ulong SeqNo)> GenesisAttempts { get; } = [];

        /// <summary>The largest seqno some file proves committed (h, t and v files exist only for committed versions).</summary>
        public ulong? MaxEvidence
        {
            get
            {
                ulong? max = null;
                if (Heads.Count > 0)
                {
                    max = Heads.Max;
                }
                if (Archives.Count > 0 && (max is null || Archives.Max > max))
                {
                    max = Archives.Max;
                }
                foreach (ulong n in Takes.Keys)
                {
                    if (max is null || n > max)
                    {
                        max = n;
                    }
                }
                return max;
            }
        }

        public void Add(string name)
        {
            string[] parts = name.Split('.');
            switch (parts)
            {
                case ["h", string n] when TryParse(n, out ulong seqno):
                    Heads.Add(seqno);
                    break;
                case ["v", string n] when TryParse(n, out ulong seqno):
                    Archives.Add(seqno);
                    break;
                case ["t", string n, string writer] when TryParse(n, out ulong seqno):
                    AddTo(Takes, seqno, writer);
                    break;
                case ["c", string n, string writer] when TryParse(n, out ulong seqno):
                    AddTo(Candidates, seqno, writer);
                    break;
                case ["g", string attempt, string n] when TryParse(n, out ulong seqno):
                    GenesisAttempts.Add((attempt, seqno));
                    break;
                default:
                    break;
            }
        }

        private static void AddTo(SortedDictionary<ulong, List<string>> map, ulong seqno, string writer)
        {
            if (!map.TryGetValue(seqno, out List<string>? writers))
            {
                writers = [];
                map.Add(seqno, writers);
            }
            writers.Add(writer);
        }

        private static bool TryParse(string text, out ulong value)
        {
            value = 0;
            return text.Length == 20 && ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
        }
    }
}
