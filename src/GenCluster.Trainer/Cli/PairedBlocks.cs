using GenCluster.Trainer.Training;

namespace GenCluster.Trainer.Cli;

/// <summary>
/// The exposed time of <c>bench overhead</c> as a mean over paired blocks, with a 95% confidence interval: each block
/// of steps with the ring is compared with the block without it that ran just before, so slow drift (other load, the
/// runtime's recompilation) cancels, and the spread of the per-block differences says how far the figure can be
/// trusted on a noisy machine.
/// </summary>
public static class PairedBlocks
{
    /// <summary>
    /// Per block b of <paramref name="block"/> steps: the median over its steps of the slowest rank's step with the ring,
    /// minus the slowest rank's own median step without it (as <c>step_ms_alone</c> is taken); the mean of these
    /// differences over the blocks both modes completed, and the half-width of its 95% Student-t interval (NaN with
    /// fewer than two blocks).
    /// </summary>
    public static (double Mean, double HalfWidth95, int Blocks) ExposedPerStep(double[][] ringStepsPerRank, double[][] aloneStepsPerRank, int block)
    {
        if (block < 1) throw new ArgumentOutOfRangeException(nameof(block), block, "block: expected at least 1 step");
        var steps = Math.Min(ringStepsPerRank.Min(r => r.Length), aloneStepsPerRank.Min(r => r.Length));
        var differences = new List<double>();
        for (var start = 0; start + block <= steps; start += block)
        {
            var ring = StepBenchmark.UpperMedian(Enumerable.Range(start, block).Select(i => ringStepsPerRank.Max(r => r[i])));
            var alone = aloneStepsPerRank.Max(r => StepBenchmark.UpperMedian(r.Skip(start).Take(block)));
            differences.Add(ring - alone);
        }
        var n = differences.Count;
        if (n == 0) return (double.NaN, double.NaN, 0);
        var mean = differences.Average();
        if (n == 1) return (mean, double.NaN, 1);
        var variance = differences.Sum(d => (d - mean) * (d - mean)) / (n - 1);
        return (mean, StudentT975(n - 1) * Math.Sqrt(variance / n), n);
    }

    /// <summary>The 97.5% quantile of Student's t with <paramref name="degreesOfFreedom"/> degrees of freedom (tabled to 30, then the normal's 1.96 plus its first correction).</summary>
    public static double StudentT975(int degreesOfFreedom)
    {
        if (degreesOfFreedom < 1) throw new ArgumentOutOfRangeException(nameof(degreesOfFreedom), degreesOfFreedom, "expected at least 1");
        return degreesOfFreedom <= Table.Length ? Table[degreesOfFreedom - 1] : 1.959964 + 2.4 / degreesOfFreedom;
    }

    private static readonly double[] Table =
    [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
        2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
        2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ];
}
