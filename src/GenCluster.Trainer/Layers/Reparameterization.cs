using static TorchSharp.torch;

namespace GenCluster.Trainer.Layers;

/// <summary>
/// The reparametrisation trick (Kingma &amp; Welling 2014, §2.4): z = μ + σ·ε with ε ~ N(0, I) drawn outside the
/// graph, so z is a differentiable function of the encoder's μ and log σ².
/// </summary>
public static class Reparameterization
{
    /// <summary>z = μ + exp(½ log σ²)·ε.</summary>
    public static Tensor Sample(Tensor mean, Tensor logVariance, Tensor noise) =>
        mean + logVariance.mul(0.5).exp() * noise;
}
