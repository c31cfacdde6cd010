using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenCluster.Trainer.Layers;

/// <summary>
/// A 2-D transposed ("fractionally strided") convolution with spectral normalisation (Miyato et al. 2018). The
/// kernel is stored [in, out, k, k] as in <c>nn.ConvTranspose2d</c>; as <c>torch.nn.utils.spectral_norm</c> does
/// for transposed convolutions (dim = 1), the out-channel axis becomes the rows: W is [out, in·k·k], u has length out.
/// </summary>
/// <remarks>
/// Checkpoint keys: <c>weight</c> [in, out, k, k], <c>bias</c> [out] (when present), <c>u</c> [out]. Initialisation as
/// <c>nn.ConvTranspose2d</c>: U(−1/√(out·k²), 1/√(out·k²)) (PyTorch's fan_in is size(1)·k² for this layout).
/// </remarks>
public sealed class SNConvTranspose2d : Module<Tensor, Tensor>
{
    private const long RowDim = 1;

    private readonly Parameter weight;
    private readonly Parameter? bias;
    private readonly Tensor u;
    private readonly long stride;
    private readonly long padding;
    private readonly long outputPadding;

    /// <summary>Creates the layer.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels (rows of W, length of u).</param>
    /// <param name="kernelSize">Square kernel side, in pixels.</param>
    /// <param name="stride">Stride (upsampling factor), in pixels.</param>
    /// <param name="padding">Implicit padding removed from each side of the output, in pixels (as nn.ConvTranspose2d).</param>
    /// <param name="hasBias">Whether to add a learned bias (the bias is not normalised).</param>
    /// <param name="generator">Random source for the weight, bias and u; null = torch's default generator.</param>
    /// <param name="outputPadding">Extra rows/columns added on one side of the output, in pixels; &lt; stride.</param>
    /// <param name="powerIterations">Power iterations per training-mode forward; ≥ 1.</param>
    public SNConvTranspose2d(long inChannels, long outChannels, long kernelSize, long stride = 1, long padding = 0, bool hasBias = true,
        Generator? generator = null, long outputPadding = 0, int powerIterations = 1)
        : base(nameof(SNConvTranspose2d))
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inChannels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outChannels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(kernelSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(stride, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        ArgumentOutOfRangeException.ThrowIfNegative(outputPadding);
        if (outputPadding >= stride)
            throw new ArgumentOutOfRangeException(nameof(outputPadding), outputPadding, $"outputPadding must be smaller than stride ({stride}).");
        ArgumentOutOfRangeException.ThrowIfLessThan(powerIterations, 1);
        PowerIterations = powerIterations;
        this.stride = stride;
        this.padding = padding;
        this.outputPadding = outputPadding;
        var bound = 1.0 / Math.Sqrt(outChannels * kernelSize * kernelSize);
        weight = Parameter(SeededInit.Uniform(torch.empty(inChannels, outChannels, kernelSize, kernelSize), -bound, bound, generator));
        if (hasBias) bias = Parameter(SeededInit.Uniform(torch.empty(outChannels), -bound, bound, generator));
        u = SpectralNormMath.InitialU(outChannels, weight.dtype, generator);
        RegisterComponents();
    }

    /// <summary>The raw (unnormalised) kernel parameter [in, out, k, k], for initialisation.</summary>
    public Parameter Weight => weight;

    /// <summary>The bias parameter [out], or null when the layer has none.</summary>
    public Parameter? Bias => bias;

    /// <summary>Power iterations run per training-mode forward.</summary>
    public int PowerIterations { get; }

    /// <summary>The current estimate of σ(W) (the divisor eval mode uses), without updating u.</summary>
    public double Sigma() => SpectralNormMath.Sigma(weight, u, RowDim);

    /// <summary>W/σ as eval mode would use it, in the stored [in, out, k, k] layout, detached; for diagnostics and tests.</summary>
    public Tensor NormalisedWeight()
    {
        using var noGrad = torch.no_grad();
        return SpectralNormMath.NormalisedWeight(weight, u, RowDim, training: false, PowerIterations);
    }

    /// <summary>Upsamples [N, in, H, W] to [N, out, H', W'] with the spectrally normalised kernel.</summary>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var w = SpectralNormMath.NormalisedWeight(weight, u, RowDim, training, PowerIterations);
        return scope.MoveToOuter(functional.conv_transpose2d(input, w, bias,
            strides: [stride, stride], padding: [padding, padding], output_padding: [outputPadding, outputPadding]));
    }
}
