using System.Collections.Generic;
using Kernel.Runtime;
using Kernel.Sim;
using Xunit;

namespace Kernel.Tests.Sim;

public class StrategyTests
{
    private static List<Candidate> Owners(params int[] owners)
    {
        var list = new List<Candidate>();
        foreach (int owner in owners)
        {
            list.Add(new Candidate(owner, null, null));
        }
        return list;
    }

    [Fact]
    public void Pct_WithoutChangePoints_AlwaysRunsTheSameHighestOwner()
    {
        var pct = new PctStrategy(new SeededRandom(9), depth: 1, expectedSteps: 100);
        List<Candidate> candidates = Owners(0, 1, 2, 3);
        int first = candidates[pct.Pick(candidates, 0)].Owner;
        for (int step = 1; step < 100; step++)
        {
            Assert.Equal(first, candidates[pct.Pick(candidates, step)].Owner);
        }
    }

    [Fact]
    public void Pct_AtChangePoint_DemotesTheRunningOwner()
    {
        // Depth 2 with a horizon of 1 step puts the one change point at step 1.
        var pct = new PctStrategy(new SeededRandom(9), depth: 2, expectedSteps: 1);
        List<Candidate> candidates = Owners(0, 1);
        int before = candidates[pct.Pick(candidates, 0)].Owner;
        int after = candidates[pct.Pick(candidates, 1)].Owner;
        Assert.NotEqual(before, after);
        Assert.Equal(after, candidates[pct.Pick(candidates, 2)].Owner);
    }

    [Fact]
    public void Sticky_KeepsRunningTheLastOwnerMostOfTheTime()
    {
        var sticky = new StickyStrategy(new SeededRandom(4), switchBits: 4);
        List<Candidate> candidates = Owners(0, 1, 2, 3);
        int switches = 0, last = candidates[sticky.Pick(candidates, 0)].Owner;
        for (int step = 1; step < 10_000; step++)
        {
            int owner = candidates[sticky.Pick(candidates, step)].Owner;
            switches += owner == last ? 0 : 1;
            last = owner;
        }
        // A switch needs four coin flips to agree (1/16), and then a random pick still lands on the same owner 1/4 of the time.
        Assert.InRange(switches, 300, 700);
    }

    [Fact]
    public void RandomWalk_VisitsEveryCandidate()
    {
        var walk = new RandomWalkStrategy(new SeededRandom(2));
        List<Candidate> candidates = Owners(0, 1, 2);
        var seen = new HashSet<int>();
        for (int step = 0; step < 100; step++)
        {
            seen.Add(walk.Pick(candidates, step));
        }
        Assert.Equal(3, seen.Count);
    }

    [Fact]
    public void FaultProfileDraw_StaysWithinAllowedKinds()
    {
        for (ulong seed = 0; seed < 200; seed++)
        {
            FaultProfile profile = FaultProfile.Draw(new SeededRandom(seed), FaultKinds.Crash | FaultKinds.NetworkDelay);
            Assert.Equal(FaultKinds.None, profile.Enabled & ~(FaultKinds.Crash | FaultKinds.NetworkDelay));
            Assert.Equal(0, profile.CorruptReadProbability);
            Assert.Equal(0, profile.IoErrorProbability);
            Assert.Equal(0, profile.PartitionPerTick);
        }
    }

    [Fact]
    public void FaultProfileDraw_SwarmVariesAcrossSeeds()
    {
        var seen = new HashSet<FaultKinds>();
        for (ulong seed = 0; seed < 200; seed++)
        {
            seen.Add(FaultProfile.Draw(new SeededRandom(seed), FaultKinds.Standard).Enabled);
        }
        Assert.True(seen.Count > 50, $"only {seen.Count} distinct fault mixes in 200 seeds");
    }
}
