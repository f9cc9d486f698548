using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Kernel.Runtime;
using Xunit;

namespace Kernel.Tests.Unit.Runtime;

/// <summary>
/// The semantics of <see cref="IDurableStorage"/> that every implementation must give: open modes, positional
/// reads and writes, length changes, rename, delete, directories and path validation. Durability across crashes
/// is not checked here (production cannot drop the page cache); the host and simulator tests cover it.
/// </summary>
public abstract class StorageContractTests
{
    private static readonly byte[] s_hello = "hello"u8.ToArray();
    private static readonly byte[] s_world = "world!"u8.ToArray();

    protected abstract NodeHarness Harness { get; }

    [Fact]
    public Task OpenAsync_OpenExistingOnMissingFile_ReturnsNotFound() => Harness.RunNodeAsync(async context =>
    {
        IoResult<IDurableFile> opened = await context.Storage.OpenAsync("missing", OpenMode.OpenExisting);

        Assert.Equal(IoStatus.NotFound, opened.Status);
        Assert.Null(opened.Value);
    });

    [Fact]
    public Task OpenAsync_CreateNewOnExistingFile_ReturnsAlreadyExists() => Harness.RunNodeAsync(async context =>
    {
        using IDurableFile first = await CreateWithAsync(context.Storage, "file", s_hello);

        IoResult<IDurableFile> second = await context.Storage.OpenAsync("file", OpenMode.CreateNew);

        Assert.Equal(IoStatus.AlreadyExists, second.Status);
    });

    [Fact]
    public Task OpenAsync_OpenOrCreate_CreatesMissingFileAndKeepsExistingContent() => Harness.RunNodeAsync(async context =>
    {
        using (IDurableFile created = (await context.Storage.OpenAsync("file", OpenMode.OpenOrCreate)).Unwrap())
        {
            Assert.Equal(0, (await created.GetLengthAsync()).Unwrap());
            AssertOk(await created.WriteAsync(0, s_hello));
        }

        using IDurableFile reopened = (await context.Storage.OpenAsync("file", OpenMode.OpenOrCreate)).Unwrap();

        Assert.Equal(s_hello, await ReadAllAsync(reopened));
    });

    [Fact]
    public Task OpenAsync_MissingParentDirectory_ReturnsNotFound() => Harness.RunNodeAsync(async context =>
    {
        IoResult<IDurableFile> opened = await context.Storage.OpenAsync("no-such-dir/file", OpenMode.OpenOrCreate);

        Assert.Equal(IoStatus.NotFound, opened.Status);
    });

    [Fact]
    public Task ReadAsync_AfterUnflushedWrite_SeesWrittenBytes() => Harness.RunNodeAsync(async context =>
    {
        using IDurableFile file = await CreateWithAsync(context.Storage, "file", s_hello);
        AssertOk(await file.WriteAsync(2, s_world));

        var buffer = new byte[16];
        int read = (await file.ReadAsync(0, buffer)).Unwrap();

        Assert.Equal("heworld!"u8.ToArray(), buffer.AsSpan(0, read).ToArray());
    });

    [Fact]
    public Task ReadAsync_AtOrPastEndOfFile_ReturnsZero() => Harness.RunNodeAsync(async context =>
    {
        using IDurableFile file = await CreateWithAsync(context.Storage, "file", s_hello);
        var buffer = new byte[4];

        Assert.Equal(0, (await file.ReadAsync(s_hello.Length, buffer)).Unwrap());
        Assert.Equal(0, (await file.ReadAsync(1000, buffer)).Unwrap());
    });

    [Fact]
    public Task ReadAsync_StraddlingEndOfFile_ReturnsBytesUpToEnd() => Harness.RunNodeAsync(async context =>
    {
        using IDurableFile file = await CreateWithAsync(context.Storage, "file", s_hello);
        var buffer = new byte[10];

        int read = (await file.ReadAsync(3, buffer)).Unwrap();

        Assert.Equal(2, read);
        Assert.Equal("lo"u8.ToArray(), buffer.AsSpan(0, read).ToArray());
    });

    [Fact]
    public Task WriteAsync_PastEndOfFile_ExtendsWithZeros() => Harness.RunNodeAsync(async context =>
    {
        using IDurableFile file = (await context.Storage.OpenAsync("file", OpenMode.CreateNew)).Unwrap();

        AssertOk(await file.WriteAsync(10, s_hello));

        Assert.Equal(15, (await file.GetLengthAsync()).Unwrap());
        byte[] all = await ReadAllAsync(file);
        Assert.Equal(new byte[10], all.AsSpan(0, 10).ToArray());
        Assert.Equal(s_hello, all.AsSpan(10).ToArray());
    });

    [Fact]
    public Task GetLengthAsync_AfterOverlappingWrites_IsEndOfFurthestByte() => Harness.RunNodeAsync(async context =>
    {
        using IDurableFile file = (await context.Storage.OpenAsync("file", OpenMode.CreateNew)).Unwrap();
        AssertOk(await file.WriteAsync(0, s_world));
        AssertOk(await file.WriteAsync(1, s_hello));

        Assert.Equal(6, (await file.GetLengthAsync()).Unwrap());
    });

    [Fact]
    public Task SetLengthAsync_ShorterThenLonger_TruncatesThenExtendsWithZeros() => Harness.RunNodeAsync(async context =>
    {
        using IDurableFile file = await CreateWithAsync(context.Storage, "file", s_world);

        AssertOk(await file.SetLengthAsync(2));
        Assert.Equal("wo"u8.ToArray(), await ReadAllAsync(file));

        AssertOk(await file.SetLengthAsync(5));
        Assert.Equal("wo\0\0\0"u8.ToArray(), await ReadAllAsync(file));
    });

    [Fact]
    public Task FlushAsync_ThenReopen_ReadsSameBytes() => Harness.RunNodeAsync(async context =>
    {
        using (IDurableFile file = await CreateWithAsync(context.Storage, "file", s_world))
        {
            AssertOk(await file.FlushAsync());
        }

        using IDurableFile reopened = (await context.Storage.OpenAsync("file", OpenMode.OpenExisting)).Unwrap();

        Assert.Equal(s_world, await ReadAllAsync(reopened));
    });

    [Fact]
    public Task File_AfterDispose_OperationsReturnClosed() => Harness.RunNodeAsync(async context =>
    {
        IDurableFile file = await CreateWithAsync(context.Storage, "file", s_hello);
        file.Dispose();

        Assert.Equal(IoStatus.Closed, (await file.ReadAsync(0, new byte[4])).Status);
        Assert.Equal(IoStatus.Closed, (await file.WriteAsync(0, s_hello)).Status);
        Assert.Equal(IoStatus.Closed, (await file.FlushAsync()).Status);
        Assert.Equal(IoStatus.Closed, (await file.GetLengthAsync()).Status);
        Assert.Equal(IoStatus.Closed, (await file.SetLengthAsync(0)).Status);
    });

    [Fact]
    public Task RenameAsync_OntoExistingFile_ReplacesTargetAndRemovesSource() => Harness.RunNodeAsync(async context =>
    {
        using (IDurableFile target = await CreateWithAsync(context.Storage, "target", s_hello))
        using (IDurableFile source = await CreateWithAsync(context.Storage, "source.tmp", s_world))
        {
            AssertOk(await source.FlushAsync());
        }

        AssertOk(await context.Storage.RenameAsync("source.tmp", "target"));

        Assert.Equal(IoStatus.NotFound, (await context.Storage.OpenAsync("source.tmp", OpenMode.OpenExisting)).Status);
        using IDurableFile renamed = (await context.Storage.OpenAsync("target", OpenMode.OpenExisting)).Unwrap();
        Assert.Equal(s_world, await ReadAllAsync(renamed));
    });

    [Fact]
    public Task RenameAsync_IntoSubdirectory_MovesFile() => Harness.RunNodeAsync(async context =>
    {
        AssertOk(await context.Storage.CreateDirectoryAsync("dir"));
        (await CreateWithAsync(context.Storage, "file", s_hello)).Dispose();

        AssertOk(await context.Storage.RenameAsync("file", "dir/file"));

        Assert.Equal([new DirectoryEntry("file", IsDirectory: false)], (await context.Storage.ListAsync("dir")).Unwrap());
        Assert.Equal([new DirectoryEntry("dir", IsDirectory: true)], (await context.Storage.ListAsync("")).Unwrap());
    });

    [Fact]
    public Task RenameAsync_MissingSource_ReturnsNotFound() => Harness.RunNodeAsync(async context =>
    {
        IoResult renamed = await context.Storage.RenameAsync("missing", "target");

        Assert.Equal(IoStatus.NotFound, renamed.Status);
    });

    [Fact]
    public Task DeleteAsync_MissingPath_ReturnsNotFound() => Harness.RunNodeAsync(async context =>
    {
        IoResult deleted = await context.Storage.DeleteAsync("missing");

        Assert.Equal(IoStatus.NotFound, deleted.Status);
    });

    [Fact]
    public Task DeleteAsync_ExistingFile_RemovesIt() => Harness.RunNodeAsync(async context =>
    {
        (await CreateWithAsync(context.Storage, "file", s_hello)).Dispose();

        AssertOk(await context.Storage.DeleteAsync("file"));

        Assert.Equal(IoStatus.NotFound, (await context.Storage.OpenAsync("file", OpenMode.OpenExisting)).Status);
        Assert.Empty((await context.Storage.ListAsync("")).Unwrap());
    });

    [Fact]
    public Task DeleteAsync_NonEmptyDirectory_ReturnsNotEmptyAndKeepsIt() => Harness.RunNodeAsync(async context =>
    {
        AssertOk(await context.Storage.CreateDirectoryAsync("dir"));
        (await CreateWithAsync(context.Storage, "dir/file", s_hello)).Dispose();

        IoResult deleted = await context.Storage.DeleteAsync("dir");

        Assert.Equal(IoStatus.NotEmpty, deleted.Status);
        Assert.Single((await context.Storage.ListAsync("dir")).Unwrap());
    });

    [Fact]
    public Task DeleteAsync_EmptyDirectory_RemovesIt() => Harness.RunNodeAsync(async context =>
    {
        AssertOk(await context.Storage.CreateDirectoryAsync("dir"));

        AssertOk(await context.Storage.DeleteAsync("dir"));

        Assert.Equal(IoStatus.NotFound, (await context.Storage.ListAsync("dir")).Status);
    });

    [Fact]
    public Task CreateDirectoryAsync_NestedPath_CreatesParentsAndIsIdempotent() => Harness.RunNodeAsync(async context =>
    {
        AssertOk(await context.Storage.CreateDirectoryAsync("a/b/c"));
        AssertOk(await context.Storage.CreateDirectoryAsync("a/b/c"));

        Assert.Equal([new DirectoryEntry("b", IsDirectory: true)], (await context.Storage.ListAsync("a")).Unwrap());
        Assert.Equal([new DirectoryEntry("c", IsDirectory: true)], (await context.Storage.ListAsync("a/b")).Unwrap());
        Assert.Empty((await context.Storage.ListAsync("a/b/c")).Unwrap());
    });

    [Fact]
    public Task ListAsync_MixedEntries_SortedOrdinallyWithKinds() => Harness.RunNodeAsync(async context =>
    {
        // Ordinal order puts upper case before lower case and "a" before "a.txt" before "b".
        foreach (string name in (string[])["b", "a.txt", "B", "a"])
        {
            using IDurableFile file = await CreateWithAsync(context.Storage, name, s_hello);
        }
        AssertOk(await context.Storage.CreateDirectoryAsync("dir"));

        IReadOnlyList<DirectoryEntry> entries = (await context.Storage.ListAsync("")).Unwrap();

        Assert.Equal(
            [
                new DirectoryEntry("B", false),
                new DirectoryEntry("a", false),
                new DirectoryEntry("a.txt", false),
                new DirectoryEntry("b", false),
                new DirectoryEntry("dir", true),
            ],
            entries);
    });

    [Fact]
    public Task LockAsync_SecondHandle_WaitsUntilTheFirstUnlocks() => Harness.RunNodeAsync(async context =>
    {
        (await CreateWithAsync(context.Storage, "lock", [])).Dispose();
        using IDurableFile first = (await context.Storage.OpenAsync("lock", OpenMode.OpenExisting)).Unwrap();
        using IDurableFile second = (await context.Storage.OpenAsync("lock", OpenMode.OpenExisting)).Unwrap();
        AssertOk(await first.LockAsync());

        Task<IoResult> waiting = second.LockAsync().AsTask();
        await context.Clock.Delay(TimeSpan.FromMilliseconds(50));
        Assert.False(waiting.IsCompleted, "a second handle took a lock the first still holds");

        AssertOk(await first.UnlockAsync());
        AssertOk(await waiting);
        AssertOk(await second.UnlockAsync());
        AssertOk(await first.LockAsync()); // free again
        AssertOk(await first.UnlockAsync());
    });

    [Fact]
    public Task LockAsync_HolderClosed_ReleasesTheLock() => Harness.RunNodeAsync(async context =>
    {
        (await CreateWithAsync(context.Storage, "lock", [])).Dispose();
        IDurableFile first = (await context.Storage.OpenAsync("lock", OpenMode.OpenExisting)).Unwrap();
        using IDurableFile second = (await context.Storage.OpenAsync("lock", OpenMode.OpenExisting)).Unwrap();
        AssertOk(await first.LockAsync());
        Task<IoResult> waiting = second.LockAsync().AsTask();

        first.Dispose();

        AssertOk(await waiting);
        AssertOk(await second.UnlockAsync());
    });

    [Fact]
    public Task UnlockAsync_WithoutTheLock_IsANoOp() => Harness.RunNodeAsync(async context =>
    {
        using IDurableFile file = await CreateWithAsync(context.Storage, "lock", []);

        AssertOk(await file.UnlockAsync());
        AssertOk(await file.LockAsync());
        AssertOk(await file.UnlockAsync());
    });

    [Fact]
    public Task ListAsync_MissingDirectory_ReturnsNotFound() => Harness.RunNodeAsync(async context =>
    {
        IoResult<IReadOnlyList<DirectoryEntry>> listed = await context.Storage.ListAsync("missing");

        Assert.Equal(IoStatus.NotFound, listed.Status);
    });

    [Fact]
    public Task SyncDirectoryAsync_RootAndSubdirectory_Succeed() => Harness.RunNodeAsync(async context =>
    {
        AssertOk(await context.Storage.CreateDirectoryAsync("dir"));
        using (IDurableFile file = await CreateWithAsync(context.Storage, "dir/file", s_hello))
        {
            AssertOk(await file.FlushAsync());
        }

        AssertOk(await context.Storage.SyncDirectoryAsync("dir"));
        AssertOk(await context.Storage.SyncDirectoryAsync(""));
    });

    [Fact]
    public Task SyncDirectoryAsync_MissingDirectory_ReturnsNotFound() => Harness.RunNodeAsync(async context =>
    {
        IoResult synced = await context.Storage.SyncDirectoryAsync("missing");

        Assert.Equal(IoStatus.NotFound, synced.Status);
    });

    [Theory]
    [InlineData("")]
    [InlineData("../escape")]
    [InlineData("a/../../escape")]
    [InlineData("/absolute")]
    [InlineData("a//b")]
    [InlineData("a/./b")]
    [InlineData("trailing/")]
    [InlineData("back\\slash")]
    public Task OpenAsync_InvalidPath_ReturnsInvalidPath(string path) => Harness.RunNodeAsync(async context =>
    {
        IoResult<IDurableFile> opened = await context.Storage.OpenAsync(path, OpenMode.OpenOrCreate);

        Assert.Equal(IoStatus.InvalidPath, opened.Status);
        Assert.NotEmpty(opened.Error);
    });

    [Theory]
    [InlineData("..")]
    [InlineData("../escape")]
    [InlineData("/absolute")]
    public Task EveryOperation_PathOutsideDataDirectory_ReturnsInvalidPath(string path) => Harness.RunNodeAsync(async context =>
    {
        (await CreateWithAsync(context.Storage, "file", s_hello)).Dispose();

        Assert.Equal(IoStatus.InvalidPath, (await context.Storage.DeleteAsync(path)).Status);
        Assert.Equal(IoStatus.InvalidPath, (await context.Storage.RenameAsync("file", path)).Status);
        Assert.Equal(IoStatus.InvalidPath, (await context.Storage.RenameAsync(path, "file")).Status);
        Assert.Equal(IoStatus.InvalidPath, (await context.Storage.CreateDirectoryAsync(path)).Status);
        Assert.Equal(IoStatus.InvalidPath, (await context.Storage.ListAsync(path)).Status);
        Assert.Equal(IoStatus.InvalidPath, (await context.Storage.SyncDirectoryAsync(path)).Status);
        // The rejected rename left the file where it was.
        Assert.Equal([new DirectoryEntry("file", false)], (await context.Storage.ListAsync("")).Unwrap());
    });

    private static async Task<IDurableFile> CreateWithAsync(IDurableStorage storage, string path, byte[] content)
    {
        IDurableFile file = (await storage.OpenAsync(path, OpenMode.CreateNew)).Unwrap();
        AssertOk(await file.WriteAsync(0, content));
        return file;
    }

    private static async Task<byte[]> ReadAllAsync(IDurableFile file)
    {
        long length = (await file.GetLengthAsync()).Unwrap();
        var buffer = new byte[length];
        int read = (await file.ReadAsync(0, buffer)).Unwrap();
        Assert.Equal(length, read);
        return buffer;
    }

    private static void AssertOk(IoResult result) => Assert.True(result.IsOk, result.ToString());
}
