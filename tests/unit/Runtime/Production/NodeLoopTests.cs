using System;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Tools.ProductionRuntime;
using Xunit;

namespace Kernel.Tests.Unit.Runtime.Production;

public sealed class NodeLoopTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Post_FromForeignThread_RunsOnLoopThreadWithLoopContext()
    {
        using var loop = new NodeLoop("test");
        loop.Start();
        var ran = new TaskCompletionSource<(bool OnLoop, SynchronizationContext? Context)>(TaskCreationOptions.RunContinuationsAsynchronously);

        Assert.True(loop.Post(() => ran.SetResult((loop.IsOnLoopThread, SynchronizationContext.Current))));

        (bool onLoop, SynchronizationContext? context) = await ran.Task.WaitAsync(s_wait);
        Assert.True(onLoop);
        Assert.Same(loop.SynchronizationContext, context);
        Assert.False(loop.IsOnLoopThread);
    }

    [Fact]
    public async Task Await_TaskCompletedOnThreadPool_ContinuationResumesOnLoopThread()
    {
        using var loop = new NodeLoop("test");
        loop.Start();
        var result = new TaskCompletionSource<(int Before, int Pool, int After)>(TaskCreationOptions.RunContinuationsAsynchronously);

        loop.Post(() => _ = AwaitPoolWorkAsync());

        (int before, int pool, int after) = await result.Task.WaitAsync(s_wait);
        Assert.NotEqual(before, pool);
        Assert.Equal(before, after);

        async Task AwaitPoolWorkAsync()
        {
            int before = Environment.CurrentManagedThreadId;
            // Task.Run completes on a thread-pool thread; the await must come back to the loop anyway.
            int pool = await Task.Run(async () =>
            {
                await Task.Delay(1);
                return Environment.CurrentManagedThreadId;
            });
            result.SetResult((before, pool, Environment.CurrentManagedThreadId));
        }
    }

    [Fact]
    public async Task Post_FromManyThreads_CallbacksRunOneAtATime()
    {
        const int Threads = 4;
        const int PostsPerThread = 2000;
        using var loop = new NodeLoop("test");
        loop.Start();
        // Deliberately not atomic: lost updates would show callbacks overlapping.
        int counter = 0;
        int concurrent = 0;
        int overlaps = 0;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        Thread[] posters = new Thread[Threads];
        for (int t = 0; t < Threads; t++)
        {
            posters[t] = new Thread(() =>
            {
                for (int i = 0; i < PostsPerThread; i++)
                {
                    loop.Post(() =>
                    {
                        if (Interlocked.Increment(ref concurrent) != 1)
                        {
                            overlaps++;
                        }
                        counter++;
                        Interlocked.Decrement(ref concurrent);
                        if (counter == Threads * PostsPerThread)
                        {
                            done.SetResult();
                        }
                    });
                }
            });
            posters[t].Start();
        }
        foreach (Thread poster in posters)
        {
            poster.Join();
        }

        await done.Task.WaitAsync(s_wait);
        Assert.Equal(Threads * PostsPerThread, counter);
        Assert.Equal(0, overlaps);
    }

    [Fact]
    public async Task Post_CallbackThrows_RecordsFailureAndStopsLoop()
    {
        using var loop = new NodeLoop("test");
        var boom = new InvalidOperationException("boom");
        bool ranAfter = false;
        loop.Post(() => throw boom);
        loop.Post(() => ranAfter = true);

        loop.Start();
        await loop.Exited.WaitAsync(s_wait);

        Assert.Same(boom, loop.Failure);
        Assert.Equal("a callback on the loop", loop.FailureSource);
        Assert.True(loop.IsStopped);
        Assert.False(ranAfter);
        Assert.False(loop.Post(() => ranAfter = true));
    }

    [Fact]
    public async Task AsyncVoidThrows_OnLoop_FailsLoop()
    {
        using var loop = new NodeLoop("test");
        loop.Start();

        loop.Post(ThrowLater);

        await loop.Exited.WaitAsync(s_wait);
        Assert.IsType<TimeoutException>(loop.Failure);

        // async void rethrows on the SynchronizationContext it started on: the loop's.
        static async void ThrowLater()
        {
            await Task.Yield();
            throw new TimeoutException("from async void");
        }
    }

    [Fact]
    public async Task Stop_WithQueuedWork_DropsItAndExits()
    {
        using var loop = new NodeLoop("test");
        using var gate = new ManualResetEventSlim();
        var blocking = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bool queuedRan = false;
        loop.Post(() =>
        {
            blocking.SetResult();
            gate.Wait(s_wait);
        });
        loop.Post(() => queuedRan = true);
        loop.Start();
        await blocking.Task.WaitAsync(s_wait);

        Assert.True(loop.Stop());
        gate.Set();
        await loop.Exited.WaitAsync(s_wait);

        Assert.False(queuedRan);
        Assert.Null(loop.Failure);
        Assert.False(loop.Stop());
        Assert.False(loop.Fail(new InvalidOperationException("late"), "test"));
        Assert.Null(loop.Failure);
    }

    [Fact]
    public async Task Send_FromForeignThreadThrows_OnLoopThreadRunsInline()
    {
        using var loop = new NodeLoop("test");
        loop.Start();
        var inline = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);

        Assert.Throws<NotSupportedException>(() => loop.SynchronizationContext.Send(_ => { }, null));
        loop.Post(() =>
        {
            bool ran = false;
            SynchronizationContext.Current!.Send(_ => ran = true, null);
            inline.SetResult(ran);
        });

        Assert.True(await inline.Task.WaitAsync(s_wait));
    }

    [Fact]
    public async Task AssertOnLoopThread_ForeignThreadThrows_LoopThreadPasses()
    {
        using var loop = new NodeLoop("test");
        loop.Start();
        var onLoop = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);

        InvalidOperationException foreign = Assert.Throws<InvalidOperationException>(() => loop.AssertOnLoopThread("Op"));
        loop.Post(() =>
        {
            try
            {
                loop.AssertOnLoopThread("Op");
                onLoop.SetResult(null);
            }
            catch (Exception exception)
            {
                onLoop.SetResult(exception);
            }
        });

        Assert.Contains("Op must run on node loop 'test'", foreign.Message, StringComparison.Ordinal);
        Assert.Null(await onLoop.Task.WaitAsync(s_wait));
    }

    [Fact]
    public async Task Stop_BeforeStart_CompletesExited()
    {
        var loop = new NodeLoop("never");

        loop.Dispose();

        await loop.Exited.WaitAsync(s_wait);
        Assert.True(loop.IsStopped);
        Assert.True(loop.WaitForExit(TimeSpan.Zero));
    }
}
