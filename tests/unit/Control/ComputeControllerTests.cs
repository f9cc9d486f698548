using System.Linq;
using Kernel.Control.Compute;
using Kernel.Expr;
using Kernel.Net.Compute;
using Kernel.Persist.Data;
using Xunit;

namespace Kernel.Tests.Unit.Control;

/// <summary>
/// The compute controller's holds: how far the inputs of a dataflow may be compacted, and where the history replayed
/// to a reconnecting replica starts each dataflow. A materialized view must resume where its shard ends, or its shard
/// is wrong at every time in between (end-to-end simulation seed 1859 read an empty view there).
/// </summary>
public class ComputeControllerTests
{
    private static readonly RelationType s_row = new([new ColumnType(SqlType.Int64)]);
    private static readonly GlobalId s_table = GlobalId.UserId(1);
    private static readonly GlobalId s_view = GlobalId.UserId(2);

    [Fact]
    public void MaterializedView_HoldsItsInput_JustBelowWhatItsSinkMadeDurable()
    {
        ComputeController controller = NewController();
        controller.CreateDataflow(MaterializedView(asOf: 100));
        Assert.Equal(100UL, controller.InputHold("t"));

        // The dataflow computed up to 500 but the view's shard holds only up to 300 (its writes stalled).
        controller.Handle(new Frontiers(s_view, Frontier.At(500), Frontier.At(500), Frontier.At(300)));
        Assert.Equal(299UL, controller.InputHold("t"));
        Assert.Null(controller.InputHold("other"));

        // The read policy moves on, but a replica that reconnects must rebuild the view from 299.
        controller.ApplyReadPolicy(1_000);
        Assert.Equal(299UL, ReplayedAsOf(controller, s_view));

        controller.Handle(new Frontiers(s_view, Frontier.At(800), Frontier.At(800), Frontier.At(700)));
        Assert.Equal(699UL, controller.InputHold("t"));
        controller.ApplyReadPolicy(1_000);
        Assert.Equal(699UL, ReplayedAsOf(controller, s_view));
    }

    [Fact]
    public void Index_OnceHydrated_HoldsNothing_AndReplaysAtTheReadPolicy()
    {
        ComputeController controller = NewController();
        GlobalId index = GlobalId.UserId(3);
        controller.CreateDataflow(new DataflowDescription(
            "index", [new SourceImport(s_table, "t", s_row)], [], [], [new IndexExport(index, s_table, [0], s_row)], [], 100, null));
        Assert.Equal(100UL, controller.InputHold("t")); // still reading its snapshot at the as_of

        controller.Handle(new Frontiers(index, Frontier.At(500), Frontier.At(500), Frontier.At(500)));
        Assert.Null(controller.InputHold("t"));
        controller.ApplyReadPolicy(1_000);
        Assert.Equal(1_000UL, ReplayedAsOf(controller, index));
    }

    [Fact]
    public void Subscribe_HoldsItsInput_JustBelowWhatItDelivered()
    {
        ComputeController controller = NewController();
        GlobalId sink = GlobalId.TransientId(1);
        SubscribeAt(controller, sink, 100);
        controller.Handle(new Frontiers(sink, Frontier.At(500), Frontier.At(500), Frontier.At(500)));
        controller.Handle(new SubscribeResponse(sink, new SubscribeBatch(Frontier.At(100), Frontier.At(400), [])));
        Assert.Equal(399UL, controller.InputHold("t"));
    }

    /// <summary>
    /// The controller takes a subscribe's batches only in order: the first from the as_of, each later one from where
    /// the last ended. One that skips ahead (the replica sent it after batches lost with a connection) is dropped,
    /// and the subscribe the replay rebuilds sends the missing ones.
    /// </summary>
    [Fact]
    public void Subscribe_BatchAfterAGap_IsDropped()
    {
        ComputeController controller = NewController();
        GlobalId sink = GlobalId.TransientId(1);
        Subscription subscription = SubscribeAt(controller, sink, 100);

        controller.Handle(new SubscribeResponse(sink, new SubscribeBatch(Frontier.At(150), Frontier.At(200), [])));
        Assert.Null(subscription.Delivered);
        controller.Handle(new SubscribeResponse(sink, new SubscribeBatch(Frontier.At(100), Frontier.At(150), [])));
        Assert.Equal(Frontier.At(150), subscription.Delivered);
        controller.Handle(new SubscribeResponse(sink, new SubscribeBatch(Frontier.At(160), Frontier.At(200), [])));
        Assert.Equal(Frontier.At(150), subscription.Delivered);
        controller.Handle(new SubscribeResponse(sink, new SubscribeBatch(Frontier.At(150), Frontier.At(200), [])));
        Assert.Equal(Frontier.At(200), subscription.Delivered);
        Assert.Equal(2, subscription.Drain().Count);
        Assert.Equal(2, controller.StatusLog.FindAll(line => line.Contains("dropped batch", System.StringComparison.Ordinal)).Count);
    }

    /// <summary>A subscribe of t at <paramref name="asOf"/>, as a session starts one.</summary>
    private static Subscription SubscribeAt(ComputeController controller, GlobalId sink, ulong asOf)
    {
        Subscription subscription = controller.Subscribe(sink);
        controller.CreateDataflow(new DataflowDescription(
            "subscribe", [new SourceImport(s_table, "t", s_row)], [], [new BuildDesc(sink, new Get(s_table, s_row))], [],
            [new SinkExport(sink, sink, new SubscribeSinkTarget(), s_row)], asOf, null));
        return subscription;
    }

    private static ComputeController NewController() => new(new CreateInstance("mem://", "mem://", 1), 1);

    private static DataflowDescription MaterializedView(ulong asOf) => new(
        "materialized view",
        [new SourceImport(s_table, "t", s_row)],
        [],
        [new BuildDesc(s_view, new Get(s_table, s_row))],
        [],
        [new SinkExport(s_view, s_view, new PersistSinkTarget("mv"), s_row)],
        asOf,
        null);

    private static ulong ReplayedAsOf(ComputeController controller, GlobalId export) =>
        controller.History().OfType<CreateDataflow>().Single(command => command.Dataflow.ExportIds.Contains(export)).Dataflow.AsOf;
}
