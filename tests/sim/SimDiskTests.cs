using System;
using System.Threading.Tasks;
using Kernel.Runtime;
using Kernel.Sim;
using Xunit;

namespace Kernel.Tests.Sim;

/// <summary>The simulated disk's crash semantics: only what was fsynced (data) and directory-synced (names) is sure to survive.</summary>
public class SimDiskTests
{
    private static readonly FaultProfile LoseEverything = new()
    {
        Enabled = FaultKinds.LoseUnflushed,
        NetLatencyMinMs = 0.1,
        NetLatencyMeanMs = 0.1,
        DiskLatencyMeanMs = 0.1,
        LoseUnflushedProbability = 1,
    };

    private static readonly FaultProfile KeepEverything = FaultProfile.Calm;

    [Fact]
    public void Crash_LoseUnflushed_KeepsOnlyFlushedBytes()
    {
        string? seen = null;
        RunCrash(LoseEverything,
            async context =>
            {
                IDurableFile file = (await context.Storage.OpenAsync("log", OpenMode.CreateNew)).Unwrap();
                Assert.True((await context.Storage.SyncDirectoryAsync("")).IsOk);
                Assert.True((await file.WriteAsync(0, "durable|"u8.ToArray())).IsOk);
                Assert.True((await file.FlushAsync()).IsOk);
                Assert.True((await file.WriteAsync(8, "volatile"u8.ToArray())).IsOk);
            },
            async context => seen = await ReadAll(context, "log"));

        Assert.Equal("durable|", seen);
    }

    [Fact]
    public void Crash_WithoutLossFaults_KeepsUnflushedBytes()
    {
        string? seen = null;
        RunCrash(KeepEverything,
            async context =>
            {
                IDurableFile file = (await context.Storage.OpenAsync("log", OpenMode.CreateNew)).Unwrap();
                Assert.True((await file.WriteAsync(0, "page cache"u8.ToArray())).IsOk);
            },
            async context => seen = await ReadAll(context, "log"));

        Assert.Equal("page cache", seen);
    }

    [Fact]
    public void Crash_LoseUnflushed_ForgetsUnsyncedCreate()
    {
        IoStatus? status = null;
        RunCrash(LoseEverything,
            async context =>
            {
                IDurableFile file = (await context.Storage.OpenAsync("new-file", OpenMode.CreateNew)).Unwrap();
                Assert.True((await file.WriteAsync(0, new byte[] { 1 })).IsOk);
                Assert.True((await file.FlushAsync()).IsOk); // data durable, but the name was never synced
            },
            async context => status = (await context.Storage.OpenAsync("new-file", OpenMode.OpenExisting)).Status);

        Assert.Equal(IoStatus.NotFound, status);
    }

    [Fact]
    public void Crash_AfterRenameAndDirectorySync_KeepsNewContents()
    {
        string? seen = null;
        RunCrash(LoseEverything,
            async context =>
            {
                Assert.True((await context.Storage.CreateDirectoryAsync("d")).IsOk);
                Assert.True((await context.Storage.SyncDirectoryAsync("")).IsOk);
                IDurableFile old = (await context.Storage.OpenAsync("d/state", OpenMode.CreateNew)).Unwrap();
                Assert.True((await old.WriteAsync(0, "old"u8.ToArray())).IsOk);
                Assert.True((await old.FlushAsync()).IsOk);
                Assert.True((await context.Storage.SyncDirectoryAsync("d")).IsOk);
                IDurableFile temp = (await context.Storage.OpenAsync("d/state.tmp", OpenMode.CreateNew)).Unwrap();
                Assert.True((await temp.WriteAsync(0, "new"u8.ToArray())).IsOk);
                Assert.True((await temp.FlushAsync()).IsOk);
                Assert.True((await context.Storage.RenameAsync("d/state.tmp", "d/state")).IsOk);
                Assert.True((await context.Storage.SyncDirectoryAsync("d")).IsOk);
            },
            async context =>
            {
                seen = await ReadAll(context, "d/state");
                Assert.Equal(IoStatus.NotFound, (await context.Storage.OpenAsync("d/state.tmp", OpenMode.OpenExisting)).Status);
            });

        Assert.Equal("new", seen);
    }

    [Fact]
    public void Crash_TornWrites_LeaveSectorAlignedPrefixOrNothing()
    {
        var profile = new FaultProfile
        {
            Enabled = FaultKinds.TornWrites,
            NetLatencyMinMs = 0.1,
            NetLatencyMeanMs = 0.1,
            DiskLatencyMeanMs = 0.1,
            TornWriteProbability = 1,
        };
        for (ulong seed = 1; seed <= 20; seed++)
        {
            long? length = null;
            RunCrash(profile,
                async context =>
                {
                    IDurableFile file = (await context.Storage.OpenAsync("big", OpenMode.CreateNew)).Unwrap();
                    Assert.True((await context.Storage.SyncDirectoryAsync("")).IsOk);
                    Assert.True((await file.WriteAsync(0, new byte[4096])).IsOk);
                },
                async context => length = (await (await context.Storage.OpenAsync("big", OpenMode.OpenExisting)).Unwrap().GetLengthAsync()).Value,
                seed);

            Assert.NotNull(length);
            Assert.Equal(0, length.Value % 512);
            Assert.InRange(length.Value, 0, 4096);
        }
    }

    [Fact]
    public void Paths_ClimbingOrAbsolute_AreRejected()
    {
        var statuses = new IoStatus[3];
        RunCrash(KeepEverything,
            async context =>
            {
                statuses[0] = (await context.Storage.OpenAsync("../escape", OpenMode.OpenOrCreate)).Status;
                statuses[1] = (await context.Storage.OpenAsync("/etc/passwd", OpenMode.OpenExisting)).Status;
                statuses[2] = (await context.Storage.DeleteAsync("a//b")).Status;
            },
            _ => Task.CompletedTask);

        Assert.All(statuses, s => Assert.Equal(IoStatus.InvalidPath, s));
    }

    private static async Task<string> ReadAll(INodeContext context, string path)
    {
        IDurableFile file = (await context.Storage.OpenAsync(path, OpenMode.OpenExisting)).Unwrap();
        byte[] buffer = new byte[(await file.GetLengthAsync()).Unwrap()];
        int read = (await file.ReadAsync(0, buffer)).Unwrap();
        return System.Text.Encoding.UTF8.GetString(buffer, 0, read);
    }

    /// <summary>Runs <paramref name="before"/> on incarnation 0, crashes the node, restarts it, and runs <paramref name="after"/>.</summary>
    private static void RunCrash(FaultProfile faults, Func<INodeContext, Task> before, Func<INodeContext, Task> after, ulong seed = 1)
    {
        var world = new SimWorld(new SimRunConfig(seed, faults, new RandomWalkStrategy(new SeededRandom(seed)), new SimLimits(), KeepLog: false));
        world.AddNode("disk", () => new CrashingNode(world, before, after), SimNodeOptions.Workload);
        string? failure = world.Run();
        Assert.True(failure is null, failure);
    }

    private sealed class CrashingNode(SimWorld world, Func<INodeContext, Task> before, Func<INodeContext, Task> after) : INode
    {
        public async Task RunAsync(INodeContext context)
        {
            if (context.Incarnation == 0)
            {
                await before(context);
                world.Crash(context.NodeName);
                world.Schedule(null, 1_000_000, "restart", () => world.Restart(context.NodeName));
                return;
            }
            await after(context);
        }
    }
}
