using System;
using System.Collections.Generic;
using Kernel.Compute.Arrangements;
using Kernel.Persist.Data;
using Xunit;

namespace Kernel.Tests.Unit.Compute;

public sealed class ArrangementTests
{
    [Fact]
    public void Compact_AdvancesAndConsolidates_ReadsAtOrAfterSinceUnchanged()
    {
        var arrangement = new Arrangement([0]);
        arrangement.Insert(Row.OfInt64(1, 10), 1, 1);
        arrangement.Insert(Row.OfInt64(1, 10), 2, 1);
        arrangement.Insert(Row.OfInt64(2, 20), 2, 1);
        arrangement.Insert(Row.OfInt64(2, 20), 3, -1);
        arrangement.Insert(Row.OfInt64(3, 30), 6, 1);
        arrangement.AdvanceUpper(Frontier.At(7));
        var before = new List<List<(Row Row, long Count)>>();
        for (ulong t = 4; t < 7; t++)
        {
            before.Add(arrangement.ReadAt(t));
        }

        arrangement.Compact(Frontier.At(4));

        for (ulong t = 4; t < 7; t++)
        {
            Assert.Equal(before[(int)(t - 4)], arrangement.ReadAt(t));
        }
        // Row (2, 20) summed to zero below the since and is gone; (1, 10) is one entry at the since.
        Assert.Equal(2, arrangement.EntryCount);
        Assert.Equal([new Update(Row.OfInt64(1, 10), 4, 2), new Update(Row.OfInt64(3, 30), 6, 1)], Sorted(arrangement.Updates()));
        Assert.Throws<InvalidOperationException>(() => arrangement.ReadAt(3));
        Assert.Throws<InvalidOperationException>(() => arrangement.ReadAt(7));
        // Inserts below the upper are a bug.
        Assert.Throws<InvalidOperationException>(() => arrangement.Insert(Row.OfInt64(4, 40), 6, 1));
    }

    [Fact]
    public void Insert_BelowSince_IsAdvancedToSince()
    {
        var arrangement = new Arrangement([]);
        arrangement.Compact(Frontier.At(5));
        arrangement.Insert(Row.OfInt64(1), 2, 1);
        arrangement.AdvanceUpper(Frontier.At(6));
        Assert.Equal([(Row.OfInt64(1), 1L)], arrangement.ReadAt(5));
        Assert.Equal([new Update(Row.OfInt64(1), 5, 1)], Sorted(arrangement.Updates()));
    }

    private static List<Update> Sorted(IEnumerable<Update> updates) => Consolidation.Consolidate(updates);
}
