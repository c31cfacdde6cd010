using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Evaluation;
/// <summary>
/// Kernel Inception Distance (Bińkowski et al. 2018, "Demystifying MMD GANs"): the unbiased estimate of the squared
/// maximum mean discrepancy with the cubic polynomial kernel k(x, y) = (xᵀy / d + 1)³, averaged over random subsets.
/// </summary>
/// <remarks>
/// For X of m rows and Y of n rows: MMD²ᵤ = Σ_{i≠j} k(xᵢ, xⱼ) / (m(m−1)) + Σ_{i≠j} k(yᵢ, yⱼ) / (n(n−1)) − 2 Σ_{i,j} k(xᵢ, yⱼ) / (mn).
/// Unbiased, so it can be slightly negative when the distributions agree. Computed in float64.
/// </remarks>
public static class KernelDistance
{
    /// <summary>Default number of subsets.</summary>
    public const int DefaultSubsets = 10;

    /// <summary>Default rows per subset.</summary>
    public const int DefaultSubsetSize = 1000;

    /// <summary>
    /// KID between the rows of <paramref name="features1"/> and <paramref name="features2"/> ([n, d] each): for each of
    /// <paramref name="subsets"/> subsets, min(<paramref name="subsetSize"/>, n1, n2) rows are drawn without replacement
    /// from each set (System.Random seeded with <paramref name="seed"/>) and MMD²ᵤ is computed.
    /// </summary>
    public static KernelDistanceResult Compute(Tensor features1, Tensor features2,
        int subsets = DefaultSubsets, int subsetSize = DefaultSubsetSize, int seed = 0)
    {
        if (features1.ndim != 2 || features2.ndim != 2 || features1.shape[1] != features2.shape[1])
            throw new ArgumentException($"expected [n1, d] and [n2, d], got [{string.Join(", ", features1.shape)}] and [{string.Join(", ", features2.shape)}]");
        if (subsets < 1) throw new ArgumentOutOfRangeException(nameof(subsets), $"subsets must be positive, got {subsets}");
        var n1 = (int)features1.shape[0];
        var n2 = (int)features2.shape[0];
        var m = Math.Min(subsetSize, Math.Min(n1, n2));
        if (m < 2)
            throw new ArgumentException($"KID needs at least 2 rows per set, got {n1} and {n2} (subset size {subsetSize})");
        var random = new Random(seed);
        var estimates = new double[subsets];
        using var x = features1.to_type(ScalarType.Float64);
        using var y = features2.to_type(ScalarType.Float64);
        for (var s = 0; s < subsets; s++)
        {
            using var scope = torch.NewDisposeScope();
            var a = x.index_select(0, torch.tensor(Draw(random, n1, m)));
            var b = y.index_select(0, torch.tensor(Draw(random, n2, m)));
            estimates[s] = UnbiasedMmd2(a, b);
        }
        var mean = estimates.Average();
        var std = Math.Sqrt(estimates.Select(e => (e - mean) * (e - mean)).Average());
        return new KernelDistanceResult(mean, std, subsets, m);
    }

    /// <summary>MMD²ᵤ with the cubic polynomial kernel between all rows of <paramref name="x"/> [m, d] and <paramref name="y"/> [n, d] (m, n ≥ 2).</summary>
    public static double UnbiasedMmd2(Tensor x, Tensor y)
    {
        using var scope = torch.NewDisposeScope();
        var a = x.to_type(ScalarType.Float64);
        var b = y.to_type(ScalarType.Float64);
        var m = a.shape[0];
        var n = b.shape[0];
        var kxx = Kernel(a, a);
        var kyy = Kernel(b, b);
        var kxy = Kernel(a, b);
        var xx = (kxx.sum() - kxx.trace()) / (m * (m - 1));
        var yy = (kyy.sum() - kyy.trace()) / (n * (n - 1));
        var xy = kxy.sum() / (m * n);
        return (xx + yy - 2 * xy).item<double>();
    }

    /// <summary>The kernel matrix k(xᵢ, yⱼ) = (xᵢᵀyⱼ / d + 1)³ for rows of <paramref name="x"/> [m, d] and <paramref name="y"/> [n, d].</summary>
    public static Tensor Kernel(Tensor x, Tensor y) => (x.matmul(y.T) / x.shape[1] + 1).pow(3);

    private static long[] Draw(Random random, int n, int m)
    {
        var all = Enumerable.Range(0, n).ToArray();
        // A partial Fisher–Yates shuffle: the first m entries are a uniform draw without replacement.
        for (var i = 0; i < m; i++)
        {
            var j = random.Next(i, n);
            (all[i], all[j]) = (all[j], all[i]);
        }
        return all.Take(m).Select(i => (long)i).ToArray();
    }
}
