using System.Collections.Immutable;
using Kernel.Expr;
using Kernel.Persist.Data;

namespace Kernel.Net.Compute;

/// <summary>A response from a replica to the compute controller.</summary>
public abstract record ComputeResponse;

/// <summary>
/// Progress of collection <see cref="Id"/>: <see cref="WriteFrontier"/> is the upper of its output (every time
/// below it is final), <see cref="InputFrontier"/> the meet of its inputs' uppers, <see cref="OutputFrontier"/> the
/// upper of what a sink has durably written (equal to the write frontier for indexes). A field that did not
/// change since the last report may be null.
/// </summary>
public sealed record Frontiers(GlobalId Id, Frontier? WriteFrontier, Frontier? InputFrontier, Frontier? OutputFrontier) : ComputeResponse;

/// <summary>The answer to a peek: exactly one per <see cref="Peek"/>.</summary>
public sealed record PeekResponse(PeekUuid Uuid, PeekResult Result) : ComputeResponse;

/// <summary>A peek's outcome.</summary>
public abstract record PeekResult;

/// <summary>The finished rows, each with its multiplicity (positive).</summary>
public sealed record PeekRows(ImmutableArray<(Row Row, long Count)> Rows) : PeekResult;

/// <summary>The peek failed: an evaluation error in the collection, or the time is no longer readable.</summary>
public sealed record PeekError(string SqlState, string Message) : PeekResult;

/// <summary>The peek was canceled before an answer was ready.</summary>
public sealed record PeekCanceled : PeekResult;

/// <summary>Output of subscribe <see cref="Id"/>.</summary>
public sealed record SubscribeResponse(GlobalId Id, SubscribeEvent Event) : ComputeResponse;

/// <summary>What a subscribe reports.</summary>
public abstract record SubscribeEvent;

/// <summary>
/// Every change in times <c>[Lower, Upper)</c>, consolidated and sorted by time. Batches of one subscribe are
/// contiguous: each one's lower is the previous one's upper. An empty upper means the subscribe is complete.
/// </summary>
public sealed record SubscribeBatch(Frontier Lower, Frontier Upper, ImmutableArray<Update> Updates) : SubscribeEvent;

/// <summary>The subscribe failed with an evaluation error; no more batches follow.</summary>
public sealed record SubscribeError(string SqlState, string Message) : SubscribeEvent;

/// <summary>The subscribe was dropped (AllowCompaction to the empty frontier); no more batches follow.</summary>
public sealed record SubscribeDropped : SubscribeEvent;

/// <summary>Free-form replica status: hydration, errors worth showing an operator.</summary>
public sealed record Status(string Kind, string Detail) : ComputeResponse;
