using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenCluster.Trainer.Layers;

/// <summary>
/// A fully connected layer with spectral normalisation (Miyato et al. 2018): y = x (W/σ(W))ᵀ + b, where σ(W) is the
/// largest singular value of the [out, in] weight, estimated by power iteration as
/// <c>torch.nn.utils.spectral_norm(nn.Linear(...))</c> does. Keeps the discriminator 1-Lipschitz per layer.
/// </summary>
/// <remarks>
/// Checkpoint keys: <c>weight</c> [out, in], <c>bias</c> [out] (when present), <c>u</c> [out]. Initialisation as
/// <c>nn.Linear</c>: weight and bias from U(−1/√in, 1/√in); u standard normal, L2-normalised. Training mode runs
/// <see cref="PowerIterations"/> power iterations per forward and updates u in place; eval mode leaves u alone.
/// </remarks>
public sealed class SNLinear : Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly Parameter? bias;
    private readonly Tensor u;

    /// <summary>Creates the layer.</summary>
    /// <param name="inFeatures">Input features (columns of W).</param>
    /// <param name="outFeatures">Output features (rows of W, length of u).</param>
    /// <param name="hasBias">Whether to add a learned bias (the bias is not normalised).</param>
    /// <param name="generator">Random source for the weight, bias and u; null = torch's default generator.</param>
    /// <param name="powerIterations">Power iterations per training-mode forward (PyTorch's n_power_iterations); ≥ 1.</param>
    public SNLinear(long inFeatures, long outFeatures, bool hasBias = true, Generator? generator = null, int powerIterations = 1)
        : base(nameof(SNLinear))
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inFeatures, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outFeatures, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(powerIterations, 1);
        PowerIterations = powerIterations;
        var bound = 1.0 / Math.Sqrt(inFeatures);
        weight = Parameter(SeededInit.Uniform(torch.empty(outFeatures, inFeatures), -bound, bound, generator));
        if (hasBias) bias = Parameter(SeededInit.Uniform(torch.empty(outFeatures), -bound, bound, generator));
        u = SpectralNormMath.InitialU(outFeatures, weight.dtype, generator);
        RegisterComponents();
    }

    /// <summary>The raw (unnormalised) weight parameter [out, in], for initialisation.</summary>
    public Parameter Weight => weight;

    /// <summary>The bias parameter [out], or null when the layer has none.</summary>
    public Parameter? Bias => bias;

    /// <summary>Power iterations run per training-mode forward.</summary>
    public int PowerIterations { get; }

    /// <summary>The current estimate of σ(W) (the divisor eval mode uses), without updating u.</summary>
    public double Sigma() => SpectralNormMath.Sigma(weight, u, 0);

    /// <summary>W/σ as eval mode would use it, detached; for diagnostics and tests.</summary>
    public Tensor NormalisedWeight()
    {
        using var noGrad = torch.no_grad();
        return SpectralNormMath.NormalisedWeight(weight, u, 0, training: false, PowerIterations);
    }

    /// <summary>Maps [..., in] to [..., out] with the spectrally normalised weight.</summary>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var w = SpectralNormMath.NormalisedWeight(weight, u, 0, training, PowerIterations);
        return scope.MoveToOuter(functional.linear(input, w, bias));
    }
}
