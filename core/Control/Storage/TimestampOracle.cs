using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Threading.Tasks;
using Kernel.Persist.Location;
using Kernel.Runtime;

namespace Kernel.Control.Storage;

/// <summary>
/// The durable timestamp oracle of one timeline. <see cref="AllocateWriteTsAsync"/> hands out write timestamps,
/// strictly increasing and near the wall clock in milliseconds; <see cref="ApplyWrite"/> records that the writes
/// at a timestamp are durable, and <see cref="ReadTs"/> is then at or above it, so a read at <see cref="ReadTs"/>
/// sees every acknowledged write (strict serializability).
/// </summary>
/// <remarks>
/// Durability: the oracle keeps in Consensus (key <see cref="ConsensusKey"/>) a ceiling that no timestamp it has
/// handed out exceeds; it raises the ceiling in steps of <see cref="CeilingStepMs"/> before handing out a time past
/// it. A restarted oracle starts above the stored ceiling, so timestamps never go backwards across crashes, even
/// when the wall clock does. The ceiling is written by compare-and-set on the version this oracle last saw: a
/// second process that opened the oracle later moved the version on, so the older one's next raise fails and it
/// learns it is fenced. Owned by the environmentd node loop.
/// </remarks>
public sealed class TimestampOracle
{
    public const string ConsensusKey = "timestamp-oracle";

    public const ulong CeilingStepMs = 1_000;

    private readonly IConsensus _consensus;
    private readonly IClock _clock;
    private ulong _ceiling;
    private ulong _ceilingSeqNo;
    private ulong _lastWrite;
    private Task<OracleStatus>? _raising; // the ceiling write in flight, shared by concurrent allocations
    // Ceiling writes whose outcome was unknown (an indeterminate compare-and-set), by the version each would be. One
    // that landed must not read as a newer process's write: a raise that gave up after one, and a later raise that
    // then found it, stopped environmentd as fenced with no other environmentd running (end-to-end seeds 12835, 18619).
    private readonly List<(ulong SeqNo, ulong Ceiling)> _unknownWrites = [];

    private TimestampOracle(IConsensus consensus, IClock clock, ulong ceiling, ulong seqNo)
    {
        _consensus = consensus;
        _clock = clock;
        _ceiling = ceiling;
        _ceilingSeqNo = seqNo;
        _lastWrite = ceiling;
        ReadTs = ceiling;
    }

    /// <summary>At or above every timestamp whose writes were applied; reads here see all of them.</summary>
    public ulong ReadTs { get; private set; }

    /// <summary>True once another process took over the oracle; nothing more may be allocated.</summary>
    public bool Fenced { get; private set; }

    /// <summary>Opens the oracle: reads the stored ceiling and claims the next version, which fences any earlier owner.</summary>
    public static async Task<(TimestampOracle? Oracle, string Error)> OpenAsync(IConsensus consensus, IClock clock)
    {
        for (int attempt = 0; attempt < 100; attempt++)
        {
            LocationResult<VersionedData?> head = await consensus.HeadAsync(ConsensusKey);
            if (!head.IsOk)
            {
                await clock.Delay(TimeSpan.FromMilliseconds(Math.Min(1000, 10 << Math.Min(attempt, 6))));
                continue;
            }
            ulong ceiling = head.Value is VersionedData data && data.Data.Length == 8 ? BinaryPrimitives.ReadUInt64BigEndian(data.Data) : 0;
            ulong? expected = head.Value?.SeqNo;
            ulong next = (expected ?? 0) + (expected is null ? 0UL : 1UL);
            // Claim a new version with the same ceiling: the write fences whoever held the previous version.
            LocationResult<CasOutcome> cas = await consensus.CompareAndSetAsync(ConsensusKey, expected, new VersionedData(next, Encode(ceiling)));
            if (cas.IsOk && cas.Value == CasOutcome.Committed)
            {
                return (new TimestampOracle(consensus, clock, ceiling, next), "");
            }
            // A mismatch or an indeterminate error: read again and retry on the new head.
            await clock.Delay(TimeSpan.FromMilliseconds(Math.Min(1000, 10 << Math.Min(attempt, 6))));
        }
        return (null, "the timestamp oracle's consensus location kept failing; giving up after 100 attempts");
    }

    /// <summary>
    /// A fresh write timestamp above every earlier one, durable against restarts before it is returned; null when
    /// this oracle has been fenced by a newer process or consensus keeps failing.
    /// </summary>
    public async Task<ulong?> AllocateWriteTsAsync()
    {
        ulong now = (ulong)Math.Max(0, _clock.WallNow.ToUnixTimeMilliseconds());
        ulong ts = Math.Max(now, _lastWrite + 1);
        // Bounded: each round either returns or raises the ceiling by at least one step past ts.
        while (ts > _ceiling)
        {
            if (Fenced)
            {
                return null;
            }
            _raising ??= RaiseCeilingAsync(ts + CeilingStepMs);
            Task<OracleStatus> raising = _raising;
            OracleStatus status = await raising;
            if (ReferenceEquals(_raising, raising))
            {
                _raising = null;
            }
            if (status != OracleStatus.Ok)
            {
                return null;
            }
        }
        ts = Math.Max(ts, _lastWrite + 1);
        _lastWrite = ts;
        return ts;
    }

    /// <summary>Records that every write at <paramref name="ts"/> is durable: reads from now on happen at or after it.</summary>
    public void ApplyWrite(ulong ts)
    {
        if (ts > _lastWrite)
        {
            throw new InvalidOperationException($"applying write timestamp {ts} that was never allocated (last {_lastWrite})");
        }
        ReadTs = Math.Max(ReadTs, ts);
    }

    private async Task<OracleStatus> RaiseCeilingAsync(ulong newCeiling)
    {
        for (int attempt = 0; attempt < 20; attempt++)
        {
            ulong next = _ceilingSeqNo + 1;
            LocationResult<CasOutcome> cas = await _consensus.CompareAndSetAsync(ConsensusKey, _ceilingSeqNo, new VersionedData(next, Encode(newCeiling)));
            if (cas.IsOk && cas.Value == CasOutcome.Committed)
            {
                Adopt(next, newCeiling);
                return OracleStatus.Ok;
            }
            if (!cas.IsOk)
            {
                // It may still land: a later mismatch that finds it there is this process's own write.
                _unknownWrites.Add((next, newCeiling));
            }
            else
            {
                // Someone wrote version next: this process, through a write whose outcome was unknown (of this raise or
                // of an earlier one that gave up), or a newer process, which fences this one.
                LocationResult<VersionedData?> head = await _consensus.HeadAsync(ConsensusKey);
                if (head.IsOk)
                {
                    if (head.Value is VersionedData data && data.SeqNo == next && data.Data.Length == 8
                        && _unknownWrites.Contains((next, BinaryPrimitives.ReadUInt64BigEndian(data.Data))))
                    {
                        Adopt(next, BinaryPrimitives.ReadUInt64BigEndian(data.Data));
                        if (_ceiling >= newCeiling)
                        {
                            return OracleStatus.Ok;
                        }
                        continue; // raise on from the version found
                    }
                    Fenced = true;
                    return OracleStatus.Fenced;
                }
            }
            await _clock.Delay(TimeSpan.FromMilliseconds(Math.Min(1000, 10 << Math.Min(attempt, 6))));
        }
        return OracleStatus.Unavailable;
    }

    /// <summary>Version <paramref name="seqno"/>, holding <paramref name="ceiling"/>, is this process's and the newest it knows.</summary>
    private void Adopt(ulong seqno, ulong ceiling)
    {
        _ceilingSeqNo = seqno;
        _ceiling = Math.Max(_ceiling, ceiling);
        _unknownWrites.RemoveAll(write => write.SeqNo <= seqno);
    }

    private static byte[] Encode(ulong ceiling)
    {
        byte[] bytes = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, ceiling);
        return bytes;
    }

    private enum OracleStatus
    {
        Ok,
        Fenced,
        Unavailable,
    }
}
