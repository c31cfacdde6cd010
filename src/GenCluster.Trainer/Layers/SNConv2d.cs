using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenCluster.Trainer.Layers;

/// <summary>
/// A 2-D convolution with spectral normalisation (Miyato et al. 2018): the [out, in, k, k] kernel is viewed as an
/// [out, in·k·k] matrix W and divided by its largest singular value σ(W), estimated by power iteration as
/// <c>torch.nn.utils.spectral_norm(nn.Conv2d(...))</c> does (dim 0).
/// </summary>
/// <remarks>
/// Checkpoint keys: <c>weight</c> [out, in, k, k], <c>bias</c> [out] (when present), <c>u</c> [out]. Initialisation as
/// <c>nn.Conv2d</c>: weight and bias from U(−1/√(in·k²), 1/√(in·k²)). σ normalises the reshaped matrix, not the
/// convolution operator's exact norm, as in the paper.
/// </remarks>
public sealed class SNConv2d : Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly Parameter? bias;
    private readonly Tensor u;
    private readonly long stride;
    private readonly long padding;

    /// <summary>Creates the layer.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels (rows of W, length of u).</param>
    /// <param name="kernelSize">Square kernel side, in pixels.</param>
    /// <param name="stride">Stride, in pixels.</param>
    /// <param name="padding">Zero padding on each side, in pixels.</param>
    /// <param name="hasBias">Whether to add a learned bias (the bias is not normalised).</param>
    /// <param name="generator">Random source for the weight, bias and u; null = torch's default generator.</param>
    /// <param name="powerIterations">Power iterations per training-mode forward; ≥ 1.</param>
    public SNConv2d(long inChannels, long outChannels, long kernelSize, long stride = 1, long padding = 0, bool hasBias = true,
        Generator? generator = null, int powerIterations = 1)
        : base(nameof(SNConv2d))
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inChannels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outChannels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(kernelSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(stride, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        ArgumentOutOfRangeException.ThrowIfLessThan(powerIterations, 1);
        PowerIterations = powerIterations;
        this.stride = stride;
        this.padding = padding;
        var bound = 1.0 / Math.Sqrt(inChannels * kernelSize * kernelSize);
        weight = Parameter(SeededInit.Uniform(torch.empty(outChannels, inChannels, kernelSize, kernelSize), -bound, bound, generator));
        if (hasBias) bias = Parameter(SeededInit.Uniform(torch.empty(outChannels), -bound, bound, generator));
        u = SpectralNormMath.InitialU(outChannels, weight.dtype, generator);
        RegisterComponents();
    }

    /// <summary>The raw (unnormalised) kernel parameter [out, in, k, k], for initialisation.</summary>
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

    /// <summary>Convolves [N, in, H, W] to [N, out, H', W'] with the spectrally normalised kernel.</summary>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var w = SpectralNormMath.NormalisedWeight(weight, u, 0, training, PowerIterations);
        return scope.MoveToOuter(functional.conv2d(input, w, bias, strides: [stride, stride], padding: [padding, padding]));
    }
}
