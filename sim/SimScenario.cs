using System;

namespace Kernel.Sim;

/// <summary>
/// A simulation scenario: which nodes exist, what the workload does, and what must hold. A new instance is
/// created for every run, so a scenario may keep its reference model and checker state in fields.
/// </summary>
public abstract class SimScenario
{
    public abstract string Name { get; }

    /// <summary>One line: what runs and which property is checked.</summary>
    public abstract string Description { get; }

    /// <summary>The faults the system under test claims to survive; <see cref="FaultMode.Tolerated"/> runs draw only these.</summary>
    public virtual FaultKinds Tolerates => FaultKinds.Standard;

    public virtual SimLimits Limits => new();

    /// <summary>A rough step count of a run, used to place PCT's priority-change points.</summary>
    public virtual long ExpectedSteps => 5_000;

    /// <summary>
    /// The name seeds are mixed with. A variant of a scenario (one setting changed) keeps its base's name here, so that a
    /// seed means the same faults and schedule choices in both and a failure of one can be replayed in the other.
    /// </summary>
    public virtual string SeedName => Name;

    /// <summary>True for scenarios with a deliberately planted bug, kept to show the simulator finds it; they are expected to fail.</summary>
    public virtual bool HasPlantedBug => false;

    /// <summary>Adds the nodes. Workload nodes (see <see cref="SimNodeOptions.Workload"/>) decide when the run ends.</summary>
    public abstract void Setup(SimWorld world);

    /// <summary>Checks run after the workload finished; returns a failure message, or null.</summary>
    public virtual string? Check(SimWorld world) => null;
}

/// <summary>A named way to make a scenario.</summary>
public sealed record ScenarioEntry(string Name, string Description, bool HasPlantedBug, Func<SimScenario> Create);
