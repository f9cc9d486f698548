using Kernel.Sim;
using Xunit;

namespace Kernel.Tests.Sim;

public class LockServiceTests
{
    /// <summary>
    /// Property: mutual exclusion. The racy lock service reads the owner and claims the lock in two messages;
    /// exploration must find two clients inside the critical section at once within 2,000 seeds, under each
    /// strategy on its own and under the portfolio, and the failing seed must replay to the same trace.
    /// </summary>
    [Theory]
    [InlineData(null)]
    [InlineData(StrategyKind.RandomWalk)]
    [InlineData(StrategyKind.Pct)]
    [InlineData(StrategyKind.Sticky)]
    public void RacyLockService_Exploration_FindsMutualExclusionViolation(StrategyKind? strategy)
    {
        ScenarioEntry racy = SimAssert.Scenario("lock-service-racy");

        RunResult? failure = SimAssert.FirstFailure(racy, 1, 2_000, strategy);

        Assert.NotNull(failure);
        Assert.Contains("mutual exclusion violated", failure.Failure, System.StringComparison.Ordinal);
        SimAssert.Replays(failure);
    }

    /// <summary>Property: mutual exclusion holds for the compare-and-set lock under every tolerated fault, over 300 seeds.</summary>
    [Fact]
    public void LockService_CompareAndSet_KeepsMutualExclusion() => SimAssert.AllPass(SimAssert.Scenario("lock-service"), 1, 300);
}
