using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace Kernel.Sim.Scenarios.EndToEnd;

/// <summary>What <see cref="HistoryChecker.Check"/> found: the first violation, or null, and how much it checked.</summary>
public sealed record HistoryCheckResult(string? Failure, int Cuts, int ViewReadsChecked, int ViewReadsSkipped, int UnknownWritesCommitted)
{
    public override string ToString() =>
        $"{Cuts} states of t, {ViewReadsChecked} reads of mv checked ({ViewReadsSkipped} skipped: too many candidate states), {UnknownWritesCommitted} unknown-outcome writes had committed";
}

/// <summary>
/// Checks a client history of the end-to-end scenario against strict serializability, with a reference model of
/// <c>t (id, k, v)</c> and <c>mv = SELECT k, count(*), sum(v) FROM t GROUP BY k</c>.
/// </summary>
/// <remarks>
/// Each row id has one chain of writes (see <see cref="RowChain"/>), and every row version carries a unique value, so
/// a state of <c>t</c> (a read, or a subscribe's contents at a closed timestamp) tells, row by row, how many writes
/// of each chain it reflects: a <em>cut</em>. Strict serializability holds exactly when some total order of the
/// writes respects real time and every observed state is a prefix of it. So:
/// <list type="number">
/// <item>each cut is down-closed under real time: it holds every write acknowledged before the read started, and
/// every write acknowledged before any write it holds started; it holds no write that started after it ended;</item>
/// <item>all cuts form one chain under inclusion (one order), and a read that started after another ended holds
/// at least as much;</item>
/// <item>the final read after healing holds every acknowledged write (nothing acknowledged is lost) and decides
/// which writes with an unknown outcome committed;</item>
/// <item>each read of <c>mv</c> equals the GROUP BY of some state of <c>t</c> between the writes that must be in
/// (acknowledged, or seen by an earlier read, before it started) and those that may be in (committed and started
/// before it ended);</item>
/// <item>subscribe output has non-decreasing timestamps, at most one line per row and timestamp, diffs that keep
/// every row's multiplicity at 0 or 1, and its contents at each closed timestamp form a cut as above.</item>
/// </list>
/// A row that is absent from a state although it was both inserted and deleted is ambiguous (never inserted, or
/// already deleted); unless real time decides, it is left out of the comparisons, which weakens the check slightly
/// but never reports a false violation.
/// </remarks>
public static class HistoryChecker
{
    private const int Wildcard = int.MinValue;
    private const int ViewCandidatesMax = 4096;

    private sealed record Cut(string Label, long StartNanos, long EndNanos, int[] Positions)
    {
        public long Sum { get; } = Positions.Where(p => p != Wildcard).Sum(p => (long)p + 1);
    }

    public static HistoryCheckResult Check(EndToEndHistory history)
    {
        if (history.Violations.Count > 0)
        {
            return new HistoryCheckResult(history.Violations[0], 0, 0, 0, 0);
        }
        var chains = history.Rows.Values.ToList();
        var indexOf = new Dictionary<int, int>();
        for (int i = 0; i < chains.Count; i++)
        {
            indexOf.Add(chains[i].Id, i);
        }
        var cuts = new List<Cut>();
        Cut? final = null;
        foreach (ReadRecord read in history.Reads.Where(r => !r.OfView))
        {
            string label = $"{(read.Final ? "final read" : "read")} of t by {read.Client} [{Ms(read.StartNanos)}, {Ms(read.EndNanos)}]";
            (Dictionary<int, (int K, int V)>? state, string? error) = StateOfRead(read, label);
            if (error is not null)
            {
                return Fail(error);
            }
            (Cut? cut, string? cutError) = MakeCut(chains, indexOf, label, read.StartNanos, read.EndNanos, state!);
            if (cutError is not null)
            {
                return Fail(cutError);
            }
            cuts.Add(cut!);
            if (read.Final && (final is null || read.StartNanos >= final.StartNanos))
            {
                final = cut;
            }
        }
        if (final is null)
        {
            return Fail("no client completed a final read of t after the faults stopped");
        }
        foreach (SubscribeRecord subscribe in history.Subscribes)
        {
            if (SubscribeCuts(chains, indexOf, subscribe, cuts) is string error)
            {
                return Fail(error);
            }
        }
        if (CheckOneOrder(chains, cuts) is string orderError)
        {
            return Fail(orderError);
        }

        // Resolve: the final read decides which writes committed. Ambiguity is impossible there (every insert of a
        // deleted row was acknowledged before it started, or its delete was never sent), and every acknowledged
        // write is in it (checked as part of its cut).
        var committed = new int[chains.Count];
        int unknownCommitted = 0;
        for (int c = 0; c < chains.Count; c++)
        {
            int position = final.Positions[c];
            if (position == Wildcard)
            {
                return Fail($"row {chains[c].Id}: the final read cannot tell whether it was inserted");
            }
            committed[c] = position + 1;
            unknownCommitted += chains[c].Ops.Take(position + 1).Count(op => !op.Acknowledged);
        }

        // The latest a committed write can have taken effect: its acknowledgement, or the end of the first state that held it.
        var effectiveEnd = new long[chains.Count][];
        for (int c = 0; c < chains.Count; c++)
        {
            effectiveEnd[c] = chains[c].Ops.Select(op => op.EndNanos).ToArray();
        }
        foreach (Cut cut in cuts)
        {
            for (int c = 0; c < chains.Count; c++)
            {
                for (int j = 0; j <= cut.Positions[c] && j < committed[c]; j++)
                {
                    effectiveEnd[c][j] = Math.Min(effectiveEnd[c][j], cut.EndNanos);
                }
            }
        }
        int checkedViews = 0, skippedViews = 0;
        foreach (ReadRecord read in history.Reads.Where(r => r.OfView))
        {
            (bool? matched, string detail) = CheckViewRead(chains, committed, effectiveEnd, read);
            if (matched is null)
            {
                if (detail.Length > 0)
                {
                    return Fail(detail);
                }
                skippedViews++;
                continue;
            }
            checkedViews++;
            if (matched == false)
            {
                return Fail(detail);
            }
        }
        return new HistoryCheckResult(null, cuts.Count, checkedViews, skippedViews, unknownCommitted);

        HistoryCheckResult Fail(string message) => new(message, cuts.Count, 0, 0, 0);
    }

    private static string Ms(long nanos) => nanos == long.MaxValue ? "∞" : (nanos / 1e6).ToString("0.###", CultureInfo.InvariantCulture) + "ms";

    private static (Dictionary<int, (int K, int V)>? State, string? Error) StateOfRead(ReadRecord read, string label)
    {
        var state = new Dictionary<int, (int K, int V)>();
        int previous = int.MinValue;
        foreach (string?[] row in read.Rows)
        {
            if (row.Length != 3 || !TryInt(row[0], out int id) || !TryInt(row[1], out int k) || !TryInt(row[2], out int v))
            {
                return (null, $"{label} returned a malformed row ({string.Join(",", row)})");
            }
            if (id <= previous)
            {
                return (null, $"{label} returned row id {id} after {previous}: out of ORDER BY id order, or twice");
            }
            previous = id;
            state.Add(id, (k, v));
        }
        return (state, null);
    }

    private static bool TryInt(string? text, out int value) => int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);

    private static (Cut? Cut, string? Error) MakeCut(
        List<RowChain> chains, Dictionary<int, int> indexOf, string label, long startNanos, long endNanos, Dictionary<int, (int K, int V)> state)
    {
        var positions = new int[chains.Count];
        var present = new bool[chains.Count];
        foreach ((int id, (int k, int v)) in state.OrderBy(e => e.Key))
        {
            if (!indexOf.TryGetValue(id, out int c))
            {
                return (null, $"{label} returned row ({id}, {k}, {v}), but no client ever inserted id {id}");
            }
            RowChain chain = chains[c];
            int version = chain.Ops.FindIndex(op => op.Kind != WriteKind.Delete && op.Value == v);
            if (chain.K != k || version < 0)
            {
                return (null, $"{label} returned row ({id}, {k}, {v}), which no statement wrote (row {id} has k={chain.K}, writes: {string.Join("; ", chain.Ops)})");
            }
            positions[c] = version;
            present[c] = true;
        }
        for (int c = 0; c < chains.Count; c++)
        {
            if (present[c])
            {
                continue;
            }
            List<WriteOp> ops = chains[c].Ops;
            int last = ops.Count - 1;
            if (last > 0 && ops[last].Kind == WriteKind.Delete)
            {
                positions[c] = ops[0].EndNanos < startNanos ? last : ops[last].StartNanos >= endNanos ? -1 : Wildcard;
            }
            else
            {
                positions[c] = -1;
            }
        }
        long threshold = startNanos;
        WriteOp? latestSeen = null;
        for (int c = 0; c < chains.Count; c++)
        {
            int p = positions[c];
            if (p < 0)
            {
                continue;
            }
            WriteOp op = chains[c].Ops[p];
            if (op.StartNanos >= endNanos)
            {
                return (null, $"{label} saw a write that started after it ended: {op}");
            }
            if (op.StartNanos > threshold)
            {
                threshold = op.StartNanos;
                latestSeen = op;
            }
        }
        for (int c = 0; c < chains.Count; c++)
        {
            List<WriteOp> ops = chains[c].Ops;
            if (positions[c] == Wildcard)
            {
                if (ops[0].EndNanos < threshold)
                {
                    positions[c] = ops.Count - 1;
                }
                continue;
            }
            int next = positions[c] + 1;
            if (next < ops.Count && ops[next].EndNanos < threshold)
            {
                return (null, ops[next].EndNanos < startNanos
                    ? $"{label} missed a write acknowledged before it started: {ops[next]} (it saw {Describe(chains[c], positions[c])})"
                    : $"{label} saw {latestSeen} but missed a write acknowledged before that one started: {ops[next]}");
            }
        }
        return (new Cut(label, startNanos, endNanos, positions), null);
    }

    private static string Describe(RowChain chain, int position) =>
        position == Wildcard ? $"row {chain.Id} absent (ambiguous)"
        : position < 0 ? $"row {chain.Id} not yet inserted"
        : chain.Ops[position].Kind == WriteKind.Delete ? $"row {chain.Id} deleted"
        : $"row {chain.Id} with v={chain.Ops[position].Value}";

    private static string? SubscribeCuts(List<RowChain> chains, Dictionary<int, int> indexOf, SubscribeRecord subscribe, List<Cut> cuts)
    {
        string name = $"subscribe by {subscribe.Client} started at {Ms(subscribe.StartNanos)}";
        var contents = new Dictionary<(int Id, int K, int V), int>();
        var atTime = new HashSet<(int, int, int)>();
        decimal? current = null;
        foreach ((long received, string line) in subscribe.Lines)
        {
            string[] fields = line.Split('\t');
            if (fields.Length != 5
                || !decimal.TryParse(fields[0], NumberStyles.Number, CultureInfo.InvariantCulture, out decimal time)
                || !long.TryParse(fields[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long diff)
                || !TryInt(fields[2], out int id) || !TryInt(fields[3], out int k) || !TryInt(fields[4], out int v))
            {
                return $"{name}: malformed line '{line}'";
            }
            if (current is decimal now && time < now)
            {
                return $"{name}: timestamp went back from {now} to {time}";
            }
            if (current is decimal closed && time > closed)
            {
                // Every update at the closed time has arrived: its contents must be a state of t.
                var state = new Dictionary<int, (int K, int V)>();
                foreach (((int rowId, int rowK, int rowV), int count) in contents.OrderBy(e => e.Key))
                {
                    if (count == 1 && !state.TryAdd(rowId, (rowK, rowV)))
                    {
                        return $"{name}: two versions of row {rowId} at once at {closed}";
                    }
                }
                (Cut? cut, string? error) = MakeCut(chains, indexOf, $"{name}, contents at {closed} (received {Ms(received)})", subscribe.StartNanos, received, state);
                if (error is not null)
                {
                    return error;
                }
                cuts.Add(cut!);
                atTime.Clear();
            }
            current = time;
            if (!atTime.Add((id, k, v)))
            {
                return $"{name}: not consolidated: row ({id}, {k}, {v}) appears twice at {time}";
            }
            int multiplicity = contents.GetValueOrDefault((id, k, v)) + (int)Math.Clamp(diff, -10, 10);
            if (diff == 0 || multiplicity is < 0 or > 1)
            {
                return $"{name}: diff {diff} for row ({id}, {k}, {v}) at {time} makes its multiplicity {multiplicity}";
            }
            contents[(id, k, v)] = multiplicity;
        }
        return null;
    }

    /// <summary>All cuts must be one chain under inclusion, ordered consistently with real time.</summary>
    private static string? CheckOneOrder(List<RowChain> chains, List<Cut> cuts)
    {
        var sorted = cuts.OrderBy(c => c.Sum).ThenBy(c => c.StartNanos).ToList();
        for (int i = 1; i < sorted.Count; i++)
        {
            (int below, int above, int witnessBelow, int witnessAbove) = Compare(sorted[i - 1], sorted[i]);
            if (below > 0 && above > 0)
            {
                return $"two states of t fit no single order: {sorted[i - 1].Label} saw {Describe(chains[witnessAbove], sorted[i - 1].Positions[witnessAbove])} "
                    + $"where {sorted[i].Label} saw {Describe(chains[witnessAbove], sorted[i].Positions[witnessAbove])}, yet the first saw "
                    + $"{Describe(chains[witnessBelow], sorted[i - 1].Positions[witnessBelow])} where the second saw {Describe(chains[witnessBelow], sorted[i].Positions[witnessBelow])}";
            }
        }
        // A state that started after another ended must hold at least as much: find, for each cut, the latest-starting
        // cut among the strictly smaller ones, and confirm a suspected violation with an exact comparison.
        Cut? latestStartBelow = null;
        int group = 0;
        while (group < sorted.Count)
        {
            int groupEnd = group;
            while (groupEnd < sorted.Count && sorted[groupEnd].Sum == sorted[group].Sum)
            {
                groupEnd++;
            }
            for (int i = group; i < groupEnd; i++)
            {
                Cut cut = sorted[i];
                if (latestStartBelow is not null && latestStartBelow.StartNanos > cut.EndNanos)
                {
                    (int below, int above, _, int witness) = Compare(latestStartBelow, cut);
                    if (above == 0 && below > 0)
                    {
                        return $"{latestStartBelow.Label} started after {cut.Label} ended, yet saw less: "
                            + $"{Describe(chains[witness], latestStartBelow.Positions[witness])} instead of {Describe(chains[witness], cut.Positions[witness])}";
                    }
                }
            }
            for (int i = group; i < groupEnd; i++)
            {
                if (latestStartBelow is null || sorted[i].StartNanos > latestStartBelow.StartNanos)
                {
                    latestStartBelow = sorted[i];
                }
            }
            group = groupEnd;
        }
        return null;
    }

    /// <summary>How many rows <paramref name="a"/> holds fewer (below) and more (above) writes of than <paramref name="b"/>, with a witness row of each.</summary>
    private static (int Below, int Above, int WitnessBelow, int WitnessAbove) Compare(Cut a, Cut b)
    {
        int below = 0, above = 0, witnessBelow = -1, witnessAbove = -1;
        for (int c = 0; c < a.Positions.Length; c++)
        {
            int x = a.Positions[c], y = b.Positions[c];
            if (x == Wildcard || y == Wildcard || x == y)
            {
                continue;
            }
            if (x < y)
            {
                below++;
                witnessBelow = witnessBelow < 0 ? c : witnessBelow;
            }
            else
            {
                above++;
                witnessAbove = witnessAbove < 0 ? c : witnessAbove;
            }
        }
        return (below, above, witnessBelow, witnessAbove);
    }

    /// <summary>
    /// Whether a read of mv equals the GROUP BY of some admissible state of t: true, false (with why), or null when
    /// there were too many candidate states to try (or, with a message, when the read itself is malformed).
    /// </summary>
    private static (bool? Matched, string Detail) CheckViewRead(List<RowChain> chains, int[] committed, long[][] effectiveEnd, ReadRecord read)
    {
        string label = $"{(read.Final ? "final read" : "read")} of mv by {read.Client} [{Ms(read.StartNanos)}, {Ms(read.EndNanos)}]";
        var observed = new SortedDictionary<int, (long Count, long Sum)>();
        foreach (string?[] row in read.Rows)
        {
            if (row.Length != 3 || !TryInt(row[0], out int k)
                || !long.TryParse(row[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long count)
                || !long.TryParse(row[2], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long sum)
                || !observed.TryAdd(k, (count, sum)))
            {
                return (null, $"{label} returned a malformed or repeated row ({string.Join(",", row)})");
            }
        }
        var fixedAggregate = new SortedDictionary<int, (long Count, long Sum)>();
        var free = new List<(int Chain, int Low, int High)>();
        long candidates = 1;
        for (int c = 0; c < chains.Count; c++)
        {
            int low = -1, high = -1;
            for (int j = 0; j < committed[c]; j++)
            {
                if (effectiveEnd[c][j] < read.StartNanos)
                {
                    low = j;
                }
                if (chains[c].Ops[j].StartNanos < read.EndNanos)
                {
                    high = j;
                }
            }
            high = Math.Max(low, high);
            if (low == high)
            {
                Add(fixedAggregate, chains[c], low);
            }
            else
            {
                free.Add((c, low, high));
                candidates *= high - low + 1;
                if (candidates > ViewCandidatesMax)
                {
                    return (null, "");
                }
            }
        }
        var choice = new int[free.Count];
        for (int f = 0; f < free.Count; f++)
        {
            choice[f] = free[f].Low;
        }
        // Bounded by candidates ≤ ViewCandidatesMax: an odometer over the free rows' positions.
        for (long n = 0; n < candidates; n++)
        {
            var aggregate = new SortedDictionary<int, (long Count, long Sum)>(fixedAggregate);
            for (int f = 0; f < free.Count; f++)
            {
                Add(aggregate, chains[free[f].Chain], choice[f]);
            }
            if (SameGroups(aggregate, observed))
            {
                return (true, "");
            }
            for (int f = 0; f < free.Count; f++)
            {
                if (++choice[f] <= free[f].High)
                {
                    break;
                }
                choice[f] = free[f].Low;
            }
        }
        return (false, $"{label} returned {Groups(observed)}, which is the GROUP BY of no state of t the history allows "
            + $"({candidates} candidates; with only the writes that must be in: {Groups(fixedAggregate)} plus {free.Count} rows in flight)");
    }

    private static void Add(SortedDictionary<int, (long Count, long Sum)> aggregate, RowChain chain, int position)
    {
        if (position < 0 || chain.Ops[position].Kind == WriteKind.Delete)
        {
            return;
        }
        (long count, long sum) = aggregate.GetValueOrDefault(chain.K);
        aggregate[chain.K] = (count + 1, sum + chain.Ops[position].Value);
    }

    private static bool SameGroups(SortedDictionary<int, (long Count, long Sum)> model, SortedDictionary<int, (long Count, long Sum)> observed)
    {
        int nonEmpty = 0;
        foreach ((int k, (long count, long sum)) in model)
        {
            if (count == 0)
            {
                continue;
            }
            nonEmpty++;
            if (!observed.TryGetValue(k, out (long Count, long Sum) seen) || seen != (count, sum))
            {
                return false;
            }
        }
        return nonEmpty == observed.Count;
    }

    private static string Groups(SortedDictionary<int, (long Count, long Sum)> groups) =>
        "{" + string.Join(", ", groups.Where(g => g.Value.Count != 0).Select(g => $"{g.Key}: count {g.Value.Count} sum {g.Value.Sum}")) + "}";
}
