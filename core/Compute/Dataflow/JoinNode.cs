using System;
using System.Collections.Immutable;
using Kernel.Compute.Arrangements;
using Kernel.Persist.Data;

namespace Kernel.Compute.Dataflow;

/// <summary>
/// Equi-join of two collections, both arranged by their key columns. Rows with a NULL key column never match and
/// are not arranged. An empty key is a cross join (every row under the one empty key).
/// </summary>
/// <remarks>
/// Delta join over totally ordered time. Each run takes the new left updates ΔL and right updates ΔR and emits
/// ΔL ⋈ R (R as arranged before this run), then arranges ΔL, then emits L ⋈ ΔR (L including ΔL), then arranges
/// ΔR. Every pair of a left and a right update is therefore joined exactly once, at the later of their two
/// times (the time from which both are present). Output times are at or beyond the meet of the input
/// frontiers, because each pair's time is at or beyond the time of its newer update.
/// Each side is compacted to the other side's frontier: a future update of the other side has a time at or
/// beyond that frontier, and max(t, t') is the same for every t below it.
/// </remarks>
public sealed class JoinNode : Node
{
    private readonly Arrangement _left;
    private readonly Arrangement _right;

    public JoinNode(Node left, Node right, ImmutableArray<int> leftKey, ImmutableArray<int> rightKey)
        : base("join", [left, right])
    {
        _left = new Arrangement(leftKey);
        _right = new Arrangement(rightKey);
    }

    internal override bool Run()
    {
        Edge left = Inputs[0];
        Edge right = Inputs[1];
        bool changed = left.Data.Count > 0 || right.Data.Count > 0 || left.Errors.Count > 0 || right.Errors.Count > 0;
        ForwardErrors();

        foreach (Update update in left.Data)
        {
            Row? key = KeyOrNull(update.Row, _left.KeyColumns);
            if (key is null)
            {
                continue;
            }
            var state = new Probe(this, update, LeftIsDelta: true);
            _right.ForEachUnderKey(key, ref state, static (ref Probe probe, Row row, ulong time, long diff) => probe.Join(row, time, diff));
            _left.Insert(key, update.Row, update.Time, update.Diff);
        }
        left.Data.Clear();

        foreach (Update update in right.Data)
        {
            Row? key = KeyOrNull(update.Row, _right.KeyColumns);
            if (key is null)
            {
                continue;
            }
            var state = new Probe(this, update, LeftIsDelta: false);
            _left.ForEachUnderKey(key, ref state, static (ref Probe probe, Row row, ulong time, long diff) => probe.Join(row, time, diff));
            _right.Insert(key, update.Row, update.Time, update.Diff);
        }
        right.Data.Clear();

        Frontier leftFrontier = left.Frontier;
        Frontier rightFrontier = right.Frontier;
        if (!rightFrontier.IsEmpty)
        {
            _left.Compact(rightFrontier);
        }
        if (!leftFrontier.IsEmpty)
        {
            _right.Compact(leftFrontier);
        }
        return AdvanceOutput(Frontier.Meet(leftFrontier, rightFrontier)) | changed;
    }

    /// <summary>The key of <paramref name="row"/>, or null when a key column is NULL (such rows never match).</summary>
    private static Row? KeyOrNull(Row row, ImmutableArray<int> columns)
    {
        foreach (int column in columns)
        {
            if (row[column].IsNull)
            {
                return null;
            }
        }
        return Arrangement.ExtractKey(row, columns);
    }

    private void EmitPair(Row leftRow, Row rightRow, ulong time, long diff)
    {
        var datums = new Datum[leftRow.Count + rightRow.Count];
        leftRow.Datums.CopyTo(datums);
        rightRow.Datums.CopyTo(datums.AsSpan(leftRow.Count));
        Emit(new Row(datums), time, diff);
    }

    private readonly record struct Probe(JoinNode Node, Update Delta, bool LeftIsDelta)
    {
        public void Join(Row other, ulong time, long diff)
        {
            ulong at = time > Delta.Time ? time : Delta.Time;
            long product = checked(Delta.Diff * diff);
            if (LeftIsDelta)
            {
                Node.EmitPair(Delta.Row, other, at, product);
            }
            else
            {
                Node.EmitPair(other, Delta.Row, at, product);
            }
        }
    }
}
