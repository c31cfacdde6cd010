using GenCluster.Fuzz.Targets;

namespace GenCluster.Fuzz;

/// <summary>The fuzz targets by name.</summary>
internal static class FuzzTargets
{
    /// <summary>Every target, in the order <c>run.sh all</c> runs them.</summary>
    public static IReadOnlyList<string> Names { get; } = [RingFrameTarget.Name, HpackTarget.Name, RingMessageTarget.Name, JobSpecTarget.Name];

    /// <summary>
    /// What makes the target called <paramref name="name"/>. Nothing of the target runs yet: under afl-fuzz only
    /// SharpFuzz's child process may run instrumented code, not the fork server that checks the name.
    /// </summary>
    /// <exception cref="ArgumentException">Not a target's name; the message lists them.</exception>
    public static Func<IFuzzTarget> Factory(string name) => name switch
    {
        RingFrameTarget.Name => () => new RingFrameTarget(),
        HpackTarget.Name => () => new HpackTarget(),
        RingMessageTarget.Name => () => new RingMessageTarget(),
        JobSpecTarget.Name => () => new JobSpecTarget(),
        _ => throw new ArgumentException($"unknown fuzz target '{name}'; expected one of {string.Join(", ", Names)}", nameof(name)),
    };
}
