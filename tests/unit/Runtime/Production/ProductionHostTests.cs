using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Runtime;
using Kernel.Tools.ProductionRuntime;
using Xunit;

namespace Kernel.Tests.Unit.Runtime.Production;

public sealed class ProductionHostTests : IDisposable
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(30);
    private readonly string _root = ProductionNodeHarness.NewTempDirectory();
    private readonly StringWriter _log = new();
    private readonly ProductionHost _host;

    public ProductionHostTests()
    {
        _host = new ProductionHost(new ProductionHostOptions { RootDirectory = _root, Log = _log });
    }

    public void Dispose()
    {
        _host.Dispose();
        _log.Dispose();
        ProductionNodeHarness.DeleteDirectory(_root);
    }

    [Fact]
    public async Task Restart_AfterCrash_NextIncarnationReadsFlushedFile()
    {
        var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var readBack = new TaskCompletionSource<(long Incarnation, byte[] Content)>(TaskCreationOptions.RunContinuationsAsynchronously);
        _host.Start("store", () => new DelegateNode(async context =>
        {
            if (context.Incarnation == 0)
            {
                using IDurableFile file = (await context.Storage.OpenAsync("data", OpenMode.CreateNew)).Unwrap();
                Assert.True((await file.WriteAsync(0, "durable"u8.ToArray())).IsOk);
                Assert.True((await file.FlushAsync()).IsOk);
                Assert.True((await context.Storage.SyncDirectoryAsync("")).IsOk);
                written.SetResult();
                await context.Clock.Delay(Timeout.InfiniteTimeSpan); // until the crash
            }
            using IDurableFile reopened = (await context.Storage.OpenAsync("data", OpenMode.OpenExisting)).Unwrap();
            var buffer = new byte[64];
            int read = (await reopened.ReadAsync(0, buffer)).Unwrap();
            readBack.SetResult((context.Incarnation, buffer[..read]));
        }));
        await written.Task.WaitAsync(s_wait);

        _host.Crash("store");
        NodeOutcome crashed = await _host.WaitForExitAsync("store").WaitAsync(s_wait);
        _host.Restart("store");
        (long incarnation, byte[] content) = await readBack.Task.WaitAsync(s_wait);
        NodeOutcome second = await _host.WaitForExitAsync("store").WaitAsync(s_wait);

        Assert.Equal(NodeExit.Crashed, crashed.Exit);
        Assert.Equal(0, crashed.Incarnation);
        Assert.Equal(1, incarnation);
        Assert.Equal("durable"u8.ToArray(), content);
        Assert.Equal(NodeExit.Completed, second.Exit);
        Assert.Equal(1, _host.GetIncarnation("store"));
        Assert.True(File.Exists(Path.Join(_host.GetDataDirectory("store"), "data")));
    }

    [Fact]
    public async Task Crash_NodeListening_ClosesItsSockets()
    {
        var listening = new TaskCompletionSource<Endpoint>(TaskCreationOptions.RunContinuationsAsynchronously);
        _host.Start("server", () => new DelegateNode(async context =>
        {
            IListener listener = context.Network.Listen(0).Unwrap();
            listening.SetResult(listener.LocalEndpoint);
            await context.Clock.Delay(Timeout.InfiniteTimeSpan);
        }));
        Endpoint endpoint = await listening.Task.WaitAsync(s_wait);
        using (Socket before = await ConnectRawAsync(endpoint))
        {
            Assert.True(before.Connected);
        }

        _host.Crash("server");

        SocketException refused = await Assert.ThrowsAsync<SocketException>(() => ConnectRawAsync(endpoint));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
        Assert.False(_host.IsRunning("server"));
    }

    [Fact]
    public async Task Spawn_WorkThrows_NodeFailsWithThatException()
    {
        var boom = new InvalidOperationException("spawned failure");
        _host.Start("node", () => new DelegateNode(async context =>
        {
            context.Spawn("worker", async () =>
            {
                await Task.Yield();
                throw boom;
            });
            await context.Clock.Delay(Timeout.InfiniteTimeSpan);
        }));

        NodeOutcome outcome = await _host.WaitForExitAsync("node").WaitAsync(s_wait);

        Assert.Equal(NodeExit.Failed, outcome.Exit);
        Assert.Same(boom, outcome.Failure);
        Assert.Equal("spawned task 'worker'", outcome.FailureSource);
        Assert.Contains("spawn.failed worker", _log.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Spawn_Body_RunsLaterOnNodeThread()
    {
        var observed = new TaskCompletionSource<(bool RanInline, bool SameThread)>(TaskCreationOptions.RunContinuationsAsynchronously);
        _host.Start("node", () => new DelegateNode(async context =>
        {
            int nodeThread = Environment.CurrentManagedThreadId;
            var spawnedThread = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            context.Spawn("worker", () =>
            {
                spawnedThread.SetResult(Environment.CurrentManagedThreadId);
                return Task.CompletedTask;
            });
            bool ranInline = spawnedThread.Task.IsCompleted;
            observed.SetResult((ranInline, await spawnedThread.Task == nodeThread));
        }));

        (bool ranInline, bool sameThread) = await observed.Task.WaitAsync(s_wait);

        Assert.False(ranInline);
        Assert.True(sameThread);
        ProductionNodeHarness.ThrowIfNotCompleted(await _host.WaitForExitAsync("node").WaitAsync(s_wait));
    }

    [Fact]
    public async Task RunAsync_Throws_OutcomeFailedWithThatException()
    {
        _host.Start("node", () => new DelegateNode(async context =>
        {
            await context.Clock.Delay(TimeSpan.FromMilliseconds(1));
            throw new FormatException("bad input");
        }));

        NodeOutcome outcome = await _host.WaitForExitAsync("node").WaitAsync(s_wait);

        Assert.Equal(NodeExit.Failed, outcome.Exit);
        Assert.IsType<FormatException>(outcome.Failure);
        Assert.Equal("RunAsync", outcome.FailureSource);
        Assert.Contains("node node#0 failed in RunAsync", _log.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Always_FalseEvenIfCaught_FailsNodeWithInvariantViolation()
    {
        _host.Start("node", () => new DelegateNode(async context =>
        {
            try
            {
                context.Always(false, "balance went negative");
            }
            catch (InvariantViolationException)
            {
                // A careless caller swallowing the violation must not keep the node alive.
            }
            await context.Clock.Delay(Timeout.InfiniteTimeSpan);
        }));

        NodeOutcome outcome = await _host.WaitForExitAsync("node").WaitAsync(s_wait);

        Assert.Equal(NodeExit.Failed, outcome.Exit);
        InvariantViolationException violation = Assert.IsType<InvariantViolationException>(outcome.Failure);
        Assert.Equal("balance went negative", violation.Message);
        Assert.Contains("invariant.violated balance went negative", _log.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StopAsync_NodeHonoursStoppingToken_OutcomeStoppedAndCallbackOnNodeThread()
    {
        var callbackOnNodeThread = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _host.Start("node", () => new DelegateNode(async context =>
        {
            int nodeThread = Environment.CurrentManagedThreadId;
            using CancellationTokenRegistration registration = context.Stopping.Register(
                () => callbackOnNodeThread.SetResult(Environment.CurrentManagedThreadId == nodeThread));
            started.SetResult();
            await context.Clock.Delay(Timeout.InfiniteTimeSpan, context.Stopping);
        }));
        await started.Task.WaitAsync(s_wait);

        NodeOutcome outcome = await _host.StopAsync("node", s_wait);

        Assert.Equal(NodeExit.Stopped, outcome.Exit);
        Assert.Null(outcome.Failure);
        Assert.True(await callbackOnNodeThread.Task.WaitAsync(s_wait));
    }

    [Fact]
    public async Task StopAsync_NodeIgnoresStoppingToken_CrashedAfterTimeout()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _host.Start("stubborn", () => new DelegateNode(async context =>
        {
            started.SetResult();
            await context.Clock.Delay(Timeout.InfiniteTimeSpan);
        }));
        await started.Task.WaitAsync(s_wait);

        NodeOutcome outcome = await _host.StopAsync("stubborn", TimeSpan.FromMilliseconds(100));

        Assert.Equal(NodeExit.Crashed, outcome.Exit);
        Assert.Contains("did not stop within", _log.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StopAllAsync_TwoNodes_StopsBoth()
    {
        foreach (string name in (string[])["a", "b"])
        {
            _host.Start(name, () => new DelegateNode(context => context.Clock.Delay(Timeout.InfiniteTimeSpan, context.Stopping)));
        }

        IReadOnlyList<NodeOutcome> outcomes = await _host.StopAllAsync(s_wait);

        Assert.Equal(["a", "b"], [.. outcomes.Select(o => o.Name)]);
        Assert.All(outcomes, o => Assert.Equal(NodeExit.Stopped, o.Exit));
    }

    [Fact]
    public async Task Restart_RunningNode_Throws()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _host.Start("node", () => new DelegateNode(async context =>
        {
            started.SetResult();
            await context.Clock.Delay(Timeout.InfiniteTimeSpan);
        }));
        await started.Task.WaitAsync(s_wait);

        Assert.Throws<InvalidOperationException>(() => _host.Restart("node"));
        Assert.Equal(0, _host.GetIncarnation("node"));
        Assert.True(_host.IsRunning("node"));
    }

    [Fact]
    public void Start_DuplicateOrInvalidName_Throws()
    {
        _host.Start("node", () => new DelegateNode(context => context.Clock.Delay(Timeout.InfiniteTimeSpan)));

        Assert.Throws<InvalidOperationException>(() => _host.Start("node", () => new DelegateNode(_ => Task.CompletedTask)));
        Assert.Throws<ArgumentException>(() => _host.Start("../escape", () => new DelegateNode(_ => Task.CompletedTask)));
        Assert.Throws<ArgumentException>(() => _host.Start("a/b", () => new DelegateNode(_ => Task.CompletedTask)));
    }

    [Fact]
    public async Task Restart_AfterCompletion_StartsFreshNodeFromFactory()
    {
        int created = 0;
        _host.Start("node", () =>
        {
            Interlocked.Increment(ref created);
            return new DelegateNode(_ => Task.CompletedTask);
        });
        ProductionNodeHarness.ThrowIfNotCompleted(await _host.WaitForExitAsync("node").WaitAsync(s_wait));

        _host.Restart("node");
        NodeOutcome second = await _host.WaitForExitAsync("node").WaitAsync(s_wait);

        Assert.Equal(2, Volatile.Read(ref created));
        Assert.Equal(1, second.Incarnation);
        Assert.Equal(NodeExit.Completed, second.Exit);
    }

    [Fact]
    public async Task Trace_WithLog_WritesNodeIncarnationEventAndStartSeed()
    {
        var seed = new TaskCompletionSource<ulong>(TaskCreationOptions.RunContinuationsAsynchronously);
        _host.Start("tracer", () => new DelegateNode(context =>
        {
            context.Trace("custom.event", "detail=1");
            seed.SetResult(((ProductionNodeContext)context).RandomSeed);
            return Task.CompletedTask;
        }));

        ulong nodeSeed = await seed.Task.WaitAsync(s_wait);
        await _host.WaitForExitAsync("tracer").WaitAsync(s_wait);

        string log = _log.ToString();
        Assert.Contains($"tracer#0 node.start seed={nodeSeed} ", log, StringComparison.Ordinal);
        Assert.Contains("tracer#0 custom.event detail=1", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProductionNodeHarness_BodyThrows_RethrowsTheBodysException()
    {
        var harness = new ProductionNodeHarness();

        NotImplementedException thrown = await Assert.ThrowsAsync<NotImplementedException>(
            () => harness.RunNodesAsync(
                _ => throw new NotImplementedException("from the body"),
                context => context.Clock.Delay(Timeout.InfiniteTimeSpan)));

        Assert.Equal("from the body", thrown.Message);
    }

    private static async Task<Socket> ConnectRawAsync(Endpoint endpoint)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(IPAddress.Parse(endpoint.Host), endpoint.Port);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
