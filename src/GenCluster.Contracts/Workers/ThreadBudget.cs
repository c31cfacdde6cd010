namespace GenCluster.Contracts.Workers;

/// <summary>
/// How a host's cores are shared between its trainers' compute threads (libtorch's intra-op pool) and their ring
/// threads (the gradient all-reduce, which runs on the .NET thread pool while backward computes, once gradients overlap).
/// </summary>
/// <remarks>
/// Every trainer gets its share of the cores. With four or more cores each, one of them is left to the ring: the ring
/// reduces and copies while backward runs, and a compute pool that already fills every core would be preempted by it,
/// stalling the whole intra-op team at its next barrier. With fewer the ring's work is small next to a core (a few
/// milliseconds per step for a DCGAN) and taking a core from compute would cost far more than it saves.
/// </remarks>
public static class ThreadBudget
{
    /// <summary>Cores per trainer from which one is kept for the ring.</summary>
    public const int RingReserveFrom = 4;

    /// <summary>Compute threads per trainer for <paramref name="trainersOnHost"/> trainers sharing <paramref name="cores"/> cores.</summary>
    public static int ComputeThreads(int cores, int trainersOnHost)
    {
        if (cores < 1) throw new ArgumentOutOfRangeException(nameof(cores), cores, "cores must be at least 1");
        if (trainersOnHost < 1) throw new ArgumentOutOfRangeException(nameof(trainersOnHost), trainersOnHost, "trainersOnHost must be at least 1");
        var share = Math.Max(1, cores / trainersOnHost);
        return share >= RingReserveFrom ? share - 1 : share;
    }
}
