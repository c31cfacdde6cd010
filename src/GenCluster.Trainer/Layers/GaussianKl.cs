using static TorchSharp.torch;

namespace GenCluster.Trainer.Layers;

/// <summary>
/// The KL divergence of a diagonal Gaussian q = N(μ, diag σ²) from the standard normal prior, in closed form
/// (Kingma &amp; Welling 2014, appendix B): KL(q ‖ N(0, I)) = ½ Σ_j (μ_j² + σ_j² − 1 − log σ_j²).
/// </summary>
public static class GaussianKl
{
    /// <summary>KL per row [N] in nats, from μ and log σ² [N, J].</summary>
    public static Tensor ToStandardNormal(Tensor mean, Tensor logVariance) =>
        (mean.square() + logVariance.exp() - 1 - logVariance).sum(1).mul(0.5);
}
