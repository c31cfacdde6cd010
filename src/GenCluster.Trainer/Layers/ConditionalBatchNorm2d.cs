using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenCluster.Trainer.Layers;

/// <summary>
/// Conditional batch normalisation as BigGAN's generator uses it (Brock et al. 2018, §3 and appendix B; the
/// reference's <c>ccbn</c>): x̂ = (x − μ)/√(σ² + ε) with batch statistics in training mode and running statistics in
/// eval mode, no learned per-channel affine, then y = x̂·(1 + gain(c)) + bias(c), where gain and bias are linear maps
/// (without bias terms) of a per-sample condition vector c.
/// </summary>
/// <remarks>
/// In BigGAN c is the shared class embedding concatenated with one chunk of z (see <see cref="HierarchicalLatents"/>);
/// this layer only takes the vector. The "1 +" makes a freshly initialised layer close to plain batch normalisation.
/// The normalisation is a <c>BatchNorm2d(affine: false)</c> (ε = 1e-5, momentum 0.1, as <c>ccbn</c>), so
/// <see cref="StandingStatistics"/> finds and recomputes it. Checkpoint keys: <c>bn.running_mean</c>,
/// <c>bn.running_var</c>, <c>bn.num_batches_tracked</c>, <c>gain.weight</c> [C, D], <c>bias.weight</c> [C, D] and,
/// with spectral normalisation, <c>gain.u</c> and <c>bias.u</c> [C]. The linear maps are initialised as
/// <c>nn.Linear</c> (U(±1/√D)); BigGAN re-initialises them orthogonally, which a recipe does with
/// <see cref="SeededInit.Orthogonal"/>.
/// </remarks>
public sealed class ConditionalBatchNorm2d : Module<Tensor, Tensor, Tensor>
{
    private readonly BatchNorm2d bn;
    private readonly Module<Tensor, Tensor> gain;
    private readonly Module<Tensor, Tensor> bias;

    /// <summary>Creates the layer.</summary>
    /// <param name="channels">C, the channels normalised (and the output width of gain and bias).</param>
    /// <param name="conditionDim">D, the length of the condition vector c.</param>
    /// <param name="spectralNorm">Whether gain and bias are <see cref="SNLinear"/> (BigGAN's <c>which_linear</c>) or plain Linear.</param>
    /// <param name="generator">Random source for the gain and bias weights (and u); null = torch's default generator.</param>
    public ConditionalBatchNorm2d(long channels, long conditionDim, bool spectralNorm = true, Generator? generator = null)
        : base(nameof(ConditionalBatchNorm2d))
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(conditionDim, 1);
        Channels = channels;
        ConditionDim = conditionDim;
        bn = BatchNorm2d(channels, eps: 1e-5, momentum: 0.1, affine: false);
        gain = ConditionLinear(conditionDim, channels, spectralNorm, generator);
        bias = ConditionLinear(conditionDim, channels, spectralNorm, generator);
        RegisterComponents();
    }

    /// <summary>C, the channels normalised.</summary>
    public long Channels { get; }

    /// <summary>D, the length of the condition vector.</summary>
    public long ConditionDim { get; }

    /// <summary>The affine-free BatchNorm2d holding the running statistics.</summary>
    public BatchNorm2d Norm => bn;

    /// <summary>The linear map c ↦ gain(c) [N, C]; the layer scales by 1 + gain(c).</summary>
    public Module<Tensor, Tensor> Gain => gain;

    /// <summary>The linear map c ↦ bias(c) [N, C].</summary>
    public Module<Tensor, Tensor> Bias => bias;

    private static Module<Tensor, Tensor> ConditionLinear(long inFeatures, long outFeatures, bool spectralNorm, Generator? generator)
    {
        if (spectralNorm) return new SNLinear(inFeatures, outFeatures, hasBias: false, generator: generator);
        var linear = Linear(inFeatures, outFeatures, hasBias: false);
        var bound = 1.0 / Math.Sqrt(inFeatures);
        SeededInit.Uniform(linear.weight!, -bound, bound, generator);
        return linear;
    }

    /// <summary>Normalises x [N, C, H, W] and modulates it with condition [N, D]: y = x̂·(1 + gain(c)) + bias(c).</summary>
    public override Tensor forward(Tensor x, Tensor condition)
    {
        if (x.dim() != 4 || x.shape[1] != Channels)
            throw new ArgumentException($"ConditionalBatchNorm2d expects x of shape [N, {Channels}, H, W]; got [{string.Join(", ", x.shape)}].", nameof(x));
        if (condition.dim() != 2 || condition.shape[0] != x.shape[0] || condition.shape[1] != ConditionDim)
            throw new ArgumentException(
                $"ConditionalBatchNorm2d expects condition of shape [{x.shape[0]}, {ConditionDim}]; got [{string.Join(", ", condition.shape)}].", nameof(condition));
        using var scope = NewDisposeScope();
        var n = condition.shape[0];
        var scale = gain.call(condition).add(1.0).view(n, Channels, 1, 1);
        var shift = bias.call(condition).view(n, Channels, 1, 1);
        return scope.MoveToOuter(CrossReplicaBatchNorm.Forward(bn, x).mul(scale).add(shift));
    }
}
