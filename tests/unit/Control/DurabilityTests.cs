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
