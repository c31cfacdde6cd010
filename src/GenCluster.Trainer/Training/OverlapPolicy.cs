using GenCluster.Contracts.Workers;

namespace GenCluster.Trainer.Training;

/// <summary>
/// Whether a trainer all-reduces gradients during backward (<see cref="BackwardOverlap"/>): <c>on</c>, <c>off</c>, or
/// <c>auto</c> (the default), which overlaps only where the host leaves every trainer on it a core beyond its compute
/// threads (<see cref="ThreadBudget"/> leaves one from four cores each).
/// </summary>
/// <remarks>
/// Overlap moves the ring's work (socket copies, the kernel's network stack, the reduction) from the moment backward
/// ends, when the compute thread waits anyway and its core is free, into backward itself. With a spare core that work
/// runs beside the computation and the wait shrinks. Without one it preempts the computation: measured on two cores
/// with two one-thread trainers, both on one host and across 1 Gbit links between network-namespace hosts, overlap
/// added 10–20 ms of CPU per DCGAN step and exposed more communication than all-reducing after backward.
/// </remarks>
public static class OverlapPolicy
{
    /// <summary>The accepted values of <c>Trainer:OverlapBackward</c> (<see cref="OverlapModes"/>).</summary>
    public static IReadOnlyList<string> Modes => OverlapModes.All;

    /// <summary>
    /// The decision for a trainer running <paramref name="computeThreads"/> compute threads (0 = libtorch's default, every
    /// core) beside <paramref name="ranksOnHost"/> − 1 others on a host of <paramref name="cores"/> cores.
    /// </summary>
    public static bool Overlaps(string mode, int cores, int computeThreads, int ranksOnHost) => mode switch
    {
        "on" => true,
        "off" => false,
        "auto" => computeThreads > 0 && cores - computeThreads * Math.Max(1, ranksOnHost) >= Math.Max(1, ranksOnHost),
        _ => throw new ArgumentException($"Trainer:OverlapBackward must be one of {string.Join(", ", Modes)}, got '{mode}'", nameof(mode)),
    };
}
