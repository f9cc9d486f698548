using System;
using System.Collections.Generic;
using System.Text;
using System.Threading.Tasks;
using Kernel.Persist.Location;
using Xunit;

namespace Kernel.Tests.Unit.Persist.Location;

/// <summary>
/// The contract every <see cref="IConsensus"/> backend keeps: heads, compare-and-set from none and from a seqno,
/// scans, truncation, key listing, and linearizable compare-and-set among several clients ("processes") that
/// share one store. Each test gets a fresh, empty store.
/// </summary>
public abstract class ConsensusContractTests : IAsyncLifetime
{
    /// <summary>A new client of this test's store; each call is a separate process's view of the same data.</summary>
    protected abstract Task<IConsensus> OpenClientAsync(int index);

    /// <summary>Runs bodies concurrently: on threads where clients are thread-safe, else interleaved on this thread.</summary>
    protected virtual Task RunConcurrentlyAsync(IReadOnlyList<Func<Task>> bodies)
    {
        var tasks = new List<Task>();
        foreach (Func<Task> body in bodies)
        {
            tasks.Add(body());
        }
        return Task.WhenAll(tasks);
    }

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Head_MissingKey_ReturnsNull()
    {
        IConsensus consensus = await OpenClientAsync(0);

        Assert.Null(Ok(await consensus.HeadAsync("missing")));
    }

    [Fact]
    public async Task CompareAndSet_FirstWrite_CommitsAndIsTheHead()
    {
        IConsensus consensus = await OpenClientAsync(0);

        CasOutcome outcome = Ok(await consensus.CompareAndSetAsync("key", null, V(5, "first")));

        Assert.Equal(CasOutcome.Committed, outcome);
        AssertVersion(V(5, "first"), Ok(await consensus.HeadAsync("key")));
    }

    [Fact]
    public async Task CompareAndSet_FirstWriteOnExistingKey_MismatchesAndKeepsHead()
    {
        IConsensus consensus = await OpenClientAsync(0);
        Ok(await consensus.CompareAndSetAsync("key", null, V(1, "a")));

        CasOutcome outcome = Ok(await consensus.CompareAndSetAsync("key", null, V(7, "b")));

        Assert.Equal(CasOutcome.ExpectationMismatch, outcome);
        AssertVersion(V(1, "a"), Ok(await consensus.HeadAsync("key")));
    }

    [Fact]
    public async Task CompareAndSet_WrongExpectedSeqNo_MismatchesAndWritesNothing()
    {
        IConsensus consensus = await OpenClientAsync(0);
        Ok(await consensus.CompareAndSetAsync("key", null, V(1, "a")));
        Ok(await consensus.CompareAndSetAsync("key", 1, V(2, "b")));

        Assert.Equal(CasOutcome.ExpectationMismatch, Ok(await consensus.CompareAndSetAsync("key", 1, V(2, "stale"))));
        Assert.Equal(CasOutcome.ExpectationMismatch, Ok(await consensus.CompareAndSetAsync("key", 5, V(6, "future"))));
        Assert.Equal(CasOutcome.ExpectationMismatch, Ok(await consensus.CompareAndSetAsync("missing", 1, V(2, "none"))));

        AssertVersion(V(2, "b"), Ok(await consensus.HeadAsync("key")));
        Assert.Null(Ok(await consensus.HeadAsync("missing")));
    }

    [Fact]
    public async Task CompareAndSet_NewSeqNoNotExpectedPlusOne_Throws()
    {
        IConsensus consensus = await OpenClientAsync(0);
        Ok(await consensus.CompareAndSetAsync("key", null, V(1, "a")));

        await Assert.ThrowsAsync<ArgumentException>(async () => await consensus.CompareAndSetAsync("key", 1, V(3, "skip")));
        await Assert.ThrowsAsync<ArgumentException>(async () => await consensus.CompareAndSetAsync("key", 1, V(1, "same")));
    }

    [Fact]
    public async Task CompareAndSet_Chain_HeadIsNewestAndScanReturnsAllInOrder()
    {
        IConsensus consensus = await OpenClientAsync(0);
        Ok(await consensus.CompareAndSetAsync("key", null, V(10, "v10")));
        for (ulong seqno = 11; seqno <= 20; seqno++)
        {
            Assert.Equal(CasOutcome.Committed, Ok(await consensus.CompareAndSetAsync("key", seqno - 1, V(seqno, "v" + seqno))));
        }

        AssertVersion(V(20, "v20"), Ok(await consensus.HeadAsync("key")));
        IReadOnlyList<VersionedData> all = Ok(await consensus.ScanAsync("key", 0, 100));
        Assert.Equal(11, all.Count);
        for (int i = 0; i < all.Count; i++)
        {
            AssertVersion(V((ulong)(10 + i), "v" + (10 + i)), all[i]);
        }
    }

    [Fact]
    public async Task Scan_FromAndLimit_ReturnsThatWindowAscending()
    {
        IConsensus consensus = await WriteChainAsync("key", 1, 8);

        IReadOnlyList<VersionedData> window = Ok(await consensus.ScanAsync("key", 3, 4));

        Assert.Equal([3UL, 4UL, 5UL, 6UL], SeqNos(window));
        Assert.Empty(Ok(await consensus.ScanAsync("key", 9, 10)));
        Assert.Empty(Ok(await consensus.ScanAsync("key", 1, 0)));
        Assert.Empty(Ok(await consensus.ScanAsync("missing", 0, 10)));
        Assert.Equal([8UL], SeqNos(Ok(await consensus.ScanAsync("key", 8, 10))));
    }

    [Fact]
    public async Task Truncate_BelowSeqNo_RemovesOlderVersionsKeepsTheRest()
    {
        IConsensus consensus = await WriteChainAsync("key", 1, 6);

        long deleted = Ok(await consensus.TruncateAsync("key", 4));

        Assert.Equal(3, deleted);
        Assert.Equal([4UL, 5UL, 6UL], SeqNos(Ok(await consensus.ScanAsync("key", 0, 100))));
        AssertVersion(V(6, "v6"), Ok(await consensus.HeadAsync("key")));
        Assert.Equal(0, Ok(await consensus.TruncateAsync("key", 2)));
        Assert.Equal(CasOutcome.Committed, Ok(await consensus.CompareAndSetAsync("key", 6, V(7, "v7"))));
    }

    [Fact]
    public async Task Truncate_ToTheHead_KeepsOnlyTheHead()
    {
        IConsensus consensus = await WriteChainAsync("key", 1, 3);

        Assert.Equal(2, Ok(await consensus.TruncateAsync("key", 3)));

        Assert.Equal([3UL], SeqNos(Ok(await consensus.ScanAsync("key", 0, 100))));
        AssertVersion(V(3, "v3"), Ok(await consensus.HeadAsync("key")));
    }

    [Fact]
    public async Task Truncate_AboveHeadOrMissingKey_IsADeterminateError()
    {
        IConsensus consensus = await WriteChainAsync("key", 1, 3);

        LocationResult<long> above = await consensus.TruncateAsync("key", 4);
        LocationResult<long> missing = await consensus.TruncateAsync("missing", 1);

        Assert.False(above.IsOk);
        Assert.Equal(ErrorKind.Determinate, above.Error!.Kind);
        Assert.False(missing.IsOk);
        Assert.Equal(ErrorKind.Determinate, missing.Error!.Kind);
        Assert.Equal(3, Ok(await consensus.ScanAsync("key", 0, 100)).Count);
    }

    [Fact]
    public async Task ListKeys_ReturnsKeysWithVersionsSortedOrdinally()
    {
        IConsensus consensus = await OpenClientAsync(0);
        Assert.Empty(Ok(await consensus.ListKeysAsync()));
        foreach (string key in new[] { "b", "a/1", "A", "s00ff", "with space" })
        {
            Ok(await consensus.CompareAndSetAsync(key, null, V(1, key)));
        }
        Assert.Equal(CasOutcome.ExpectationMismatch, Ok(await consensus.CompareAndSetAsync("never", 3, V(4, "x"))));

        Assert.Equal(["A", "a/1", "b", "s00ff", "with space"], Ok(await consensus.ListKeysAsync()));
    }

    [Fact]
    public async Task Keys_AreIndependent()
    {
        IConsensus consensus = await OpenClientAsync(0);
        Ok(await consensus.CompareAndSetAsync("one", null, V(1, "one-1")));
        Ok(await consensus.CompareAndSetAsync("two", null, V(100, "two-100")));
        Ok(await consensus.CompareAndSetAsync("one", 1, V(2, "one-2")));

        AssertVersion(V(2, "one-2"), Ok(await consensus.HeadAsync("one")));
        AssertVersion(V(100, "two-100"), Ok(await consensus.HeadAsync("two")));
        Assert.Equal(CasOutcome.ExpectationMismatch, Ok(await consensus.CompareAndSetAsync("two", 2, V(3, "x"))));
    }

    [Fact]
    public async Task Data_EmptyAndLarge_RoundTripExactly()
    {
        IConsensus consensus = await OpenClientAsync(0);
        byte[] large = new byte[1 << 20];
        new Kernel.Runtime.SeededRandom(3).NextBytes(large);

        Ok(await consensus.CompareAndSetAsync("key", null, new VersionedData(0, [])));
        Ok(await consensus.CompareAndSetAsync("key", 0, new VersionedData(1, large)));

        Assert.Empty(Ok(await consensus.ScanAsync("key", 0, 1))[0].Data);
        Assert.Equal(large, Ok(await consensus.HeadAsync("key"))!.Data);
    }

    [Fact]
    public async Task SecondClient_SeesWritesOfTheFirst()
    {
        IConsensus first = await OpenClientAsync(0);
        IConsensus second = await OpenClientAsync(1);

        Ok(await first.CompareAndSetAsync("key", null, V(1, "from first")));
        Assert.Equal(CasOutcome.ExpectationMismatch, Ok(await second.CompareAndSetAsync("key", null, V(1, "from second"))));
        Assert.Equal(CasOutcome.Committed, Ok(await second.CompareAndSetAsync("key", 1, V(2, "from second"))));

        AssertVersion(V(2, "from second"), Ok(await first.HeadAsync("key")));
    }

    /// <summary>
    /// Linearizability of compare-and-set under contention: clients race to extend one key. Checked: the key's
    /// history is one gap-free chain, each committed write is in it exactly at its seqno, and every seqno above
    /// the first was won by exactly one client.
    /// </summary>
    [Fact]
    public async Task CompareAndSet_RacingClients_ExactlyOneWinsEachSeqNo()
    {
        const int Clients = 4;
        const int AttemptsPerClient = 12;
        IConsensus setup = await OpenClientAsync(0);
        Ok(await setup.CompareAndSetAsync("race", null, V(0, "genesis")));
        var committed = new List<(ulong SeqNo, string Data)>[Clients];
        var bodies = new List<Func<Task>>();
        for (int c = 0; c < Clients; c++)
        {
            int client = c;
            committed[client] = [];
            IConsensus consensus = await OpenClientAsync(client + 1);
            bodies.Add(async () =>
            {
                for (int attempt = 0; attempt < AttemptsPerClient; attempt++)
                {
                    VersionedData head = Ok(await consensus.HeadAsync("race"))!;
                    string data = $"client {client} attempt {attempt}";
                    LocationResult<CasOutcome> cas = await consensus.CompareAndSetAsync("race", head.SeqNo, V(head.SeqNo + 1, data));
                    if (Ok(cas) == CasOutcome.Committed)
                    {
                        committed[client].Add((head.SeqNo + 1, data));
                    }
                }
            });
        }

        await RunConcurrentlyAsync(bodies);

        IReadOnlyList<VersionedData> history = Ok(await setup.ScanAsync("race", 0, 10_000));
        var bySeqNo = new Dictionary<ulong, string>();
        for (int i = 0; i < history.Count; i++)
        {
            Assert.Equal((ulong)i, history[i].SeqNo);
            bySeqNo[history[i].SeqNo] = Encoding.UTF8.GetString(history[i].Data);
        }
        int wins = 0;
        foreach (List<(ulong SeqNo, string Data)> writes in committed)
        {
            foreach ((ulong seqno, string data) in writes)
            {
                Assert.Equal(data, bySeqNo[seqno]);
                wins++;
            }
        }
        Assert.Equal(history.Count - 1, wins);
        Assert.True(wins >= AttemptsPerClient, $"only {wins} writes won");
    }

    /// <summary>Clients race to create one key, each with its own first seqno and data: exactly one creation wins.</summary>
    [Fact]
    public async Task CompareAndSet_RacingFirstWrites_ExactlyOneCommits()
    {
        const int Clients = 4;
        var winners = new List<string>();
        var bodies = new List<Func<Task>>();
        for (int c = 0; c < Clients; c++)
        {
            int client = c;
            IConsensus consensus = await OpenClientAsync(client);
            bodies.Add(async () =>
            {
                // Retry while the key is still empty: a backend may turn a lost race into a determinate error.
                for (int attempt = 0; attempt < 50; attempt++)
                {
                    LocationResult<VersionedData?> head = await consensus.HeadAsync("genesis");
                    if (head.IsOk && head.Value is not null)
                    {
                        return;
                    }
                    string data = $"client {client}";
                    LocationResult<CasOutcome> cas = await consensus.CompareAndSetAsync("genesis", null, V((ulong)(client * 10), data));
                    if (cas.IsOk && cas.Value == CasOutcome.Committed)
                    {
                        lock (winners)
                        {
                            winners.Add(data);
                        }
                        return;
                    }
                }
            });
        }

        await RunConcurrentlyAsync(bodies);

        string winner = Assert.Single(winners);
        IConsensus checker = await OpenClientAsync(Clients);
        VersionedData head = Ok(await checker.HeadAsync("genesis"))!;
        Assert.Equal(winner, Encoding.UTF8.GetString(head.Data));
        Assert.Single(Ok(await checker.ScanAsync("genesis", 0, 100)));
    }

    protected static VersionedData V(ulong seqno, string data) => new(seqno, Encoding.UTF8.GetBytes(data));

    protected static T Ok<T>(LocationResult<T> result)
    {
        Assert.True(result.IsOk, "location operation failed: " + result.Error);
        return result.Value!;
    }

    protected static void AssertVersion(VersionedData expected, VersionedData? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected.SeqNo, actual.SeqNo);
        Assert.Equal(Encoding.UTF8.GetString(expected.Data), Encoding.UTF8.GetString(actual.Data));
    }

    private static List<ulong> SeqNos(IReadOnlyList<VersionedData> versions)
    {
        var seqnos = new List<ulong>();
        foreach (VersionedData version in versions)
        {
            seqnos.Add(version.SeqNo);
        }
        return seqnos;
    }

    private async Task<IConsensus> WriteChainAsync(string key, ulong first, ulong last)
    {
        IConsensus consensus = await OpenClientAsync(0);
        Ok(await consensus.CompareAndSetAsync(key, null, V(first, "v" + first)));
        for (ulong seqno = first + 1; seqno <= last; seqno++)
        {
            Ok(await consensus.CompareAndSetAsync(key, seqno - 1, V(seqno, "v" + seqno)));
        }
        return consensus;
    }
}
