using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Evaluation;
/// <summary>
/// The Fréchet distance between two Gaussians (Heusel et al. 2017, the "F" of FID):
/// ‖μ1 − μ2‖² + Tr(Σ1) + Tr(Σ2) − 2·Tr((Σ1^½ Σ2 Σ1^½)^½).
/// </summary>
/// <remarks>
/// Computed in float64 with symmetric eigendecompositions: Σ1^½ = V·diag(√λ)·Vᵀ, then the trace term is Σ√λ of the
/// symmetric matrix Σ1^½ Σ2 Σ1^½ (its eigenvalues are those of Σ1Σ2). Eigenvalues that rounding makes slightly negative
/// are clamped to 0, and so is a result that rounding puts just below 0. Unlike scipy.linalg.sqrtm on the non-symmetric product Σ1Σ2, this never yields complex parts.
/// </remarks>
public static class FrechetDistance
{
    /// <summary>FD between Gaussians fitted to the rows of <paramref name="features1"/> and <paramref name="features2"/> ([n, d] each).</summary>
    public static double Compute(Tensor features1, Tensor features2)
    {
        using var first = GaussianMoments.Fit(features1);
        using var second = GaussianMoments.Fit(features2);
        return FromMoments(first, second);
    }

    /// <summary>FD between two fitted Gaussians.</summary>
    public static double FromMoments(GaussianMoments first, GaussianMoments second) =>
        FromMoments(first.Mean, first.Covariance, second.Mean, second.Covariance);

    /// <summary>FD between N(<paramref name="mu1"/>, <paramref name="sigma1"/>) and N(<paramref name="mu2"/>, <paramref name="sigma2"/>); means [d], covariances [d, d] symmetric positive semi-definite.</summary>
    public static double FromMoments(Tensor mu1, Tensor sigma1, Tensor mu2, Tensor sigma2)
    {
        var d = mu1.shape.Length == 1 ? mu1.shape[0] : -1;
        if (d < 1 || !mu2.shape.SequenceEqual([d]) || !sigma1.shape.SequenceEqual([d, d]) || !sigma2.shape.SequenceEqual([d, d]))
            throw new ArgumentException(
                $"expected means [d] and covariances [d, d] of one d; got mu1 [{string.Join(", ", mu1.shape)}], sigma1 [{string.Join(", ", sigma1.shape)}], " +
                $"mu2 [{string.Join(", ", mu2.shape)}], sigma2 [{string.Join(", ", sigma2.shape)}]");
        using var scope = torch.NewDisposeScope();
        var m1 = mu1.to_type(ScalarType.Float64);
        var m2 = mu2.to_type(ScalarType.Float64);
        var s1 = Symmetric(sigma1.to_type(ScalarType.Float64));
        var s2 = Symmetric(sigma2.to_type(ScalarType.Float64));

        var (values, vectors) = torch.linalg.eigh(s1);
        var root1 = vectors.matmul(torch.diag(values.clamp_min(0).sqrt())).matmul(vectors.T);
        var product = Symmetric(root1.matmul(s2).matmul(root1));
        var traceRoot = torch.linalg.eigvalsh(product).clamp_min(0).sqrt().sum();

        var meanTerm = (m1 - m2).square().sum();
        var distance = meanTerm + s1.trace() + s2.trace() - 2 * traceRoot;
        return Math.Max(0, distance.item<double>());
    }

    private static Tensor Symmetric(Tensor m) => (m + m.T) / 2;
}
