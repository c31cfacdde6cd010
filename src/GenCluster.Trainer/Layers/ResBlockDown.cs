using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenCluster.Trainer.Layers;

/// <summary>
/// BigGAN's discriminator residual block (Brock et al. 2018, figure 15(c); the reference's <c>DBlock</c> with
/// <c>wide=True</c>): h = pool(conv2(relu(conv1(a(x))))) with a = relu for pre-activation blocks and the identity for the
/// first block, 3×3 spectrally normalised convolutions (padding 1, hidden width = out), pool = 2×2 average pooling, and
/// y = h + shortcut(x). No normalisation layers: the only buffers are the spectral-norm u vectors.
/// </summary>
/// <remarks>
/// The shortcut follows the reference: it is a learned 1×1 spectrally normalised convolution when in ≠ out or the block
/// downsamples, else the identity; pre-activation blocks convolve then pool (pool(conv_sc(x))), the first block pools
/// then convolves (conv_sc(pool(x))) — both are the same linear map, the second is cheaper at full resolution. The
/// input ReLU is out of place so the shortcut sees the raw x. Checkpoint keys: <c>conv1.*</c>, <c>conv2.*</c>,
/// <c>conv_sc.*</c> (when learned).
/// </remarks>
public sealed class ResBlockDown : Module<Tensor, Tensor>
{
    private readonly SNConv2d conv1;
    private readonly SNConv2d conv2;
    private readonly SNConv2d? conv_sc;

    /// <summary>Creates the block.</summary>
    /// <param name="inChannels">Channels of x.</param>
    /// <param name="outChannels">Channels of the output (and of the hidden layer).</param>
    /// <param name="preactivation">Whether a ReLU precedes conv1 (false only for D's first block, whose input is the image).</param>
    /// <param name="downsample">Whether the block halves the resolution with 2×2 average pooling.</param>
    /// <param name="generator">Random source for every weight (and u); null = torch's default generator.</param>
    public ResBlockDown(long inChannels, long outChannels, bool preactivation = true, bool downsample = true, Generator? generator = null)
        : base(nameof(ResBlockDown))
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inChannels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outChannels, 1);
        InChannels = inChannels;
        OutChannels = outChannels;
        Preactivation = preactivation;
        Downsample = downsample;
        conv1 = new SNConv2d(inChannels, outChannels, kernelSize: 3, padding: 1, generator: generator);
        conv2 = new SNConv2d(outChannels, outChannels, kernelSize: 3, padding: 1, generator: generator);
        if (inChannels != outChannels || downsample)
            conv_sc = new SNConv2d(inChannels, outChannels, kernelSize: 1, generator: generator);
        RegisterComponents();
    }

    /// <summary>Channels of the input.</summary>
    public long InChannels { get; }

    /// <summary>Channels of the output.</summary>
    public long OutChannels { get; }

    /// <summary>Whether a ReLU precedes conv1.</summary>
    public bool Preactivation { get; }

    /// <summary>Whether the block halves the resolution.</summary>
    public bool Downsample { get; }

    /// <summary>Whether the shortcut is a learned 1×1 convolution (in ≠ out or downsampling) rather than the identity.</summary>
    public bool LearnedShortcut => conv_sc is not null;

    /// <summary>Maps x [N, in, H, W] to [N, out, H/2, W/2] (or [N, out, H, W] without downsampling).</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = Preactivation ? functional.relu(x) : x;
        h = conv2.call(functional.relu(conv1.call(h)));
        if (Downsample) h = Pool(h);
        return scope.MoveToOuter(h.add(Shortcut(x)));
    }

    private Tensor Shortcut(Tensor x)
    {
        if (Preactivation)
        {
            if (conv_sc is not null) x = conv_sc.call(x);
            if (Downsample) x = Pool(x);
        }
        else
        {
            if (Downsample) x = Pool(x);
            if (conv_sc is not null) x = conv_sc.call(x);
        }
        return x;
    }

    private static Tensor Pool(Tensor x) => functional.avg_pool2d(x, [2, 2]);
}
