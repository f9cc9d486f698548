using System.Collections.Generic;
using Kernel.Persist.Data;
using Kernel.Runtime;
using Xunit;

namespace Kernel.Tests.Unit.Persist;

public sealed class DataTests
{
    [Fact]
    public void Frontier_EmptyIsAboveEveryTime_AndMeetJoinAreMinMax()
    {
        Assert.True(Frontier.At(5) < Frontier.Empty);
        Assert.True(Frontier.At(5).LessEqual(5));
        Assert.False(Frontier.At(5).LessEqual(4));
        Assert.False(Frontier.Empty.LessEqual(ulong.MaxValue));
        Assert.Equal(Frontier.At(3), Frontier.Meet(Frontier.At(3), Frontier.Empty));
        Assert.Equal(Frontier.Empty, Frontier.Join(Frontier.At(3), Frontier.Empty));
        Assert.Equal(7UL, Frontier.At(7).Advance(2));
        Assert.Equal(9UL, Frontier.At(7).Advance(9));
    }

    [Fact]
    public void Datum_OrdersByKindThenValue_AndEqualityMatchesBits()
    {
        Assert.True(Datum.Null < Datum.FromBool(false));
        Assert.True(Datum.FromInt64(-5) < Datum.FromInt64(3));
        Assert.True(Datum.FromString("B") < Datum.FromString("a"));
        Assert.NotEqual(Datum.FromFloat64(0.0), Datum.FromFloat64(-0.0));
        Assert.NotEqual(Datum.FromDecimal(1.0m), Datum.FromDecimal(1.00m));
        Assert.Equal(Datum.FromDecimal(1.0m), Datum.FromDecimal(1.0m));
        Assert.Equal(Datum.FromBytes([1, 2]).GetHashCode(), Datum.FromBytes([1, 2]).GetHashCode());
        Assert.True(Row.OfInt64(1) < Row.OfInt64(1, 0));
        Assert.Equal(Row.OfInt64(1, 2), new Row(Datum.FromInt64(1), Datum.FromInt64(2)));
    }

    [Fact]
    public void Datum_OrdersDoublesAsPostgres_NaNAboveInfinity()
    {
        Datum nan = Datum.FromFloat64(double.NaN);
        Assert.True(nan.CompareTo(Datum.FromFloat64(double.PositiveInfinity)) > 0);
        Assert.True(Datum.FromFloat64(double.NegativeInfinity).CompareTo(nan) < 0);
        Assert.True(Datum.FromFloat64(-1.5).CompareTo(Datum.FromFloat64(2.0)) < 0);
        Assert.Equal(0, nan.CompareTo(Datum.FromFloat64(double.NaN)));
    }

    [Fact]
    public void Consolidation_SumsEqualRowAndTime_DropsZeros_Sorts()
    {
        var updates = new List<Update>
        {
            new(Row.OfInt64(2), 1, 1),
            new(Row.OfInt64(1), 5, 1),
            new(Row.OfInt64(2), 1, -1),
            new(Row.OfInt64(1), 5, 2),
            new(Row.OfInt64(1), 4, 1),
        };

        List<Update> consolidated = Consolidation.Consolidate(updates);

        Assert.Equal([new Update(Row.OfInt64(1), 4, 1), new Update(Row.OfInt64(1), 5, 3)], consolidated);
    }

    /// <summary>Sorted input skips the sort but is still consolidated; input out of order only at its end is still sorted.</summary>
    [Fact]
    public void ConsolidateInPlace_SortedInputIsConsolidated_LateDisorderIsSorted()
    {
        var sorted = new List<Update>
        {
            new(Row.OfInt64(1), 4, 1),
            new(Row.OfInt64(1), 4, 2),
            new(Row.OfInt64(2), 1, 1),
            new(Row.OfInt64(2), 1, -1),
            new(Row.OfInt64(3), 0, 5),
        };
        Assert.Equal([new Update(Row.OfInt64(1), 4, 3), new Update(Row.OfInt64(3), 0, 5)], Consolidation.ConsolidateInPlace(sorted));

        var lateDisorder = new List<Update>();
        for (int i = 0; i < 100; i++)
        {
            lateDisorder.Add(new Update(Row.OfInt64(i), 0, 1));
        }
        lateDisorder.Add(new Update(Row.OfInt64(50), 0, 1));
        lateDisorder.Add(new Update(Row.OfInt64(-1), 0, 1));

        List<Update> consolidated = Consolidation.ConsolidateInPlace(lateDisorder);

        Assert.Equal(101, consolidated.Count);
        Assert.Equal(new Update(Row.OfInt64(-1), 0, 1), consolidated[0]);
        Assert.Equal(new Update(Row.OfInt64(50), 0, 2), consolidated[51]);
        for (int i = 1; i < consolidated.Count; i++)
        {
            Assert.True(UpdateComparer.Instance.Compare(consolidated[i - 1], consolidated[i]) < 0);
        }
    }

    /// <summary>Property: logical compaction never changes the accumulated collection at any time at or beyond the since.</summary>
    [Fact]
    public void AdvanceAndConsolidate_PreservesAccumulationsAtOrBeyondSince()
    {
        var random = new SeededRandom(21);
        for (int round = 0; round < 200; round++)
        {
            var updates = new List<Update>();
            for (int i = 0; i < 40; i++)
            {
                updates.Add(new Update(Row.OfInt64(random.Next(4)), (ulong)random.Next(20), random.NextInt64(-2, 3)));
            }
            ulong since = (ulong)random.Next(20);

            List<Update> compacted = Consolidation.AdvanceAndConsolidateInPlace(new List<Update>(updates), Frontier.At(since));

            for (ulong asOf = since; asOf < 22; asOf++)
            {
                Assert.Equal(Consolidation.AccumulateAt(updates, asOf), Consolidation.AccumulateAt(compacted, asOf));
            }
        }
    }

    /// <summary>Property: merging sorted runs gives exactly what sorting their concatenation gives, as do the fallbacks (short runs, an unsorted run).</summary>
    [Fact]
    public void MergeAndConsolidate_EqualsConsolidatingTheConcatenation()
    {
        var random = new SeededRandom(22);
        for (int round = 0; round < 300; round++)
        {
            var runs = new List<List<Update>>();
            var all = new List<Update>();
            int runCount = 1 + random.Next(6);
            bool unsorted = round % 10 == 9;
            for (int r = 0; r < runCount; r++)
            {
                var run = new List<Update>();
                // Odd rounds: runs long enough to be merged (Consolidation.MergeRunUpdatesMin); even rounds: short ones, sorted.
                int length = round % 2 == 0 ? random.Next(30) : 2 * Consolidation.MergeRunUpdatesMin + random.Next(100);
                int keys = round % 2 == 0 ? 6 : 100;
                for (int i = length; i > 0; i--)
                {
                    run.Add(new Update(Row.OfInt64(random.Next(keys), random.Next(2)), (ulong)random.Next(12), random.NextInt64(-2, 3)));
                }
                all.AddRange(run);
                if (!(unsorted && r == 0))
                {
                    Consolidation.ConsolidateInPlace(run); // sorted, as persist writes every part
                }
                runs.Add(run);
            }
            Frontier since = round % 7 == 0 ? Frontier.Empty : Frontier.At((ulong)random.Next(14));
            List<Update> expected = Consolidation.AdvanceAndConsolidateInPlace(Consolidation.Consolidate(all), since);

            List<Update> merged = Consolidation.MergeAndConsolidate(runs, since);

            Assert.Equal(expected, merged);
        }
    }
}
