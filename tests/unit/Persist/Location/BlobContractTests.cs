using System;
using System.Collections.Generic;
using System.Text;
using System.Threading.Tasks;
using Kernel.Persist.Location;
using Xunit;

namespace Kernel.Tests.Unit.Persist.Location;

/// <summary>
/// The contract every <see cref="IBlob"/> backend keeps: get, atomic set (overwrite included), idempotent delete,
/// prefix listing with sizes, and visibility across clients sharing one store. Each test gets a fresh store.
/// </summary>
public abstract class BlobContractTests : IAsyncLifetime
{
    /// <summary>A new client of this test's store; each call is a separate process's view of the same data.</summary>
    protected abstract IBlob OpenClient(int index);

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Get_MissingKey_ReturnsNull()
    {
        IBlob blob = OpenClient(0);

        Assert.Null(Ok(await blob.GetAsync("missing")));
    }

    [Fact]
    public async Task Set_ThenGet_ReturnsTheValue()
    {
        IBlob blob = OpenClient(0);

        Assert.True((await blob.SetAsync("key", Bytes("value"))).IsOk);

        Assert.Equal("value", Text(Ok(await blob.GetAsync("key"))));
    }

    [Fact]
    public async Task Set_ExistingKey_ReplacesTheWholeValue()
    {
        IBlob blob = OpenClient(0);
        Assert.True((await blob.SetAsync("key", Bytes("a much longer first value"))).IsOk);

        Assert.True((await blob.SetAsync("key", Bytes("short"))).IsOk);

        Assert.Equal("short", Text(Ok(await blob.GetAsync("key"))));
    }

    [Fact]
    public async Task Delete_IsIdempotentAndReportsTheSize()
    {
        IBlob blob = OpenClient(0);
        Assert.True((await blob.SetAsync("key", Bytes("12345"))).IsOk);

        Assert.Equal(5L, Ok(await blob.DeleteAsync("key")));
        Assert.Null(Ok(await blob.DeleteAsync("key")));
        Assert.Null(Ok(await blob.DeleteAsync("never-existed")));
        Assert.Null(Ok(await blob.GetAsync("key")));
    }

    [Fact]
    public async Task ListKeys_ByPrefix_ReturnsMatchingKeysSortedWithSizes()
    {
        IBlob blob = OpenClient(0);
        foreach ((string key, string value) in new[] { ("s1/p/b", "bb"), ("s1/p/a", "a"), ("s1/r/1", "rollup"), ("s2/p/a", "x"), ("s1", "bare") })
        {
            Assert.True((await blob.SetAsync(key, Bytes(value))).IsOk);
        }

        IReadOnlyList<BlobMetadata> parts = Ok(await blob.ListKeysAsync("s1/p/"));
        IReadOnlyList<BlobMetadata> all = Ok(await blob.ListKeysAsync(""));

        Assert.Equal([new BlobMetadata("s1/p/a", 1), new BlobMetadata("s1/p/b", 2)], parts);
        Assert.Equal(["s1", "s1/p/a", "s1/p/b", "s1/r/1", "s2/p/a"], Keys(all));
        Assert.Empty(Ok(await blob.ListKeysAsync("zzz")));
    }

    [Fact]
    public async Task Values_EmptyLargeAndOddKeys_RoundTripExactly()
    {
        IBlob blob = OpenClient(0);
        byte[] large = new byte[3 << 20];
        new Kernel.Runtime.SeededRandom(5).NextBytes(large);
        const string OddKey = "a b/ä%2F.c~d";

        Assert.True((await blob.SetAsync("empty", ReadOnlyMemory<byte>.Empty)).IsOk);
        Assert.True((await blob.SetAsync("large", large)).IsOk);
        Assert.True((await blob.SetAsync(OddKey, Bytes("odd"))).IsOk);

        Assert.Empty(Ok(await blob.GetAsync("empty"))!);
        Assert.Equal(large, Ok(await blob.GetAsync("large")));
        Assert.Equal("odd", Text(Ok(await blob.GetAsync(OddKey))));
        Assert.Contains(OddKey, Keys(Ok(await blob.ListKeysAsync("a b/"))));
    }

    [Fact]
    public async Task SecondClient_SeesSetsAndDeletesOfTheFirst()
    {
        IBlob first = OpenClient(0);
        IBlob second = OpenClient(1);

        Assert.True((await first.SetAsync("key", Bytes("v1"))).IsOk);
        Assert.Equal("v1", Text(Ok(await second.GetAsync("key"))));
        Assert.Equal(2L, Ok(await second.DeleteAsync("key")));
        Assert.Null(Ok(await first.GetAsync("key")));
    }

    [Fact]
    public async Task Get_ReturnsACopy_NotSharedWithTheStore()
    {
        IBlob blob = OpenClient(0);
        Assert.True((await blob.SetAsync("key", Bytes("abc"))).IsOk);

        byte[] first = Ok(await blob.GetAsync("key"))!;
        first[0] = (byte)'X';

        Assert.Equal("abc", Text(Ok(await blob.GetAsync("key"))));
    }

    protected static T Ok<T>(LocationResult<T> result)
    {
        Assert.True(result.IsOk, "blob operation failed: " + result.Error);
        return result.Value!;
    }

    protected static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static string Text(byte[]? bytes) => bytes is null ? "<null>" : Encoding.UTF8.GetString(bytes);

    private static List<string> Keys(IReadOnlyList<BlobMetadata> metadata)
    {
        var keys = new List<string>();
        foreach (BlobMetadata entry in metadata)
        {
            keys.Add(entry.Key);
        }
        return keys;
    }
}
