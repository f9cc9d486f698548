using System;
using System.Collections.Generic;

namespace Kernel.Sim.Scenarios;

/// <summary>The scenarios the command line knows by name.</summary>
public static class ScenarioCatalog
{
    public static IReadOnlyList<ScenarioEntry> All { get; } =
    [
        Entry(() => new PingPongScenario()),
        Entry(() => new LockServiceScenario(racy: false)),
        Entry(() => new WriteAheadLogScenario(ackBeforeFsync: false)),
        Entry(() => new PersistScenario()),
        Entry(() => new PersistScenario(inlineUpkeep: true)),
        Entry(() => new PersistScenario(lockFreeConsensus: true)),
        Entry(() => new EndToEnd.EndToEndScenario()),
        Entry(() => new LockServiceScenario(racy: true)),
        Entry(() => new WriteAheadLogScenario(ackBeforeFsync: true)),
    ];

    /// <summary>The name that selects every scenario without a planted bug.</summary>
    public const string ExamplesName = "examples";

    public static bool TryFind(string name, out IReadOnlyList<ScenarioEntry> entries)
    {
        if (string.Equals(name, ExamplesName, StringComparison.Ordinal))
        {
            entries = All.Where(e => !e.HasPlantedBug);
            return true;
        }
        foreach (ScenarioEntry entry in All)
        {
            if (string.Equals(entry.Name, name, StringComparison.Ordinal))
            {
                entries = [entry];
                return true;
            }
        }
        entries = [];
        return false;
    }

    private static ScenarioEntry Entry(Func<SimScenario> create)
    {
        SimScenario sample = create();
        return new ScenarioEntry(sample.Name, sample.Description, sample.HasPlantedBug, create);
    }

    private static List<ScenarioEntry> Where(this IReadOnlyList<ScenarioEntry> entries, Func<ScenarioEntry, bool> keep)
    {
        var kept = new List<ScenarioEntry>();
        foreach (ScenarioEntry entry in entries)
        {
            if (keep(entry))
            {
                kept.Add(entry);
            }
        }
        return kept;
    }
}
