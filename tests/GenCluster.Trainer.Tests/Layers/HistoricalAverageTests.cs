using GenCluster.Trainer.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Tests.Layers;

public class HistoricalAverageTests
{
    private static Sequential Net() => nn.Sequential(("fc", nn.Linear(3, 2)), ("out", nn.Linear(2, 1)));

    private static Dictionary<string, Tensor> Means(HistoricalAverage average) =>
        average.named_buffers().Where(b => b.name != "count").ToDictionary(b => b.name, b => b.buffer);

    [Fact]
    public void BuffersAreNamedAfterTheParametersWithACount()
    {
        using var net = Net();
        using var average = new HistoricalAverage(net);
        Assert.Equal(["count", "fc_bias", "fc_weight", "out_bias", "out_weight"], average.state_dict().Keys.Order());
        Assert.Empty(average.parameters());
        Assert.Equal([2L, 3], average.state_dict()["fc_weight"].shape);
        Assert.Equal(0L, average.Count);
    }

    [Fact]
    public void AfterKUpdatesTheMeanIsTheArithmeticMean()
    {
        using var net = Net();
        using var average = new HistoricalAverage(net);
        using var g = new Generator(1);
        using var scope = torch.NewDisposeScope();
        var history = new List<Dictionary<string, Tensor>>();
        for (var k = 0; k < 5; k++)
        {
            foreach (var p in net.parameters()) SeededInit.Normal(p, k, 1.0, g);
            history.Add(net.named_parameters().ToDictionary(p => HistoricalAverage.BufferName(p.name), p => p.parameter.detach().clone()));
            average.Update();
        }

        Assert.Equal(5L, average.Count);
        foreach (var (name, mean) in Means(average))
        {
            var expected = torch.stack(history.Select(h => h[name])).mean([0]);
            Assert.True(mean.allclose(expected, rtol: 1e-5, atol: 1e-6), $"{name}: running mean differs from the arithmetic mean");
        }
    }

    [Fact]
    public void PenaltyIsTheSquaredDistanceAndItsGradientIsTwiceTheDifference()
    {
        using var net = Net();
        using var average = new HistoricalAverage(net);
        using var g = new Generator(2);
        using var scope = torch.NewDisposeScope();
        for (var k = 0; k < 3; k++)
        {
            foreach (var p in net.parameters()) SeededInit.Normal(p, 0, 1.0, g);
            average.Update();
        }
        foreach (var p in net.parameters()) SeededInit.Normal(p, 0.5, 1.0, g);
        var means = Means(average);

        var penalty = average.Penalty();
        penalty.backward();

        var expected = 0.0;
        foreach (var (name, p) in net.named_parameters())
        {
            var diff = p.detach().sub(means[HistoricalAverage.BufferName(name)]);
            expected += diff.square().sum().item<float>();
            using var grad = p.grad;
            Assert.NotNull(grad);
            Assert.True(grad.allclose(diff.mul(2), rtol: 1e-5, atol: 1e-6), $"∂penalty/∂{name} ≠ 2(θ − mean)");
        }
        Assert.Empty(penalty.shape);
        Assert.Equal(expected, penalty.item<float>(), 1e-4);
    }

    [Fact]
    public void PenaltyIsZeroBeforeTheFirstUpdate()
    {
        using var net = Net();
        using var average = new HistoricalAverage(net);
        using var penalty = average.Penalty();
        Assert.Equal(0f, penalty.item<float>());
        Assert.Equal(ScalarType.Float32, penalty.dtype);
    }

    [Fact]
    public void CollidingBufferNamesAreRejected()
    {
        using var net = nn.Sequential(("a", nn.Sequential(("b_c", nn.Linear(1, 1)))), ("a_b", nn.Sequential(("c", nn.Linear(1, 1)))));
        var ex = Assert.Throws<ArgumentException>(() => new HistoricalAverage(net));
        Assert.Contains("a_b_c_weight", ex.Message);
    }
}
