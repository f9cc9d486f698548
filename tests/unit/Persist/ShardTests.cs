using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Threading.Tasks;
using Kernel.Persist;
using Kernel.Persist.Data;
using Kernel.Persist.Location;
using Kernel.Persist.PubSub;
using Kernel.Persist.Shard;
using Kernel.Runtime;
using Kernel.Tests.Unit.Persist.Support;
using Xunit;

namespace Kernel.Tests.Unit.Persist;

/// <summary>
/// Shards end to end through <see cref="PersistClient"/>: appends, reads, compaction, maintenance and errors,
/// checked against a reference model (a plain list of every committed update).
/// </summary>
public sealed class ShardTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Small thresholds, so short tests compact, roll up and collect garbage many times. Upkeep runs inline: these tests
    /// run on the thread pool, not on a node loop, and inspect compaction right after the writes that asked for it
    /// (background upkeep is exercised by the persist simulation, which has a loop).
    /// </summary>
    private static readonly PersistConfig s_small = new()
    {
        UpkeepInBackground = false,
        RollupEverySeqNos = 4,
        MaintenanceEverySeqNos = 3,
        StateChainMax = 3,
        PartUpdatesMax = 7,
        RetriesMax = 64,
        ReaderLeaseDurationMs = 60_000,
        PollInterval = TimeSpan.FromMilliseconds(10),
    };

    [Fact]
    public async Task CompareAndAppend_TwoWritersOnTheSameLower_ExactlyOneWins()
    {
        (PersistClient client, MemoryBlob blob, _) = MemoryClient(inlineParts: false);
        ShardId shard = NewShard();
        WriteHandle a = (await client.OpenWriterAsync(shard, "a")).Unwrap();
        WriteHandle b = (await client.OpenWriterAsync(shard, "b")).Unwrap();

        AppendResult first = (await a.CompareAndAppendAsync([U(1, 0)], Frontier.At(0), Frontier.At(5))).Unwrap();
        AppendResult second = (await b.CompareAndAppendAsync([U(2, 0)], Frontier.At(0), Frontier.At(3))).Unwrap();

        Assert.Equal(AppendStatus.Appended, first.Status);
        Assert.Equal(AppendStatus.UpperMismatch, second.Status);
        Assert.Equal(Frontier.At(5), second.CurrentUpper);
        Assert.Equal([U(1, 4)], await SnapshotAsync(client, shard, 4));
        // The loser's parts were deleted: only the winner's part (and no stray) remains.
        Assert.Single((await blob.ListKeysAsync(shard.Value + "/p/")).Unwrap());
    }

    /// <summary>
    /// Found by the persist simulation (seeds 286 and 292): a writer expired between an indeterminate attempt and its
    /// retry lost the token that recognises a committed attempt, and reported an upper mismatch for a batch that was
    /// in the shard. An expired writer now gets HandleExpired: the outcome is unknown, and its parts are kept.
    /// </summary>
    [Fact]
    public async Task CompareAndAppend_ExpiredWriter_ReportsHandleExpiredAndKeepsParts()
    {
        (PersistClient client, MemoryBlob blob, _) = MemoryClient(inlineParts: false);
        ShardId shard = NewShard();
        WriteHandle writer = (await client.OpenWriterAsync(shard, "w")).Unwrap();
        Assert.True((await writer.ExpireAsync()).IsOk);

        PersistResult<AppendResult> result = await writer.CompareAndAppendAsync([U(1, 0)], Frontier.At(0), Frontier.At(5));

        Assert.False(result.IsOk);
        Assert.Equal(PersistErrorKind.HandleExpired, result.Error!.Kind);
        Assert.Equal(Frontier.At(0), (await client.FetchStateAsync(shard)).Unwrap().Upper);
        Assert.Single((await blob.ListKeysAsync(shard.Value + "/p/")).Unwrap());
    }

    [Fact]
    public async Task CompareAndAppend_UpdateOutsideTheBatch_IsACallerBug()
    {
        (PersistClient client, _, _) = MemoryClient();
        WriteHandle writer = (await client.OpenWriterAsync(NewShard(), "w")).Unwrap();

        await Assert.ThrowsAsync<ArgumentException>(() => writer.CompareAndAppendAsync([U(1, 5)], Frontier.At(0), Frontier.At(5)));
        await Assert.ThrowsAsync<ArgumentException>(() => writer.CompareAndAppendAsync([], Frontier.At(5), Frontier.At(5)));
    }

    /// <summary>
    /// With Consensus failing a third of the time (half of those failures having taken effect), retries of a
    /// write that committed are recognised by its idempotency token, so no batch is applied twice or lost.
    /// </summary>
    [Theory]
    [InlineData(31)]
    [InlineData(32)]
    [InlineData(33)]
    public async Task CompareAndAppend_IndeterminateFailures_RetriesNeverDuplicateOrLose(ulong seed)
    {
        var faults = new FaultSwitch(new SeededRandom(seed), 0.3);
        var blob = new MemoryBlob();
        var client = new PersistClient(new UnreliableBlob(blob, faults), new UnreliableConsensus(new MemoryConsensus(), faults), new TestClock(), new SeededRandom(seed), s_small);
        ShardId shard = NewShard();
        WriteHandle writer = (await client.OpenWriterAsync(shard, "w")).Unwrap();
        var model = new List<Update>();
        int alreadyCommitted = 0;
        var random = new SeededRandom(seed + 1);
        ulong upper = 0;
        for (int i = 0; i < 40; i++)
        {
            ulong next = upper + 1 + (ulong)random.Next(3);
            var batch = new List<Update> { U(random.Next(5), upper), U(100 + i, next - 1) };
            PersistResult<AppendResult> result = await writer.CompareAndAppendAsync(batch, Frontier.At(upper), Frontier.At(next));
            bool committed;
            if (result.IsOk)
            {
                Assert.NotEqual(AppendStatus.UpperMismatch, result.Value!.Status);
                alreadyCommitted += result.Value.Status == AppendStatus.AlreadyCommitted ? 1 : 0;
                committed = true;
            }
            else
            {
                // Retries exhausted: whether it committed is whatever the shard says.
                faults.Enabled = false;
                committed = (await writer.FetchRecentUpperAsync()).Unwrap() == Frontier.At(next);
                faults.Enabled = true;
            }
            if (committed)
            {
                model.AddRange(batch);
                upper = next;
            }
        }
        faults.Enabled = false;

        Assert.True(faults.FailuresInjected > 10, $"only {faults.FailuresInjected} faults");
        Assert.True(alreadyCommitted > 0, "no retry of a committed write happened; the test lost its point");
        Assert.Equal(Consolidation.AccumulateAt(model, upper - 1), await SnapshotAsync(client, shard, upper - 1));
    }

    /// <summary>
    /// Property: a random workload of appends, since downgrades, compaction, rollups and garbage collection.
    /// Snapshots at every readable time equal the model's accumulation; listens deliver exactly the model's
    /// updates after their as-of, at their times; since and upper never regress; every blob a retained state
    /// references exists.
    /// </summary>
    [Theory]
    [InlineData(41)]
    [InlineData(42)]
    [InlineData(43)]
    [InlineData(44)]
    public async Task RandomWorkload_ReadsMatchTheModel_AndGcKeepsWhatIsReferenced(ulong seed)
    {
        (PersistClient client, MemoryBlob blob, MemoryConsensus consensus) = MemoryClient(seed);
        await RunWorkloadAsync(client, seed, async shard => await AssertReferencedBlobsExistAsync(client, blob, consensus, shard));
    }

    [Fact]
    public async Task RandomWorkload_OnTheFileBackends_ReadsMatchTheModel()
    {
        var storage = new TestStorage();
        var random = new SeededRandom(51);
        var client = new PersistClient(
            new FileBlob(storage, random.Fork("blob"), "persist/blob"),
            new FileConsensus(storage, random.Fork("consensus"), "persist/consensus"),
            new TestClock(),
            random.Fork("client"),
            s_small);

        await RunWorkloadAsync(client, 51, _ => Task.CompletedTask);
    }

    [Fact]
    public async Task Snapshot_OutsideSinceAndUpper_GivesClearErrors()
    {
        (PersistClient client, _, _) = MemoryClient();
        ShardId shard = NewShard();
        WriteHandle writer = (await client.OpenWriterAsync(shard, "w")).Unwrap();
        ReadHandle reader = (await client.OpenLeasedReaderAsync(shard, "r")).Unwrap();
        (await writer.CompareAndAppendAsync([U(1, 2)], Frontier.At(0), Frontier.At(10))).Unwrap();
        (await reader.DowngradeSinceAsync(Frontier.At(5))).Unwrap();

        PersistError notYet = (await reader.SnapshotAsync(10)).Error!;
        PersistError compacted = (await reader.SnapshotAsync(4)).Error!;

        Assert.Equal(PersistErrorKind.AsOfNotYetAvailable, notYet.Kind);
        Assert.Equal(Frontier.At(10), notYet.Upper);
        Assert.Equal(PersistErrorKind.AsOfCompactedAway, compacted.Kind);
        Assert.Equal(Frontier.At(5), compacted.Since);
        Assert.Equal([U(1, 5)], (await reader.SnapshotAsync(5)).Unwrap());
        Assert.Equal(PersistErrorKind.TimedOut, (await reader.WaitForUpperPastAsync(10, TimeSpan.FromMilliseconds(50))).Error!.Kind);
    }

    [Fact]
    public async Task Snapshot_SinceBeyondUpper_LastCompleteTimeStaysReadable()
    {
        (PersistClient client, _, _) = MemoryClient();
        ShardId shard = NewShard();
        WriteHandle writer = (await client.OpenWriterAsync(shard, "w")).Unwrap();
        ReadHandle reader = (await client.OpenLeasedReaderAsync(shard, "r")).Unwrap();
        (await writer.CompareAndAppendAsync([U(1, 2), U(2, 3)], Frontier.At(0), Frontier.At(5))).Unwrap();
        (await writer.CompareAndAppendAsync([U(2, 7, -1), U(3, 8)], Frontier.At(5), Frontier.At(10))).Unwrap();
        (await reader.DowngradeSinceAsync(Frontier.At(20))).Unwrap();

        PersistError compacted = (await reader.SnapshotAsync(8)).Error!;

        Assert.Equal(PersistErrorKind.AsOfCompactedAway, compacted.Kind);
        Assert.Equal([U(1, 9), U(3, 9)], (await reader.SnapshotAsync(9)).Unwrap());
    }

    [Fact]
    public async Task CriticalSince_StaleHolder_IsFenced()
    {
        (PersistClient client, _, _) = MemoryClient();
        ShardId shard = NewShard();
        SinceHandle oldController = (await client.OpenCriticalSinceAsync(shard, "controller", 1, "epoch 1")).Unwrap();
        SinceHandle newController = (await client.OpenCriticalSinceAsync(shard, "controller", 99, "epoch 2")).Unwrap();
        Assert.Equal(1UL, newController.Opaque); // an existing holder keeps its token, not the new initial one

        SinceDowngrade fence = (await newController.CompareAndDowngradeSinceAsync(1, 2, Frontier.At(3))).Unwrap();
        SinceDowngrade stale = (await oldController.CompareAndDowngradeSinceAsync(1, 1, Frontier.At(8))).Unwrap();

        Assert.Equal(SinceDowngradeStatus.Downgraded, fence.Status);
        Assert.Equal(SinceDowngradeStatus.Fenced, stale.Status);
        Assert.Equal(2UL, stale.CurrentOpaque);
        Assert.Equal(Frontier.At(3), (await client.FetchStateAsync(shard)).Unwrap().Since);
    }

    [Fact]
    public async Task CorruptTruncatedOrMissingPart_IsAnErrorNamingTheKey_NeverData()
    {
        (PersistClient client, MemoryBlob blob, _) = MemoryClient(inlineParts: false);
        ShardId shard = NewShard();
        WriteHandle writer = (await client.OpenWriterAsync(shard, "w")).Unwrap();
        (await writer.CompareAndAppendAsync([U(1, 0), U(2, 0)], Frontier.At(0), Frontier.At(1))).Unwrap();
        string key = (await blob.ListKeysAsync(shard.Value + "/p/")).Unwrap()[0].Key;
        byte[] good = (await blob.GetAsync(key)).Unwrap()!;
        ReadHandle reader = (await client.OpenLeasedReaderAsync(shard, "r")).Unwrap();

        byte[] flipped = (byte[])good.Clone();
        flipped[flipped.Length / 2] ^= 0x40;
        blob.OverwriteForTest(key, flipped);
        PersistError corrupt = (await reader.SnapshotAsync(0)).Error!;
        blob.OverwriteForTest(key, good[..(good.Length - 3)]);
        PersistError truncated = (await reader.SnapshotAsync(0)).Error!;
        await blob.DeleteAsync(key);
        PersistError missing = (await reader.SnapshotAsync(0)).Error!;

        Assert.Equal(PersistErrorKind.Corrupt, corrupt.Kind);
        Assert.Contains(key, corrupt.Message, StringComparison.Ordinal);
        Assert.Equal(PersistErrorKind.Corrupt, truncated.Kind);
        Assert.Contains(key, truncated.Message, StringComparison.Ordinal);
        Assert.Equal(PersistErrorKind.BlobMissing, missing.Kind);
        Assert.Contains(key, missing.Message, StringComparison.Ordinal);
    }

    /// <summary>A state whose part references claim absurd update counts (their sum overflows a long) reads as corrupt, never as an exception.</summary>
    [Fact]
    public async Task PartReferencesClaimingAbsurdCounts_AreCorrupt()
    {
        (PersistClient client, MemoryBlob _, MemoryConsensus consensus) = MemoryClient(inlineParts: false);
        ShardId shard = NewShard();
        WriteHandle writer = (await client.OpenWriterAsync(shard, "w")).Unwrap();
        (await writer.CompareAndAppendAsync([U(1, 0), U(2, 0)], Frontier.At(0), Frontier.At(1))).Unwrap();
        ShardState state = (await client.FetchStateAsync(shard)).Unwrap();
        HollowBatch batch = state.Batches[^1];
        PartRef part = batch.Parts[0];
        ShardState forged = state with
        {
            SeqNo = state.SeqNo + 1,
            Batches = state.Batches.SetItem(state.Batches.Length - 1, batch with
            {
                Parts = [new(part.Key, part.EncodedSizeBytes, long.MaxValue), new(part.Key, part.EncodedSizeBytes, int.MaxValue)],
            }),
        };
        Assert.True((await consensus.CompareAndSetAsync(shard.Value, state.SeqNo, new VersionedData(forged.SeqNo, client.Context.States.Encode(forged)))).IsOk);

        PersistResult<ReadHandle> reader = await client.OpenLeasedReaderAsync(shard, "r");
        PersistError error = reader.IsOk ? (await reader.Value!.SnapshotAsync(0)).Error! : reader.Error!;

        Assert.Equal(PersistErrorKind.Corrupt, error.Kind);
    }

    [Fact]
    public async Task CorruptState_IsAnErrorNamingTheShardAndSeqNo()
    {
        var consensus = new MemoryConsensus();
        var client = new PersistClient(new MemoryBlob(), consensus, new TestClock(), new SeededRandom(1), s_small);
        ShardId shard = NewShard();
        Assert.True((await consensus.CompareAndSetAsync(shard.Value, null, new VersionedData(1, [1, 2, 3]))).IsOk);

        PersistError error = (await client.OpenWriterAsync(shard, "w")).Error!;

        Assert.Equal(PersistErrorKind.Corrupt, error.Kind);
        Assert.Contains(shard.Value, error.Message, StringComparison.Ordinal);
        Assert.Contains("seqno 1", error.Message, StringComparison.Ordinal);
    }

    /// <summary>A reader that follows a shard writes its since at most once per interval; between two writes nothing changes.</summary>
    [Fact]
    public async Task MaybeDowngradeSince_WritesAtMostOncePerInterval()
    {
        var clock = new TestClock();
        var client = new PersistClient(new MemoryBlob(), new MemoryConsensus(), clock, new SeededRandom(4), s_small);
        ShardId shard = NewShard();
        WriteHandle writer = (await client.OpenWriterAsync(shard, "w")).Unwrap();
        ReadHandle reader = (await client.OpenLeasedReaderAsync(shard, "follower")).Unwrap();
        (await writer.CompareAndAppendAsync([U(1, 0)], Frontier.At(0), Frontier.At(10))).Unwrap();

        Assert.Equal(Frontier.At(2), (await reader.MaybeDowngradeSinceAsync(Frontier.At(2))).Unwrap());
        ShardState first = (await client.FetchStateAsync(shard)).Unwrap();
        Assert.Equal(Frontier.At(2), (await reader.MaybeDowngradeSinceAsync(Frontier.At(5))).Unwrap());
        ShardState unchanged = (await client.FetchStateAsync(shard)).Unwrap();
        clock.Advance(TimeSpan.FromMilliseconds(s_small.SinceDowngradeIntervalMs));
        Assert.Equal(Frontier.At(5), (await reader.MaybeDowngradeSinceAsync(Frontier.At(5))).Unwrap());
        ShardState moved = (await client.FetchStateAsync(shard)).Unwrap();

        Assert.Equal(Frontier.At(2), first.Since);
        Assert.Equal(first.SeqNo, unchanged.SeqNo);
        Assert.Equal(Frontier.At(5), moved.Since);
    }

    [Fact]
    public async Task LapsedReader_IsExpiredByMaintenance_AndReleasesTheSince()
    {
        var clock = new TestClock();
        var client = new PersistClient(new MemoryBlob(), new MemoryConsensus(), clock, new SeededRandom(3), s_small);
        ShardId shard = NewShard();
        WriteHandle writer = (await client.OpenWriterAsync(shard, "w")).Unwrap();
        ReadHandle lapsed = (await client.OpenLeasedReaderAsync(shard, "slow")).Unwrap();
        ReadHandle live = (await client.OpenLeasedReaderAsync(shard, "live")).Unwrap();
        (await writer.CompareAndAppendAsync([U(1, 0)], Frontier.At(0), Frontier.At(10))).Unwrap();
        (await live.DowngradeSinceAsync(Frontier.At(9))).Unwrap();

        clock.Advance(TimeSpan.FromMilliseconds(s_small.ReaderLeaseDurationMs + 1));
        (await live.HeartbeatAsync()).Unwrap();
        MaintenanceReport report = (await client.RunMaintenanceAsync(shard)).Unwrap();

        Assert.Contains(lapsed.ReaderId, report.Expired!.LeasedReaders);
        Assert.Equal(PersistErrorKind.HandleExpired, (await lapsed.SnapshotAsync(9)).Error!.Kind);
        Assert.Equal(Frontier.At(9), (await client.FetchStateAsync(shard)).Unwrap().Since);
    }

    /// <summary>
    /// Property: garbage collection that resumes where its last pass ended (the writer's inline maintenance, every 3
    /// seqnos here) leaves no garbage behind: once nothing holds old versions, a final pass leaves exactly the blobs
    /// the head references. A resumed pass that skipped a dead key would leave it referenced by no retained version.
    /// </summary>
    [Fact]
    public async Task Gc_ResumedPasses_LeaveOnlyWhatTheHeadReferences()
    {
        (PersistClient client, MemoryBlob blob, _) = MemoryClient(inlineParts: false);
        ShardId shard = NewShard();
        WriteHandle writer = (await client.OpenWriterAsync(shard, "w")).Unwrap();
        var random = new SeededRandom(5);
        for (ulong t = 0; t < 150; t++)
        {
            var batch = new List<Update>();
            for (int i = random.Next(4); i >= 0; i--)
            {
                batch.Add(U(random.Next(20), t, random.Chance(0.3) ? -1 : 1));
            }
            (await writer.CompareAndAppendAsync(batch, Frontier.At(t), Frontier.At(t + 1))).Unwrap();
        }

        (await client.RunMaintenanceAsync(shard)).Unwrap();

        ShardState head = (await client.FetchStateAsync(shard)).Unwrap();
        var remaining = new SortedSet<string>(StringComparer.Ordinal);
        foreach (BlobMetadata listed in (await blob.ListKeysAsync(shard.Value + "/")).Unwrap())
        {
            remaining.Add(listed.Key);
        }
        Assert.Equal(new SortedSet<string>(head.ReferencedBlobKeys(), StringComparer.Ordinal), remaining);
    }

    /// <summary>
    /// A collection that resumes after its last pass must still consider what that pass's version referenced: here the
    /// version right after it (a merge) drops the parts that version held, and the resumed pass deletes them.
    /// </summary>
    [Fact]
    public async Task Gc_Resumed_CollectsWhatTheVersionRightAfterTheLastPassDropped()
    {
        var blob = new MemoryBlob();
        var client = new PersistClient(blob, new MemoryConsensus(), new TestClock(), new SeededRandom(1),
            s_small with { InlineMaintenance = false, InlinePartBytesMax = 0 });
        ShardId shard = NewShard();
        WriteHandle writer = (await client.OpenWriterAsync(shard, "w")).Unwrap();
        for (ulong t = 0; t < 4; t++)
        {
            (await writer.CompareAndAppendAsync([U((int)t, t)], Frontier.At(t), Frontier.At(t + 1))).Unwrap();
        }
        var machine = new ShardMachine(client.Context, shard);
        (await Maintenance.CollectGarbageAsync(client.Context, machine)).Unwrap();
        ShardState before = (await client.FetchStateAsync(shard)).Unwrap();
        var replaced = new List<string>(before.ReferencedBlobKeys());

        // The next version merges every batch: the parts the last pass saw live are dropped right after it.
        Assert.True((await Compactor.CompactAsync(client.Context, new ShardMachine(client.Context, shard), new MergeRequest(ImmutableArray.CreateRange(before.Batches), before.Since))).Unwrap());
        GcReport resumed = (await Maintenance.CollectGarbageAsync(client.Context, machine)).Unwrap();

        Assert.Equal(replaced.Count, resumed.BlobsDeleted);
        foreach (string key in replaced)
        {
            Assert.Null((await blob.GetAsync(key)).Unwrap());
        }
        Assert.Equal(Consolidation.AccumulateAt([U(0, 0), U(1, 1), U(2, 2), U(3, 3)], 3), await SnapshotAsync(client, shard, 3));
    }

    [Fact]
    public async Task DropShard_TombstonesItAndDeletesItsBlobs()
    {
        (PersistClient client, MemoryBlob blob, _) = MemoryClient();
        ShardId shard = NewShard();
        WriteHandle writer = (await client.OpenWriterAsync(shard, "w")).Unwrap();
        ReadHandle reader = (await client.OpenLeasedReaderAsync(shard, "r")).Unwrap();
        for (ulong t = 0; t < 10; t++)
        {
            (await writer.CompareAndAppendAsync([U((int)t, t)], Frontier.At(t), Frontier.At(t + 1))).Unwrap();
        }
        Assert.NotEmpty((await blob.ListKeysAsync(shard.Value + "/")).Unwrap());

        Assert.True((await client.DropShardAsync(shard)).Unwrap());

        Assert.Empty((await blob.ListKeysAsync(shard.Value + "/")).Unwrap());
        Assert.Equal(PersistErrorKind.ShardDropped, (await reader.SnapshotAsync(5)).Error!.Kind);
        AppendResult late = (await writer.CompareAndAppendAsync([], Frontier.At(10), Frontier.At(11))).Unwrap();
        Assert.Equal(AppendStatus.UpperMismatch, late.Status);
        Assert.Equal(Frontier.Empty, late.CurrentUpper);
        Assert.Equal(PersistErrorKind.ShardDropped, (await client.OpenLeasedReaderAsync(shard, "again")).Error!.Kind);
        Assert.False((await client.DropShardAsync(shard)).Unwrap());
    }

    /// <summary>Two processes append to one shard over file backends on one disk, interleaved step by step: each interval has exactly one winner.</summary>
    [Theory]
    [InlineData(61)]
    [InlineData(62)]
    public void Interleaved_WritersOnFileBackends_EachIntervalHasOneWinner(ulong seed)
    {
        var scheduler = new StepScheduler(seed);
        var storage = new TestStorage(scheduler);
        ShardId shard = new("s" + new string('7', 32));
        var won = new List<(ulong Lower, ulong Upper, Update Update)>();
        var bodies = new List<Func<Task>>();
        for (int p = 0; p < 2; p++)
        {
            int process = p;
            var random = new SeededRandom(seed * 10 + (ulong)process);
            var client = new PersistClient(
                new FileBlob(storage, random.Fork("blob"), "blob"),
                new FileConsensus(storage, random.Fork("consensus"), "consensus"),
                scheduler.Clock,
                random.Fork("client"),
                s_small);
            bodies.Add(async () =>
            {
                WriteHandle writer = (await client.OpenWriterAsync(shard, "p" + process)).Unwrap();
                for (int i = 0; i < 5; i++)
                {
                    ulong lower = writer.Upper.Time;
                    Update update = U(process * 100 + i, lower);
                    AppendResult result = (await writer.CompareAndAppendAsync([update], Frontier.At(lower), Frontier.At(lower + 1))).Unwrap();
                    if (result.Committed)
                    {
                        won.Add((lower, lower + 1, update));
                    }
                }
            });
        }

        scheduler.Run([.. bodies]);

        won.Sort((x, y) => x.Lower.CompareTo(y.Lower));
        for (int i = 0; i < won.Count; i++)
        {
            Assert.Equal((ulong)i, won[i].Lower);
        }
        var reader = new PersistClient(
            new FileBlob(storage, new SeededRandom(1), "blob"), new FileConsensus(storage, new SeededRandom(2), "consensus"), scheduler.Clock, new SeededRandom(3), s_small);
        List<Update> contents = [];
        scheduler.Run(async () => contents = await SnapshotAsync(reader, shard, (ulong)won.Count - 1));
        var expected = new List<Update>();
        foreach ((ulong _, ulong _, Update update) in won)
        {
            expected.Add(update);
        }
        Assert.Equal(Consolidation.AccumulateAt(expected, (ulong)won.Count - 1), contents);
    }

    private static async Task RunWorkloadAsync(PersistClient client, ulong seed, Func<ShardId, Task> afterMaintenance)
    {
        var random = new SeededRandom(seed);
        ShardId shard = ShardId.New(random);
        WriteHandle writer = (await client.OpenWriterAsync(shard, "writer")).Unwrap();
        ReadHandle reader = (await client.OpenLeasedReaderAsync(shard, "reader")).Unwrap();
        var model = new List<Update>();
        ulong upper = 0;
        ulong since = 0;
        Frontier lastSince = Frontier.Minimum;
        Frontier lastUpper = Frontier.Minimum;
        ulong listenAsOf = 0;
        Listen listen = (await reader.ListenAsync(listenAsOf)).Unwrap();
        var listened = new List<Update>();
        int blobsCollected = 0;
        for (int step = 0; step < 60; step++)
        {
            ulong next = upper + 1 + (ulong)random.Next(4);
            var batch = new List<Update>();
            int count = random.Chance(0.2) ? 0 : random.Next(12);
            for (int i = 0; i < count; i++)
            {
                batch.Add(new Update(Row.OfInt64(random.Next(6), random.Next(2)), upper + (ulong)random.Next((int)(next - upper)), random.Chance(0.3) ? -1 : 1));
            }
            Assert.True((await writer.CompareAndAppendAsync(batch, Frontier.At(upper), Frontier.At(next))).Unwrap().Committed);
            model.AddRange(batch);
            upper = next;

            if (random.Chance(0.4))
            {
                // Forward, but never past what the listen has delivered (its updates must keep their times).
                since = Math.Max(since, Math.Min(Math.Min(upper - 1, since + (ulong)random.Next(3)), listen.Frontier.Time - 1));
                (await reader.DowngradeSinceAsync(Frontier.At(since))).Unwrap();
            }
            if (random.Chance(0.2))
            {
                MaintenanceReport report = (await client.RunMaintenanceAsync(shard)).Unwrap();
                blobsCollected += report.GarbageCollection!.BlobsDeleted;
                await afterMaintenance(shard);
            }

            ShardState state = (await client.FetchStateAsync(shard)).Unwrap();
            Assert.True(state.Since >= lastSince && state.Upper >= lastUpper, "since or upper regressed");
            lastSince = state.Since;
            lastUpper = state.Upper;

            ulong asOf = since + (ulong)random.Next((int)(upper - since));
            Assert.Equal(Consolidation.AccumulateAt(model, asOf), (await reader.SnapshotAsync(asOf)).Unwrap());

            if (random.Chance(0.5) && listen.Frontier < Frontier.At(upper))
            {
                ListenEvent listenEvent = (await listen.NextAsync(s_wait)).Unwrap();
                listened.AddRange(listenEvent.Updates);
                Assert.Equal(Frontier.At(upper), listenEvent.Progress);
            }
        }
        while (listen.Frontier < Frontier.At(upper))
        {
            listened.AddRange((await listen.NextAsync(s_wait)).Unwrap().Updates);
        }
        var expectedListen = new List<Update>();
        foreach (Update update in model)
        {
            if (update.Time > listenAsOf)
            {
                expectedListen.Add(update);
            }
        }
        Assert.Equal(Consolidation.Consolidate(expectedListen), Consolidation.Consolidate(listened));

        // A subscribe from the current since sees the model too.
        Subscription subscription = (await reader.SubscribeAsync(since, s_wait)).Unwrap();
        Assert.Equal(Consolidation.AccumulateAt(model, since), subscription.Snapshot);
        ShardState final = (await client.FetchStateAsync(shard)).Unwrap();
        Assert.True(final.Batches.Length <= 16, $"{final.Batches.Length} batches: compaction is not keeping up");
        Assert.True(blobsCollected > 0, "garbage collection never deleted a replaced part");

        // Rollups were written, and each decodes to the state at its seqno.
        Assert.NotEmpty(final.Rollups);
        foreach ((ulong seqno, string key) in final.Rollups)
        {
            Assert.Equal(seqno, (await client.ReadRollupAsync(key)).Unwrap().SeqNo);
        }
    }

    private static async Task AssertReferencedBlobsExistAsync(PersistClient client, MemoryBlob blob, MemoryConsensus consensus, ShardId shard)
    {
        ShardState head = (await client.FetchStateAsync(shard)).Unwrap();
        IReadOnlyList<ShardState> versions = (await client.ScanStatesAsync(shard, head.SeqNoSince, 100_000)).Unwrap();
        Assert.NotEmpty(versions);
        Assert.Equal(head.SeqNoSince, versions[0].SeqNo);
        foreach (ShardState state in versions)
        {
            foreach (string key in state.ReferencedBlobKeys())
            {
                Assert.True((await blob.GetAsync(key)).Unwrap() is not null, $"state v{state.SeqNo} references deleted blob {key}");
            }
        }
    }

    private static async Task<List<Update>> SnapshotAsync(PersistClient client, ShardId shard, ulong asOf)
    {
        ReadHandle reader = (await client.OpenLeasedReaderAsync(shard, "snapshot")).Unwrap();
        List<Update> result = (await reader.SnapshotAsync(asOf)).Unwrap();
        (await reader.ExpireAsync()).Unwrap();
        return result;
    }

    [Fact]
    public async Task CompareAndAppend_SmallBatch_IsInlineInTheStateAndWritesNoBlob()
    {
        (PersistClient client, MemoryBlob blob, _) = MemoryClient();
        ShardId shard = NewShard();
        WriteHandle writer = (await client.OpenWriterAsync(shard, "w")).Unwrap();

        (await writer.CompareAndAppendAsync([U(1, 0), U(2, 0)], Frontier.At(0), Frontier.At(1))).Unwrap();

        ShardState state = (await client.FetchStateAsync(shard)).Unwrap();
        PartRef part = Assert.Single(Assert.Single(state.Batches).Parts);
        Assert.True(part.IsInline);
        Assert.Equal(part.EncodedSizeBytes, part.Inline!.Length);
        Assert.Empty((await blob.ListKeysAsync(shard.Value + "/p/")).Unwrap());
        Assert.DoesNotContain(part.Key, state.ReferencedBlobKeys());
        Assert.Equal(Consolidation.AccumulateAt([U(1, 0), U(2, 0)], 0), await SnapshotAsync(client, shard, 0));
    }

    [Fact]
    public async Task CompareAndAppend_LargeBatchOrFullInlineBudget_GoesToBlob()
    {
        var blob = new MemoryBlob();
        var config = s_small with { InlinePartBytesMax = 256, InlineStateBytesMax = 300, CompactionEnabled = false, PartUpdatesMax = 1000 };
        var client = new PersistClient(blob, new MemoryConsensus(), new TestClock(), new SeededRandom(1), config);
        ShardId shard = NewShard();
        WriteHandle writer = (await client.OpenWriterAsync(shard, "w")).Unwrap();
        var large = new List<Update>();
        for (int i = 0; i < 200; i++)
        {
            large.Add(U(i, 0));
        }

        (await writer.CompareAndAppendAsync(large, Frontier.At(0), Frontier.At(1))).Unwrap();
        for (ulong t = 1; t < 12; t++)
        {
            (await writer.CompareAndAppendAsync([U((int)t, t)], Frontier.At(t), Frontier.At(t + 1))).Unwrap();
        }

        ShardState state = (await client.FetchStateAsync(shard)).Unwrap();
        Assert.False(state.Batches[0].Parts[0].IsInline);
        Assert.True(state.Batches[1].Parts[0].IsInline);
        // The budget stops inline writes once the state carries 300 bytes of them (a soft bound: one batch over at most).
        Assert.Contains(state.Batches, batch => batch.Description.Lower != Frontier.At(0) && !batch.Parts[0].IsInline);
        Assert.True(state.InlineBytes() <= 300 + 256, $"{state.InlineBytes()} inline bytes");
        List<Update> expected = [.. large];
        for (ulong t = 1; t < 12; t++)
        {
            expected.Add(U((int)t, t));
        }
        Assert.Equal(Consolidation.AccumulateAt(expected, 11), await SnapshotAsync(client, shard, 11));
    }

    [Fact]
    public async Task Compaction_OfInlineBatches_MovesThemToBlob()
    {
        var blob = new MemoryBlob();
        var client = new PersistClient(blob, new MemoryConsensus(), new TestClock(), new SeededRandom(1), s_small with { InlineStateBytesMax = 1 << 20 });
        ShardId shard = NewShard();
        WriteHandle writer = (await client.OpenWriterAsync(shard, "w")).Unwrap();
        var expected = new List<Update>();
        const int Appends = StateTransitions.InlineBatchesDeferredMax + 40;
        for (ulong t = 0; t < Appends; t++)
        {
            (await writer.CompareAndAppendAsync([U((int)t, t)], Frontier.At(t), Frontier.At(t + 1))).Unwrap();
            expected.Add(U((int)t, t));
        }

        ShardState state = (await client.FetchStateAsync(shard)).Unwrap();
        // Past the deferred count, compaction merged the early batches into Blob parts; only the newest can be inline.
        Assert.True(state.Batches.Length < Appends, $"{state.Batches.Length} batches");
        Assert.False(state.Batches[0].Parts[0].IsInline);
        Assert.NotEmpty((await blob.ListKeysAsync(shard.Value + "/p/")).Unwrap());
        Assert.Equal(Consolidation.AccumulateAt(expected, Appends - 1), await SnapshotAsync(client, shard, Appends - 1));
    }

    /// <summary>A few small appends stay inline and unmerged: merging them would cost a second state write per commit.</summary>
    [Fact]
    public async Task Compaction_FewSmallInlineBatches_IsDeferred()
    {
        var blob = new MemoryBlob();
        var client = new PersistClient(blob, new MemoryConsensus(), new TestClock(), new SeededRandom(1), s_small with { InlineStateBytesMax = 1 << 20 });
        ShardId shard = NewShard();
        WriteHandle writer = (await client.OpenWriterAsync(shard, "w")).Unwrap();
        for (ulong t = 0; t < 10; t++)
        {
            AppendResult appended = (await writer.CompareAndAppendAsync([U((int)t, t)], Frontier.At(t), Frontier.At(t + 1))).Unwrap();
            Assert.Empty(appended.Merges);
        }

        ShardState state = (await client.FetchStateAsync(shard)).Unwrap();
        Assert.Equal(10, state.Batches.Length);
        Assert.All(state.Batches, batch => Assert.True(batch.Parts[0].IsInline));
        Assert.Empty((await blob.ListKeysAsync(shard.Value + "/p/")).Unwrap());
    }

    /// <summary>A client on memory backends; with <paramref name="inlineParts"/> false every part goes to Blob, for tests about parts in Blob.</summary>
    private static (PersistClient Client, MemoryBlob Blob, MemoryConsensus Consensus) MemoryClient(ulong seed = 1, bool inlineParts = true)
    {
        var blob = new MemoryBlob();
        var consensus = new MemoryConsensus();
        PersistConfig config = inlineParts ? s_small : s_small with { InlinePartBytesMax = 0 };
        return (new PersistClient(blob, consensus, new TestClock(), new SeededRandom(seed), config), blob, consensus);
    }

    [Fact]
    public async Task IncrementalVersions_ChainsStayShort_AndColdWarmAndGcReadersDecodeThem()
    {
        var blob = new MemoryBlob();
        var consensus = new MemoryConsensus();
        var config = s_small with { StateChainMax = 5, InlineMaintenance = false };
        var client = new PersistClient(blob, consensus, new TestClock(), new SeededRandom(1), config);
        ShardId shard = NewShard();
        WriteHandle writer = (await client.OpenWriterAsync(shard, "w")).Unwrap();
        var warm = new ShardMachine(client.Context, shard);
        (await warm.FetchAsync()).Unwrap();
        var model = new List<Update>();
        for (ulong t = 0; t < 23; t++)
        {
            (await writer.CompareAndAppendAsync([U((int)t, t)], Frontier.At(t), Frontier.At(t + 1))).Unwrap();
            model.Add(U((int)t, t));
        }

        // Every retained version is complete or continues a chain of at most 5 that starts at a complete one.
        IReadOnlyList<VersionedData> versions = (await consensus.ScanAsync(shard.Value, 0, 1000)).Unwrap();
        int complete = 0;
        foreach (VersionedData version in versions)
        {
            ShardState? alone = client.Context.States.DecodeVersion("v", version.Data, null, out ulong chainBase, out bool needsPredecessor, out string error);
            if (alone is not null)
            {
                complete++;
                Assert.Equal(version.SeqNo, chainBase);
            }
            else
            {
                Assert.True(needsPredecessor, error);
                Assert.True(chainBase < version.SeqNo && version.SeqNo - chainBase <= 4, $"version {version.SeqNo} continues a chain from {chainBase}");
            }
        }
        Assert.InRange(complete, versions.Count / 5, versions.Count / 5 + 1);

        // A cold reader (a new client), a warm one (a machine that saw an old version) and an inspection all agree.
        ShardState head = (await new PersistClient(blob, consensus, new TestClock(), new SeededRandom(2), config).FetchStateAsync(shard)).Unwrap();
        ShardState caughtUp = (await warm.FetchAsync()).Unwrap();
        IReadOnlyList<ShardState> scanned = (await client.ScanStatesAsync(shard, head.SeqNo - 2, 10)).Unwrap();
        Assert.Equal(head.SeqNo, caughtUp.SeqNo);
        Assert.Equal(head.SeqNo, scanned[^1].SeqNo);
        Assert.Equal(head.SeqNo - 2, scanned[0].SeqNo);
        foreach (ShardState state in new[] { caughtUp, scanned[^1] })
        {
            Assert.Equal(head.Upper, state.Upper);
            Assert.Equal(head.Batches.Length, state.Batches.Length);
            for (int i = 0; i < head.Batches.Length; i++)
            {
                Assert.True(head.Batches[i].SameAs(state.Batches[i]));
            }
        }
        Assert.Equal(Consolidation.AccumulateAt(model, 22), await SnapshotAsync(client, shard, 22));

        // GC truncates only below a chain's complete version, so what stays decodes; reads still match the model.
        MaintenanceReport report = (await client.RunMaintenanceAsync(shard)).Unwrap();
        Assert.True(report.GarbageCollection!.VersionsTruncated > 0);
        IReadOnlyList<VersionedData> retained = (await consensus.ScanAsync(shard.Value, 0, 1000)).Unwrap();
        Assert.NotNull(client.Context.States.DecodeVersion("v", retained[0].Data, null, out _, out _, out _));
        ShardState afterGc = (await new PersistClient(blob, consensus, new TestClock(), new SeededRandom(3), config).FetchStateAsync(shard)).Unwrap();
        Assert.True(afterGc.SeqNo >= head.SeqNo);
        Assert.Equal(Consolidation.AccumulateAt(model, 22), await SnapshotAsync(client, shard, 22));
    }

    /// <summary>
    /// GC's work is the garbage it finds, not the shard's history: while a reader holds an old seqno (a reader of a
    /// process that went away keeps it until its lease lapses), a pass scans the versions up to that seqno only, and
    /// the next pass with the hold unchanged scans nothing. Once the hold goes, GC deletes every blob that only older
    /// versions referenced and keeps every blob the head references. Before, every pass decoded every version from the
    /// hold to the head, so its cost grew with each write for as long as the hold stayed.
    /// </summary>
    [Fact]
    public async Task Gc_BelowAHeldSeqNo_ScansOnlyUpToIt_SkipsWhileItStays_AndCollectsOnceItGoes()
    {
        var blob = new MemoryBlob();
        var consensus = new CountingConsensus(new MemoryConsensus());
        // Compaction runs with each append and leaves merged-away parts behind; no pass runs on its own.
        PersistConfig config = s_small with { InlinePartBytesMax = 0, MaintenanceEverySeqNos = 1_000_000 };
        var client = new PersistClient(blob, consensus, new TestClock(), new SeededRandom(5), config);
        ShardId shard = NewShard();
        WriteHandle writer = (await client.OpenWriterAsync(shard, "w")).Unwrap();
        ReadHandle holder = (await client.OpenLeasedReaderAsync(shard, "holder")).Unwrap();
        ulong held = (await client.FetchStateAsync(shard)).Unwrap().SeqNoSince;
        var model = new List<Update>();
        for (ulong t = 0; t < 60; t++)
        {
            (await writer.CompareAndAppendAsync([U((int)t % 7, t)], Frontier.At(t), Frontier.At(t + 1))).Unwrap();
            model.Add(U((int)t % 7, t));
        }
        ShardState head = (await client.FetchStateAsync(shard)).Unwrap();
        Assert.Equal(held, head.SeqNoSince);
        Assert.True(head.SeqNo > held + 50, $"head {head.SeqNo}, hold {held}");

        var machine = new ShardMachine(client.Context, shard);
        consensus.VersionsScanned = 0;
        GcReport pinned = (await Maintenance.CollectGarbageAsync(client.Context, machine)).Unwrap();
        Assert.Equal(held, pinned.SeqNoSince);
        // The versions up to the hold, and the head's chain (fetching the head decodes it).
        Assert.InRange(consensus.VersionsScanned, 1, (long)held + 1 + config.StateChainMax);

        consensus.VersionsScanned = 0;
        GcReport again = (await Maintenance.CollectGarbageAsync(client.Context, machine)).Unwrap();
        Assert.Equal(0, consensus.VersionsScanned);
        Assert.Equal(0, again.BlobsDeleted);

        (await holder.ExpireAsync()).Unwrap();
        int before = (await blob.ListKeysAsync(shard.Value + "/")).Unwrap().Count;
        GcReport collected = (await Maintenance.CollectGarbageAsync(client.Context, machine)).Unwrap();
        Assert.True(collected.BlobsDeleted > 0, "compaction left no garbage; the test lost its point");
        Assert.True(collected.VersionsTruncated > 0);
        head = (await client.FetchStateAsync(shard)).Unwrap();
        var remaining = new HashSet<string>();
        foreach (BlobMetadata listed in (await blob.ListKeysAsync(shard.Value + "/")).Unwrap())
        {
            remaining.Add(listed.Key);
        }
        Assert.Equal(before - collected.BlobsDeleted, remaining.Count);
        foreach (string key in head.ReferencedBlobKeys())
        {
            Assert.Contains(key, remaining);
        }
        Assert.Equal(Consolidation.AccumulateAt(model, 59), await SnapshotAsync(client, shard, 59));
    }

    /// <summary>Counts the versions that scans return.</summary>
    /// <summary>
    /// The handles of one client share decoded states: two machines fetching the same version get one object (the
    /// second decodes nothing), and a version one handle wrote is where another handle of the client starts deciding,
    /// so it does not first lose a compare-and-set on the version it saw last. Another client decodes its own.
    /// </summary>
    [Fact]
    public async Task Handles_OfOneClient_ShareDecodedStates_AndDecideOnTheNewestOne()
    {
        var consensus = new CountingConsensus(new MemoryConsensus());
        var blob = new MemoryBlob();
        var client = new PersistClient(blob, consensus, new TestClock(), new SeededRandom(3), s_small);
        var other = new PersistClient(blob, consensus, new TestClock(), new SeededRandom(4), s_small);
        ShardId shard = NewShard();
        WriteHandle writer = (await client.OpenWriterAsync(shard, "w")).Unwrap();
        ReadHandle reader = (await client.OpenLeasedReaderAsync(shard, "r")).Unwrap();
        (await writer.CompareAndAppendAsync([U(1, 0)], Frontier.At(0), Frontier.At(1))).Unwrap();

        ShardState first = (await new ShardMachine(client.Context, shard).FetchAsync()).Unwrap();
        ShardState second = (await new ShardMachine(client.Context, shard).FetchAsync()).Unwrap();
        ShardState elsewhere = (await new ShardMachine(other.Context, shard).FetchAsync()).Unwrap();
        Assert.Same(first, second);
        Assert.NotSame(first, elsewhere);
        Assert.Equal(first.SeqNo, elsewhere.SeqNo);

        // The reader's downgrade moves the shard on; the writer's next append starts from that version, so none of
        // its compare-and-sets is refused.
        (await reader.DowngradeSinceAsync(Frontier.At(1))).Unwrap();
        consensus.Mismatches = 0;
        AppendResult appended = (await writer.CompareAndAppendAsync([U(2, 1)], Frontier.At(1), Frontier.At(2))).Unwrap();
        Assert.True(appended.Committed);
        Assert.Equal(0, consensus.Mismatches);
        Assert.Equal([U(1, 1), U(2, 1)], await SnapshotAsync(client, shard, 1));
    }

    public enum Hint
    {
        WithVersion,
        AnnounceOnly,
        WithGarbage,
    }

    /// <summary>
    /// A listen woken by a hint that carries the committed version's bytes decodes them on top of its newest state and
    /// skips the Consensus read; a hint without bytes, or with bytes that do not decode, sends it to Consensus. A
    /// listen's very first look reads Consensus; later ones start from what the client has and wait for a hint
    /// before reading it. What it returns is the same every way.
    /// </summary>
    [Theory]
    [InlineData(Hint.WithVersion, 1, 0)]
    [InlineData(Hint.AnnounceOnly, 2, 1)]
    [InlineData(Hint.WithGarbage, 2, 1)]
    public async Task Listen_WokenWithThePushedVersion_SkipsTheConsensusRead(Hint hint, int firstHeadReads, int laterHeadReads)
    {
        var consensus = new MemoryConsensus();
        var blob = new MemoryBlob();
        var relay = new RelayNotifier(hint);
        var heads = new CountingConsensus(consensus);
        var writing = new PersistClient(new PersistContext(blob, consensus, new TestClock(), new SeededRandom(5)) { Notifier = relay });
        var listening = new PersistClient(new PersistContext(blob, heads, new TestClock(), new SeededRandom(6)) { Notifier = relay });
        ShardId shard = NewShard();
        WriteHandle writer = (await writing.OpenWriterAsync(shard, "w")).Unwrap();
        (await writer.CompareAndAppendAsync([U(1, 0)], Frontier.At(0), Frontier.At(1))).Unwrap();
        ReadHandle reader = (await listening.OpenLeasedReaderAsync(shard, "r")).Unwrap();
        Subscription subscription = (await reader.SubscribeAsync(0, s_wait)).Unwrap();
        Assert.Equal([U(1, 0)], subscription.Snapshot);

        heads.Heads = 0;
        Task<PersistResult<ListenEvent>> next = subscription.Listen.NextAsync(TimeSpan.FromSeconds(10));
        Assert.False(next.IsCompleted);
        (await writer.CompareAndAppendAsync([U(2, 1)], Frontier.At(1), Frontier.At(2))).Unwrap();
        ListenEvent listened = (await next).Unwrap();
        Assert.Equal([U(2, 1)], listened.Updates);
        Assert.Equal(Frontier.At(2), listened.Progress);
        Assert.Equal(firstHeadReads, heads.Heads);

        heads.Heads = 0;
        next = subscription.Listen.NextAsync(TimeSpan.FromSeconds(10));
        Assert.False(next.IsCompleted);
        (await writer.CompareAndAppendAsync([U(3, 2)], Frontier.At(2), Frontier.At(3))).Unwrap();
        listened = (await next).Unwrap();
        Assert.Equal([U(3, 2)], listened.Updates);
        Assert.Equal(Frontier.At(3), listened.Progress);
        Assert.Equal(laterHeadReads, heads.Heads);
    }

    /// <summary>Hands every announcement straight to the waits (one process's hub, without a network).</summary>
    private sealed class RelayNotifier(Hint hint) : IShardNotifier
    {
        private readonly List<(ulong Seen, TaskCompletionSource Woken)> _waits = [];
        private VersionedData? _pushed;
        private ulong _latest;

        public void Published(ShardId shard, ulong seqNo, byte[]? version)
        {
            _latest = Math.Max(_latest, seqNo);
            _pushed = hint switch
            {
                Hint.WithVersion when version is not null => new VersionedData(seqNo, version),
                Hint.WithGarbage => new VersionedData(seqNo, [1, 2, 3, 4, 5]),
                _ => _pushed,
            };
            foreach ((ulong seen, TaskCompletionSource woken) in _waits.ToArray())
            {
                if (seqNo > seen)
                {
                    _waits.Remove((seen, woken));
                    woken.SetResult();
                }
            }
        }

        public VersionedData? Pushed(ShardId shard) => _pushed;

        public bool Announces => true;

        public Task WaitForChangeAsync(ShardId shard, ulong seenSeqNo, TimeSpan pollInterval, System.Threading.CancellationToken cancellationToken)
        {
            if (_latest > seenSeqNo)
            {
                return Task.CompletedTask;
            }
            var woken = new TaskCompletionSource();
            _waits.Add((seenSeqNo, woken));
            return woken.Task;
        }
    }

    /// <summary>Consensus that counts what the tests look at: head reads, refused compare-and-sets, versions scanned.</summary>
    /// <summary>
    /// An operation that loses its compare-and-set to another operation of the same client decides again on the
    /// version that operation left in the client: one lost race, no Consensus read, and both changes committed.
    /// </summary>
    [Fact]
    public async Task Apply_LostToAnOperationOfTheSameClient_RetriesOnItsStateWithoutReading()
    {
        var consensus = new CountingConsensus(new MemoryConsensus());
        var client = new PersistClient(new MemoryBlob(), consensus, new TestClock(), new SeededRandom(9), s_small);
        ShardId shard = NewShard();
        (await client.OpenWriterAsync(shard, "w")).Unwrap();
        ulong before = (await client.FetchStateAsync(shard)).Unwrap().SeqNo;
        var late = new ShardMachine(client.Context, shard);
        var early = new ShardMachine(client.Context, shard);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        consensus.HoldNextCas = release.Task;
        int heads = consensus.Heads;

        // The late operation decides on the current version, then its compare-and-set waits; the early one commits.
        Task<PersistResult<Applied<WriterState?>>> lateApply = late.ApplyAsync(
            "late", (state, nowMs) => StateTransitions.RegisterWriter(state, "late", "test", 60_000, nowMs));
        PersistResult<Applied<WriterState?>> earlyApply = await early.ApplyAsync(
            "early", (state, nowMs) => StateTransitions.RegisterWriter(state, "early", "test", 60_000, nowMs));
        release.SetResult();
        Applied<WriterState?> lateApplied = (await lateApply.WaitAsync(s_wait)).Unwrap();

        Assert.True(earlyApply.Unwrap().Changed);
        Assert.True(lateApplied.Changed);
        Assert.Equal(1, consensus.Mismatches);
        Assert.Equal(heads, consensus.Heads);
        ShardState head = (await client.FetchStateAsync(shard)).Unwrap();
        Assert.Equal(before + 2, head.SeqNo);
        Assert.Contains("early", head.Writers.Keys);
        Assert.Contains("late", head.Writers.Keys);
    }

    private sealed class CountingConsensus(IConsensus inner) : IConsensus
    {
        public int Heads { get; set; }

        public int Mismatches { get; set; }

        public long VersionsScanned { get; set; }

        /// <summary>When set, the next compare-and-set waits for it before it reaches the inner Consensus.</summary>
        public Task? HoldNextCas { get; set; }

        public ValueTask<LocationResult<VersionedData?>> HeadAsync(string key)
        {
            Heads++;
            return inner.HeadAsync(key);
        }

        public async ValueTask<LocationResult<CasOutcome>> CompareAndSetAsync(string key, ulong? expected, VersionedData next)
        {
            if (HoldNextCas is Task hold)
            {
                HoldNextCas = null;
                await hold;
            }
            LocationResult<CasOutcome> outcome = await inner.CompareAndSetAsync(key, expected, next);
            if (outcome.IsOk && outcome.Value != CasOutcome.Committed)
            {
                Mismatches++;
            }
            return outcome;
        }

        public async ValueTask<LocationResult<IReadOnlyList<VersionedData>>> ScanAsync(string key, ulong from, int limit)
        {
            LocationResult<IReadOnlyList<VersionedData>> page = await inner.ScanAsync(key, from, limit);
            VersionsScanned += page.IsOk ? page.Value!.Count : 0;
            return page;
        }

        public ValueTask<LocationResult<long>> TruncateAsync(string key, ulong seqNo) => inner.TruncateAsync(key, seqNo);

        public ValueTask<LocationResult<IReadOnlyList<string>>> ListKeysAsync() => inner.ListKeysAsync();
    }

    private static ShardId NewShard() => new("s" + new string('1', 32));

    private static Update U(int value, ulong time, long diff = 1) => new(Row.OfInt64(value), time, diff);
}
