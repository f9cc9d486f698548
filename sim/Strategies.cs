using System;
using System.Collections.Generic;
using Kernel.Runtime;

namespace Kernel.Sim;

/// <summary>One runnable item the strategy may choose: the head of a node's queue, or a due event.</summary>
/// <remarks><see cref="Owner"/> groups items for priority-based strategies: a node's index, or -1 for the world's own events.</remarks>
public readonly record struct Candidate(int Owner, SimNode? Node, SimEvent? Event);

public enum StrategyKind
{
    RandomWalk,
    Pct,
    Sticky,
}

/// <summary>Chooses which enabled item runs next. One instance per run, seeded from the run's seed.</summary>
public interface IStrategy
{
    StrategyKind Kind { get; }

    string Describe();

    int Pick(IReadOnlyList<Candidate> candidates, long step);
}

/// <summary>Uniform choice among enabled items at every step.</summary>
public sealed class RandomWalkStrategy(IRandom random) : IStrategy
{
    public StrategyKind Kind => StrategyKind.RandomWalk;

    public string Describe() => "random walk";

    public int Pick(IReadOnlyList<Candidate> candidates, long step) => candidates.Count == 1 ? 0 : random.Next(candidates.Count);
}

/// <summary>
/// Probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010): each owner gets a random priority, the
/// highest-priority enabled owner always runs, and at d-1 random steps the running owner drops to the lowest
/// priority. A bug of depth d is found with probability at least 1/(n·k^(d-1)) per run.
/// </summary>
public sealed class PctStrategy : IStrategy
{
    private readonly IRandom _random;
    private readonly int _depth;
    private readonly List<int> _priorityOrder = []; // owners, highest priority first
    private readonly SortedSet<long> _changePoints = [];
    private readonly HashSet<int> _demoted = [];
    private readonly long _fairAfterSteps;

    public PctStrategy(IRandom random, int depth, long expectedSteps)
    {
        _random = random;
        _depth = depth;
        long horizon = Math.Max(1, expectedSteps);
        _fairAfterSteps = horizon * 10;
        while (_changePoints.Count < Math.Min(depth - 1, horizon))
        {
            _changePoints.Add(random.NextInt64(1, horizon + 1));
        }
    }

    public StrategyKind Kind => StrategyKind.Pct;

    public string Describe() => $"PCT d={_depth}";

    public int Pick(IReadOnlyList<Candidate> candidates, long step)
    {
        if (step > _fairAfterSteps)
        {
            // Coyote's fair PCT: priorities can starve an owner that is always enabled behind a busy one (a
            // liveness failure the schedule made, not the system), so long runs finish as a random walk.
            return _random.Next(candidates.Count);
        }
        // Place owners seen for the first time before comparing: a placement shifts the ranks of others.
        for (int i = 0; i < candidates.Count; i++)
        {
            Register(candidates[i].Owner);
        }
        int best = -1, bestRank = int.MaxValue;
        for (int i = 0; i < candidates.Count; i++)
        {
            int rank = _priorityOrder.IndexOf(candidates[i].Owner);
            if (rank < bestRank)
            {
                best = i;
                bestRank = rank;
            }
        }
        if (_changePoints.Remove(step))
        {
            // Demote the owner that was about to run below everyone, then choose again.
            int owner = candidates[best].Owner;
            _priorityOrder.Remove(owner);
            _priorityOrder.Add(owner);
            _demoted.Add(owner);
            return Pick(candidates, -1);
        }
        return best;
    }

    private void Register(int owner)
    {
        if (!_priorityOrder.Contains(owner))
        {
            // A newly seen owner gets a random place among the owners not yet demoted.
            int undemoted = _priorityOrder.Count - _demoted.Count;
            _priorityOrder.Insert(_random.Next(undemoted + 1), owner);
        }
    }
}

/// <summary>
/// Coyote's probabilistic strategy: keep running the same owner while it is enabled, and switch to a random
/// item only when <c>b</c> coin flips all come up "switch" (probability 2^-b).
/// </summary>
public sealed class StickyStrategy(IRandom random, int switchBits) : IStrategy
{
    private int _lastOwner = int.MinValue;

    public StrategyKind Kind => StrategyKind.Sticky;

    public string Describe() => $"sticky b={switchBits}";

    public int Pick(IReadOnlyList<Candidate> candidates, long step)
    {
        bool stay = random.Next(1 << switchBits) != 0;
        if (stay)
        {
            for (int i = 0; i < candidates.Count; i++)
            {
                if (candidates[i].Owner == _lastOwner)
                {
                    return i;
                }
            }
        }
        int pick = random.Next(candidates.Count);
        _lastOwner = candidates[pick].Owner;
        return pick;
    }
}

public static class Strategies
{
    /// <summary>
    /// The portfolio: which strategy a seed uses, unless the run forces one. Chosen from a forked stream so
    /// that the strategy's own draws never disturb other subsystems.
    /// </summary>
    public static IStrategy Create(StrategyKind? forced, IRandom random, long expectedSteps)
    {
        StrategyKind kind = forced ?? (StrategyKind)random.Next(3);
        return kind switch
        {
            StrategyKind.RandomWalk => new RandomWalkStrategy(random.Fork("walk")),
            StrategyKind.Pct => new PctStrategy(random.Fork("pct"), depth: 1 + random.Next(3), expectedSteps),
            StrategyKind.Sticky => new StickyStrategy(random.Fork("sticky"), switchBits: 1 + random.Next(4)),
            _ => throw new ArgumentOutOfRangeException(nameof(forced), kind, "unknown strategy"),
        };
    }

    public static bool TryParse(string text, out StrategyKind? kind)
    {
        kind = text.ToUpperInvariant() switch
        {
            "RANDOM" or "RANDOMWALK" or "RANDOM-WALK" or "WALK" => StrategyKind.RandomWalk,
            "PCT" => StrategyKind.Pct,
            "STICKY" or "PROBABILISTIC" => StrategyKind.Sticky,
            "PORTFOLIO" or "" => null,
            _ => (StrategyKind)(-1),
        };
        return kind is null || (int)kind.Value >= 0;
    }
}
