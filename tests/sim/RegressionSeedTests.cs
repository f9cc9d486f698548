using Kernel.Sim;
using Xunit;

namespace Kernel.Tests.Sim;

/// <summary>
/// Seeds on which the simulator found real bugs, pinned so the same runs keep passing. Each test is named after
/// the bug; the fix is in the commit that added the test. (A code change may steer a seed elsewhere, so the
/// scenario's seed ranges, not these pins, are what keeps finding new instances.)
/// </summary>
public class RegressionSeedTests
{
    private static void Passes(string scenario, ulong seed)
    {
        RunResult result = SimRunner.Run(SimAssert.Scenario(scenario), new RunSpec(scenario, seed));
        Assert.True(result.Passed, $"{result.Failure}\nreplay: {result.Spec.ReplayCommand} --trace");
    }

    /// <summary>A claim sent on a connection the client had abandoned arrived late and took the lock for a client that had given up on it.</summary>
    [Fact]
    public void LockService_Seed15_StaleClaimFromAbandonedConnection() => Passes("lock-service", 15);

    /// <summary>A connection request in flight to a server that restarted was dropped with the old incarnation's events, and the client hung.</summary>
    [Fact]
    public void Wal_Seed157_ConnectToRestartingServerNeverAnswered() => Passes("wal", 157);

    /// <summary>Garbage collection worked from a scan that a concurrent, newer collection had truncated, and deleted blobs the live state referenced.</summary>
    [Fact]
    public void Persist_Seed258_StaleGcScanDeletedLiveBlobs() => Passes("persist", 258);

    /// <summary>A writer expired (by another node's skewed clock) between an indeterminate attempt and its retry reported an upper mismatch for a committed append.</summary>
    [Theory]
    [InlineData(286UL)]
    [InlineData(292UL)]
    public void Persist_ExpiredWriterMisreportedCommittedAppend(ulong seed) => Passes("persist", seed);

    /// <summary>A reader expired by another node's clock had its blobs collected and reported them missing instead of reporting its expiry.</summary>
    [Theory]
    [InlineData(56UL)]
    [InlineData(90UL)]
    [InlineData(122UL)]
    public void Persist_ExpiredReaderReportedMissingBlobs(ulong seed) => Passes("persist", seed);

    /// <summary>
    /// A compare-and-set whose take of the baton failed late (an I/O error after a 400 ms disk stall) found neither its
    /// take nor its candidate, because a truncate had meanwhile deleted the candidate as a loser, and answered committed:
    /// two writers won one interval. FileConsensus now answers indeterminate there. Found with upkeep in the background
    /// (the handle's own garbage collection truncated while its append was stalled). Later changes move the seed's
    /// schedule, so FileConsensusTests.FailedTake_CandidateDeletedByTruncate_... holds the exact interleaving and these
    /// stay as plain regression runs.
    /// </summary>
    [Theory]
    [InlineData("persist")]
    [InlineData("persist-inline-upkeep")]
    public void Persist_Seed1495_LateFailedTakeAfterTruncateIsNotACommit(string scenario) => Passes(scenario, 1495);

    /// <summary>
    /// LogConsensus, as first written: a failed fsync dropped the log's unsynced tail under one instance's index, the
    /// other instance's appends refilled the file past that index's end, and the first took the new records for a torn
    /// tail and cut them off: two writers won one interval (seeds 332, 1179) and an upper went backwards (528). Every
    /// catch-up now checks the last indexed record's checksum. The exact interleaving is
    /// LogConsensusTests.DroppedTailRefilledByAnotherProcess_...; these stay as plain regression runs.
    /// </summary>
    [Theory]
    [InlineData(332UL)]
    [InlineData(528UL)]
    [InlineData(1179UL)]
    public void Persist_LogConsensusStaleIndexCutAnotherInstancesRecords(ulong seed) => Passes("persist", seed);

    /// <summary>
    /// LogConsensus: a read failed while a compaction reloaded the new segment, after the reload had indexed some of its
    /// records; the index kept them with an end of 0, so the instance answered heads from a partial index and waited
    /// forever for a durability it could never reach (the final snapshot never succeeded). A failed read now marks the
    /// index for reloading. Exact case: LogConsensusTests.IoError_AtEachStepOfACompaction_LeavesTheInstanceUsable.
    /// </summary>
    [Fact]
    public void PersistInlineUpkeep_Seed1321_FailedReloadLeftAPartialIndex() => Passes("persist-inline-upkeep", 1321);

    /// <summary>
    /// LogConsensus: the first segment's zero fill failed to sync, so its directory entry was never synced either; the
    /// next operation appended to the file and acknowledged, and a crash took the entry with the whole file. Loading a
    /// segment now syncs its directory first. Exact case: LogConsensusTests.SegmentWhoseCreationFailed_...
    /// </summary>
    [Fact]
    public void Persist_Seed44_LogSegmentEntryDurableBeforeUse() => Passes("persist", 44);

    /// <summary>
    /// LogConsensus, while its appends were first kept in memory until the lock's release: a flush round that found
    /// records not yet written waited for the gate to write them, and a truncation holding the gate had sealed the
    /// segment for compaction and waited for that round's fsync: a deadlock, and the workload never finished
    /// (seeds 1, 15, 122, 187, 199, 293 among 47 of 2,500). The flush round now writes them itself, without the gate.
    /// </summary>
    [Theory]
    [InlineData(1UL)]
    [InlineData(293UL)]
    public void Persist_FlushRoundWaitedForTheGateHeldByACompactionWaitingForIt(ulong seed) => Passes("persist", seed);

    /// <summary>
    /// LogConsensus, since appends are written at the lock's release: a record write failed while a flush round waited
    /// for it to finish; the round resumed inside the write's completion before the failure marked the index suspect,
    /// fsynced, and answered the record durable, though another instance had meanwhile written its own record at the same
    /// offsets. Two writers were told they had committed the same seqno, or the state chain broke (persist seeds 7314,
    /// 22466, 26909, 29141 of 4,501..30,000; persist-inline-upkeep 8760 of 4,001..20,000).
    /// </summary>
    [Theory]
    [InlineData("persist", 7314UL)]
    [InlineData("persist", 22466UL)]
    [InlineData("persist", 26909UL)]
    [InlineData("persist", 29141UL)]
    [InlineData("persist-inline-upkeep", 8760UL)]
    public void Persist_FailedRecordWriteAnsweredDurableByAFlushRoundWaitingForIt(string scenario, ulong seed) => Passes(scenario, seed);

    /// <summary>
    /// A materialized view created just before environmentd crashed: the replica still ran its dataflow at the old
    /// as_of, not yet past its snapshot, and kept it when the new environmentd replayed it at a later as_of (seed 7523);
    /// and a bootstrap that chose a view's as_of and then waited seconds for Consensus let the storage controller move
    /// the source's hold past it before the dataflow existed to hold it (seed 2960). Either way the source's snapshot
    /// was compacted away and the view never became readable. The replica now rebuilds a dataflow that has not read its
    /// snapshots when asked for a later as_of, and holds stay where they are through bootstrap.
    /// </summary>
    [Theory]
    [InlineData(2960UL)]
    [InlineData(7523UL)]
    public void EndToEnd_ViewSnapshotCompactedAwayAfterEnvironmentdRestart(ulong seed) => Passes("end-to-end", seed);

    /// <summary>
    /// The timestamp oracle gave up raising its ceiling after writes of unknown outcome, one of which had landed; the
    /// next raise found that version instead of the one it expected, took it for a newer environmentd's, and the only
    /// environmentd stopped as fenced (seeds 12302, 12835, 18619 of 9,001..20,000). The oracle now remembers its writes
    /// of unknown outcome. Exact case: DurabilityTests.Oracle_OwnCeilingWriteThatLandedAfterAnUnknownOutcome_IsNotAFence.
    /// </summary>
    [Theory]
    [InlineData(12302UL)]
    [InlineData(12835UL)]
    [InlineData(18619UL)]
    public void EndToEnd_OracleTookItsOwnLateCeilingWriteForAFence(ulong seed) => Passes("end-to-end", seed);

    /// <summary>
    /// A checker bug, not a persist one: the final check read the blobs of a head state while an upkeep pass that began
    /// before the stop still ran; its rollup replaced the head and its GC rightly deleted a rollup only older states
    /// referenced (a clock skewed ahead had expired the checker's own reader). A missing blob now fails the run only
    /// while the state referencing it is still the head.
    /// </summary>
    [Fact]
    public void PersistInlineUpkeep_Seed5772_FinalCheckRacedAnUpkeepPass() => Passes("persist-inline-upkeep", 5772);
}
