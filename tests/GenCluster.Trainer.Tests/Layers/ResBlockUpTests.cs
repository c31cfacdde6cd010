using GenCluster.Trainer.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Tests.Layers;

public class ResBlockUpTests
{
    public ResBlockUpTests() => torch.set_num_threads(1);

    private static Tensor Randn(long[] shape, Generator g) => torch.randn(shape, dtype: ScalarType.Float64, generator: g);

    private static T Child<T>(nn.Module module, string name) where T : nn.Module =>
        (T)module.named_children().Single(c => c.name == name).module;

    /// <summary>Nearest-neighbour 2× upsampling written independently: every pixel repeated along H and W.</summary>
    private static Tensor HandUpsample(Tensor x) => x.repeat_interleave(2, 2).repeat_interleave(2, 3);

    [Fact]
    public void OutputDoublesTheResolutionAndHasOutChannels()
    {
        using var g = new Generator(1);
        using var block = new ResBlockUp(4, 3, 5, generator: g);
        using var scope = torch.NewDisposeScope();
        var y = block.forward(torch.randn([2, 4, 6, 7], generator: g), torch.randn([2, 5], generator: g));
        Assert.Equal([2L, 3L, 12L, 14L], y.shape);
    }

    [Fact]
    public void ForwardIsBigGansComposition()
    {
        using var g = new Generator(2);
        using var block = new ResBlockUp(4, 3, 5, generator: g);
        block.to(ScalarType.Float64);
        using var scope = torch.NewDisposeScope();
        var x = Randn([3, 4, 4, 4], g).mul(2).add(0.5);
        var c = Randn([3, 5], g);
        block.forward(x, c); // moves the running statistics away from 0/1
        block.eval();

        var bn1 = Child<ConditionalBatchNorm2d>(block, "bn1");
        var bn2 = Child<ConditionalBatchNorm2d>(block, "bn2");
        var conv1 = Child<SNConv2d>(block, "conv1");
        var conv2 = Child<SNConv2d>(block, "conv2");
        var convSc = Child<SNConv2d>(block, "conv_sc");
        var h = conv1.forward(HandUpsample(nn.functional.relu(bn1.forward(x, c))));
        h = conv2.forward(nn.functional.relu(bn2.forward(h, c)));
        var expected = h.add(convSc.forward(HandUpsample(x)));

        var actual = block.forward(x, c);
        Assert.True(actual.allclose(expected, rtol: 1e-12, atol: 1e-12), $"max |Δ| = {actual.sub(expected).abs().max().item<double>()}");
        Assert.Equal(1L, convSc.Weight.shape[2]);
        Assert.Equal(3L, conv1.Weight.shape[2]);
    }

    [Fact]
    public void GradientsReachEveryParameter()
    {
        using var g = new Generator(3);
        using var block = new ResBlockUp(4, 3, 5, generator: g);
        block.to(ScalarType.Float64);
        using var scope = torch.NewDisposeScope();
        var y = block.forward(Randn([3, 4, 4, 4], g), Randn([3, 5], g));
        y.mul(Randn(y.shape, g)).sum().backward();

        var names = new List<string>();
        foreach (var (name, p) in block.named_parameters())
        {
            names.Add(name);
            using var grad = p.grad;
            Assert.NotNull(grad);
            var size = grad.abs().max().item<double>();
            if (name == "conv1.bias")
                // A per-channel constant before a training-mode batch norm is removed by the mean subtraction.
                Assert.True(size < 1e-10, $"conv1.bias feeds bn2's batch statistics, so its gradient must vanish; got {size}");
            else
                Assert.True(size > 1e-6, $"no gradient reached {name}");
        }
        Assert.Equal(
            ["bn1.bias.weight", "bn1.gain.weight", "bn2.bias.weight", "bn2.gain.weight", "conv1.bias", "conv1.weight", "conv2.bias", "conv2.weight", "conv_sc.bias", "conv_sc.weight"],
            names.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void DifferentConditionsGiveDifferentOutputs()
    {
        using var g = new Generator(4);
        using var block = new ResBlockUp(4, 4, 5, generator: g);
        using var scope = torch.NewDisposeScope();
        var x = torch.randn([2, 4, 4, 4], generator: g);
        var y1 = block.forward(x, torch.randn([2, 5], generator: g));
        var y2 = block.forward(x, torch.randn([2, 5], generator: g));
        Assert.True(y1.sub(y2).abs().max().item<float>() > 1e-3);
    }
}
