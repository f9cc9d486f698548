using System.Collections.Generic;
using System.Threading.Tasks;
using Kernel.Control.Catalog;
using Kernel.Control.Storage;
using Kernel.Expr;
using Kernel.Persist;
using Kernel.Persist.Location;
using Kernel.Runtime;
using Kernel.Tests.Unit.Persist.Support;
using Xunit;

namespace Kernel.Tests.Unit.Control;

/// <summary>The durable pieces of environmentd: the timestamp oracle and the catalog, including fencing.</summary>
public sealed class DurabilityTests
{
    [Fact]
    public async Task Oracle_TimestampsIncrease_AndSurviveReopen_EvenWhenTheClockGoesBack()
    {
        var consensus = new MemoryConsensus();
        var clock = new TestClock();
        (TimestampOracle? first, _) = await TimestampOracle.OpenAsync(consensus, clock);
        ulong a = (await first!.AllocateWriteTsAsync())!.Value;
        ulong b = (await first.AllocateWriteTsAsync())!.Value;
        Assert.True(b > a);
        first.ApplyWrite(b);
        Assert.Equal(b, first.ReadTs);

        // A new process on a clock that is far behind still starts above everything handed out before.
        var behind = new TestClock(start: clock.WallNow.AddDays(-1));
        (TimestampOracle? second, _) = await TimestampOracle.OpenAsync(consensus, behind);
        Assert.True(second!.ReadTs >= b);
        ulong c = (await second.AllocateWriteTsAsync())!.Value;
        Assert.True(c > b);
    }

    [Fact]
    public async Task Oracle_OpenedByANewerProcess_FencesTheOlderOne()
    {
        var consensus = new MemoryConsensus();
        var clock = new TestClock();
        (TimestampOracle? old, _) = await TimestampOracle.OpenAsync(consensus, clock);
        Assert.NotNull(await old!.AllocateWriteTsAsync());
        (TimestampOracle? newer, _) = await TimestampOracle.OpenAsync(consensus, clock);
        Assert.NotNull(newer);
        // The old oracle may use its current ceiling, but raising it past the newer process's claim fails.
        clock.Advance(System.TimeSpan.FromSeconds(5));
        Assert.Null(await old.AllocateWriteTsAsync());
        Assert.True(old.Fenced);
        Assert.NotNull(await newer!.AllocateWriteTsAsync());
    }

    /// <summary>
    /// A raise of the ceiling gives up after its writes all fail indeterminately, though the first one landed; the next
    /// raise finds that version in place of the one it expected. It is this process's own, not a newer process's: the
    /// oracle goes on, and is not fenced (end-to-end seeds 12835, 18619 stopped their only environmentd so).
    /// </summary>
    [Fact]
    public async Task Oracle_OwnCeilingWriteThatLandedAfterAnUnknownOutcome_IsNotAFence()
    {
        var memory = new MemoryConsensus();
        var consensus = new FlakyCasConsensus(memory);
        var clock = new TestClock();
        (TimestampOracle? oracle, _) = await TimestampOracle.OpenAsync(consensus, clock);
        ulong first = (await oracle!.AllocateWriteTsAsync())!.Value;

        consensus.IndeterminateCases = int.MaxValue; // every write answers "unknown"; only the first one lands
        clock.Advance(System.TimeSpan.FromMinutes(1)); // past the ceiling: the next allocation must raise it
        Assert.Null(await oracle.AllocateWriteTsAsync());
        Assert.False(oracle.Fenced);

        consensus.IndeterminateCases = 0;
        clock.Advance(System.TimeSpan.FromMinutes(1));
        ulong? later = await oracle.AllocateWriteTsAsync();
        Assert.False(oracle.Fenced);
        Assert.True(later > first);
    }

    /// <summary>Compare-and-sets answer indeterminate while <see cref="IndeterminateCases"/> is above zero; the first such one is applied.</summary>
    private sealed class FlakyCasConsensus(IConsensus inner) : IConsensus
    {
        private bool _appliedOne;

        public int IndeterminateCases { get; set; }

        public ValueTask<LocationResult<VersionedData?>> HeadAsync(string key) => inner.HeadAsync(key);

        public async ValueTask<LocationResult<CasOutcome>> CompareAndSetAsync(string key, ulong? expected, VersionedData next)
        {
            if (IndeterminateCases <= 0)
            {
                return await inner.CompareAndSetAsync(key, expected, next);
            }
            IndeterminateCases--;
            if (!_appliedOne)
            {
                _appliedOne = true;
                await inner.CompareAndSetAsync(key, expected, next);
            }
            return LocationError.Indeterminate("injected: outcome unknown");
        }

        public ValueTask<LocationResult<IReadOnlyList<VersionedData>>> ScanAsync(string key, ulong from, int limit) => inner.ScanAsync(key, from, limit);

        public ValueTask<LocationResult<long>> TruncateAsync(string key, ulong seqno) => inner.TruncateAsync(key, seqno);

        public ValueTask<LocationResult<IReadOnlyList<string>>> ListKeysAsync() => inner.ListKeysAsync();
    }

    [Fact]
    public async Task Catalog_CommitsSurviveReopen_IdsAreNeverReused_AndTheOldOwnerIsFenced()
    {
        var persist = new PersistClient(new MemoryBlob(), new MemoryConsensus(), new TestClock(), new SeededRandom(7));
        (DurableCatalog? first, string error) = await DurableCatalog.OpenAsync(persist);
        Assert.True(first is not null, error);
        GlobalId table = first.AllocateUserId();
        GlobalId view = first.AllocateUserId();
        Assert.Equal(CatalogWriteStatus.Committed, await first.CommitAsync(
            [new CatalogEntry(table, "t", CatalogEntryKind.Table, "CREATE TABLE t (a int)", "s" + new string('a', 32)),
             new CatalogEntry(view, "v", CatalogEntryKind.View, "CREATE VIEW v AS SELECT a FROM t", null)], []));
        Assert.Equal(CatalogWriteStatus.Committed, await first.CommitAsync([], [view]));

        (DurableCatalog? second, _) = await DurableCatalog.OpenAsync(persist);
        Assert.NotNull(second);
        Assert.True(second.Epoch > first.Epoch);
        CatalogEntry only = Assert.Single(second.Entries);
        Assert.Equal(table, only.Id);
        Assert.Equal("CREATE TABLE t (a int)", only.CreateSql);
        Assert.True(second.AllocateUserId().Value > view.Value, "a dropped object's id must not be handed out again");

        // The first process has been fenced: its next transaction fails and changes nothing.
        Assert.Equal(CatalogWriteStatus.Fenced, await first.CommitAsync([new CatalogEntry(GlobalId.UserId(99), "x", CatalogEntryKind.View, "CREATE VIEW x AS SELECT 1", null)], []));
        (DurableCatalog? third, _) = await DurableCatalog.OpenAsync(persist);
        Assert.Single(third!.Entries);
    }
}
