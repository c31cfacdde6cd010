using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenCluster.Trainer.Layers;

/// <summary>
/// The self-attention block of SAGAN (Zhang et al. 2018, "Self-Attention Generative Adversarial Networks", §3):
/// for feature maps x ∈ [N, C, H, W] with P = H·W positions and C̄ = C/8, the 1×1 convolutions
/// f (query, C→C̄), g (key, C→C̄), h (value, C→C̄) and v (C̄→C) give
/// s_ij = f(x_i)ᵀ g(x_j), β_{j,i} = exp(s_ij) / Σ_i exp(s_ij) (softmax over the attended positions i),
/// o_j = v(Σ_i β_{j,i} h(x_i)), and y = γ·o + x with the learned scalar γ initialised to 0, so the block starts as the
/// identity and learns how much non-local evidence to mix in.
/// </summary>
/// <remarks>
/// The value path is the paper's (h: C→C/8, then v: C/8→C), not BigGAN's C/2 value with max-pooling. The
/// convolutions have no bias (as BigGAN's attention) and are spectrally normalised by default (SAGAN applies SN to
/// both networks). The attention is written with bmm + softmax, not scaled_dot_product_attention, which is not twice
/// differentiable: WGAN-GP's gradient penalty needs double backward through the critic.
/// Checkpoint keys: <c>f.*</c>, <c>g.*</c>, <c>h.*</c>, <c>v.*</c>, <c>gamma</c> [1].
/// </remarks>
public sealed class SelfAttention : Module<Tensor, Tensor>
{
    private readonly Module<Tensor, Tensor> f;
    private readonly Module<Tensor, Tensor> g;
    private readonly Module<Tensor, Tensor> h;
    private readonly Module<Tensor, Tensor> v;
    private readonly Parameter gamma;

    /// <summary>Creates the block.</summary>
    /// <param name="channels">C, the channels of the input and output; at least 8 so that C/8 ≥ 1.</param>
    /// <param name="spectralNorm">Whether the four 1×1 convolutions are <see cref="SNConv2d"/> (true) or plain Conv2d.</param>
    /// <param name="generator">Random source for the convolution weights (and u); null = torch's default generator.</param>
    public SelfAttention(long channels, bool spectralNorm = true, Generator? generator = null) : base(nameof(SelfAttention))
    {
        if (channels < 8)
            throw new ArgumentException($"SelfAttention needs channels ≥ 8 (the query/key width is channels/8); got channels={channels}.", nameof(channels));
        Channels = channels;
        ReducedChannels = channels / 8;
        f = Conv1x1(channels, ReducedChannels, spectralNorm, generator);
        g = Conv1x1(channels, ReducedChannels, spectralNorm, generator);
        h = Conv1x1(channels, ReducedChannels, spectralNorm, generator);
        v = Conv1x1(ReducedChannels, channels, spectralNorm, generator);
        gamma = Parameter(torch.zeros(1));
        RegisterComponents();
    }

    /// <summary>C, the input and output channels.</summary>
    public long Channels { get; }

    /// <summary>C̄ = C/8 (integer division), the width of the query, key and value projections.</summary>
    public long ReducedChannels { get; }

    /// <summary>The learned residual weight γ [1], 0 at construction.</summary>
    public Parameter Gamma => gamma;

    private static Module<Tensor, Tensor> Conv1x1(long inChannels, long outChannels, bool spectralNorm, Generator? generator)
    {
        if (spectralNorm) return new SNConv2d(inChannels, outChannels, kernelSize: 1, hasBias: false, generator: generator);
        var conv = Conv2d(inChannels, outChannels, kernel_size: 1, bias: false);
        // nn.Conv2d's default init (U(±1/√fan_in)), drawn from the given generator.
        var bound = 1.0 / Math.Sqrt(inChannels);
        SeededInit.Uniform(conv.weight, -bound, bound, generator);
        return conv;
    }

    /// <summary>Maps [N, C, H, W] to [N, C, H, W]: y = γ·o + x.</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var (n, c, height, width) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
        var positions = height * width;
        var query = f.call(x).view(n, ReducedChannels, positions);  // f(x_i): [N, C̄, P]
        var key = g.call(x).view(n, ReducedChannels, positions);    // g(x_j): [N, C̄, P]
        var value = h.call(x).view(n, ReducedChannels, positions);  // h(x_i): [N, C̄, P]
        var s = query.transpose(1, 2).bmm(key);                         // s[i, j] = f_iᵀ g_j: [N, P, P]
        var beta = functional.softmax(s, dim: 1);                        // β_{j,i} at [i, j]: softmax over i
        var attended = value.bmm(beta).view(n, ReducedChannels, height, width); // Σ_i h_i β_{j,i} at column j
        var o = v.call(attended);
        return scope.MoveToOuter(o.mul(gamma).add(x));
    }
}
