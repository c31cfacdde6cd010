using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenCluster.Trainer.Layers;

/// <summary>
/// BigGAN's generator residual block (Brock et al. 2018, figure 15(b); the reference's <c>GBlock</c> with a 2×
/// upsample): h = conv2(relu(bn2(conv1(up(relu(bn1(x, c)))), c))), y = h + conv_sc(up(x)), where up is nearest-neighbour
/// 2× upsampling, conv1/conv2 are 3×3 spectrally normalised convolutions (padding 1), conv_sc is a 1×1 spectrally
/// normalised convolution and bn1/bn2 are <see cref="ConditionalBatchNorm2d"/> layers conditioned on the same vector c.
/// </summary>
/// <remarks>
/// The shortcut is always learned because the block always upsamples (the reference learns it when in ≠ out or when
/// upsampling). All convolutions have biases, as the reference's <c>SNConv2d</c>. Weights start as the
/// <see cref="SNConv2d"/>/<see cref="SNLinear"/> defaults; BigGAN re-initialises them orthogonally.
/// Checkpoint keys: <c>bn1.*</c>, <c>conv1.*</c>, <c>bn2.*</c>, <c>conv2.*</c>, <c>conv_sc.*</c>.
/// </remarks>
public sealed class ResBlockUp : Module<Tensor, Tensor, Tensor>
{
    private readonly ConditionalBatchNorm2d bn1;
    private readonly SNConv2d conv1;
    private readonly ConditionalBatchNorm2d bn2;
    private readonly SNConv2d conv2;
    private readonly SNConv2d conv_sc;

    /// <summary>Creates the block.</summary>
    /// <param name="inChannels">Channels of x.</param>
    /// <param name="outChannels">Channels of the output.</param>
    /// <param name="conditionDim">Length of the condition vector fed to both conditional batch norms.</param>
    /// <param name="generator">Random source for every weight (and u); null = torch's default generator.</param>
    /// <param name="bias">Whether the convolutions have biases (the reference's do). Inside a G whose every block output
    /// feeds a BatchNorm, every one of them has a vanishing gradient (BatchNorm removes per-channel constants), which Adam
    /// turns into ±lr steps of rounding noise: BigGAN's G here leaves them out.</param>
    public ResBlockUp(long inChannels, long outChannels, long conditionDim, Generator? generator = null, bool bias = true) : base(nameof(ResBlockUp))
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inChannels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outChannels, 1);
        InChannels = inChannels;
        OutChannels = outChannels;
        bn1 = new ConditionalBatchNorm2d(inChannels, conditionDim, spectralNorm: true, generator: generator);
        conv1 = new SNConv2d(inChannels, outChannels, kernelSize: 3, padding: 1, hasBias: bias, generator: generator);
        bn2 = new ConditionalBatchNorm2d(outChannels, conditionDim, spectralNorm: true, generator: generator);
        conv2 = new SNConv2d(outChannels, outChannels, kernelSize: 3, padding: 1, hasBias: bias, generator: generator);
        conv_sc = new SNConv2d(inChannels, outChannels, kernelSize: 1, hasBias: bias, generator: generator);
        RegisterComponents();
    }

    /// <summary>Channels of the input.</summary>
    public long InChannels { get; }

    /// <summary>Channels of the output.</summary>
    public long OutChannels { get; }

    /// <summary>Maps x [N, in, H, W] and condition [N, D] to [N, out, 2H, 2W].</summary>
    public override Tensor forward(Tensor x, Tensor condition)
    {
        using var scope = NewDisposeScope();
        var h = functional.relu(bn1.call(x, condition));
        h = conv1.call(Upsample(h));
        h = conv2.call(functional.relu(bn2.call(h, condition)));
        return scope.MoveToOuter(h.add(conv_sc.call(Upsample(x))));
    }

    private static Tensor Upsample(Tensor x) => functional.interpolate(x, scale_factor: [2.0, 2.0], mode: InterpolationMode.Nearest);
}
