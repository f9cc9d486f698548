using Kernel.Sim;
using Xunit;

namespace Kernel.Tests.Sim;

public class WriteAheadLogTests
{
    /// <summary>
    /// Property: durability of acknowledged appends. A log that acknowledges before fsync must lose an
    /// acknowledged entry to a crash that drops unflushed writes within 500 seeds, and the seed must replay.
    /// </summary>
    [Fact]
    public void AckBeforeFsync_CrashFaults_LoseAcknowledgedEntry()
    {
        ScenarioEntry buggy = SimAssert.Scenario("wal-ack-before-fsync");

        RunResult? failure = SimAssert.FirstFailure(buggy, 1, 500);

        Assert.NotNull(failure);
        Assert.Contains("is missing after recovery", failure.Failure, System.StringComparison.Ordinal);
        Assert.Contains("LoseUnflushed", failure.FaultProfile, System.StringComparison.Ordinal);
        SimAssert.Replays(failure);
    }

    /// <summary>Property: durability. The log that fsyncs before acknowledging keeps every acknowledged entry over 500 seeds of tolerated faults.</summary>
    [Fact]
    public void FsyncBeforeAck_TolerateFaults_KeepsEveryAcknowledgedEntry() => SimAssert.AllPass(SimAssert.Scenario("wal"), 1, 500);

    /// <summary>Property: the echo protocol returns every number sent, across reconnects, over 300 seeds.</summary>
    [Fact]
    public void PingPong_TolerateFaults_EchoesEveryRound() => SimAssert.AllPass(SimAssert.Scenario("ping-pong"), 1, 300);
}
