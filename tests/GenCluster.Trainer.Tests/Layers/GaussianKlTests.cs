using GenCluster.Trainer.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Tests.Layers;

public class GaussianKlTests
{
    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.equal(b).all().item<bool>();

    private static readonly double[][] Means = [[0.3, -1.2, 2.0], [0.0, 0.0, 0.0], [-0.7, 0.1, 0.5]];
    private static readonly double[][] LogVariances = [[0.2, -0.9, 1.1], [-1.5, 0.8, 0.0], [0.0, 0.0, -0.3]];

    private static Tensor Rows(double[][] rows) =>
        torch.tensor(rows.SelectMany(r => r).ToArray(), dtype: ScalarType.Float64).reshape(rows.Length, rows[0].Length);

    [Fact]
    public void KlMatchesTheClosedFormComputedByHand()
    {
        using var scope = torch.NewDisposeScope();

        var kl = GaussianKl.ToStandardNormal(Rows(Means), Rows(LogVariances)).data<double>().ToArray();

        Assert.Equal(Means.Length, kl.Length);
        for (var i = 0; i < Means.Length; i++)
        {
            var expected = 0.0;
            for (var j = 0; j < Means[i].Length; j++)
                expected += 0.5 * (Means[i][j] * Means[i][j] + Math.Exp(LogVariances[i][j]) - 1 - LogVariances[i][j]);
            Assert.Equal(expected, kl[i], 1e-12);
        }
    }

    [Fact]
    public void KlMatchesAMonteCarloEstimate()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(20240);
        const int samples = 200_000;
        var kl = GaussianKl.ToStandardNormal(Rows(Means), Rows(LogVariances)).data<double>().ToArray();

        for (var i = 0; i < Means.Length; i++)
        {
            var mean = torch.tensor(Means[i], dtype: ScalarType.Float64);
            var logVariance = torch.tensor(LogVariances[i], dtype: ScalarType.Float64);
            var sigma = logVariance.mul(0.5).exp();
            var eps = torch.randn([samples, Means[i].Length], dtype: ScalarType.Float64, generator: g);
            var z = mean + sigma * eps;
            // log q(z) − log p(z) per sample: Σ_j −½ log σ_j² − ½ ((z−μ)/σ)² + ½ z² (the 2π terms cancel).
            var logRatio = (logVariance.mul(-0.5) - ((z - mean) / sigma).square().mul(0.5) + z.square().mul(0.5)).sum(1);
            var estimate = logRatio.mean().item<double>();
            var standardError = logRatio.std().item<double>() / Math.Sqrt(samples);

            Assert.True(Math.Abs(estimate - kl[i]) < 4 * standardError + 1e-12,
                $"row {i}: closed form {kl[i]}, Monte Carlo {estimate} ± {standardError}");
        }
    }

    [Fact]
    public void KlIsExactlyZeroAtTheStandardNormalAndPositiveElsewhere()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(3);

        var zero = GaussianKl.ToStandardNormal(torch.zeros(2, 4, dtype: ScalarType.Float64), torch.zeros(2, 4, dtype: ScalarType.Float64));
        Assert.Equal(new[] { 0.0, 0.0 }, zero.data<double>().ToArray());

        var mean = torch.randn([50, 4], dtype: ScalarType.Float64, generator: g);
        var logVariance = torch.randn([50, 4], dtype: ScalarType.Float64, generator: g);
        Assert.All(GaussianKl.ToStandardNormal(mean, logVariance).data<double>().ToArray(), v => Assert.True(v > 0, $"KL {v} must be positive"));

        // Moving only one of μ, log σ² away from 0 is enough.
        var onlyMean = GaussianKl.ToStandardNormal(torch.tensor(new[] { 0.0, 0.01 }).reshape(1, 2), torch.zeros(1, 2, dtype: ScalarType.Float64));
        var onlyVariance = GaussianKl.ToStandardNormal(torch.zeros(1, 2, dtype: ScalarType.Float64), torch.tensor(new[] { -0.01, 0.0 }).reshape(1, 2));
        Assert.True(onlyMean.item<double>() > 0);
        Assert.True(onlyVariance.item<double>() > 0);
    }

    [Fact]
    public void ReparameterizationIsMeanPlusSigmaTimesNoise()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(5);
        var mean = torch.randn([4, 3], dtype: ScalarType.Float64, generator: g);
        var logVariance = torch.randn([4, 3], dtype: ScalarType.Float64, generator: g);
        var noise = torch.randn([4, 3], dtype: ScalarType.Float64, generator: g);

        var z = Reparameterization.Sample(mean, logVariance, noise).data<double>().ToArray();

        var m = mean.data<double>().ToArray();
        var lv = logVariance.data<double>().ToArray();
        var e = noise.data<double>().ToArray();
        for (var i = 0; i < z.Length; i++)
            Assert.Equal(m[i] + Math.Exp(0.5 * lv[i]) * e[i], z[i], 1e-13);
    }

    [Fact]
    public void ReparameterizationGradientsFollowTheFormula()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(6);
        var mean = torch.randn([4, 3], dtype: ScalarType.Float64, generator: g).requires_grad_();
        var logVariance = torch.randn([4, 3], dtype: ScalarType.Float64, generator: g).requires_grad_();
        var noise = torch.randn([4, 3], dtype: ScalarType.Float64, generator: g);

        Reparameterization.Sample(mean, logVariance, noise).sum().backward();

        Assert.True(Same(mean.grad!, torch.ones_like(mean)));
        Assert.Null(noise.grad);
        var lv = logVariance.detach().data<double>().ToArray();
        var e = noise.data<double>().ToArray();
        var grad = logVariance.grad!.data<double>().ToArray();
        for (var i = 0; i < grad.Length; i++)
            Assert.Equal(0.5 * Math.Exp(0.5 * lv[i]) * e[i], grad[i], 1e-13);
    }
}
