using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Persist.Native;
using Kernel.Runtime;

namespace Kernel.Persist.Location;

/// <summary>
/// <see cref="IConsensus"/> as one append-only log file shared by every key, over the node's
/// <see cref="IDurableStorage"/>: a compare-and-set costs one appended record and one fsync, and concurrent
/// compare-and-sets share their fsync (group commit). Safe for several processes sharing the directory on one
/// machine, which take turns through a file lock.
/// </summary>
/// <remarks>
/// <para><b>Files</b> in the root directory: <c>lock</c> (locked, and holding the durability hint below) and the log segment
/// <c>log.G</c> (G: a 20-digit generation). A segment is a sequence of records, each
/// <c>magic | kind | key length | data length | seqno | link | key | data | xxHash64</c>: a version of a key, a
/// truncation of a key below a seqno, or a seal naming the segment's successor. A record's link is the checksum
/// of the record before it (a per-generation constant for the first), so the log is a hash chain: a record that
/// is whole but was written after some other predecessor is not part of it. After the last record come zeros,
/// written (and synced) ahead in steps of <c>preallocateBytes</c>: an append then overwrites space the file
/// already has, and its fsync flushes data only, with no journal commit for a new size or new blocks. Every
/// instance keeps an index of the segment in memory (per key: the live versions' offsets and the head's bytes)
/// and reads only what other processes appended since it last looked.</para>
///
/// <para><b>Every operation</b> takes the instance's gate, then the file lock; catches up (reads records
/// appended past its end, which costs a length check when nobody else wrote); decides; appends at most one
/// record; releases the lock; and then, outside the lock, waits until what it observed or wrote is durable
/// before it answers. On a node loop the release waits for the caller's synchronous work, so a group commit's
/// appends to several keys take the lock once and catch up once; their records are kept in memory until then and
/// reach the file in one write, before the release (or before an fsync or a read of them, whichever comes first). The lock is not held across the fsync, so a process's concurrent operations, and those
/// of other processes, append while an fsync runs and the next fsync covers them all. Appends are ordered by
/// the lock, so an fsync that makes a record durable makes every record before it durable too.</para>
///
/// <para><b>Durability and crashes.</b> Nothing is answered before it is durable: a commit after the fsync that
/// covers its record, a read after the fsync that covers the record it returns (another process may have
/// appended it and not yet synced). After each fsync the synced range is read back and checked, so a write
/// lost by a failed fsync elsewhere is an indeterminate error, never a false acknowledgement. A crash can leave
/// a torn or partly lost tail: the log ends at the first record that is not whole or does not link to the one
/// before it; what follows was never acknowledged (an acknowledged record was synced, and with it every byte
/// before it). The next append simply overwrites from there: nothing after it can link to it. An invalid record
/// is read again before it counts as the end, as a read can be transiently corrupt. Each catch-up also checks
/// that the last record it indexed is still there (a failed fsync in another process can drop it and later
/// appends refill the space). A failed write or fsync marks the instance's index suspect; the next operation
/// reloads the segment.</para>
///
/// <para><b>Durability hint.</b> After an fsync is verified and before its waiters are answered, the instance writes
/// <c>generation | durable end | checksum</c> at the start of the <c>lock</c> file (not synced: it is a hint). An
/// instance that caught up on records another instance appended reads it and counts as durable what that fsync
/// covered, instead of syncing again: on one machine a reader of another process's commit (clusterd following a
/// table environmentd wrote) then pays a read of 32 bytes, not an fsync. Only a successful, verified fsync writes a
/// hint, and bytes once durable never change, so a hint is never wrong, only stale or lost: a torn or unreadable
/// hint fails its checksum, an older one (two writers racing) or one of another generation is merely conservative,
/// and the instance then syncs as before.</para>
///
/// <para><b>Compaction.</b> Truncated versions stay in the segment until its dead bytes are most of it; then,
/// under the lock, the writer appends a seal naming generation G+1 and syncs it, writes the live records to
/// <c>log.G+1.tmp</c>, syncs, renames it to <c>log.G+1</c>, syncs the directory and deletes <c>log.G</c>.
/// Nobody appends to a sealed segment: whoever reads a seal moves to its successor, or writes the successor
/// itself when its writer died before the rename. A fresh instance opens the highest generation.</para>
///
/// <para><b>Locks</b> are released by the OS when their process dies, so a crashed process never blocks the
/// others; a stopped (paused) process holding the lock does, for as long as it is stopped, which takes
/// microseconds of work to reach the unlock.</para>
/// </remarks>
public sealed class LogConsensus : IConsensus
{
    /// <summary>Compaction is considered once a segment reaches this size and is more than half dead.</summary>
    public const long CompactionThresholdBytesDefault = 64 << 20;

    /// <summary>Segments grow by writing this many zero bytes ahead of the log's end, synced with the append that needs them.</summary>
    public const int PreallocateBytesDefault = 1 << 20;

    private const uint RecordMagic = 0x324C434B; // "KCL2" little-endian
    private const uint HintMagic = 0x484C434B; // "KCLH" little-endian
    private const int HintBytes = 4 + 4 + 8 + 8 + 8; // magic, reserved, generation, durable end, checksum
    private const int HeaderBytes = 4 + 1 + 2 + 4 + 8 + 8;
    private const int CatchUpChunkBytes = 64 << 10;
    private const int FirstReadBytes = 8 << 10;
    private const int TrailerBytes = 8;
    private const int ReadChunkBytes = 1 << 20;
    private const int PendingBytesMax = 1 << 20; // appended records kept in memory before they are written out
    private const int CorruptRereadsMax = 3;
    private const int SealsFollowedMax = 8;
    private const string LockName = "lock";
    private const string SegmentPrefix = "log.";
    private const string TemporarySuffix = ".tmp";

    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly IDurableStorage _storage;
    private readonly IChecksum _checksum;
    private readonly string _root;
    private readonly long _compactionThresholdBytes;
    private readonly int _preallocateBytes;
    /// <summary>How many times a flush round lets appends in progress finish before its fsync (see FlushRoundsAsync).</summary>
    private const int FlushJoinYieldsMax = 16;

    private readonly AsyncLock _gate = new();
    private readonly byte[] _probe = new byte[TrailerBytes + HeaderBytes]; // catch-up's read; operations hold the gate
    private byte[] _chunk = []; // ReadRecordsAsync's buffer, kept between reads; operations hold the gate
    private byte[] _zeros = []; // WriteZerosAsync's source; all zeros, never written
    private readonly byte[] _hintRead = new byte[HintBytes]; // operations hold the gate
    private readonly byte[] _hintWritten = new byte[HintBytes]; // one flush round at a time

    private IDurableFile? _lock;
    private bool _lockKept; // the file lock is still held after an operation ended: its release is deferred (UnlockAsync)
    private bool _releaseScheduled;
    private IDurableFile? _segment;
    private ulong _generation;
    private long _epoch; // bumped at every (re)load: offsets and durability are per epoch
    private readonly HashSet<long> _durablyRetiredEpochs = [];
    private bool _suspect;
    private long _end; // end of the last valid record
    private ulong _lastChecksum; // the checksum of the record that ends at _end: the next record's link
    private long _capacity; // the segment's length: records, then zeros written ahead
    // Records appended and not yet written to the segment: the tail [_end - _pendingBytes, _end). Appends made under
    // one hold of the file lock (a group commit's) reach the file in one write, before the lock is released, before
    // an fsync and before this instance reads them back (WritePendingAsync).
    private byte[] _pending = [];
    private byte[]? _spare; // the pending buffer of the last write, reused
    private int _pendingBytes;
    private int _writesInFlight;
    private TaskCompletionSource? _writesDrained;
    private long _liveBytes;
    private ulong? _sealedTo;
    private readonly Dictionary<string, KeyLog> _keys = new(StringComparer.Ordinal);

    // Group commit: at most one fsync in flight; callers whose records it does not cover wait for the next.
    private long _durableEnd;
    private bool _flushing;
    private readonly List<(long Epoch, long UpTo, TaskCompletionSource<LocationResult> Done)> _durabilityWaiters = [];

    /// <param name="storage">The node's disk; other processes may share the same directory through their own.</param>
    /// <param name="root">The directory, relative to the storage root, holding the log; created on demand.</param>
    /// <param name="checksum">Record checksum; xxHash64 when null.</param>
    /// <param name="compactionThresholdBytes">The segment size from which compaction is considered.</param>
    /// <param name="preallocateBytes">How far ahead of the log's end the segment is filled with zeros.</param>
    public LogConsensus(IDurableStorage storage, string root, IChecksum? checksum = null, long compactionThresholdBytes = CompactionThresholdBytesDefault,
        int preallocateBytes = PreallocateBytesDefault)
    {
        if (StoragePath.Validate(root) is string invalid)
        {
            throw new ArgumentException(invalid, nameof(root));
        }
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(compactionThresholdBytes);
        _storage = storage;
        _root = root;
        _checksum = checksum ?? XxHash64Checksum.Shared;
        _compactionThresholdBytes = compactionThresholdBytes;
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(preallocateBytes);
        _preallocateBytes = preallocateBytes;
    }

    private enum RecordKind : byte
    {
        Version = 1,
        Truncate = 2,
        Seal = 3,
    }

    private readonly record struct Entry(ulong SeqNo, long Offset, int Length, int KeyBytes);

    private sealed class KeyLog
    {
        public readonly List<Entry> Versions = [];

        /// <summary>
        /// The head version's data, or null until someone asks for it: a catch-up indexes what other instances
        /// appended without copying it (a process following many keys would otherwise copy every version of every
        /// key, most never read), and the first read of the head loads it from the segment.
        /// </summary>
        public byte[]? HeadData;
    }

    private readonly record struct Record(RecordKind Kind, string Key, ulong SeqNo, ulong Link, ulong Checksum, int KeyBytes, int DataOffset, int DataLength, int Length);

    // ---- the operations ----

    public async ValueTask<LocationResult<VersionedData?>> HeadAsync(string key)
    {
        ConsensusChecks.Key(key);
        VersionedData? head;
        (long Epoch, long End) observed;
        using (await _gate.AcquireAsync())
        {
            LocationResult ready = await LockAndCatchUpAsync("head", key);
            if (!ready.IsOk)
            {
                return ready.Error!;
            }
            head = null;
            if (_keys.TryGetValue(key, out KeyLog? log))
            {
                LocationResult<VersionedData> loaded = await HeadOfAsync(key, log);
                if (!loaded.IsOk)
                {
                    await UnlockAsync();
                    return loaded.Error!;
                }
                head = loaded.Value;
            }
            observed = (_epoch, log is null ? 0 : EndOf(log.Versions[^1]));
            await UnlockAsync();
        }
        LocationResult durable = await EnsureDurableAsync(observed.Epoch, observed.End);
        return durable.IsOk ? head : LocationError.Determinate($"consensus head '{key}': {durable.Error!.Message}");
    }

    public async ValueTask<LocationResult<CasOutcome>> CompareAndSetAsync(string key, ulong? expected, VersionedData next)
    {
        ConsensusChecks.CompareAndSetArguments(key, expected, next);
        (long Epoch, long End) awaited;
        CasOutcome outcome;
        using (await _gate.AcquireAsync())
        {
            LocationResult ready = await LockAndCatchUpAsync("compare_and_set", key);
            if (!ready.IsOk)
            {
                return ready.Error!;
            }
            _keys.TryGetValue(key, out KeyLog? log);
            ulong? current = log is null ? null : log.Versions[^1].SeqNo;
            if (current != expected)
            {
                // Answer the mismatch only once the head that caused it is durable.
                outcome = CasOutcome.ExpectationMismatch;
                awaited = (_epoch, log is null ? 0 : EndOf(log.Versions[^1]));
            }
            else
            {
                LocationResult<long> appended = await AppendAsync(RecordKind.Version, key, next.SeqNo, next.Data);
                if (!appended.IsOk)
                {
                    await UnlockAsync();
                    return appended.Error!;
                }
                outcome = CasOutcome.Committed;
                awaited = (_epoch, appended.Value);
            }
            await UnlockAsync();
        }
        LocationResult durable = await EnsureDurableAsync(awaited.Epoch, awaited.End);
        if (durable.IsOk)
        {
            return outcome;
        }
        return outcome == CasOutcome.Committed
            ? LocationError.Indeterminate($"consensus compare_and_set '{key}': {durable.Error!.Message}")
            : LocationError.Determinate($"consensus compare_and_set '{key}': {durable.Error!.Message}");
    }

    public async ValueTask<LocationResult<IReadOnlyList<VersionedData>>> ScanAsync(string key, ulong from, int limit)
    {
        ConsensusChecks.Key(key);
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        var result = new List<VersionedData>();
        (long Epoch, long End) observed = (0, 0);
        using (await _gate.AcquireAsync())
        {
            LocationResult ready = await LockAndCatchUpAsync("scan", key);
            if (!ready.IsOk)
            {
                return ready.Error!;
            }
            if (_keys.TryGetValue(key, out KeyLog? log))
            {
                observed = (_epoch, EndOf(log.Versions[^1]));
                List<Entry> versions = log.Versions;
                for (int i = LowerBound(versions, from); i < versions.Count && result.Count < limit; i++)
                {
                    if (i == versions.Count - 1)
                    {
                        LocationResult<VersionedData> head = await HeadOfAsync(key, log);
                        if (!head.IsOk)
                        {
                            await UnlockAsync();
                            return head.Error!;
                        }
                        result.Add(head.Value!);
                        continue;
                    }
                    LocationResult<byte[]> data = await ReadDataAsync(versions[i], key);
                    if (!data.IsOk)
                    {
                        await UnlockAsync();
                        return data.Error!;
                    }
                    result.Add(new VersionedData(versions[i].SeqNo, data.Value!));
                }
            }
            await UnlockAsync();
        }
        LocationResult durable = await EnsureDurableAsync(observed.Epoch, observed.End);
        return durable.IsOk ? result : LocationError.Determinate($"consensus scan '{key}': {durable.Error!.Message}");
    }

    public async ValueTask<LocationResult<long>> TruncateAsync(string key, ulong seqno)
    {
        ConsensusChecks.Key(key);
        (long Epoch, long End) awaited;
        long removed;
        using (await _gate.AcquireAsync())
        {
            LocationResult ready = await LockAndCatchUpAsync("truncate", key);
            if (!ready.IsOk)
            {
                return ready.Error!;
            }
            if (!_keys.TryGetValue(key, out KeyLog? log))
            {
                await UnlockAsync();
                return LocationError.Determinate($"consensus key '{key}' has no versions to truncate");
            }
            ulong head = log.Versions[^1].SeqNo;
            if (seqno > head)
            {
                await UnlockAsync();
                return LocationError.Determinate($"cannot truncate consensus key '{key}' below seqno {seqno}: its head is {head}");
            }
            removed = LowerBound(log.Versions, seqno);
            if (removed == 0)
            {
                await UnlockAsync();
                return 0L;
            }
            LocationResult<long> appended = await AppendAsync(RecordKind.Truncate, key, seqno, []);
            if (!appended.IsOk)
            {
                await UnlockAsync();
                return appended.Error!;
            }
            awaited = (_epoch, appended.Value);
            if (_end >= _compactionThresholdBytes && _liveBytes * 2 < _end)
            {
                // Compaction syncs the sealed segment first, which covers the truncation appended above.
                LocationResult compacted = await CompactAsync();
                if (!compacted.IsOk)
                {
                    await UnlockAsync();
                    return LocationError.Indeterminate($"consensus truncate '{key}': {compacted.Error!.Message}");
                }
            }
            await UnlockAsync();
        }
        LocationResult durable = await EnsureDurableAsync(awaited.Epoch, awaited.End);
        return durable.IsOk ? removed : LocationError.Indeterminate($"consensus truncate '{key}': {durable.Error!.Message}");
    }

    public async ValueTask<LocationResult<IReadOnlyList<string>>> ListKeysAsync()
    {
        var keys = new List<string>();
        (long Epoch, long End) observed;
        using (await _gate.AcquireAsync())
        {
            LocationResult ready = await LockAndCatchUpAsync("list keys", null);
            if (!ready.IsOk)
            {
                return ready.Error!;
            }
            keys.AddRange(_keys.Keys);
            observed = (_epoch, _end);
            await UnlockAsync();
        }
        keys.Sort(StringComparer.Ordinal);
        LocationResult durable = await EnsureDurableAsync(observed.Epoch, observed.End);
        return durable.IsOk ? keys : LocationError.Determinate($"consensus list keys: {durable.Error!.Message}");
    }

    // ---- lock, load and catch up ----

    /// <summary>Takes the file lock and brings the index up to the segment's last valid record; on failure the lock is released.</summary>
    private async ValueTask<LocationResult> LockAndCatchUpAsync(string operation, string? key)
    {
        if (_lockKept)
        {
            // Held since the previous operation of this instance: nobody else can have appended, so the index is current.
            _lockKept = false;
            if (_lock is not null && !_suspect && _sealedTo is null)
            {
                return LocationResult.Ok;
            }
            await ReleaseFileLockAsync();
        }
        string what = key is null ? $"consensus {operation}" : $"consensus {operation} '{key}'";
        if (_lock is null)
        {
            IoResult<IDurableFile> opened = await _storage.OpenAsync(Path(LockName), OpenMode.OpenExisting);
            if (opened.Status == IoStatus.NotFound)
            {
                IoResult created = await _storage.CreateDirectoryAsync(_root);
                if (!created.IsOk)
                {
                    return LocationError.Determinate($"{what}: creating {_root}: {created}");
                }
                opened = await _storage.OpenAsync(Path(LockName), OpenMode.OpenOrCreate);
            }
            if (!opened.IsOk)
            {
                return LocationError.Determinate($"{what}: opening {Path(LockName)}: {opened.Status}: {opened.Error}");
            }
            _lock = opened.Value!;
        }
        IoResult locked = await _lock.LockAsync();
        if (!locked.IsOk)
        {
            _lock.Dispose();
            _lock = null;
            return LocationError.Determinate($"{what}: locking {Path(LockName)}: {locked}");
        }
        long endBefore = _end;
        long epochBefore = _epoch;
        LocationResult caughtUp = await CatchUpAsync();
        for (int followed = 0; caughtUp.IsOk && _sealedTo is not null; followed++)
        {
            caughtUp = followed < SealsFollowedMax
                ? await FollowSealAsync()
                : LocationError.Determinate($"{_root} keeps presenting sealed segments");
        }
        if (!caughtUp.IsOk)
        {
            _suspect = true;
            await UnlockAsync();
            return LocationError.Determinate($"{what}: {caughtUp.Error!.Message}");
        }
        if ((_end != endBefore || _epoch != epochBefore) && _durableEnd < _end && !_suspect)
        {
            // Records someone else appended were read: their writer's fsync may have made them durable already.
            await AdoptDurableHintAsync();
        }
        return LocationResult.Ok;
    }

    /// <summary>
    /// Whether the caller runs on a single-threaded loop (production's node loop, the simulator): only there may work be
    /// deferred with <c>Task.Yield</c> to run after the caller's synchronous work and never alongside it.
    /// </summary>
    private static bool OnLoop => SynchronizationContext.Current is ILoopContext;

    /// <summary>Counts as durable what another instance's verified fsync of this segment covered (see the remarks).</summary>
    private async ValueTask AdoptDurableHintAsync()
    {
        IoResult<int> read = await _lock!.ReadAsync(0, _hintRead);
        if (!read.IsOk || read.Value < HintBytes)
        {
            return;
        }
        ReadOnlySpan<byte> hint = _hintRead;
        if (BinaryPrimitives.ReadUInt32LittleEndian(hint) != HintMagic
            || BinaryPrimitives.ReadUInt64LittleEndian(hint[(HintBytes - 8)..]) != _checksum.Hash(hint[..(HintBytes - 8)])
            || BinaryPrimitives.ReadUInt64LittleEndian(hint[8..]) != _generation)
        {
            return;
        }
        long durable = (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(hint[16..]), (ulong)_end);
        _durableEnd = Math.Max(_durableEnd, durable);
    }

    /// <summary>Publishes a verified fsync's reach for other instances; a failure only costs them an fsync.</summary>
    private async ValueTask PublishDurableHintAsync(ulong generation, long durableEnd)
    {
        if (_lock is not { } file)
        {
            return;
        }
        Span<byte> hint = _hintWritten;
        BinaryPrimitives.WriteUInt32LittleEndian(hint, HintMagic);
        BinaryPrimitives.WriteUInt32LittleEndian(hint[4..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(hint[8..], generation);
        BinaryPrimitives.WriteUInt64LittleEndian(hint[16..], (ulong)durableEnd);
        BinaryPrimitives.WriteUInt64LittleEndian(hint[(HintBytes - 8)..], _checksum.Hash(hint[..(HintBytes - 8)]));
        await file.WriteAsync(0, _hintWritten);
    }

    /// <summary>
    /// Releases the file lock; on a node loop, only after the caller's synchronous work, so that operations it
    /// starts right after this one (a group commit's appends to several keys) find the lock still held and need
    /// neither the lock nor a catch-up: four system calls fewer each. Other processes wait one loop turn longer.
    /// </summary>
    private async ValueTask UnlockAsync()
    {
        if (_lock is not null && !_suspect && OnLoop)
        {
            _lockKept = true;
            if (!_releaseScheduled)
            {
                _releaseScheduled = true;
                _ = ReleaseKeptLockAsync();
            }
            return;
        }
        _lockKept = false;
        await ReleaseFileLockAsync();
    }

    /// <summary>The deferred release, unless an operation holds the gate (it took the kept lock and releases it itself).</summary>
    private async Task ReleaseKeptLockAsync()
    {
        await Task.Yield();
        _releaseScheduled = false;
        if (!_lockKept || _gate.IsContended)
        {
            return;
        }
        // Through the gate: an operation starting while the unlock is in flight must wait for it, not lock the
        // handle that is still releasing.
        using (await _gate.AcquireAsync())
        {
            if (_lockKept)
            {
                _lockKept = false;
                await ReleaseFileLockAsync();
            }
        }
    }

    private async ValueTask ReleaseFileLockAsync()
    {
        // Others read the log once they hold the lock: what this instance appended must be in the file by then.
        await WritePendingAsync();
        if (_lock is not null)
        {
            IoResult unlocked = await _lock.UnlockAsync();
            if (!unlocked.IsOk)
            {
                // Closing the handle releases the lock whatever went wrong; the next operation opens it again.
                _lock.Dispose();
                _lock = null;
            }
        }
    }

    private async ValueTask<LocationResult> CatchUpAsync()
    {
        if (_segment is null || _suspect)
        {
            return await LoadAsync();
        }
        IoResult<long> length = await _segment.GetLengthAsync();
        if (!length.IsOk)
        {
            return LocationError.Determinate($"length of {_segment.Path}: {length}");
        }
        if (length.Value < _end)
        {
            // Bytes this index has seen are gone (a failed fsync dropped them): start over from the file.
            return await LoadAsync();
        }
        // The bytes this index has seen must still be there: a failed fsync can drop them (another instance's fsync,
        // in another process) and later appends fill the file past this end again. The last record's checksum
        // stands for the whole prefix (each record carries its predecessor's): any other bytes there mean start
        // over from the file. The same read shows whether a record follows.
        long start = Math.Max(0, _end - TrailerBytes);
        Memory<byte> probe = _probe.AsMemory(0, (int)(_end - start) + HeaderBytes);
        LocationResult<int> got = await ReadExactlyAsync(_segment, start, probe);
        if (!got.IsOk)
        {
            return got.Error!;
        }
        int trailerBytes = (int)(_end - start);
        if (got.Value < trailerBytes || (trailerBytes > 0 && BinaryPrimitives.ReadUInt64LittleEndian(probe.Span) != _lastChecksum))
        {
            return await LoadAsync();
        }
        _capacity = length.Value;
        if (got.Value - trailerBytes < HeaderBytes || probe.Span.Slice(trailerBytes, HeaderBytes).IndexOfAnyExcept((byte)0) < 0)
        {
            return LocationResult.Ok; // zeros (or the file's end) follow: nobody appended
        }
        return await ReadRecordsAsync(_end, length.Value, CatchUpChunkBytes);
    }

    /// <summary>Opens the newest segment (creating the first) and indexes it from the start: a new epoch.</summary>
    private async ValueTask<LocationResult> LoadAsync()
    {
        await DrainWritesAsync();
        ResetIndex();
        IoResult<IReadOnlyList<DirectoryEntry>> listed = await _storage.ListAsync(_root);
        if (!listed.IsOk)
        {
            return LocationError.Determinate($"listing {_root}: {listed}");
        }
        ulong? newest = null;
        var segments = new List<(string Name, ulong? Generation)>();
        foreach (DirectoryEntry entry in listed.Value!)
        {
            if (!entry.IsDirectory && entry.Name.StartsWith(SegmentPrefix, StringComparison.Ordinal))
            {
                ulong? generation = ParseGeneration(entry.Name);
                segments.Add((entry.Name, generation));
                if (generation is ulong g && (newest is null || g > newest))
                {
                    newest = g;
                }
            }
        }
        var stale = new List<string>();
        foreach ((string name, ulong? generation) in segments)
        {
            // Older segments are sealed and superseded; a temporary file is an unfinished compaction's.
            if (generation != newest)
            {
                stale.Add(name);
            }
        }
        if (newest is null)
        {
            // The first segment: its directory entry is durable before anything is appended to it.
            IoResult<IDurableFile> created = await _storage.OpenAsync(Path(SegmentName(0)), OpenMode.OpenOrCreate);
            if (!created.IsOk)
            {
                return LocationError.Determinate($"creating {Path(SegmentName(0))}: {created.Status}: {created.Error}");
            }
            IoResult synced = await WriteZerosAsync(created.Value!, 0, _preallocateBytes);
            if (synced.IsOk)
            {
                synced = await created.Value!.FlushAsync();
            }
            if (synced.IsOk)
            {
                synced = await _storage.SyncDirectoryAsync(_root);
            }
            if (!synced.IsOk)
            {
                created.Value!.Dispose();
                return LocationError.Determinate($"creating {Path(SegmentName(0))}: {synced}");
            }
            return await OpenSegmentAsync(0, created.Value!);
        }
        // Removing them is tidying (no sync: one that survives a crash is ignored again).
        foreach (string name in stale)
        {
            _ = await _storage.DeleteAsync(Path(name));
        }
        // The segment's directory entry may not be durable yet (its creator may have failed or crashed between
        // creating and syncing it): sync before anything is appended to it or read from it, or a crash could take the
        // whole file, acknowledged records and all.
        IoResult entrySynced = await _storage.SyncDirectoryAsync(_root);
        if (!entrySynced.IsOk)
        {
            return LocationError.Determinate($"sync of {_root}: {entrySynced}");
        }
        IoResult<IDurableFile> opened = await _storage.OpenAsync(Path(SegmentName(newest.Value)), OpenMode.OpenExisting);
        if (!opened.IsOk)
        {
            return LocationError.Determinate($"opening {Path(SegmentName(newest.Value))}: {opened.Status}: {opened.Error}");
        }
        return await OpenSegmentAsync(newest.Value, opened.Value!);
    }

    private async ValueTask<LocationResult> OpenSegmentAsync(ulong generation, IDurableFile segment)
    {
        await DrainWritesAsync();
        ResetIndex();
        _segment = segment;
        _generation = generation;
        IoResult<long> length = await segment.GetLengthAsync();
        if (!length.IsOk)
        {
            _suspect = true; // not read at all: reload at the next operation
            return LocationError.Determinate($"length of {segment.Path}: {length}");
        }
        _capacity = length.Value;
        _lastChecksum = ChainStart(generation);
        LocationResult read = await ReadRecordsAsync(0, length.Value, ReadChunkBytes);
        if (read.IsOk)
        {
            _suspect = false;
        }
        return read;
    }

    /// <summary>Forgets the index: a new epoch, in which nothing is known to be durable yet.</summary>
    private void ResetIndex()
    {
        _segment?.Dispose();
        _segment = null;
        _epoch++;
        _keys.Clear();
        _end = 0;
        _pendingBytes = 0;
        _capacity = 0;
        _lastChecksum = 0;
        _durableEnd = 0;
        _liveBytes = 0;
        _sealedTo = null;
    }

    /// <summary>
    /// Indexes the records in [from, length), reading up to <paramref name="chunkBytes"/> at a time (a record longer
    /// than that in one read); stops at zeros (the space
    /// written ahead), at a seal, or at the first invalid record: one that fails its checksum (a torn tail that was
    /// never acknowledged) or does not link to the record before it (a leftover of such a tail past a shorter record
    /// appended since).
    /// </summary>
    private async ValueTask<LocationResult> ReadRecordsAsync(long from, long length, int chunkBytes)
    {
        LocationResult read = await IndexRecordsAsync(from, length, chunkBytes);
        if (!read.IsOk)
        {
            // The records before the failure are indexed but the end was not moved past them: the index no longer
            // matches any prefix of the file, so the next operation reloads it. (Left as it was, a reload that failed
            // here, inside a compaction, kept an index whose end was 0 under versions far past it: every later
            // operation waited for a durability it could never reach. Persist simulation, seed 1321.)
            _suspect = true;
        }
        return read;
    }

    private async ValueTask<LocationResult> IndexRecordsAsync(long from, long length, int chunkBytes)
    {
        IDurableFile segment = _segment!;
        long position = from;
        // The file's length includes the zeros written ahead, so reading to it would copy mostly zeros: a catch-up
        // usually finds one or two small records. Reads start small and double while records keep coming, into a
        // buffer this instance keeps (operations hold the gate, and Apply copies what it keeps), so catching up
        // allocates nothing: it used to take a fresh 64 KiB array each time, most of a listening process's garbage.
        int nextWant = Math.Min(chunkBytes, FirstReadBytes);
        int needed = 0; // the length of a record the last read ended inside, which starts the next one
        while (position < length && _sealedTo is null)
        {
            int want = (int)Math.Min(Math.Max(Math.Min(chunkBytes, nextWant), needed), length - position);
            nextWant = Math.Min(chunkBytes, nextWant * 2);
            needed = 0;
            if (_chunk.Length < want)
            {
                _chunk = new byte[Math.Max(want, Math.Min(chunkBytes, _chunk.Length * 2))];
            }
            byte[] chunk = _chunk;
            LocationResult<int> got = await ReadExactlyAsync(segment, position, chunk.AsMemory(0, want));
            if (!got.IsOk)
            {
                return got.Error!;
            }
            if (got.Value < want)
            {
                // The file shrank since its length was read (a failed fsync dropped its unsynced tail): it ends here.
                length = position + got.Value;
            }
            int parsed = 0;
            bool invalid = false, end = false;
            while (_sealedTo is null)
            {
                ReadOnlySpan<byte> rest = chunk.AsSpan(parsed, got.Value - parsed);
                if (rest.Length < HeaderBytes)
                {
                    // Either the chunk ends mid-header (read on from here) or the file does.
                    end = position + parsed + HeaderBytes > length;
                    break;
                }
                if (rest[..HeaderBytes].IndexOfAnyExcept((byte)0) < 0)
                {
                    end = true; // the zeros written ahead: the log ends here
                    break;
                }
                int recordLength = DeclaredLength(rest);
                if (recordLength < 0 || position + parsed + recordLength > length)
                {
                    invalid = true;
                    break;
                }
                if (recordLength > rest.Length)
                {
                    // The read ends inside this record (the file holds all of it, checked above): read on from its
                    // start, with room for the whole record however long it is.
                    needed = recordLength;
                    break;
                }
                if (Decode(rest[..recordLength]) is not Record record)
                {
                    invalid = true;
                    break;
                }
                if (record.Link != _lastChecksum)
                {
                    end = true; // whole, but written after a different predecessor: a leftover, not part of this log
                    break;
                }
                Apply(record, position + parsed, null);
                parsed += recordLength;
            }
            position += parsed;
            if (end)
            {
                break;
            }
            if (invalid)
            {
                // A corrupt read looks like a torn tail: read the record again before deciding it is one.
                LocationResult<bool> confirmed = await ConfirmInvalidAsync(segment, position, length);
                if (!confirmed.IsOk)
                {
                    return confirmed.Error!;
                }
                if (confirmed.Value)
                {
                    break;
                }
            }
        }
        _end = position;
        if (_chunk.Length > ReadChunkBytes)
        {
            _chunk = []; // grown for a record longer than any read: not worth keeping
        }
        return LocationResult.Ok;
    }

    /// <summary>True when the record at <paramref name="offset"/> stays invalid over several reads.</summary>
    private async ValueTask<LocationResult<bool>> ConfirmInvalidAsync(IDurableFile segment, long offset, long length)
    {
        var header = new byte[HeaderBytes];
        for (int attempt = 0; attempt < CorruptRereadsMax; attempt++)
        {
            if (offset + HeaderBytes > length)
            {
                return true;
            }
            LocationResult<int> got = await ReadExactlyAsync(segment, offset, header);
            if (!got.IsOk)
            {
                return got.Error!;
            }
            int recordLength = DeclaredLength(header);
            if (recordLength < 0 || offset + recordLength > length)
            {
                continue;
            }
            var record = new byte[recordLength];
            got = await ReadExactlyAsync(segment, offset, record);
            if (!got.IsOk)
            {
                return got.Error!;
            }
            if (Decode(record) is Record decoded)
            {
                return decoded.Link != _lastChecksum;
            }
        }
        return true;
    }

    /// <summary>Indexes a record; <paramref name="data"/> is a version's data when this instance appended it (kept as the head's), else null.</summary>
    private void Apply(Record record, long offset, byte[]? data)
    {
        _lastChecksum = record.Checksum;
        switch (record.Kind)
        {
            case RecordKind.Version:
                if (!_keys.TryGetValue(record.Key, out KeyLog? log))
                {
                    log = new KeyLog();
                    _keys.Add(record.Key, log);
                }
                log.Versions.Add(new Entry(record.SeqNo, offset, record.Length, record.KeyBytes));
                log.HeadData = data;
                _liveBytes += record.Length;
                break;
            case RecordKind.Truncate:
                if (_keys.TryGetValue(record.Key, out KeyLog? truncated))
                {
                    int below = LowerBound(truncated.Versions, record.SeqNo);
                    below = Math.Min(below, truncated.Versions.Count - 1); // the head always survives
                    for (int i = 0; i < below; i++)
                    {
                        _liveBytes -= truncated.Versions[i].Length;
                    }
                    truncated.Versions.RemoveRange(0, below);
                }
                break;
            case RecordKind.Seal:
                _sealedTo = record.SeqNo;
                break;
        }
    }

    // ---- appending ----

    /// <summary>Appends one record under the lock and indexes it; the value is the record's end offset.</summary>
    private async ValueTask<LocationResult<long>> AppendAsync(RecordKind kind, string key, ulong seqno, byte[] data)
    {
        IDurableFile segment = _segment!;
        int length = RecordLength(key, data);
        long offset = _end;
        if (offset + length + HeaderBytes > _capacity)
        {
            // Grow: zeros ahead of the end, synced with this append. Appends into space already written (and synced)
            // change no file metadata, so their fsync is a data flush only, without a journal commit.
            long capacity = offset + length + HeaderBytes + _preallocateBytes;
            IoResult grown = await WriteZerosAsync(segment, _capacity, capacity - _capacity);
            if (!grown.IsOk)
            {
                _suspect = true;
                return LocationError.Determinate($"growing {segment.Path} to {capacity} bytes: {grown}");
            }
            _capacity = capacity;
        }
        // Whatever follows the end (zeros, or a torn record of a crashed writer) cannot link to this record: no cut needed.
        if (_pending.Length - _pendingBytes < length)
        {
            Array.Resize(ref _pending, Math.Max(_pendingBytes + length, Math.Min(2 * _pending.Length + 4096, Math.Max(PendingBytesMax, length))));
        }
        Span<byte> record = _pending.AsSpan(_pendingBytes, length);
        ulong link = _lastChecksum;
        int keyBytes = EncodeInto(record, kind, key, seqno, data, link);
        ulong checksum = BinaryPrimitives.ReadUInt64LittleEndian(record[(length - TrailerBytes)..]);
        _pendingBytes += length;
        Apply(new Record(kind, key, seqno, link, checksum, keyBytes, HeaderBytes + keyBytes, data.Length, length), offset, data);
        _end = offset + length;
        if (_pendingBytes >= PendingBytesMax)
        {
            LocationResult flushed = await WritePendingAsync();
            if (!flushed.IsOk)
            {
                return flushed.Error!;
            }
        }
        return _end;
    }

    /// <summary>
    /// Writes the appended records still in memory to the segment, then waits until no write of them is in flight:
    /// on success every byte below <c>_end - _pendingBytes</c> is in the file. Needs no gate (a flush round calls it,
    /// and a gate holder may be waiting for that round): the pending buffer is handed over before the write, so
    /// appends meanwhile start a new one. A failure makes the index suspect.
    /// </summary>
    private async ValueTask<LocationResult> WritePendingAsync()
    {
        if (_pendingBytes > 0)
        {
            if (_suspect || _segment is not { } segment)
            {
                // The index is reloaded before the next operation; these records were never acknowledged.
                _pendingBytes = 0;
                return LocationError.Indeterminate("an earlier write or fsync of the log failed");
            }
            byte[] buffer = _pending;
            int count = _pendingBytes;
            long epoch = _epoch;
            _pending = _spare ?? [];
            _spare = null;
            _pendingBytes = 0;
            _writesInFlight++;
            IoResult written = await segment.WriteAsync(_end - count, buffer.AsMemory(0, count));
            if (buffer.Length <= PendingBytesMax)
            {
                _spare = buffer; // a large record's buffer is not kept
            }
            // Suspect before the waiters for the drain run: a flush round waiting there resumes inside SetResult, and
            // finding the index still trusted it fsynced, and answered these records durable though the file held
            // another instance's records at their offsets (persist simulation, seed 29141: two writers were told they
            // had committed the same seqno).
            if (!written.IsOk && epoch == _epoch)
            {
                _suspect = true;
            }
            if (--_writesInFlight == 0 && _writesDrained is { } drained)
            {
                _writesDrained = null;
                drained.SetResult();
            }
            if (!written.IsOk)
            {
                return LocationError.Indeterminate($"appending to {segment.Path}: {written}");
            }
        }
        await DrainWritesAsync();
        return _suspect ? LocationError.Indeterminate("an earlier write or fsync of the log failed") : LocationResult.Ok;
    }

    /// <summary>
    /// Waits until no write of pending records is in flight. A reload waits too: a write of the old index's records
    /// (a flush round's, which holds no gate) that landed after the reload read the file would overwrite what the new
    /// index then appends at the same offsets.
    /// </summary>
    private async ValueTask DrainWritesAsync()
    {
        while (_writesInFlight > 0)
        {
            _writesDrained ??= new TaskCompletionSource();
            await _writesDrained.Task;
        }
    }

    private async ValueTask<IoResult> WriteZerosAsync(IDurableFile file, long offset, long count)
    {
        // Kept between calls (never written to): a fresh megabyte each time went to the large object heap.
        if (_zeros.Length < Math.Min(count, 1 << 20))
        {
            _zeros = new byte[(int)Math.Min(count, 1 << 20)];
        }
        byte[] zeros = _zeros;
        for (long done = 0; done < count; done += zeros.Length)
        {
            IoResult written = await file.WriteAsync(offset + done, zeros.AsMemory(0, (int)Math.Min(zeros.Length, count - done)));
            if (!written.IsOk)
            {
                return written;
            }
        }
        return IoResult.Ok;
    }

    // ---- durability: group commit ----

    /// <summary>Waits until the segment of <paramref name="epoch"/> is durable up to <paramref name="upTo"/>, sharing fsyncs.</summary>
    private Task<LocationResult> EnsureDurableAsync(long epoch, long upTo)
    {
        if (Settled(epoch, upTo) is LocationResult settled)
        {
            return Task.FromResult(settled);
        }
        var done = new TaskCompletionSource<LocationResult>();
        _durabilityWaiters.Add((epoch, upTo, done));
        if (!_flushing)
        {
            _flushing = true;
            _ = FlushRoundsAsync();
        }
        return done.Task;
    }

    /// <summary>The answer for a wait that needs no fsync, or null.</summary>
    private LocationResult? Settled(long epoch, long upTo)
    {
        if (upTo == 0 || (epoch == _epoch && _durableEnd >= upTo))
        {
            return LocationResult.Ok;
        }
        if (epoch != _epoch)
        {
            // The segment was replaced: by compaction, after a sync of all of it, or by a reload after a failure.
            return _durablyRetiredEpochs.Contains(epoch)
                ? LocationResult.Ok
                : LocationError.Indeterminate("the log was reloaded after a failure before this record was known durable");
        }
        if (_suspect)
        {
            return LocationResult.Fail(LocationError.Indeterminate("an earlier write or fsync of the log failed"));
        }
        return null;
    }

    /// <summary>
    /// Group commit: one fsync at a time, each covering everything appended before it started; the waiters it
    /// covers are answered, and the rest wait for the next round. Each waiter has its own completion, answered in
    /// arrival order once the round's bookkeeping is done.
    /// </summary>
    private async Task FlushRoundsAsync()
    {
        // On a node loop (an ILoopContext: production, and the simulator), never start a round inside
        // the append that asked for it: its caller may be about to start more appends. A group commit writes every
        // table's shard "concurrently" on one loop, and with storage that completes synchronously the first append
        // would otherwise run to its fsync before the second even began, giving each table its own fsync. Without
        // a loop (thread-pool callers) there is no queued work of the caller's to let run first.
        bool onLoop = OnLoop;
        if (onLoop)
        {
            await Task.Yield();
        }
        while (_durabilityWaiters.Count > 0)
        {
            // Tasks that hold or wait for the lock are about to append: let them, so that this fsync covers them
            // too. Bounded: a holder awaiting slow I/O is not waited for long.
            for (int i = 0; onLoop && i < FlushJoinYieldsMax && _gate.IsContended; i++)
            {
                await Task.Yield();
            }
            // A deferred release of the file lock still queued runs first: the fsync below may block the loop
            // thread, which it does only when the loop has nothing else to run (else it goes to another thread).
            for (int i = 0; onLoop && i < FlushJoinYieldsMax && _releaseScheduled; i++)
            {
                await Task.Yield();
            }
            // Appends whose lock release has not run yet are written out first (and writes in flight finished).
            await WritePendingAsync();
            long epoch = _epoch;
            ulong generation = _generation;
            bool flushed = false;
            long written = _end - _pendingBytes;
            if (_segment is { } segment && !_suspect && _durableEnd < written)
            {
                flushed = true;
                long from = _durableEnd, to = written;
                IoResult synced = await segment.FlushAsync();
                LocationResult result = synced.IsOk
                    ? await VerifyAsync(segment, from, to)
                    : LocationError.Indeterminate($"fsync of {segment.Path}: {synced}");
                if (result.IsOk)
                {
                    // Before the waiters hear of it: a commit's readers elsewhere then find the hint already there.
                    await PublishDurableHintAsync(generation, to);
                }
                if (epoch == _epoch)
                {
                    if (result.IsOk)
                    {
                        _durableEnd = Math.Max(_durableEnd, to);
                    }
                    else
                    {
                        _suspect = true;
                    }
                }
            }
            var answered = new List<(TaskCompletionSource<LocationResult> Done, LocationResult Result)>();
            _durabilityWaiters.RemoveAll(waiter =>
            {
                if (Settled(waiter.Epoch, waiter.UpTo) is LocationResult settled)
                {
                    answered.Add((waiter.Done, settled));
                    return true;
                }
                if (!flushed)
                {
                    // Nothing left to sync, yet not settled: never spin, answer as unknown.
                    answered.Add((waiter.Done, LocationError.Indeterminate("the log changed before this record was known durable")));
                    return true;
                }
                return false;
            });
            foreach ((TaskCompletionSource<LocationResult> done, LocationResult result) in answered)
            {
                done.SetResult(result);
            }
        }
        _flushing = false;
    }

    /// <summary>Reads back what an fsync covered: the records must all be there, whole, as written.</summary>
    private async ValueTask<LocationResult> VerifyAsync(IDurableFile segment, long from, long to)
    {
        if (to <= from)
        {
            return LocationResult.Ok;
        }
        int length = (int)(to - from);
        byte[] bytes = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            for (int attempt = 0; ; attempt++)
            {
                LocationResult<int> got = await ReadExactlyAsync(segment, from, bytes.AsMemory(0, length));
                if (!got.IsOk)
                {
                    return LocationError.Indeterminate($"reading back {segment.Path} after its fsync: {got.Error!.Message}");
                }
                if (got.Value == length && AllRecordsValid(bytes.AsSpan(0, length)))
                {
                    return LocationResult.Ok;
                }
                if (attempt + 1 >= CorruptRereadsMax)
                {
                    return LocationError.Indeterminate($"{segment.Path} lost records between {from} and {to} (a failed fsync dropped them)");
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    private bool AllRecordsValid(ReadOnlySpan<byte> bytes)
    {
        while (bytes.Length > 0)
        {
            int length = bytes.Length >= HeaderBytes ? DeclaredLength(bytes) : -1;
            if (length < 0 || length > bytes.Length || Decode(bytes[..length]) is null)
            {
                return false;
            }
            bytes = bytes[length..];
        }
        return true;
    }

    // ---- compaction ----

    /// <summary>Under the lock: seals the segment, writes its live records to the next generation and moves there.</summary>
    private async ValueTask<LocationResult> CompactAsync()
    {
        LocationResult<long> sealedAt = await AppendAsync(RecordKind.Seal, "", _generation + 1, []);
        if (!sealedAt.IsOk)
        {
            return sealedAt.Error!;
        }
        LocationResult durable = await EnsureDurableAsync(_epoch, sealedAt.Value);
        if (!durable.IsOk)
        {
            return durable;
        }
        return await FollowSealAsync();
    }

    /// <summary>
    /// Under the lock, on a sealed segment: moves to the newest segment, first writing the successor when the
    /// process that sealed this one died before it could. The sealed segment is synced first, so everything in
    /// it is durable, and the epoch that indexed it retires durably.
    /// </summary>
    private async ValueTask<LocationResult> FollowSealAsync()
    {
        ulong next = _sealedTo!.Value;
        LocationResult durable = await EnsureDurableAsync(_epoch, _end);
        if (!durable.IsOk)
        {
            return durable;
        }
        IoResult<IReadOnlyList<DirectoryEntry>> listed = await _storage.ListAsync(_root);
        if (!listed.IsOk)
        {
            return LocationError.Determinate($"listing {_root}: {listed}");
        }
        bool successorExists = false;
        foreach (DirectoryEntry entry in listed.Value!)
        {
            // Any newer segment will do: this instance may have slept through several compactions.
            successorExists |= !entry.IsDirectory && ParseGeneration(entry.Name) is ulong g && g > _generation;
        }
        if (!successorExists)
        {
            LocationResult written = await WriteSuccessorAsync(next);
            if (!written.IsOk)
            {
                return written;
            }
        }
        _durablyRetiredEpochs.Add(_epoch);
        return await LoadAsync();
    }

    /// <summary>Writes the live records, key by key in seqno order, to a temporary file, then publishes it as <c>log.next</c>.</summary>
    private async ValueTask<LocationResult> WriteSuccessorAsync(ulong next)
    {
        // The records are written again, each linked to the one before it in the new segment.
        var live = new List<byte>();
        var names = new List<string>(_keys.Keys);
        names.Sort(StringComparer.Ordinal);
        ulong link = ChainStart(next);
        foreach (string key in names)
        {
            foreach (Entry entry in _keys[key].Versions)
            {
                LocationResult<byte[]> data = await ReadDataAsync(entry, key);
                if (!data.IsOk)
                {
                    return data.Error!;
                }
                byte[] record = Encode(RecordKind.Version, key, entry.SeqNo, data.Value!, link);
                link = BinaryPrimitives.ReadUInt64LittleEndian(record.AsSpan(record.Length - TrailerBytes));
                live.AddRange(record);
            }
        }
        live.AddRange(new byte[_preallocateBytes]); // the zeros written ahead, as in every segment
        string temporary = Path(SegmentName(next) + TemporarySuffix);
        IoResult<IDurableFile> opened = await _storage.OpenAsync(temporary, OpenMode.OpenOrCreate);
        if (!opened.IsOk)
        {
            return LocationError.Determinate($"creating {temporary}: {opened.Status}: {opened.Error}");
        }
        using (IDurableFile file = opened.Value!)
        {
            IoResult step = await file.SetLengthAsync(0);
            if (step.IsOk)
            {
                step = await file.WriteAsync(0, live.ToArray());
            }
            if (step.IsOk)
            {
                step = await file.FlushAsync();
            }
            if (!step.IsOk)
            {
                return LocationError.Determinate($"writing {temporary}: {step}");
            }
        }
        IoResult renamed = await _storage.RenameAsync(temporary, Path(SegmentName(next)));
        if (renamed.IsOk)
        {
            renamed = await _storage.SyncDirectoryAsync(_root);
        }
        return renamed.IsOk ? LocationResult.Ok : LocationError.Determinate($"publishing {Path(SegmentName(next))}: {renamed}");
    }

    // ---- records ----

    private byte[] Encode(RecordKind kind, string key, ulong seqno, byte[] data, ulong link)
    {
        var record = new byte[RecordLength(key, data)];
        EncodeInto(record, kind, key, seqno, data, link);
        return record;
    }

    private static int RecordLength(string key, byte[] data)
    {
        int keyBytes = s_strictUtf8.GetByteCount(key);
        if (keyBytes > ushort.MaxValue)
        {
            throw new ArgumentException($"consensus keys are at most {ushort.MaxValue} bytes", nameof(key));
        }
        return HeaderBytes + keyBytes + data.Length + TrailerBytes;
    }

    /// <summary>Writes the record into <paramref name="record"/>, exactly <see cref="RecordLength"/> bytes; the value is the key's byte count.</summary>
    private int EncodeInto(Span<byte> record, RecordKind kind, string key, ulong seqno, byte[] data, ulong link)
    {
        int keyBytes = record.Length - HeaderBytes - data.Length - TrailerBytes;
        BinaryPrimitives.WriteUInt32LittleEndian(record, RecordMagic);
        record[4] = (byte)kind;
        BinaryPrimitives.WriteUInt16LittleEndian(record[5..], (ushort)keyBytes);
        BinaryPrimitives.WriteInt32LittleEndian(record[7..], data.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(record[11..], seqno);
        BinaryPrimitives.WriteUInt64LittleEndian(record[19..], link);
        s_strictUtf8.GetBytes(key, record[HeaderBytes..]);
        data.CopyTo(record[(HeaderBytes + keyBytes)..]);
        int body = record.Length - TrailerBytes;
        BinaryPrimitives.WriteUInt64LittleEndian(record[body..], _checksum.Hash(record[..body]));
        return keyBytes;
    }

    /// <summary>The whole length a record's header declares, or -1 when the header is not a record's.</summary>
    private static int DeclaredLength(ReadOnlySpan<byte> header)
    {
        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != RecordMagic || header[4] is < 1 or > 3)
        {
            return -1;
        }
        long length = (long)HeaderBytes + BinaryPrimitives.ReadUInt16LittleEndian(header[5..]) + BinaryPrimitives.ReadInt32LittleEndian(header[7..]) + TrailerBytes;
        return BinaryPrimitives.ReadInt32LittleEndian(header[7..]) < 0 || length > int.MaxValue ? -1 : (int)length;
    }

    private Record? Decode(ReadOnlySpan<byte> bytes)
    {
        int length = bytes.Length >= HeaderBytes ? DeclaredLength(bytes) : -1;
        if (length != bytes.Length)
        {
            return null;
        }
        int body = length - TrailerBytes;
        ulong checksum = BinaryPrimitives.ReadUInt64LittleEndian(bytes[body..]);
        if (_checksum.Hash(bytes[..body]) != checksum)
        {
            return null;
        }
        int keyBytes = BinaryPrimitives.ReadUInt16LittleEndian(bytes[5..]);
        int dataLength = BinaryPrimitives.ReadInt32LittleEndian(bytes[7..]);
        string key;
        try
        {
            key = KeyOf(bytes.Slice(HeaderBytes, keyBytes));
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
        return new Record(
            (RecordKind)bytes[4], key, BinaryPrimitives.ReadUInt64LittleEndian(bytes[11..]), BinaryPrimitives.ReadUInt64LittleEndian(bytes[19..]),
            checksum, keyBytes, HeaderBytes + keyBytes, dataLength, length);
    }

    /// <summary>
    /// The key <paramref name="utf8"/> spells (strictly decoded: invalid UTF-8 throws), as the string the index already
    /// holds when it knows the key: every record read in a catch-up or a verification names a key, and nearly always
    /// one the index has, so decoding allocates no new string for it.
    /// </summary>
    private string KeyOf(ReadOnlySpan<byte> utf8)
    {
        const int StackChars = 256;
        char[]? rented = null;
        Span<char> chars = utf8.Length <= StackChars ? stackalloc char[StackChars] : (rented = ArrayPool<char>.Shared.Rent(utf8.Length));
        try
        {
            int count = s_strictUtf8.GetChars(utf8, chars);
            ReadOnlySpan<char> decoded = chars[..count];
            return _keys.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(decoded, out string? known, out _) ? known : new string(decoded);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    private async ValueTask<LocationResult<byte[]>> ReadDataAsync(Entry entry, string key)
    {
        if (EndOf(entry) > _end - _pendingBytes || _writesInFlight > 0)
        {
            LocationResult written = await WritePendingAsync();
            if (!written.IsOk)
            {
                return written.Error!;
            }
        }
        // The record is read into a pooled buffer and only its data copied out: one allocation per version read.
        byte[] buffer = ArrayPool<byte>.Shared.Rent(entry.Length);
        try
        {
            Memory<byte> record = buffer.AsMemory(0, entry.Length);
            for (int attempt = 0; ; attempt++)
            {
                LocationResult<int> got = await ReadExactlyAsync(_segment!, entry.Offset, record);
                if (!got.IsOk)
                {
                    return got.Error!;
                }
                if (got.Value == record.Length && Decode(record.Span) is Record decoded && decoded.Key == key && decoded.SeqNo == entry.SeqNo)
                {
                    return record.Span.Slice(decoded.DataOffset, decoded.DataLength).ToArray();
                }
                if (attempt + 1 >= CorruptRereadsMax)
                {
                    return LocationError.Determinate($"{_segment!.Path} is corrupt at offset {entry.Offset}: version {entry.SeqNo} of '{key}' fails its checksum");
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async ValueTask<LocationResult<int>> ReadExactlyAsync(IDurableFile file, long offset, Memory<byte> buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            IoResult<int> read = await file.ReadAsync(offset + total, buffer[total..]);
            if (!read.IsOk)
            {
                return LocationError.Determinate($"reading {file.Path} at {offset + total}: {read}");
            }
            if (read.Value == 0)
            {
                break;
            }
            total += read.Value;
        }
        return total;
    }

    // ---- helpers ----

    /// <summary>The head version of <paramref name="key"/>, read from the segment the first time it is asked for (see <see cref="KeyLog.HeadData"/>).</summary>
    private async ValueTask<LocationResult<VersionedData>> HeadOfAsync(string key, KeyLog log)
    {
        Entry head = log.Versions[^1];
        if (log.HeadData is null)
        {
            LocationResult<byte[]> data = await ReadDataAsync(head, key);
            if (!data.IsOk)
            {
                return data.Error!;
            }
            log.HeadData = data.Value;
        }
        return new VersionedData(head.SeqNo, log.HeadData!);
    }

    private static long EndOf(Entry entry) => entry.Offset + entry.Length;

    /// <summary>The index of the first version whose seqno is at least <paramref name="seqno"/>.</summary>
    private static int LowerBound(List<Entry> versions, ulong seqno)
    {
        int low = 0, high = versions.Count;
        while (low < high)
        {
            int middle = (low + high) / 2;
            if (versions[middle].SeqNo < seqno)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }
        return low;
    }

    private string Path(string name) => StoragePath.Combine(_root, name);

    /// <summary>The link of a segment's first record: a value no record's checksum is expected to take.</summary>
    private static ulong ChainStart(ulong generation) => 0x4B43_4C32_0000_0000UL ^ generation;

    private static string SegmentName(ulong generation) => SegmentPrefix + generation.ToString("D20", CultureInfo.InvariantCulture);

    private static ulong? ParseGeneration(string name) =>
        name.Length == SegmentPrefix.Length + 20
        && ulong.TryParse(name.AsSpan(SegmentPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out ulong generation)
            ? generation
            : null;
}
