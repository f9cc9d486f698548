using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Runtime;
using Xunit;

namespace Kernel.Tests.Unit.Persist.Support;

/// <summary>
/// A single-threaded loop: posted continuations (a <c>Task.Yield</c>, an await's resumption) run in order on the
/// calling thread, as a node loop's do. With a <see cref="TestClock"/>, when nothing is queued, virtual time jumps to
/// the next timer and fires it; with nothing queued and no timer, the body can never finish and the run fails.
/// </summary>
public sealed class LoopContext : SynchronizationContext, ILoopContext
{
    private readonly Queue<(SendOrPostCallback Callback, object? State)> _queue = new();

    public override void Post(SendOrPostCallback d, object? state) => _queue.Enqueue((d, state));

    /// <summary>How many continuations wait on the calling thread's loop; -1 off a loop.</summary>
    public static int QueuedOnCurrent => Current is LoopContext loop ? loop._queue.Count : -1;

    public static void Run(Func<Task> body, TestClock? clock = null)
    {
        SynchronizationContext? saved = Current;
        var loop = new LoopContext();
        SetSynchronizationContext(loop);
        try
        {
            Task task = body();
            for (int spins = 0; !task.IsCompleted; spins++)
            {
                Assert.True(spins < 1_000_000, "the loop did not finish in a million steps");
                if (loop._queue.Count == 0)
                {
                    Assert.True(clock?.FireNextTimer() == true, "the loop ran out of work before the body finished");
                    continue;
                }
                (SendOrPostCallback callback, object? state) = loop._queue.Dequeue();
                callback(state);
            }
            task.GetAwaiter().GetResult();
        }
        finally
        {
            SetSynchronizationContext(saved);
        }
    }
}
