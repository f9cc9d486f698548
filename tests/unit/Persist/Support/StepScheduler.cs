using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Runtime;

namespace Kernel.Tests.Unit.Persist.Support;

/// <summary>
/// A tiny deterministic scheduler for interleaving tests: code under test awaits <see cref="YieldAsync"/> at each
/// step (the test storage does so before every operation), and <see cref="Run"/> resumes one waiting step at a
/// time, chosen by a seeded random stream, all on the calling thread. The same seed gives the same interleaving.
/// </summary>
/// <remarks>
/// Continuations run inline when a step is released, because <see cref="Run"/> clears the synchronization context
/// and the completion sources do not force asynchronous continuations. When nothing is ready, virtual time
/// jumps to the next <see cref="TestClock"/> timer; with no timer either, the run is deadlocked and fails.
/// </remarks>
public sealed class StepScheduler
{
    private readonly List<TaskCompletionSource> _ready = [];
    private readonly SeededRandom _random;

    public StepScheduler(ulong seed, TestClock? clock = null)
    {
        _random = new SeededRandom(seed);
        Clock = clock ?? new TestClock(autoAdvance: false);
        Clock.Scheduler = this;
    }

    public TestClock Clock { get; }

    public long Steps { get; private set; }

    /// <summary>Parks the caller until the scheduler picks it.</summary>
    public Task YieldAsync()
    {
        var step = new TaskCompletionSource();
        _ready.Add(step);
        return step.Task;
    }

    /// <summary>Runs <paramref name="bodies"/> concurrently to completion; rethrows the first failure.</summary>
    public void Run(params Func<Task>[] bodies)
    {
        if (!RunSteps(long.MaxValue, bodies))
        {
            throw new InvalidOperationException("unreachable: an unbounded run stopped early");
        }
    }

    /// <summary>
    /// Like <see cref="Run"/>, but stops after <paramref name="stepsMax"/> released steps, abandoning whatever is
    /// still parked (a crash: those continuations never run). True when every body completed.
    /// </summary>
    public bool RunSteps(long stepsMax, params Func<Task>[] bodies)
    {
        SynchronizationContext? saved = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(null);
        try
        {
            var tasks = new List<Task>();
            foreach (Func<Task> body in bodies)
            {
                tasks.Add(body());
            }
            const long StepsLimit = 5_000_000;
            long released = 0;
            while (!AllDone(tasks))
            {
                if (released >= stepsMax)
                {
                    _ready.Clear();
                    return false;
                }
                released++;
                if (++Steps > StepsLimit)
                {
                    throw new InvalidOperationException($"the run did not finish in {StepsLimit} steps");
                }
                if (_ready.Count == 0)
                {
                    if (!Clock.FireNextTimer())
                    {
                        throw new InvalidOperationException("deadlock: no step is ready and no timer is pending");
                    }
                    continue;
                }
                int index = _random.Next(_ready.Count);
                TaskCompletionSource step = _ready[index];
                _ready.RemoveAt(index);
                step.SetResult();
            }
            foreach (Task task in tasks)
            {
                task.GetAwaiter().GetResult();
            }
            return true;
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(saved);
        }
    }

    private static bool AllDone(List<Task> tasks)
    {
        foreach (Task task in tasks)
        {
            if (!task.IsCompleted)
            {
                return false;
            }
        }
        return true;
    }
}
