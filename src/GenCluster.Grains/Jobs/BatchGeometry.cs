using GenCluster.Contracts.Jobs;

namespace GenCluster.Grains.Jobs;

/// <summary>How a job's global batch splits over a round's world size.</summary>
public static class BatchGeometry
{
    /// <summary>True when <paramref name="worldSize"/> workers can keep the spec's global batch exactly.</summary>
    public static bool Fits(JobSpec spec, int worldSize) =>
        worldSize > 0 && (spec.GlobalBatch == 0 ||
                          (spec.PerWorkerBatch > 0 && spec.GlobalBatch % ((long)spec.PerWorkerBatch * worldSize) == 0));

    /// <summary>
    /// Micro-batches per step for a round of <paramref name="worldSize"/>: GlobalBatch / (PerWorkerBatch × worldSize)
    /// when a global batch is set (so it stays fixed as the world size changes), else the spec's GradientAccumulation.
    /// </summary>
    public static int GradientAccumulation(JobSpec spec, int worldSize)
    {
        if (spec.GlobalBatch == 0) return spec.GradientAccumulation;
        if (!Fits(spec, worldSize))
            throw new ArgumentException(
                $"globalBatch {spec.GlobalBatch} is not a multiple of perWorkerBatch {spec.PerWorkerBatch} × world size {worldSize}",
                nameof(worldSize));
        return (int)(spec.GlobalBatch / ((long)spec.PerWorkerBatch * worldSize));
    }

    /// <summary>World sizes in minWorkers..maxWorkers that keep the global batch exact, ascending.</summary>
    public static IReadOnlyList<int> WorldSizes(JobSpec spec)
    {
        if (spec.MinWorkers < 1 || spec.MaxWorkers < spec.MinWorkers) return [];
        var sizes = new List<int>();
        // A long counter: an int one would wrap past int.MaxValue and never end.
        for (long n = spec.MinWorkers; n <= spec.MaxWorkers; n++)
            if (Fits(spec, (int)n)) sizes.Add((int)n);
        return sizes;
    }
}
