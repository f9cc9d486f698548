using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using Kernel.Persist.Location;
using Kernel.Runtime;
using Kernel.Tests.Unit.Persist.Support;
using Xunit;

namespace Kernel.Tests.Unit.Persist.Location;

/// <summary>
/// LogConsensus beyond the contract: several processes interleaved step by step, crashes at every step (the disk
/// keeps a random prefix of what was not synced), torn tails, I/O errors at every step, and compaction, including a
/// compactor that dies half way and a process that sleeps through two compactions. The property throughout: each
/// key's history is one gap-free chain of versions that some caller wrote, and nothing a caller was told (a
/// committed write, a head read) is lost.
/// </summary>
public sealed class LogConsensusTests
{
    private const string Root = "consensus";
    private const string Key = "shard";

    /// <summary>Racing writers on one disk (each its own instance, as processes are), interleaved by seeded schedules.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    public void Interleaved_RacingProcesses_HistoryIsOneChainOfCommittedWrites(ulong seed)
    {
        var scheduler = new StepScheduler(seed);
        var storage = new TestStorage(scheduler);
        var committed = new List<(ulong SeqNo, string Data)>();
        var bodies = new List<Func<Task>>();
        for (int p = 0; p < 3; p++)
        {
            int process = p;
            // A tiny compaction threshold, so that compactions race with the writers too.
            var consensus = new LogConsensus(storage, Root, compactionThresholdBytes: 600);
            bodies.Add(async () =>
            {
                for (int attempt = 0; attempt < 8; attempt++)
                {
                    VersionedData? head = Ok(await consensus.HeadAsync(Key));
                    ulong? expected = head?.SeqNo;
                    ulong next = expected is ulong e ? e + 1 : (ulong)(10 * (process + 1));
                    string data = $"p{process} a{attempt}";
                    if (Ok(await consensus.CompareAndSetAsync(Key, expected, V(next, data))) == CasOutcome.Committed)
                    {
                        committed.Add((next, data));
                    }
                    if (attempt % 3 == 2 && expected is ulong below)
                    {
                        LocationResult<long> truncated = await consensus.TruncateAsync(Key, below);
                        Assert.True(truncated.IsOk || truncated.Error!.Kind == ErrorKind.Determinate, truncated.Error?.ToString());
                    }
                }
            });
        }

        scheduler.Run([.. bodies]);

        var checker = new LogConsensus(storage, Root);
        IReadOnlyList<VersionedData> history = [];
        scheduler.Run(async () => history = Ok(await checker.ScanAsync(Key, 0, 10_000)));
        AssertChain(history);
        var bySeqNo = new Dictionary<ulong, string>();
        foreach (VersionedData version in history)
        {
            bySeqNo[version.SeqNo] = Encoding.UTF8.GetString(version.Data);
        }
        foreach ((ulong seqno, string data) in committed)
        {
            if (seqno >= history[0].SeqNo)
            {
                Assert.Equal(data, bySeqNo[seqno]);
            }
        }
        Assert.Equal(committed[^1].SeqNo, history[^1].SeqNo);
    }

    /// <summary>
    /// Two processes write; the machine crashes after k storage steps, for every k, and keeps a random prefix of the
    /// unsynced directory operations and only flushed file bytes. Every acknowledged write survives, the history is a
    /// chain, and the next write commits.
    /// </summary>
    [Theory]
    [InlineData(21)]
    [InlineData(22)]
    [InlineData(23)]
    public void Crash_AtEveryStep_LosesNothingAcknowledged(ulong seed)
    {
        var random = new SeededRandom(seed);
        for (long steps = 0; ; steps++)
        {
            var scheduler = new StepScheduler(seed + (ulong)steps);
            var storage = new TestStorage(scheduler);
            var acknowledged = new List<(ulong SeqNo, string Data)>();
            var bodies = new List<Func<Task>>();
            for (int p = 0; p < 2; p++)
            {
                int process = p;
                var consensus = new LogConsensus(storage, Root, compactionThresholdBytes: 400);
                bodies.Add(async () =>
                {
                    for (int attempt = 0; attempt < 4; attempt++)
                    {
                        VersionedData? head = Ok(await consensus.HeadAsync(Key));
                        ulong next = head is null ? 1 : head.SeqNo + 1;
                        string data = $"p{process} a{attempt}";
                        if (Ok(await consensus.CompareAndSetAsync(Key, head?.SeqNo, V(next, data))) == CasOutcome.Committed)
                        {
                            acknowledged.Add((next, data));
                        }
                        if (head is not null)
                        {
                            _ = await consensus.TruncateAsync(Key, head.SeqNo);
                        }
                    }
                });
            }
            bool finished = scheduler.RunSteps(steps, [.. bodies]);

            storage.Crash(random);

            var after = new LogConsensus(storage, Root);
            scheduler.Run(async () =>
            {
                VersionedData? head = Ok(await after.HeadAsync(Key));
                if (acknowledged.Count > 0)
                {
                    (ulong lastSeqNo, string lastData) = acknowledged[^1];
                    Assert.True(head is not null && head.SeqNo >= lastSeqNo, $"after {steps} steps: acknowledged {lastSeqNo} lost, head {head?.SeqNo}");
                    if (head!.SeqNo == lastSeqNo)
                    {
                        Assert.Equal(lastData, Encoding.UTF8.GetString(head.Data));
                    }
                }
                if (head is not null)
                {
                    AssertChain(Ok(await after.ScanAsync(Key, 0, 1000)));
                }
                ulong next = head is null ? 1 : head.SeqNo + 1;
                Assert.Equal(CasOutcome.Committed, Ok(await after.CompareAndSetAsync(Key, head?.SeqNo, V(next, "after crash"))));
                Assert.Equal(next, Ok(await new LogConsensus(storage, Root).HeadAsync(Key))!.SeqNo);
            });
            if (finished)
            {
                break; // k reached the whole run uninterrupted: every crash point has been covered
            }
        }
    }

    /// <summary>A torn record at the end of the log (a crash in the middle of an append) reads as never written, and is cut before the next append.</summary>
    [Fact]
    public void TornTail_IsIgnoredAndCutBeforeTheNextAppend()
    {
        var storage = new TestStorage();
        Run(async () =>
        {
            var writer = new LogConsensus(storage, Root);
            Ok(await writer.CompareAndSetAsync(Key, null, V(1, "one")));
            Ok(await writer.CompareAndSetAsync(Key, 1, V(2, "two")));
        });
        string segment = SegmentPath(storage);
        byte[] bytes = storage.Peek(segment)!;
        int end = RecordBytes(Key, "one") + RecordBytes(Key, "two");
        bytes.AsSpan(0, 30).CopyTo(bytes.AsSpan(end)); // a header whose record never made it, in the zeros after the log
        storage.Poke(segment, bytes);
        Run(async () =>
        {
            var next = new LogConsensus(storage, Root);
            Assert.Equal(2UL, Ok(await next.HeadAsync(Key))!.SeqNo);
            Assert.Equal(CasOutcome.Committed, Ok(await next.CompareAndSetAsync(Key, 2, V(3, "three"))));
            var fresh = new LogConsensus(storage, Root);
            IReadOnlyList<VersionedData> history = Ok(await fresh.ScanAsync(Key, 0, 10));
            Assert.Equal(["one", "two", "three"], history.Select(v => Encoding.UTF8.GetString(v.Data)));
        });
    }

    /// <summary>
    /// Catching up and loading read the log in chunks that start small and grow, into one kept buffer: records of every
    /// size (below, across and above the first read and the catch-up chunk), one or several per catch-up, all come back
    /// whole, both to an instance that catches up after each append and to a fresh one that loads the file.
    /// </summary>
    [Fact]
    public void Records_OfEverySize_OneOrSeveralPerCatchUp_ComeBackWhole()
    {
        var storage = new TestStorage();
        int[] sizes = [10, 5_000, 9_000, 8_150, 20_000, 70_000, 200, 130_000, 3, 64 << 10, 16_400];
        Run(async () =>
        {
            var writer = new LogConsensus(storage, Root);
            var reader = new LogConsensus(storage, Root);
            ulong? head = null;
            for (int i = 0; i < sizes.Length; i++)
            {
                // Every third round appends three versions before the reader looks: one catch-up reads them all.
                int appends = i % 3 == 2 ? 3 : 1;
                string data = "";
                for (int a = 0; a < appends; a++)
                {
                    ulong next = (head ?? 0) + 1;
                    data = Payload(next, sizes[i] + a);
                    Assert.Equal(CasOutcome.Committed, Ok(await writer.CompareAndSetAsync(Key, head, V(next, data))));
                    head = next;
                }
                VersionedData seen = Ok(await reader.HeadAsync(Key))!;
                Assert.Equal(head, seen.SeqNo);
                Assert.Equal(data, Encoding.UTF8.GetString(seen.Data));
            }
            var fresh = new LogConsensus(storage, Root);
            IReadOnlyList<VersionedData> history = Ok(await fresh.ScanAsync(Key, 0, 100));
            Assert.Equal(head, (ulong)history.Count);
            foreach (VersionedData version in history)
            {
                Assert.StartsWith(version.SeqNo.ToString(System.Globalization.CultureInfo.InvariantCulture) + ":", Encoding.UTF8.GetString(version.Data), StringComparison.Ordinal);
            }
        });

        static string Payload(ulong seqNo, int size)
        {
            string prefix = seqNo.ToString(System.Globalization.CultureInfo.InvariantCulture) + ":";
            return prefix + new string((char)('a' + (int)(seqNo % 26)), Math.Max(0, size - prefix.Length));
        }
    }

    /// <summary>
    /// A crash keeps a later unsynced record but loses the one before it. The next append, exactly as long as the lost
    /// record, lands where it was; the leftover after it is whole and checksummed, but links to the lost record, so it
    /// never comes back as part of the log.
    /// </summary>
    [Fact]
    public void LeftoverRecordAfterALostOne_NeverRejoinsTheLog()
    {
        var storage = new TestStorage();
        Run(async () =>
        {
            var writer = new LogConsensus(storage, Root);
            Ok(await writer.CompareAndSetAsync(Key, null, V(1, "v1")));
            Ok(await writer.CompareAndSetAsync(Key, 1, V(2, "v2")));
            Ok(await writer.CompareAndSetAsync(Key, 2, V(3, "v3")));
        });
        string segment = SegmentPath(storage);
        byte[] bytes = storage.Peek(segment)!;
        Array.Clear(bytes, RecordBytes(Key, "v1"), RecordBytes(Key, "v2")); // version 2 lost, version 3 kept
        storage.Poke(segment, bytes);
        Run(async () =>
        {
            var next = new LogConsensus(storage, Root);
            Assert.Equal(1UL, Ok(await next.HeadAsync(Key))!.SeqNo);
            Assert.Equal(CasOutcome.Committed, Ok(await next.CompareAndSetAsync(Key, 1, V(2, "V2")))); // the same length as "v2"
            IReadOnlyList<VersionedData> history = Ok(await new LogConsensus(storage, Root).ScanAsync(Key, 0, 10));
            Assert.Equal(["v1", "V2"], history.Select(v => Encoding.UTF8.GetString(v.Data)));
        });
    }

    /// <summary>
    /// The first segment's creation fails after the file exists but before its directory entry was synced; the next
    /// operation uses that file. Its entry must be made durable before anything acknowledged goes in, or a crash takes
    /// the whole file. Found by the persist simulation (seed 44: two writers won one interval after a crash).
    /// </summary>
    [Fact]
    public void SegmentWhoseCreationFailed_IsMadeDurableBeforeItIsUsed()
    {
        var storage = new TestStorage();
        var consensus = new LogConsensus(storage, Root);
        Run(async () =>
        {
            int flushes = 0;
            storage.Faults = (operation, _) => operation == "flush" && ++flushes == 1 ? FaultAction.FailBefore : FaultAction.None;
            LocationResult<CasOutcome> failed = await consensus.CompareAndSetAsync(Key, null, V(1, "v1"));
            storage.Faults = null;
            Assert.False(failed.IsOk);
            Assert.Equal(CasOutcome.Committed, Ok(await consensus.CompareAndSetAsync(Key, null, V(1, "v1"))));
        });
        storage.Crash(); // only what was synced survives
        Run(async () => Assert.Equal(1UL, Ok(await new LogConsensus(storage, Root).HeadAsync(Key))?.SeqNo));
    }

    /// <summary>
    /// Two instances' compare-and-sets race on two keys of one log, on a loop, with writes and flushes that finish a
    /// loop turn later and record writes that fail without taking effect: every compare-and-set answered committed is
    /// in the log. (The persist simulation found such a commit missing, seed 29141, from a flush round that resumed
    /// inside a failed write's completion before the failure marked the index; this test did not reproduce that
    /// interleaving, the pinned seeds in RegressionSeedTests do.)
    /// </summary>
    [Fact]
    public void FailedRecordWrites_UnderRacingInstances_NoCommitIsAnsweredThatTheLogLacks()
    {
        for (ulong seed = 1; seed <= 40; seed++)
        {
            var random = new SeededRandom(seed);
            var storage = new SlowWriteStorage(new TestStorage(), random);
            var instances = new[] { new LogConsensus(storage, Root), new LogConsensus(storage, Root) };
            var committed = new List<(string Key, ulong SeqNo, string Data)>();
            LoopContext.Run(async () =>
            {
                Ok(await instances[0].CompareAndSetAsync(Key, null, V(1, "genesis")));
                storage.FailureChance = 0.2;
                var writers = new List<Task>();
                for (int w = 0; w < 8; w++)
                {
                    writers.Add(WriteAsync(instances[w % 2], w / 2 % 2 == 0 ? Key : "other", $"w{w}", committed));
                }
                await Task.WhenAll(writers);
                storage.FailureChance = 0;
            });
            var checker = new LogConsensus(storage, Root);
            foreach ((string key, ulong seqno, string data) in committed)
            {
                IReadOnlyList<VersionedData> found = [];
                Run(async () => found = Ok(await checker.ScanAsync(key, seqno, 1)));
                Assert.True(found.Count == 1 && found[0].SeqNo == seqno && Encoding.UTF8.GetString(found[0].Data) == data,
                    $"seed {seed}: {key} seqno {seqno} was answered committed as '{data}', the log has "
                    + (found.Count == 0 ? "nothing" : $"seqno {found[0].SeqNo} '{Encoding.UTF8.GetString(found[0].Data)}'"));
            }
        }

        static async Task WriteAsync(LogConsensus consensus, string key, string writer, List<(string, ulong, string)> committed)
        {
            for (int attempt = 0; attempt < 6; attempt++)
            {
                LocationResult<VersionedData?> head = await consensus.HeadAsync(key);
                if (!head.IsOk)
                {
                    continue;
                }
                ulong next = (head.Value?.SeqNo ?? 0) + 1;
                string data = $"{writer} a{attempt}";
                LocationResult<CasOutcome> set = await consensus.CompareAndSetAsync(key, head.Value?.SeqNo, V(next, data));
                if (set.IsOk && set.Value == CasOutcome.Committed)
                {
                    committed.Add((key, next, data));
                }
            }
        }
    }

    /// <summary>Every storage operation of a write fails once, before or after taking effect; the answer always matches what happened.</summary>
    [Theory]
    [InlineData(FaultAction.FailBefore)]
    [InlineData(FaultAction.FailAfter)]
    public void IoError_AtEachStep_ResultMatchesWhatHappened(FaultAction action)
    {
        for (int failAt = 1; failAt < 30; failAt++)
        {
            var storage = new TestStorage();
            var consensus = new LogConsensus(storage, Root);
            var other = new LogConsensus(storage, Root);
            Run(async () =>
            {
                Ok(await consensus.CompareAndSetAsync(Key, null, V(1, "v1")));
                int operation = 0;
                storage.Faults = (name, _) => ++operation == failAt ? action : FaultAction.None;
                LocationResult<CasOutcome> cas = await consensus.CompareAndSetAsync(Key, 1, V(2, "v2"));
                storage.Faults = null;

                foreach (LogConsensus reader in new[] { consensus, other })
                {
                    VersionedData head = Ok(await reader.HeadAsync(Key))!;
                    if (cas.IsOk && cas.Value == CasOutcome.Committed)
                    {
                        Assert.Equal(2UL, head.SeqNo);
                    }
                    else if (!cas.IsOk && cas.Error!.Kind == ErrorKind.Determinate)
                    {
                        Assert.Equal(1UL, head.SeqNo);
                    }
                }
                VersionedData now = Ok(await other.HeadAsync(Key))!;
                Assert.Equal(CasOutcome.Committed, Ok(await consensus.CompareAndSetAsync(Key, now.SeqNo, V(now.SeqNo + 1, "next"))));
                Assert.Equal(now.SeqNo + 1, Ok(await other.HeadAsync(Key))!.SeqNo);
            });
        }
    }

    /// <summary>
    /// A truncate that compacts the log, with every storage operation in turn failing once (before or after taking
    /// effect): whatever the truncate answers, the instance stays usable. Before the fix, a read that failed while the
    /// compaction reloaded the new segment left the index with an end of 0 under versions past it, and every later
    /// operation failed waiting for a durability it could never reach (persist simulation, seed 1321).
    /// </summary>
    [Theory]
    [InlineData(FaultAction.FailBefore)]
    [InlineData(FaultAction.FailAfter)]
    public void IoError_AtEachStepOfACompaction_LeavesTheInstanceUsable(FaultAction action)
    {
        // The live records outweigh the first read of a reload (8 KiB), so a reload can fail after indexing some.
        string large = new('x', 5000);
        for (int failAt = 1; failAt < 40; failAt++)
        {
            var storage = new TestStorage();
            var consensus = new LogConsensus(storage, Root, compactionThresholdBytes: 300);
            Run(async () =>
            {
                Ok(await consensus.CompareAndSetAsync("other", null, V(1, "other key" + large)));
                Ok(await consensus.CompareAndSetAsync(Key, null, V(1, "v1" + large)));
                for (ulong n = 1; n < 6; n++)
                {
                    Ok(await consensus.CompareAndSetAsync(Key, n, V(n + 1, "v" + (n + 1) + large)));
                }
                string segment = SegmentPath(storage);
                int operation = 0;
                storage.Faults = (_, _) => ++operation == failAt ? action : FaultAction.None;
                await consensus.TruncateAsync(Key, 6); // past the threshold and mostly dead: it compacts
                storage.Faults = null;

                Assert.Equal(6UL, Ok(await consensus.HeadAsync(Key))!.SeqNo);
                Assert.Equal(1UL, Ok(await consensus.HeadAsync("other"))!.SeqNo);
                Assert.Equal(CasOutcome.Committed, Ok(await consensus.CompareAndSetAsync(Key, 6, V(7, "v7"))));
                Assert.Equal(7UL, Ok(await new LogConsensus(storage, Root).HeadAsync(Key))!.SeqNo);
                if (failAt == 39)
                {
                    Assert.NotEqual(segment, SegmentPath(storage)); // the test's point: the truncate did compact
                }
            });
        }
    }

    /// <summary>
    /// One process compacts the log twice while another sleeps holding the oldest segment open; the sleeper must move
    /// to the newest segment, not rebuild the one in between from its stale index.
    /// </summary>
    [Fact]
    public void Compaction_ProcessSleepingThroughTwoCompactions_ReadsAndWritesTheNewestSegment()
    {
        var storage = new TestStorage();
        var active = new LogConsensus(storage, Root, compactionThresholdBytes: 300);
        var sleeper = new LogConsensus(storage, Root, compactionThresholdBytes: 300);
        Run(async () =>
        {
            Ok(await active.CompareAndSetAsync(Key, null, V(1, "v1")));
            Assert.Equal(1UL, Ok(await sleeper.HeadAsync(Key))!.SeqNo);
            int compactions = 0;
            ulong head = 1;
            string segment = SegmentPath(storage);
            while (compactions < 2)
            {
                Ok(await active.CompareAndSetAsync(Key, head, V(head + 1, "v" + (head + 1) + new string('x', 40))));
                head++;
                Ok(await active.TruncateAsync(Key, head));
                string now = SegmentPath(storage);
                if (now != segment)
                {
                    compactions++;
                    segment = now;
                }
            }
            Assert.Equal(head, Ok(await sleeper.HeadAsync(Key))!.SeqNo);
            Assert.Equal(CasOutcome.Committed, Ok(await sleeper.CompareAndSetAsync(Key, head, V(head + 1, "from the sleeper"))));
            Assert.Equal(head + 1, Ok(await active.HeadAsync(Key))!.SeqNo);
            Assert.Equal(head + 1, Ok(await new LogConsensus(storage, Root).HeadAsync(Key))!.SeqNo);
            Assert.Single(storage.Paths(), p => p.StartsWith(Root + "/log.", StringComparison.Ordinal));
        });
    }

    /// <summary>A compaction that dies after sealing the segment and before publishing the next: whoever comes next finishes it.</summary>
    [Fact]
    public void Compaction_CompactorDiesAfterTheSeal_NextProcessFinishesIt()
    {
        for (long steps = 1; ; steps++)
        {
            var scheduler = new StepScheduler(7);
            var storage = new TestStorage(scheduler);
            var setup = new LogConsensus(storage, Root, compactionThresholdBytes: 1 << 20);
            scheduler.Run(async () =>
            {
                Ok(await setup.CompareAndSetAsync("other", null, V(5, "other key")));
                Ok(await setup.CompareAndSetAsync(Key, null, V(1, "v1" + new string('x', 100))));
                for (ulong n = 1; n < 6; n++)
                {
                    Ok(await setup.CompareAndSetAsync(Key, n, V(n + 1, "v" + (n + 1) + new string('x', 100))));
                }
            });
            var compactor = new LogConsensus(storage, Root, compactionThresholdBytes: 200);
            bool finished = scheduler.RunSteps(steps, async () => Ok(await compactor.TruncateAsync(Key, 6)));

            storage.Crash(new SeededRandom((ulong)steps));

            var next = new LogConsensus(storage, Root);
            scheduler.Run(async () =>
            {
                Assert.Equal(6UL, Ok(await next.HeadAsync(Key))!.SeqNo);
                Assert.Equal(5UL, Ok(await next.HeadAsync("other"))!.SeqNo);
                IReadOnlyList<VersionedData> history = Ok(await next.ScanAsync(Key, 0, 100));
                AssertChain(history);
                Assert.Equal(6UL, history[^1].SeqNo);
                Assert.Equal(CasOutcome.Committed, Ok(await next.CompareAndSetAsync(Key, 6, V(7, "v7"))));
                Assert.Equal(["other", Key], Ok(await new LogConsensus(storage, Root).ListKeysAsync()));
            });
            if (finished)
            {
                break;
            }
        }
    }

    /// <summary>
    /// A failed fsync drops the log's unsynced tail under one process's index, and another process's appends refill the
    /// file past that index's end. The first process must notice that the bytes it read are gone and read the file
    /// again, not take the new records for a torn tail and cut them off. Found by the persist simulation (two writers
    /// won one interval) before the check existed.
    /// </summary>
    [Fact]
    public void DroppedTailRefilledByAnotherProcess_IndexReloadsInsteadOfCuttingTheirRecords()
    {
        var storage = new TestStorage();
        var first = new LogConsensus(storage, Root);
        var second = new LogConsensus(storage, Root);
        string segment = "";
        Run(async () =>
        {
            Ok(await first.CompareAndSetAsync(Key, null, V(1, "v1")));
            Ok(await first.CompareAndSetAsync(Key, 1, V(2, "v2")));
            Ok(await first.CompareAndSetAsync(Key, 2, V(3, "v3 from the first")));
            segment = SegmentPath(storage);
        });
        // The dirty pages holding version 3 are dropped (as a failed fsync can: back to the zeros written ahead), after
        // the first process indexed it.
        byte[] bytes = storage.Peek(segment)!;
        int synced = RecordBytes(Key, "v1") + RecordBytes(Key, "v2");
        Array.Clear(bytes, synced, RecordBytes(Key, "v3 from the first"));
        storage.Poke(segment, bytes);
        Run(async () =>
        {
            Assert.Equal(2UL, Ok(await second.HeadAsync(Key))!.SeqNo);
            Assert.Equal(CasOutcome.Committed, Ok(await second.CompareAndSetAsync(Key, 2, V(3, "v3 from the second, long enough to reach past the first's end"))));
            Assert.Equal(CasOutcome.Committed, Ok(await second.CompareAndSetAsync(Key, 3, V(4, "v4 from the second"))));

            Assert.Equal(4UL, Ok(await first.HeadAsync(Key))!.SeqNo);
            Assert.Equal(CasOutcome.Committed, Ok(await first.CompareAndSetAsync(Key, 4, V(5, "v5 from the first"))));
            IReadOnlyList<VersionedData> history = Ok(await new LogConsensus(storage, Root).ScanAsync(Key, 0, 10));
            Assert.Equal(
                ["v1", "v2", "v3 from the second, long enough to reach past the first's end", "v4 from the second", "v5 from the first"],
                history.Select(v => Encoding.UTF8.GetString(v.Data)));
        });
    }

    /// <summary>Concurrent compare-and-sets on different keys from one process share one fsync.</summary>
    [Fact]
    public void GroupCommit_ConcurrentWritesOnDifferentKeys_ShareAnFsync()
    {
        var scheduler = new StepScheduler(3);
        var storage = new CountingFlushStorage(new TestStorage(scheduler), scheduler);
        var consensus = new LogConsensus(storage, Root);
        scheduler.Run(async () =>
        {
            Ok(await consensus.CompareAndSetAsync("warm", null, V(1, "warm")));
            int before = storage.Flushes;
            List<Task<LocationResult<CasOutcome>>> writes = StartWrites(consensus, "key", 16, "v");
            await AllCommittedAsync(writes);
            Assert.True(storage.Flushes - before <= 4, $"{storage.Flushes - before} fsyncs for 16 concurrent writes");
        });
    }

    /// <summary>
    /// On a node loop, with storage that completes at once (as production's does), writes to several keys started
    /// one after another without awaiting in between (a group commit to every table's shard) share one fsync:
    /// the flush round starts only after the caller's synchronous work, not inside the first write.
    /// </summary>
    [Fact]
    public void GroupCommit_OnALoop_WritesStartedTogetherOnSynchronousStorage_ShareOneFsync()
    {
        var scheduler = new StepScheduler(5);
        var storage = new CountingFlushStorage(new TestStorage(), scheduler, flushSteps: 0);
        var consensus = new LogConsensus(storage, Root);
        int before = 0;
        LoopContext.Run(async () =>
        {
            Ok(await consensus.CompareAndSetAsync("warm", null, V(1, "warm")));
            before = storage.Flushes;
            List<Task<LocationResult<CasOutcome>>> writes = StartWrites(consensus, "table", 8, "row");
            await AllCommittedAsync(writes);
        });
        Assert.Equal(1, storage.Flushes - before);
    }

    /// <summary>
    /// On a node loop, operations started together (a group commit's appends) take the file lock once: its release
    /// waits for the caller's synchronous work, and the next operation finds it held and skips the catch-up. The
    /// release then comes, so another process takes the lock and sees every write.
    /// </summary>
    [Fact]
    public void GroupCommit_OnALoop_OperationsStartedTogether_TakeTheFileLockOnce_ThenReleaseIt()
    {
        var scheduler = new StepScheduler(5);
        var storage = new CountingFlushStorage(new TestStorage(), scheduler, flushSteps: 0);
        var consensus = new LogConsensus(storage, Root);
        var other = new LogConsensus(storage, Root);
        int locks = 0;
        LoopContext.Run(async () =>
        {
            Ok(await consensus.CompareAndSetAsync("warm", null, V(1, "warm")));
            int before = storage.Locks;
            List<Task<LocationResult<CasOutcome>>> writes = StartWrites(consensus, "table", 8, "row");
            locks = storage.Locks - before;
            await AllCommittedAsync(writes);
            for (int i = 0; i < 8; i++)
            {
                Assert.Equal("row", Encoding.UTF8.GetString(Ok(await other.HeadAsync("table" + i))!.Data));
            }
        });
        Assert.Equal(1, locks);
    }

    /// <summary>
    /// On a node loop, the records of operations started together reach the segment in one write, made before their
    /// fsync (and before the file lock's release: the test above has another instance read them all).
    /// </summary>
    [Fact]
    public void GroupCommit_OnALoop_OperationsStartedTogether_WriteTheirRecordsOnce()
    {
        var scheduler = new StepScheduler(5);
        var storage = new CountingFlushStorage(new TestStorage(), scheduler, flushSteps: 0);
        var consensus = new LogConsensus(storage, Root);
        int writes = 0;
        LoopContext.Run(async () =>
        {
            Ok(await consensus.CompareAndSetAsync("warm", null, V(1, "warm")));
            int before = storage.RecordWrites;
            List<Task<LocationResult<CasOutcome>>> started = StartWrites(consensus, "table", 8, "row");
            Assert.Equal(before, storage.RecordWrites); // appended, not yet written
            await AllCommittedAsync(started);
            writes = storage.RecordWrites - before;
            // A scan in the same hold of the lock finds a version appended there and not yet written (not the head,
            // so read from the file): the pending records are written first.
            Task<LocationResult<CasOutcome>> second = consensus.CompareAndSetAsync("table0", 1, V(2, "row 2")).AsTask();
            Task<LocationResult<CasOutcome>> third = consensus.CompareAndSetAsync("table0", 2, V(3, "row 3")).AsTask();
            IReadOnlyList<VersionedData> versions = Ok(await consensus.ScanAsync("table0", 1, 10));
            Assert.Equal(["row", "row 2", "row 3"], versions.Select(v => Encoding.UTF8.GetString(v.Data)));
            await AllCommittedAsync([second, third]);
        });
        Assert.Equal(1, writes);
    }

    /// <summary>
    /// On a node loop, a lone write's fsync starts when the loop has nothing else queued, not even the deferred
    /// release of the file lock: production runs an fsync on the loop thread only then, and otherwise hands it to
    /// another thread and back (two thread wake-ups, about as long as the fsync on a small virtual machine).
    /// </summary>
    [Fact]
    public void LoneWrite_OnALoop_FlushesWithNothingElseQueued()
    {
        var scheduler = new StepScheduler(5);
        var storage = new CountingFlushStorage(new TestStorage(), scheduler, flushSteps: 0);
        var consensus = new LogConsensus(storage, Root);
        int flushesBefore = 0;
        LoopContext.Run(async () =>
        {
            Ok(await consensus.CompareAndSetAsync("warm", null, V(1, "warm")));
            flushesBefore = storage.QueuedAtFlush.Count;
            for (ulong seqno = 1; seqno <= 3; seqno++)
            {
                Assert.Equal(CasOutcome.Committed, Ok(await consensus.CompareAndSetAsync("key", seqno == 1 ? null : seqno - 1, V(seqno, "v"))));
            }
        });
        List<int> queued = storage.QueuedAtFlush.GetRange(flushesBefore, storage.QueuedAtFlush.Count - flushesBefore);
        Assert.Equal([0, 0, 0], queued);
    }

    /// <summary>Starts a first compare-and-set on each of <paramref name="count"/> keys, without awaiting any.</summary>
    private static List<Task<LocationResult<CasOutcome>>> StartWrites(LogConsensus consensus, string keyPrefix, int count, string value)
    {
        var writes = new List<Task<LocationResult<CasOutcome>>>(count);
        for (int i = 0; i < count; i++)
        {
            writes.Add(consensus.CompareAndSetAsync(keyPrefix + i, null, V(1, value)).AsTask());
        }
        return writes;
    }

    private static async Task AllCommittedAsync(List<Task<LocationResult<CasOutcome>>> writes)
    {
        foreach (Task<LocationResult<CasOutcome>> write in writes)
        {
            Assert.Equal(CasOutcome.Committed, Ok(await write));
        }
    }

    /// <summary>
    /// Another instance (another process) reading a commit that its writer already synced needs no fsync of its own:
    /// the writer's hint in the lock file says how far its verified fsync reached. A damaged hint costs the reader
    /// one fsync, never a wrong answer.
    /// </summary>
    [Fact]
    public void DurabilityHint_AReaderOfAnotherInstancesSyncedCommit_SkipsItsFsync_AndADamagedHintOnlyCostsOne()
    {
        var scheduler = new StepScheduler(7);
        var storage = new CountingFlushStorage(new TestStorage(scheduler), scheduler);
        var writer = new LogConsensus(storage, Root);
        var reader = new LogConsensus(storage, Root);
        scheduler.Run(async () =>
        {
            Assert.Equal(CasOutcome.Committed, Ok(await writer.CompareAndSetAsync(Key, null, V(1, "one"))));
            int before = storage.Flushes;
            Assert.Equal("one", Encoding.UTF8.GetString(Ok(await reader.HeadAsync(Key))!.Data)); // a first load
            Assert.Equal(CasOutcome.Committed, Ok(await writer.CompareAndSetAsync(Key, 1, V(2, "two"))));
            Assert.Equal("two", Encoding.UTF8.GetString(Ok(await reader.HeadAsync(Key))!.Data)); // a catch-up
            Assert.Equal(1, storage.Flushes - before); // the writer's second commit only

            Assert.Equal(CasOutcome.Committed, Ok(await writer.CompareAndSetAsync(Key, 2, V(3, "three"))));
            using (IDurableFile hint = (await storage.OpenAsync(Root + "/lock", OpenMode.OpenExisting)).Unwrap())
            {
                byte[] damaged = new byte[32];
                Assert.Equal(32, (await hint.ReadAsync(0, damaged)).Unwrap());
                damaged[20] ^= 0x01; // the durable end's bytes: the checksum no longer matches
                Assert.True((await hint.WriteAsync(0, damaged)).IsOk);
            }
            before = storage.Flushes;
            Assert.Equal("three", Encoding.UTF8.GetString(Ok(await reader.HeadAsync(Key))!.Data));
            Assert.Equal(1, storage.Flushes - before);
        });
    }

    /// <summary>A bit flipped inside an acknowledged record reads as the end of the log, never as data.</summary>
    [Fact]
    public void CorruptRecord_IsNeverReturnedAsData()
    {
        var storage = new TestStorage();
        Run(async () =>
        {
            var writer = new LogConsensus(storage, Root);
            Ok(await writer.CompareAndSetAsync(Key, null, V(1, "one")));
            Ok(await writer.CompareAndSetAsync(Key, 1, V(2, "two")));
        });
        string segment = SegmentPath(storage);
        byte[] bytes = storage.Peek(segment)!;
        bytes[RecordBytes(Key, "one") + RecordBytes(Key, "two") - TrailerBytes - 1] ^= 0x40; // inside the last record's data
        storage.Poke(segment, bytes);
        Run(async () =>
        {
            VersionedData head = Ok(await new LogConsensus(storage, Root).HeadAsync(Key))!;
            Assert.Equal(1UL, head.SeqNo);
            Assert.Equal("one", Encoding.UTF8.GetString(head.Data));
        });
    }

    private const int TrailerBytes = 8;

    /// <summary>The bytes of a version record: header (magic, kind, key length, data length, seqno, link), key, data, checksum.</summary>
    private static int RecordBytes(string key, string data) => 4 + 1 + 2 + 4 + 8 + 8 + Encoding.UTF8.GetByteCount(key) + Encoding.UTF8.GetByteCount(data) + TrailerBytes;

    private static string SegmentPath(TestStorage storage)
    {
        string? found = null;
        foreach (string path in storage.Paths())
        {
            if (path.StartsWith(Root + "/log.", StringComparison.Ordinal) && !path.EndsWith(".tmp", StringComparison.Ordinal))
            {
                found = path;
            }
        }
        return found ?? throw new InvalidOperationException("no log segment");
    }

    private static void AssertChain(IReadOnlyList<VersionedData> history)
    {
        Assert.NotEmpty(history);
        for (int i = 1; i < history.Count; i++)
        {
            Assert.Equal(history[i - 1].SeqNo + 1, history[i].SeqNo);
        }
    }

    private static void Run(Func<Task> body) => new StepScheduler(0).Run(body);

    private static VersionedData V(ulong seqno, string data) => new(seqno, Encoding.UTF8.GetBytes(data));

    private static T Ok<T>(LocationResult<T> result)
    {
        Assert.True(result.IsOk, "consensus operation failed: " + result.Error);
        return result.Value!;
    }

    /// <summary>
    /// Writes and flushes that finish a loop turn after they start (as a disk's do), and record writes to the log that
    /// fail, without taking effect, with <see cref="FailureChance"/>.
    /// </summary>
    private sealed class SlowWriteStorage(IDurableStorage inner, IRandom random) : WrappingStorage(inner)
    {
        public double FailureChance { get; set; }

        private bool NextWriteFails() => random.Chance(FailureChance);

        protected override IDurableFile Wrap(IDurableFile file) => new File(this, file);

        private sealed class File(SlowWriteStorage owner, IDurableFile file) : WrappingFile(file)
        {
            public override async ValueTask<IoResult> WriteAsync(long offset, ReadOnlyMemory<byte> data)
            {
                bool fail = IsRecordWrite(Path, data) && owner.NextWriteFails();
                await Task.Yield();
                return fail ? IoResult.Fail(IoStatus.IoError, "injected: write failed") : await Inner.WriteAsync(offset, data);
            }

            public override async ValueTask<IoResult> FlushAsync()
            {
                await Task.Yield();
                return await Inner.FlushAsync();
            }
        }
    }

    /// <summary>Counts file flushes, each as slow as <c>flushSteps</c> other storage steps (an fsync against a write to the page cache).</summary>
    private sealed class CountingFlushStorage(IDurableStorage inner, StepScheduler scheduler, int flushSteps = 50) : WrappingStorage(inner)
    {
        public int Flushes { get; private set; }

        public int Locks { get; private set; }

        /// <summary>Writes to log segments that carry something other than zeros (records, not the space written ahead).</summary>
        public int RecordWrites { get; private set; }

        /// <summary>For each flush, how much other work its loop had queued when it started (-1: not on a loop).</summary>
        public List<int> QueuedAtFlush { get; } = [];

        public StepScheduler Scheduler => scheduler;

        public int FlushSteps => flushSteps;

        protected override IDurableFile Wrap(IDurableFile file) => new File(this, file);

        private sealed class File(CountingFlushStorage owner, IDurableFile file) : WrappingFile(file)
        {
            public override ValueTask<IoResult> WriteAsync(long offset, ReadOnlyMemory<byte> data)
            {
                if (IsRecordWrite(Path, data))
                {
                    owner.RecordWrites++;
                }
                return Inner.WriteAsync(offset, data);
            }

            public override async ValueTask<IoResult> FlushAsync()
            {
                owner.Flushes++;
                owner.QueuedAtFlush.Add(LoopContext.QueuedOnCurrent);
                for (int i = 0; i < owner.FlushSteps; i++)
                {
                    await owner.Scheduler.YieldAsync();
                }
                return await Inner.FlushAsync();
            }

            public override ValueTask<IoResult> LockAsync()
            {
                owner.Locks++;
                return Inner.LockAsync();
            }
        }
    }

    /// <summary>A write to a log segment that carries something other than zeros (a record, not the space written ahead).</summary>
    private static bool IsRecordWrite(string path, ReadOnlyMemory<byte> data) =>
        System.IO.Path.GetFileName(path).StartsWith("log.", StringComparison.Ordinal) && data.Span.IndexOfAnyExcept((byte)0) >= 0;

    /// <summary>A storage that passes every call to <c>inner</c>, its files wrapped by <see cref="Wrap"/>.</summary>
    private abstract class WrappingStorage(IDurableStorage inner) : IDurableStorage
    {
        protected abstract IDurableFile Wrap(IDurableFile file);

        public async ValueTask<IoResult<IDurableFile>> OpenAsync(string path, OpenMode mode)
        {
            IoResult<IDurableFile> opened = await inner.OpenAsync(path, mode);
            return opened.IsOk ? IoResult<IDurableFile>.Ok(Wrap(opened.Value!)) : opened;
        }

        public ValueTask<IoResult> DeleteAsync(string path) => inner.DeleteAsync(path);

        public ValueTask<IoResult> RenameAsync(string from, string to) => inner.RenameAsync(from, to);

        public ValueTask<IoResult> CreateDirectoryAsync(string path) => inner.CreateDirectoryAsync(path);

        public ValueTask<IoResult<IReadOnlyList<DirectoryEntry>>> ListAsync(string directory) => inner.ListAsync(directory);

        public ValueTask<IoResult> SyncDirectoryAsync(string directory) => inner.SyncDirectoryAsync(directory);
    }

    /// <summary>A file that passes every call to <see cref="Inner"/>; subclasses override what they change.</summary>
    private abstract class WrappingFile(IDurableFile inner) : IDurableFile
    {
        protected IDurableFile Inner => inner;

        public string Path => inner.Path;

        public ValueTask<IoResult<int>> ReadAsync(long offset, Memory<byte> buffer) => inner.ReadAsync(offset, buffer);

        public virtual ValueTask<IoResult> WriteAsync(long offset, ReadOnlyMemory<byte> data) => inner.WriteAsync(offset, data);

        public virtual ValueTask<IoResult> FlushAsync() => inner.FlushAsync();

        public ValueTask<IoResult<long>> GetLengthAsync() => inner.GetLengthAsync();

        public ValueTask<IoResult> SetLengthAsync(long length) => inner.SetLengthAsync(length);

        public virtual ValueTask<IoResult> LockAsync() => inner.LockAsync();

        public ValueTask<IoResult> UnlockAsync() => inner.UnlockAsync();

        public void Dispose() => inner.Dispose();
    }
}
