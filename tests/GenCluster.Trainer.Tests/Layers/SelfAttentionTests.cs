using GenCluster.Trainer.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Tests.Layers;

public class SelfAttentionTests
{
    private static Tensor Input(ScalarType dtype, long seed, bool requiresGrad = false)
    {
        using var g = new Generator((ulong)seed);
        return torch.randn([2, 16, 3, 4], dtype: dtype, generator: g).requires_grad_(requiresGrad);
    }

    private static void SetGamma(SelfAttention block, double value)
    {
        using var noGrad = torch.no_grad();
        block.Gamma.fill_(value);
    }

    [Fact]
    public void OutputShapeEqualsInputShape()
    {
        using var g = new Generator(1);
        using var block = new SelfAttention(16, generator: g);
        SetGamma(block, 0.7);
        using var scope = torch.NewDisposeScope();
        var x = Input(ScalarType.Float32, 2);
        Assert.Equal(x.shape, block.forward(x).shape);
        Assert.Equal(2, block.ReducedChannels);
    }

    [Fact]
    public void GammaStartsAtZeroAndTheBlockIsThenExactlyTheIdentity()
    {
        using var g = new Generator(1);
        using var block = new SelfAttention(16, generator: g);
        using var scope = torch.NewDisposeScope();
        var x = Input(ScalarType.Float32, 3);
        Assert.Equal(0f, block.Gamma.item<float>());
        Assert.True(block.forward(x).equal(x).all().item<bool>());
    }

    /// <summary>The paper's formula, written position by position with exp/sum instead of softmax and bmm.</summary>
    private static Tensor ManualAttention(Tensor x, Tensor wf, Tensor wg, Tensor wh, Tensor wv)
    {
        var (n, c, height, width) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
        var p = height * width;
        var samples = new List<Tensor>();
        for (var b = 0; b < n; b++)
        {
            var xs = x[b].reshape(c, p);
            var f = wf.matmul(xs);
            var g = wg.matmul(xs);
            var h = wh.matmul(xs);
            var columns = new List<Tensor>();
            for (var j = 0; j < p; j++)
            {
                var s = f.t().matmul(g[.., j]);          // s_ij over i: [P]
                var e = s.sub(s.max()).exp();
                var beta = e.div(e.sum());                // β_{j,i}
                var attended = h.matmul(beta);            // Σ_i β_{j,i} h(x_i): [C̄]
                columns.Add(wv.matmul(attended));         // o_j: [C]
            }
            samples.Add(torch.stack(columns, dim: 1).reshape(c, height, width));
        }
        return torch.stack(samples);
    }

    [Fact]
    public void WithGammaOneTheOutputIsXPlusThePapersAttention()
    {
        using var g = new Generator(4);
        using var block = new SelfAttention(16, spectralNorm: false, generator: g);
        block.to(ScalarType.Float64);
        SetGamma(block, 1.0);
        using var scope = torch.NewDisposeScope();
        var weights = block.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach());
        var wf = weights["f.weight"].reshape(2, 16);
        var wg = weights["g.weight"].reshape(2, 16);
        var wh = weights["h.weight"].reshape(2, 16);
        var wv = weights["v.weight"].reshape(16, 2);
        var x = Input(ScalarType.Float64, 5);

        var expected = x.add(ManualAttention(x, wf, wg, wh, wv));
        var actual = block.forward(x);

        Assert.True(actual.allclose(expected, rtol: 1e-10, atol: 1e-12), $"max |Δ| = {actual.sub(expected).abs().max().item<double>()}");
        Assert.False(actual.allclose(x), "the attention term must not vanish");
    }

    [Fact]
    public void GradientReachesGammaAsTheAttentionOutput()
    {
        using var g = new Generator(6);
        using var block = new SelfAttention(16, spectralNorm: false, generator: g);
        block.to(ScalarType.Float64);
        using var scope = torch.NewDisposeScope();
        var x = Input(ScalarType.Float64, 7);
        var r = torch.randn(x.shape, dtype: ScalarType.Float64, generator: g);
        SetGamma(block, 1.0);
        var o = block.forward(x).sub(x).detach();
        SetGamma(block, 0.0);

        var dGamma = torch.autograd.grad([block.forward(x).mul(r).sum()], [block.Gamma])[0];

        // y = γ·o + x, so ∂Σ(R⊙y)/∂γ = Σ(R⊙o), even at γ = 0 where the block is the identity.
        Assert.Equal(o.mul(r).sum().item<double>(), dGamma.item<double>(), 1e-10);
        Assert.NotEqual(0.0, dGamma.item<double>());
    }

    [Fact]
    public void DoubleBackwardThroughTheAttentionWorks()
    {
        using var g = new Generator(8);
        using var block = new SelfAttention(16, generator: g);
        SetGamma(block, 0.5);
        using var scope = torch.NewDisposeScope();
        var x = Input(ScalarType.Float32, 9, requiresGrad: true);

        var dx = torch.autograd.grad([block.forward(x).square().sum()], [x], create_graph: true, retain_graph: true)[0];
        torch.linalg.vector_norm(dx).backward();

        foreach (var (name, parameter) in block.named_parameters())
        {
            using var grad = parameter.grad;
            Assert.NotNull(grad);
            Assert.True(grad.isfinite().all().item<bool>(), $"{name} has a non-finite second-order gradient");
            Assert.True(grad.abs().sum().item<float>() > 0, $"{name} gets no second-order gradient");
        }
    }

    [Fact]
    public void CheckpointKeysNameTheFourConvolutionsAndGamma()
    {
        using var sn = new SelfAttention(8);
        using var plain = new SelfAttention(8, spectralNorm: false);
        Assert.Equal(["f.u", "f.weight", "g.u", "g.weight", "gamma", "h.u", "h.weight", "v.u", "v.weight"], sn.state_dict().Keys.Order());
        Assert.Equal(["f.weight", "g.weight", "gamma", "h.weight", "v.weight"], plain.state_dict().Keys.Order());
        Assert.Equal([8L, 1, 1, 1], plain.state_dict()["v.weight"].shape);
    }

    [Fact]
    public void FewerThanEightChannelsIsRejectedWithTheValue()
    {
        var ex = Assert.Throws<ArgumentException>(() => new SelfAttention(7));
        Assert.Contains("channels=7", ex.Message);
    }
}
