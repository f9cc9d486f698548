using Kernel.Sim;
using Xunit;

namespace Kernel.Tests.Sim;

public class PersistSimulationTests
{
    /// <summary>
    /// Properties (see <see cref="Kernel.Sim.Scenarios.PersistScenario"/>): no acknowledged append is lost; an
    /// append with an unknown outcome is wholly in or out; one writer wins each interval; every snapshot and
    /// subscription equals the reference model at its time; since and upper never regress; the final state's
    /// invariants hold; no blob referenced by a live state is missing. Two writers, a reader, upkeep, and file
    /// Blob and Consensus on server nodes, all crashing, under every tolerated fault, over 2,000 seeds.
    /// </summary>
    [Fact]
    public void Persist_TolerateFaults_KeepsEveryPropertyOverTwoThousandSeeds() =>
        SimAssert.AllPass(SimAssert.Scenario("persist"), 1, 2_000);

    /// <summary>The same properties with no faults at all: a baseline that must never fail.</summary>
    [Fact]
    public void Persist_NoFaults_KeepsEveryProperty() =>
        SimAssert.AllPass(SimAssert.Scenario("persist"), 1, 20, FaultMode.None);
}
