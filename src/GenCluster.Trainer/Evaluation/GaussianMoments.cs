using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Evaluation;

/// <summary>Mean and covariance of a Gaussian fitted to a feature set (float64).</summary>
/// <param name="Mean">μ, [d].</param>
/// <param name="Covariance">Σ, [d, d], the unbiased sample covariance (divided by n − 1, as numpy.cov and the FID reference code).</param>
public sealed record GaussianMoments(Tensor Mean, Tensor Covariance) : IDisposable
{
    /// <summary>Fits μ and Σ to the rows of <paramref name="features"/> [n, d] (n ≥ 2).</summary>
    public static GaussianMoments Fit(Tensor features)
    {
        if (features.ndim != 2 || features.shape[0] < 2)
            throw new ArgumentException($"features must be [n ≥ 2, d], got [{string.Join(", ", features.shape)}]", nameof(features));
        using var scope = torch.NewDisposeScope();
        var x = features.to_type(ScalarType.Float64);
        var mean = x.mean([0]);
        var centred = x - mean;
        var covariance = centred.T.matmul(centred) / (x.shape[0] - 1);
        return new GaussianMoments(scope.MoveToOuter(mean), scope.MoveToOuter(covariance));
    }

    /// <summary>Disposes both tensors.</summary>
    public void Dispose()
    {
        Mean.Dispose();
        Covariance.Dispose();
    }
}
