using System;
using System.IO;
using System.Threading.Tasks;
using Kernel.Runtime;
using Kernel.Tools.ProductionRuntime;
using Xunit;

namespace Kernel.Tests.Unit.Runtime.Production;

/// <summary>What only real files have: the mapping onto the data directory, OS errors, and closing at a crash.</summary>
/// <remarks>FileStorage does its work inline and has no loop of its own, so these tests call it directly.</remarks>
public sealed class FileStorageTests : IDisposable
{
    private readonly string _root = ProductionNodeHarness.NewTempDirectory();
    private readonly FileStorage _storage;

    public FileStorageTests()
    {
        _storage = new FileStorage(_root);
    }

    public void Dispose()
    {
        _storage.Dispose();
        ProductionNodeHarness.DeleteDirectory(_root);
    }

    [Fact]
    public async Task WriteAsync_NestedPath_LandsUnderRootDirectory()
    {
        Assert.True((await _storage.CreateDirectoryAsync("a/b")).IsOk);
        using IDurableFile file = (await _storage.OpenAsync("a/b/file", OpenMode.CreateNew)).Unwrap();

        Assert.True((await file.WriteAsync(0, "on disk"u8.ToArray())).IsOk);

        Assert.Equal("on disk", await File.ReadAllTextAsync(Path.Join(_root, "a", "b", "file")));
        Assert.Equal("a/b/file", file.Path);
    }

    [Fact]
    public async Task Dispose_WithOpenFile_LaterOperationsReturnClosed()
    {
        IDurableFile file = (await _storage.OpenAsync("file", OpenMode.CreateNew)).Unwrap();

        _storage.Dispose();

        Assert.Equal(IoStatus.Closed, (await file.WriteAsync(0, new byte[1])).Status);
        Assert.Equal(IoStatus.Closed, (await file.FlushAsync()).Status);
        Assert.Equal(IoStatus.Closed, (await _storage.OpenAsync("other", OpenMode.OpenOrCreate)).Status);
        Assert.Equal(IoStatus.Closed, (await _storage.ListAsync("")).Status);
        file.Dispose(); // disposing a file the storage already closed is harmless
    }

    [Fact]
    public async Task OpenAsync_PathIsDirectory_ReturnsIoErrorNotException()
    {
        Assert.True((await _storage.CreateDirectoryAsync("dir")).IsOk);

        IoResult<IDurableFile> opened = await _storage.OpenAsync("dir", OpenMode.OpenOrCreate);

        Assert.Equal(IoStatus.IoError, opened.Status);
        Assert.Contains("open 'dir'", opened.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateDirectoryAsync_OverExistingFile_ReturnsAlreadyExists()
    {
        (await _storage.OpenAsync("file", OpenMode.CreateNew)).Unwrap().Dispose();

        IoResult created = await _storage.CreateDirectoryAsync("file");

        Assert.Equal(IoStatus.AlreadyExists, created.Status);
    }

    [Fact]
    public async Task SyncDirectoryAsync_PathIsFile_ReturnsNotFound()
    {
        (await _storage.OpenAsync("file", OpenMode.CreateNew)).Unwrap().Dispose();

        IoResult synced = await _storage.SyncDirectoryAsync("file");

        Assert.Equal(IoStatus.NotFound, synced.Status);
        Assert.Contains("errno", synced.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_NegativeOffset_ThrowsAsABug()
    {
        using IDurableFile file = (await _storage.OpenAsync("file", OpenMode.CreateNew)).Unwrap();

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await file.ReadAsync(-1, new byte[1]));
    }
}
