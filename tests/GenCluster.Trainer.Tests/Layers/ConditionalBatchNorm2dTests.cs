using GenCluster.Trainer.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Tests.Layers;

public class ConditionalBatchNorm2dTests
{
    private const double Eps = 1e-5;

    public ConditionalBatchNorm2dTests() => torch.set_num_threads(1);

    private static Tensor Randn(long[] shape, Generator g) => torch.randn(shape, dtype: ScalarType.Float64, generator: g);

    private static Tensor Param(nn.Module module, string name) =>
        module.named_parameters().Single(p => p.name == name).parameter.detach();

    private static Tensor Buffer(nn.Module module, string name) =>
        module.named_buffers().Single(b => b.name == name).buffer;

    /// <summary>Non-affine batch normalisation written out: biased batch variance, ε = 1e-5, per channel over N, H, W.</summary>
    private static Tensor HandBatchNorm(Tensor x)
    {
        var mean = x.mean([0, 2, 3], keepdim: true);
        var variance = x.sub(mean).square().mean([0, 2, 3], keepdim: true);
        return x.sub(mean).div(variance.add(Eps).sqrt());
    }

    [Fact]
    public void DifferentConditionsModulateTheSameNormalisedBatch()
    {
        using var g = new Generator(1);
        using var cbn = new ConditionalBatchNorm2d(3, 6, spectralNorm: false, generator: g);
        cbn.to(ScalarType.Float64);
        using var scope = torch.NewDisposeScope();
        var x = Randn([4, 3, 5, 5], g).mul(2).add(1);
        var c1 = Randn([4, 6], g);
        var c2 = Randn([4, 6], g);
        var wg = Param(cbn, "gain.weight");
        var wb = Param(cbn, "bias.weight");

        var y1 = cbn.forward(x, c1);
        var y2 = cbn.forward(x, c2);

        Tensor Unmodulate(Tensor y, Tensor c) =>
            y.sub(c.matmul(wb.t()).view(4, 3, 1, 1)).div(c.matmul(wg.t()).add(1).view(4, 3, 1, 1));
        var xHat1 = Unmodulate(y1, c1);
        var xHat2 = Unmodulate(y2, c2);
        Assert.False(y1.allclose(y2), "different conditions must give different outputs");
        Assert.True(xHat1.allclose(xHat2, rtol: 1e-10, atol: 1e-10), $"max |Δ| = {xHat1.sub(xHat2).abs().max().item<double>()}");
        Assert.True(xHat1.allclose(HandBatchNorm(x), rtol: 1e-8, atol: 1e-8), $"max |Δ| = {xHat1.sub(HandBatchNorm(x)).abs().max().item<double>()}");
    }

    [Fact]
    public void WithZeroGainAndBiasWeightsItIsPlainNonAffineBatchNorm()
    {
        using var g = new Generator(2);
        using var cbn = new ConditionalBatchNorm2d(3, 4, spectralNorm: false, generator: g);
        using var plain = nn.BatchNorm2d(3, affine: false);
        cbn.to(ScalarType.Float64);
        plain.to(ScalarType.Float64);
        using (torch.no_grad())
            foreach (var (_, p) in cbn.named_parameters()) p.zero_();
        using var scope = torch.NewDisposeScope();
        var x = Randn([5, 3, 4, 4], g).mul(3).sub(2);
        var c = Randn([5, 4], g);

        var y = cbn.forward(x, c);

        Assert.True(y.allclose(plain.forward(x), rtol: 1e-12, atol: 1e-12));
        Assert.True(y.allclose(HandBatchNorm(x), rtol: 1e-8, atol: 1e-8));
        Assert.True(Buffer(cbn, "bn.running_mean").allclose(plain.running_mean!));
        Assert.True(Buffer(cbn, "bn.running_var").allclose(plain.running_var!));
        Assert.False(Buffer(cbn, "bn.running_mean").allclose(torch.zeros(3, dtype: ScalarType.Float64)), "training mode must update the running mean");
    }

    [Fact]
    public void WithSpectralNormAZeroConditionGivesPlainNonAffineBatchNorm()
    {
        using var g = new Generator(3);
        using var cbn = new ConditionalBatchNorm2d(3, 4, generator: g);
        cbn.to(ScalarType.Float64);
        using var scope = torch.NewDisposeScope();
        var x = Randn([5, 3, 4, 4], g);

        var y = cbn.forward(x, torch.zeros([5, 4], dtype: ScalarType.Float64));

        Assert.True(y.allclose(HandBatchNorm(x), rtol: 1e-8, atol: 1e-8));
        Assert.IsType<SNLinear>(cbn.Gain);
        Assert.IsType<SNLinear>(cbn.Bias);
    }

    [Fact]
    public void EvalModeNormalisesWithTheRunningStatistics()
    {
        using var g = new Generator(4);
        using var cbn = new ConditionalBatchNorm2d(3, 4, spectralNorm: false, generator: g);
        cbn.to(ScalarType.Float64);
        using var scope = torch.NewDisposeScope();
        var mean = torch.tensor(new[] { 0.5, -1.0, 2.0 }, dtype: ScalarType.Float64);
        var variance = torch.tensor(new[] { 4.0, 0.25, 9.0 }, dtype: ScalarType.Float64);
        using (torch.no_grad())
        {
            Buffer(cbn, "bn.running_mean").copy_(mean);
            Buffer(cbn, "bn.running_var").copy_(variance);
        }
        cbn.eval();
        var x = Randn([3, 3, 2, 2], g);
        var c = Randn([3, 4], g);

        var y = cbn.forward(x, c);

        var xHat = x.sub(mean.view(1, 3, 1, 1)).div(variance.add(Eps).sqrt().view(1, 3, 1, 1));
        var scale = c.matmul(Param(cbn, "gain.weight").t()).add(1).view(3, 3, 1, 1);
        var shift = c.matmul(Param(cbn, "bias.weight").t()).view(3, 3, 1, 1);
        Assert.True(y.allclose(xHat.mul(scale).add(shift), rtol: 1e-10, atol: 1e-10));
        // Per-sample in eval mode: the first sample alone gives the same output.
        Assert.True(cbn.forward(x[..1], c[..1]).allclose(y[..1], rtol: 1e-12, atol: 1e-12));
        Assert.True(Buffer(cbn, "bn.running_mean").allclose(mean), "eval mode must not move the running mean");
    }

    [Fact]
    public void CheckpointKeysAndStandingStatisticsSeeTheBatchNorm()
    {
        using var cbn = new ConditionalBatchNorm2d(3, 4);
        var keys = cbn.state_dict().Keys.Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["bias.u", "bias.weight", "bn.num_batches_tracked", "bn.running_mean", "bn.running_var", "gain.u", "gain.weight"], keys);
        Assert.True(StandingStatistics.Applies(cbn));
        Assert.IsAssignableFrom<BatchNorm>(cbn.Norm);
    }

    [Fact]
    public void MismatchedConditionIsAnErrorNamingTheExpectedShape()
    {
        using var cbn = new ConditionalBatchNorm2d(3, 4);
        using var scope = torch.NewDisposeScope();
        var ex = Assert.Throws<ArgumentException>(() => cbn.forward(torch.zeros(2, 3, 4, 4), torch.zeros(2, 5)));
        Assert.Contains("[2, 4]", ex.Message);
    }
}
