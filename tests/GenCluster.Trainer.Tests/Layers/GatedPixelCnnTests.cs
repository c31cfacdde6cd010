using GenCluster.Trainer.Layers;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenCluster.Trainer.Tests.Layers;

public class GatedPixelCnnTests
{
    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.equal(b).all().item<bool>();

    private const int H = 5, W = 5, K = 4, Channels = 8, Layers = 3, Kernel = 3;

    /// <summary>A float64 model with every parameter drawn from <paramref name="seed"/> (deterministic, independent of the default generator).</summary>
    private static GatedPixelCnn Model(ulong seed, int codes = K, int conditionChannels = 0)
    {
        var model = new GatedPixelCnn("prior", codes, Channels, Layers, Kernel, conditionChannels);
        model.to(ScalarType.Float64);
        using var g = new Generator(seed);
        foreach (var p in model.parameters()) SeededInit.Normal(p, 0, 0.3, g);
        return model;
    }

    private static double At(double[] values, int n, int channel, int channels, int r, int c, int height = H, int width = W) =>
        values[((n * channels + channel) * height + r) * width + c];

    /// <summary>
    /// For every position p and every other code there: logits at q ≤ p (raster order) are unchanged in every image,
    /// logits at p + 1 (same row) and directly below p change (when <paramref name="neighbours"/>), and some position
    /// after p changes.
    /// </summary>
    private static void AssertCausal(GatedPixelCnn model, Tensor? condition, ulong seed, bool neighbours = true)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        using var g = new Generator(seed);
        var n = (int)(condition?.shape[0] ?? 2);
        var codes = torch.randint(0, K, [n, H, W], generator: g, dtype: ScalarType.Int64);
        var baseline = model.Forward(codes, condition).data<double>().ToArray();
        for (var p = 0; p < H * W; p++)
        {
            var (pr, pc) = (p / W, p % W);
            for (var shift = 1; shift < K; shift++)
            {
                using var inner = torch.NewDisposeScope();
                var changed = codes.clone();
                changed[.., pr, pc] = changed[.., pr, pc].add(shift).remainder(K);
                var logits = model.Forward(changed, condition).data<double>().ToArray();
                var laterMaxChange = 0.0;
                for (var q = 0; q < H * W; q++)
                {
                    var (qr, qc) = (q / W, q % W);
                    var change = 0.0;
                    for (var i = 0; i < n; i++)
                        for (var k = 0; k < K; k++)
                            change = Math.Max(change, Math.Abs(At(logits, i, k, K, qr, qc) - At(baseline, i, k, K, qr, qc)));
                    if (q <= p)
                        Assert.True(change <= 1e-12, $"logits at ({qr},{qc}) changed by {change} when the code at ({pr},{pc}) changed");
                    else
                        laterMaxChange = Math.Max(laterMaxChange, change);
                    if (neighbours && ((q == p + 1 && qr == pr) || (qr == pr + 1 && qc == pc)))
                        Assert.True(change > 1e-8, $"logits at ({qr},{qc}) must see the code at ({pr},{pc})");
                }
                if (p < H * W - 1) Assert.True(laterMaxChange > 1e-8, $"no position after ({pr},{pc}) saw its change");
            }
        }
    }

    [Fact]
    public void ForwardIsCausalInRasterOrder()
    {
        using var model = Model(1);
        AssertCausal(model, null, 2);
    }

    [Fact]
    public void ForwardIsCausalWithACondition()
    {
        using var scope = torch.NewDisposeScope();
        using var model = Model(3, conditionChannels: 3);
        using var g = new Generator(4);
        var condition = torch.randn([2, 3, H, W], dtype: ScalarType.Float64, generator: g);
        AssertCausal(model, condition, 5);

        // The condition is seen everywhere, the first position included.
        using var noGrad = torch.no_grad();
        var codes = torch.zeros([2, H, W], dtype: ScalarType.Int64);
        var a = model.Forward(codes, condition);
        var b = model.Forward(codes, condition + 1);
        Assert.True((a - b).abs().amax([1]).gt(1e-8).all().item<bool>());
    }

    [Fact]
    public void ATypeALayerNeverSeesItsOwnPosition()
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        using var layer = new GatedMaskedConv2d("a", Channels, Kernel, first: true);
        layer.to(ScalarType.Float64);
        using var g = new Generator(6);
        foreach (var p in layer.parameters()) SeededInit.Normal(p, 0, 0.3, g);
        var x = torch.randn([1, Channels, H, W], dtype: ScalarType.Float64, generator: g);
        var (v0, h0) = layer.Forward(x, x, null);
        var vBase = v0.data<double>().ToArray();
        var hBase = h0.data<double>().ToArray();

        for (var p = 0; p < H * W; p++)
        {
            var (pr, pc) = (p / W, p % W);
            var changed = x.clone();
            changed[.., .., pr, pc] = torch.randn([1, Channels], dtype: ScalarType.Float64, generator: g);
            var (v1, h1) = layer.Forward(changed, changed, null);
            var vNew = v1.data<double>().ToArray();
            var hNew = h1.data<double>().ToArray();
            for (var q = 0; q < H * W; q++)
            {
                var (qr, qc) = (q / W, q % W);
                double vChange = 0, hChange = 0;
                for (var ch = 0; ch < Channels; ch++)
                {
                    vChange = Math.Max(vChange, Math.Abs(At(vNew, 0, ch, Channels, qr, qc) - At(vBase, 0, ch, Channels, qr, qc)));
                    hChange = Math.Max(hChange, Math.Abs(At(hNew, 0, ch, Channels, qr, qc) - At(hBase, 0, ch, Channels, qr, qc)));
                }
                // The vertical stack sees only rows above; the horizontal one only positions before in raster order.
                if (qr <= pr) Assert.True(vChange <= 1e-12, $"vertical at ({qr},{qc}) saw ({pr},{pc})");
                if (q <= p) Assert.True(hChange <= 1e-12, $"horizontal at ({qr},{qc}) saw ({pr},{pc})");
                if (qr == pr + 1 && Math.Abs(qc - pc) <= Kernel / 2) Assert.True(vChange > 1e-8, $"vertical at ({qr},{qc}) must see ({pr},{pc})");
                if (qr == pr && qc == pc + 1) Assert.True(hChange > 1e-8, $"horizontal at ({qr},{qc}) must see ({pr},{pc})");
                if (qr == pr + 1 && qc == pc) Assert.True(hChange > 1e-8, $"horizontal at ({qr},{qc}) must see ({pr},{pc}) through the vertical link");
            }
        }
    }

    [Fact]
    public void TheMaskHoldsAfterOptimiserSteps()
    {
        using var scope = torch.NewDisposeScope();
        using var model = Model(7, conditionChannels: 2);
        using var g = new Generator(8);
        const int batch = 8;
        var condition = torch.randn([batch, 2, H, W], dtype: ScalarType.Float64, generator: g);
        var before = model.parameters().Select(p => p.detach().clone()).ToList();
        var optimizer = optim.Adam(model.parameters(), lr: 0.01);
        for (var step = 0; step < 5; step++)
        {
            using var stepScope = torch.NewDisposeScope();
            // Rows of one repeated code: the left neighbour predicts each code, so training keeps the dependence.
            var codes = torch.randint(0, K, [batch, H, 1], generator: g, dtype: ScalarType.Int64).expand(batch, H, W).contiguous();
            optimizer.zero_grad();
            model.NegativeLogLikelihood(codes, condition).backward();
            optimizer.step();
        }
        Assert.Contains(model.parameters().Zip(before), pair => !Same(pair.First, pair.Second));

        // After training, ReLUs of the head may be dead for some inputs (the logits there are then locally constant), so
        // over 8 maps only "some later position sees p" is required, not each neighbour.
        AssertCausal(model, condition, 9, neighbours: false);
        AssertCausal(model, torch.zeros([batch, 2, H, W], dtype: ScalarType.Float64), 10, neighbours: false);
    }

    private static Tensor NaiveSample(GatedPixelCnn model, int count, int height, int width, Tensor? condition, Generator generator)
    {
        using var noGrad = torch.no_grad();
        var codes = torch.zeros([count, height, width], dtype: ScalarType.Int64);
        for (var r = 0; r < height; r++)
            for (var c = 0; c < width; c++)
            {
                using var scope = torch.NewDisposeScope();
                var logits = model.Forward(codes, condition).select(3, c).select(2, r);
                var probabilities = functional.softmax(logits, 1);
                codes[.., r, c] = torch.multinomial(probabilities.cpu(), 1, generator: generator).reshape(count);
            }
        return codes;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SampleMatchesNaiveSampling(bool conditioned)
    {
        using var scope = torch.NewDisposeScope();
        const int codes = 5, count = 3, height = 4, width = 5;
        using var model = Model(11, codes, conditioned ? 2 : 0);
        using var g = new Generator(12);
        var condition = conditioned ? torch.randn([count, 2, height, width], dtype: ScalarType.Float64, generator: g) : null;

        using var sampleGenerator = new Generator(2024);
        var sampled = model.Sample(count, height, width, condition, 1.0, sampleGenerator);
        using var naiveGenerator = new Generator(2024);
        var naive = NaiveSample(model, count, height, width, condition, naiveGenerator);

        Assert.Equal(new long[] { count, height, width }, sampled.shape);
        Assert.Equal(ScalarType.Int64, sampled.dtype);
        Assert.Equal(naive.data<long>().ToArray(), sampled.data<long>().ToArray());
        Assert.True(sampled.unique().Item1.numel() >= 3, "the draws should vary");
        // Another seed draws other maps, so the comparison is not vacuous.
        using var otherGenerator = new Generator(2025);
        Assert.False(Same(model.Sample(count, height, width, condition, 1.0, otherGenerator), sampled));
    }

    [Fact]
    public void NegativeLogLikelihoodIsTheMeanCrossEntropy()
    {
        using var scope = torch.NewDisposeScope();
        const int codes = 3, n = 2, height = 2, width = 3;
        using var model = Model(13, codes);
        var target = torch.tensor(new long[] { 0, 2, 1, 1, 1, 0, 2, 2, 0, 1, 0, 2 }).reshape(n, height, width);

        var nll = model.NegativeLogLikelihood(target).item<double>();

        var logits = model.Forward(target).detach().data<double>().ToArray();
        var t = target.data<long>().ToArray();
        var total = 0.0;
        for (var i = 0; i < n; i++)
            for (var r = 0; r < height; r++)
                for (var c = 0; c < width; c++)
                {
                    var row = Enumerable.Range(0, codes).Select(k => At(logits, i, k, codes, r, c, height, width)).ToArray();
                    var max = row.Max();
                    var logSumExp = max + Math.Log(row.Sum(v => Math.Exp(v - max)));
                    total += logSumExp - row[t[(i * height + r) * width + c]];
                }
        Assert.Equal(total / (n * height * width), nll, 1e-12);
    }
}
