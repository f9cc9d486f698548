using System.Collections.Immutable;
using Kernel.Expr;
using Kernel.Persist.Data;

namespace Kernel.Net.Compute;

/// <summary>
/// A command from the compute controller (in environmentd) to one replica (clusterd). A connection starts with
/// <see cref="Hello"/>, then <see cref="CreateInstance"/>, then the controller's reduced command history, then
/// <see cref="InitializationComplete"/>; after that, commands arrive as the controller issues them. A replica
/// processes commands in order and never answers one from an older epoch than the newest it has seen.
/// </summary>
public abstract record ComputeCommand;

/// <summary>
/// Opens a session: <see cref="Nonce"/> is fresh per connection (responses on the connection carry it back, so
/// the controller drops stale ones), <see cref="Epoch"/> is the controller's fencing epoch (a replica refuses a
/// lower epoch than one it has served), <see cref="ProtocolVersion"/> must match the replica's.
/// </summary>
public sealed record Hello(ulong Nonce, ulong Epoch, uint ProtocolVersion) : ComputeCommand
{
    public const uint CurrentVersion = 1;
}

/// <summary>Configures the replica: where persist lives and how many workers to run.</summary>
public sealed record CreateInstance(string BlobUri, string ConsensusUri, int Workers) : ComputeCommand;

/// <summary>The history replay is complete: the replica drops dataflows the history no longer names.</summary>
public sealed record InitializationComplete : ComputeCommand;

/// <summary>The replica may write to persist (materialized view sinks); before this it computes read-only.</summary>
public sealed record AllowWrites : ComputeCommand;

/// <summary>Runtime parameters (name to value); unknown names are ignored with a trace.</summary>
public sealed record UpdateConfiguration(ImmutableSortedDictionary<string, string> Parameters) : ComputeCommand;

/// <summary>Builds a dataflow; its exports' frontiers are reported from then on.</summary>
public sealed record CreateDataflow(DataflowDescription Dataflow) : ComputeCommand;

/// <summary>Starts running the dataflow that exports <see cref="Id"/> (created dataflows wait for this).</summary>
public sealed record Schedule(GlobalId Id) : ComputeCommand;

/// <summary>
/// The controller no longer reads collection <see cref="Id"/> before <see cref="Frontier"/>: the replica may
/// compact it there. The empty frontier drops the collection (and its dataflow once nothing else is exported).
/// </summary>
public sealed record AllowCompaction(GlobalId Id, Frontier Frontier) : ComputeCommand;

/// <summary>
/// Reads index <see cref="Target"/> at <see cref="Timestamp"/> once its frontier passes it, applies
/// <see cref="Finishing"/> and answers with exactly one <see cref="PeekResponse"/> carrying <see cref="Uuid"/>.
/// </summary>
public sealed record Peek(PeekUuid Uuid, GlobalId Target, ulong Timestamp, RowSetFinishing Finishing, PeekLookup? Lookup = null) : ComputeCommand;

/// <summary>
/// Narrows a peek to the rows stored under <see cref="Keys"/> in the target index (each key a row of the index's key
/// columns) that satisfy every one of <see cref="Predicates"/> (over the full row): <c>WHERE k = 5</c> on an index keyed
/// by <c>k</c> reads one key instead of the whole index. Finishing applies to what remains.
/// </summary>
public sealed record PeekLookup(ImmutableArray<Row> Keys, ImmutableArray<ScalarExpr> Predicates);

/// <summary>Cancels a pending peek; the replica answers it with <see cref="PeekCanceled"/> if it has not answered yet.</summary>
public sealed record CancelPeek(PeekUuid Uuid) : ComputeCommand;

/// <summary>A peek's identity, unique per controller lifetime (epoch in the high word).</summary>
public readonly record struct PeekUuid(ulong High, ulong Low)
{
    public override string ToString() => $"{High:x16}{Low:x16}";
}
