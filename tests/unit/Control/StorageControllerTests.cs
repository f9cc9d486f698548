using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Control.Storage;
using Kernel.Expr;
using Kernel.Persist;
using Kernel.Persist.Data;
using Kernel.Persist.Location;
using Kernel.Persist.Shard;
using Kernel.Runtime;
using Kernel.Tests.Unit.Persist.Support;
using Xunit;

namespace Kernel.Tests.Unit.Control;

/// <summary>
/// Which table shards a group commit moves: the written tables, the tables that feed a dataflow with them, the tables
/// in use, and every table once per tick; reads of a table that lags get it moved first, also inside a read-then-write.
/// Each test runs the commit loop and a script on one single-threaded loop with a manual clock and reads the uppers back from persist.
/// </summary>
public sealed class StorageControllerTests
{
    private static readonly GlobalId A = GlobalId.UserId(1);
    private static readonly GlobalId B = GlobalId.UserId(2);
    private static readonly GlobalId C = GlobalId.UserId(3);

    [Fact]
    public void A_Write_MovesTheWrittenTableAndItsCompanions_NotAnIdleTable()
    {
        Run(async fixture =>
        {
            WriteOutcome first = await fixture.Storage.WriteAsync([Insert(A, 1)]); // the first commit of a tick moves every table
            Assert.True(first.Committed);
            WriteOutcome second = await fixture.Storage.WriteAsync([Insert(A, 2)]);
            Assert.True(second.Committed);

            Assert.Equal(second.Timestamp + 1, await fixture.UpperAsync(A));
            Assert.Equal(second.Timestamp + 1, await fixture.UpperAsync(B)); // B feeds a dataflow with A
            Assert.Equal(first.Timestamp + 1, await fixture.UpperAsync(C)); // idle: left where the first commit put it
        });
    }

    [Fact]
    public void A_Read_OfALaggingTable_MovesItFirst_AndKeepsItCurrentWhileInUse()
    {
        Run(async fixture =>
        {
            await fixture.Storage.WriteAsync([Insert(A, 1)]);
            await fixture.Storage.WriteAsync([Insert(A, 2)]);
            ulong readTs = fixture.Oracle.ReadTs;
            Assert.True(await fixture.UpperAsync(C) <= readTs);

            await fixture.Storage.EnsureReadableAsync([C], readTs);
            Assert.True(await fixture.UpperAsync(C) > readTs);

            // In use now: the next write to A moves C along, so its next read does not wait.
            WriteOutcome next = await fixture.Storage.WriteAsync([Insert(A, 3)]);
            Assert.Equal(next.Timestamp + 1, await fixture.UpperAsync(C));
            Task ready = fixture.Storage.EnsureReadableAsync([C], fixture.Oracle.ReadTs);
            Assert.True(ready.IsCompleted);

            // A tick later it is idle again.
            fixture.Clock.Advance(TimeSpan.FromMilliseconds(StorageController.TickMs + 1));
            await fixture.Storage.WriteAsync([Insert(A, 4)]); // the tick's commit: every table
            WriteOutcome idle = await fixture.Storage.WriteAsync([Insert(A, 5)]);
            Assert.True(await fixture.UpperAsync(C) <= idle.Timestamp);
        });
    }

    [Fact]
    public void A_ReadThenWrite_ThatReadsALaggingTable_MovesItInside_WithoutWaitingForItself()
    {
        Run(async fixture =>
        {
            await fixture.Storage.WriteAsync([Insert(A, 1)]);
            await fixture.Storage.WriteAsync([Insert(A, 2)]);
            ulong cUpperBefore = await fixture.UpperAsync(C);
            bool readable = false;
            WriteOutcome outcome = await fixture.Storage.ReadThenWriteAsync(async readTs =>
            {
                Assert.True(cUpperBefore <= readTs);
                await fixture.Storage.EnsureReadableAsync([C], readTs); // the commit loop is busy with this very operation
                readable = await fixture.UpperAsync(C) > readTs;
                return ([Insert(C, 7)], "");
            });
            Assert.True(readable);
            Assert.True(outcome.Committed);
            Assert.Equal(outcome.Timestamp + 1, await fixture.UpperAsync(C));
        });
    }

    [Fact]
    public void The_Tick_MovesEveryTable_WithNoWrites()
    {
        Run(async fixture =>
        {
            await fixture.Storage.WriteAsync([Insert(A, 1)]);
            WriteOutcome last = await fixture.Storage.WriteAsync([Insert(A, 2)]);
            Assert.True(await fixture.UpperAsync(C) <= last.Timestamp);
            await fixture.Clock.Delay(TimeSpan.FromMilliseconds(StorageController.TickMs * 2)); // the loop's tick fires first
            Assert.True(fixture.Oracle.ReadTs > last.Timestamp);
            Assert.Equal(fixture.Oracle.ReadTs + 1, await fixture.UpperAsync(C));
            Assert.True(await fixture.UpperAsync(A) > last.Timestamp + 1);
        });
    }

    /// <summary>
    /// While frozen (environmentd's bootstrap), ticks leave the read holds where they are, however far the read timestamp
    /// moves: a dataflow whose as_of bootstrap has chosen holds its inputs only once it exists (end-to-end simulation,
    /// seed 2960). The first tick after thawing moves them.
    /// </summary>
    [Fact]
    public void Holds_StayWhileFrozen_AndMoveOnTheFirstTickAfter()
    {
        Run(async fixture =>
        {
            string shard = fixture.Shards[A].Value;
            fixture.Storage.HoldsFrozen = true;
            await fixture.Clock.Delay(TimeSpan.FromMilliseconds(StorageController.TickMs * 2)); // a downgrade in flight lands
            ulong frozen = fixture.Storage.HeldSince(shard);
            for (int tick = 0; tick < 3; tick++)
            {
                await fixture.Storage.WriteAsync([Insert(A, tick)]);
                await fixture.Clock.Delay(TimeSpan.FromMilliseconds(StorageController.TickMs * 2));
            }
            Assert.True(fixture.Oracle.ReadTs > frozen + StorageController.ReadHistoryMs + 3 * StorageController.TickMs);
            Assert.Equal(frozen, fixture.Storage.HeldSince(shard));

            fixture.Storage.HoldsFrozen = false;
            await fixture.Clock.Delay(TimeSpan.FromMilliseconds(StorageController.TickMs * 2));
            Assert.Equal(fixture.Oracle.ReadTs - StorageController.ReadHistoryMs, fixture.Storage.HeldSince(shard), tolerance: StorageController.TickMs * 2);
        });
    }

    private static TableWrite Insert(GlobalId table, long value) => new(table, [(Row.OfInt64(value), 1)]);

    /// <summary>Three tables A, B and C, where A and B feed one dataflow; runs <paramref name="script"/> beside the commit loop.</summary>
    private static void Run(Func<Fixture, Task> script)
    {
        var clock = new TestClock(autoAdvance: false);
        var blob = new MemoryBlob();
        var consensus = new MemoryConsensus();
        var random = new SeededRandom(7);
        var persist = new PersistClient(blob, consensus, clock, random.Fork("environmentd"));
        var inspector = new PersistClient(blob, consensus, clock, random.Fork("inspector"));
        using var stop = new CancellationTokenSource();
        LoopContext.Run(async () =>
        {
            (TimestampOracle? oracle, string error) = await TimestampOracle.OpenAsync(new MemoryConsensus(), clock);
            Assert.True(oracle is not null, error);
            var storage = new StorageController(persist, oracle, clock)
            {
                Companions = table => table == A || table == B ? [A, B] : [],
            };
            var shards = new Dictionary<GlobalId, ShardId>
            {
                [A] = new("s" + new string('a', 32)),
                [B] = new("s" + new string('b', 32)),
                [C] = new("s" + new string('c', 32)),
            };
            foreach ((GlobalId table, ShardId shard) in shards)
            {
                Assert.Null(await storage.AddTableAsync(table, shard));
            }
            Task loop = storage.RunAsync(stop.Token);
            Assert.True((await storage.AdvanceAsync()).Committed);
            clock.Advance(TimeSpan.FromMilliseconds(StorageController.TickMs + 1)); // nothing is in use
            try
            {
                await script(new Fixture(storage, oracle, clock, inspector, shards));
            }
            finally
            {
                stop.Cancel(); // not CancelAsync: its callbacks run on the thread pool, off this loop
                await loop;
            }
        }, clock);
    }

    private sealed record Fixture(StorageController Storage, TimestampOracle Oracle, TestClock Clock, PersistClient Inspector, Dictionary<GlobalId, ShardId> Shards)
    {
        /// <summary>The table's upper as persist has it.</summary>
        public async Task<ulong> UpperAsync(GlobalId table)
        {
            WriteHandle writer = (await Inspector.OpenWriterAsync(Shards[table], "inspector")).Unwrap();
            Frontier upper = (await writer.FetchRecentUpperAsync()).Unwrap();
            return upper.Time;
        }
    }
}
