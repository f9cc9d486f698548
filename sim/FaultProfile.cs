using System;
using System.Collections.Generic;
using System.Globalization;
using Kernel.Runtime;

namespace Kernel.Sim;

/// <summary>The kinds of fault the simulator can inject. A scenario declares which ones its system claims to tolerate.</summary>
[Flags]
public enum FaultKinds
{
    None = 0,

    /// <summary>Random per-frame latency with a slow tail.</summary>
    NetworkDelay = 1 << 0,

    /// <summary>A lost frame breaks its connection (what a TCP peer sees as a reset).</summary>
    ConnectionLoss = 1 << 1,

    /// <summary>A frame delivered twice on one connection: beyond TCP, only for protocols built to absorb it.</summary>
    FrameDuplication = 1 << 2,

    /// <summary>Frames of one connection delivered out of order: beyond TCP, only for protocols built to absorb it.</summary>
    FrameReordering = 1 << 3,

    /// <summary>Symmetric and asymmetric partitions, and isolating one node.</summary>
    Partition = 1 << 4,

    /// <summary>A node's links slowed for a while (FoundationDB's clogging).</summary>
    Clog = 1 << 5,

    /// <summary>Node crash (losing queued work, timers, connections, unflushed writes) and restart.</summary>
    Crash = 1 << 6,

    /// <summary>A node stops running for a while, as in a long GC pause or a stalled VM.</summary>
    Pause = 1 << 7,

    /// <summary>At a crash, each unflushed write survives only with some probability.</summary>
    LoseUnflushed = 1 << 8,

    /// <summary>At a crash, an unflushed write may survive as a sector-aligned prefix.</summary>
    TornWrites = 1 << 9,

    /// <summary>A read returns data with one bit flipped.</summary>
    Corruption = 1 << 10,

    /// <summary>Disk operation latency with spikes.</summary>
    DiskLatency = 1 << 11,

    /// <summary>Disk operations fail with EIO; a failed write may or may not have happened, a failed fsync may drop dirty pages.</summary>
    IoErrors = 1 << 12,

    /// <summary>Wall-clock offset, drift and steps (monotonic time never goes back).</summary>
    ClockSkew = 1 << 13,

    /// <summary>What a system over TCP and fsync'd files should survive: everything but in-connection duplication, reordering and corruption.</summary>
    Standard = NetworkDelay | ConnectionLoss | Partition | Clog | Crash | Pause | LoseUnflushed | TornWrites | DiskLatency | IoErrors | ClockSkew,

    All = Standard | FrameDuplication | FrameReordering | Corruption,
}

/// <summary>Which faults a run draws from.</summary>
public enum FaultMode
{
    /// <summary>Only the faults the scenario claims to tolerate: any failure is a real bug.</summary>
    Tolerated,

    /// <summary>The whole catalogue: shows what breaks the system when its assumptions fail.</summary>
    All,

    /// <summary>No faults: only scheduling and latency choices.</summary>
    None,
}

/// <summary>
/// The fault rates of one run. Drawn per seed ("swarm testing", as TigerBeetle's VOPR does): each kind is
/// switched on for only some seeds, and its rates are themselves random, so the seed range covers calm
/// runs, runs dominated by one fault and runs with everything at once.
/// </summary>
public sealed class FaultProfile
{
    public FaultKinds Enabled { get; init; }

    public double NetLatencyMinMs { get; init; }
    public double NetLatencyMeanMs { get; init; }
    public double NetSlowTailProbability { get; init; }
    public double ConnectionLossProbability { get; init; }
    public double DuplicateProbability { get; init; }
    public double ReorderProbability { get; init; }

    /// <summary>Chance per fault tick (100 ms of virtual time) of each chaos event.</summary>
    public double PartitionPerTick { get; init; }
    public double ClogPerTick { get; init; }
    public double CrashPerTick { get; init; }
    public double PausePerTick { get; init; }
    public double ClockStepPerTick { get; init; }
    public double RestartDelayMeanMs { get; init; }

    public double LoseUnflushedProbability { get; init; }
    public double TornWriteProbability { get; init; }
    public double CorruptReadProbability { get; init; }
    public double DiskLatencyMeanMs { get; init; }
    public double DiskSpikeProbability { get; init; }
    public double IoErrorProbability { get; init; }

    public double ClockSkewMs { get; init; }
    public double ClockDriftPpm { get; init; }

    /// <summary>No faults at all, and small fixed latencies.</summary>
    public static FaultProfile Calm { get; } = new() { NetLatencyMinMs = 0.05, NetLatencyMeanMs = 0.2, DiskLatencyMeanMs = 0.05 };

    /// <summary>Draws a profile from <paramref name="random"/>, limited to <paramref name="allowed"/>.</summary>
    public static FaultProfile Draw(IRandom random, FaultKinds allowed)
    {
        // Each kind is on for about half the seeds; the rates below are drawn whether or not it is on,
        // so switching one kind on or off for a scenario does not shift the other kinds' draws.
        FaultKinds enabled = FaultKinds.None;
        foreach (FaultKinds kind in Enum.GetValues<FaultKinds>())
        {
            if (kind is FaultKinds.None or FaultKinds.Standard or FaultKinds.All)
            {
                continue;
            }
            bool on = random.Chance(kind is FaultKinds.NetworkDelay or FaultKinds.DiskLatency ? 0.8 : 0.5);
            if (on && (allowed & kind) != 0)
            {
                enabled |= kind;
            }
        }
        double Rate(FaultKinds kind, double value) => (enabled & kind) != 0 ? value : 0;
        double U(double low, double high) => low + (random.NextDouble() * (high - low));
        double netMin = U(0.01, 2), netMean = U(0.1, 20), tail = U(0, 0.05);
        double loss = U(0, 0.01), dup = U(0, 0.2), reorder = U(0, 0.2);
        double partition = U(0, 0.03), clog = U(0, 0.03), crash = U(0, 0.1), pause = U(0, 0.02), step = U(0, 0.01);
        double restart = U(10, 2000);
        double lose = random.Next(3) switch { 0 => 1.0, 1 => 0.5, _ => random.NextDouble() };
        double torn = U(0, 0.5), corrupt = U(0, 0.01), diskMean = U(0.01, 2), spike = U(0, 0.02), ioError = U(0, 0.01);
        double skew = U(-60_000, 60_000), drift = U(-500, 500);
        bool netDelay = (enabled & FaultKinds.NetworkDelay) != 0;
        bool diskDelay = (enabled & FaultKinds.DiskLatency) != 0;
        return new FaultProfile
        {
            Enabled = enabled,
            NetLatencyMinMs = netDelay ? netMin : Calm.NetLatencyMinMs,
            NetLatencyMeanMs = netDelay ? netMean : Calm.NetLatencyMeanMs,
            NetSlowTailProbability = Rate(FaultKinds.NetworkDelay, tail),
            ConnectionLossProbability = Rate(FaultKinds.ConnectionLoss, loss),
            DuplicateProbability = Rate(FaultKinds.FrameDuplication, dup),
            ReorderProbability = Rate(FaultKinds.FrameReordering, reorder),
            PartitionPerTick = Rate(FaultKinds.Partition, partition),
            ClogPerTick = Rate(FaultKinds.Clog, clog),
            CrashPerTick = Rate(FaultKinds.Crash, crash),
            PausePerTick = Rate(FaultKinds.Pause, pause),
            ClockStepPerTick = Rate(FaultKinds.ClockSkew, step),
            RestartDelayMeanMs = restart,
            LoseUnflushedProbability = Rate(FaultKinds.LoseUnflushed, lose),
            TornWriteProbability = Rate(FaultKinds.TornWrites, torn),
            CorruptReadProbability = Rate(FaultKinds.Corruption, corrupt),
            DiskLatencyMeanMs = diskDelay ? diskMean : Calm.DiskLatencyMeanMs,
            DiskSpikeProbability = Rate(FaultKinds.DiskLatency, spike),
            IoErrorProbability = Rate(FaultKinds.IoErrors, ioError),
            ClockSkewMs = Rate(FaultKinds.ClockSkew, skew),
            ClockDriftPpm = Rate(FaultKinds.ClockSkew, drift),
        };
    }

    public override string ToString()
    {
        var parts = new List<string>();
        foreach (FaultKinds kind in Enum.GetValues<FaultKinds>())
        {
            if (kind is not (FaultKinds.None or FaultKinds.Standard or FaultKinds.All) && (Enabled & kind) != 0)
            {
                parts.Add(kind.ToString());
            }
        }
        return parts.Count == 0 ? "none" : string.Join(",", parts) + string.Create(CultureInfo.InvariantCulture, $" (net {NetLatencyMeanMs:0.##}ms, crash/tick {CrashPerTick:0.###})");
    }
}
