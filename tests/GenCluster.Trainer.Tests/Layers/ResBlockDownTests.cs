using GenCluster.Trainer.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Tests.Layers;

public class ResBlockDownTests
{
    public ResBlockDownTests() => torch.set_num_threads(1);

    private static Tensor Randn(long[] shape, Generator g) => torch.randn(shape, dtype: ScalarType.Float64, generator: g);

    private static SNConv2d Conv(nn.Module module, string name) =>
        (SNConv2d)module.named_children().Single(c => c.name == name).module;

    /// <summary>2×2 average pooling written independently: mean over each 2×2 tile.</summary>
    private static Tensor HandPool(Tensor x)
    {
        var (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
        return x.reshape(n, c, h / 2, 2, w / 2, 2).mean([3, 5]);
    }

    private static Tensor Relu(Tensor x) => nn.functional.relu(x);

    [Theory]
    [InlineData(true, 4L)]
    [InlineData(false, 8L)]
    public void OutputShape(bool downsample, long side)
    {
        using var g = new Generator(1);
        using var block = new ResBlockDown(3, 5, downsample: downsample, generator: g);
        using var scope = torch.NewDisposeScope();
        Assert.Equal([2L, 5L, side, side], block.forward(torch.randn([2, 3, 8, 8], generator: g)).shape);
    }

    [Fact]
    public void PreactivationBlockConvolvesThenPoolsItsShortcut()
    {
        using var g = new Generator(2);
        using var block = new ResBlockDown(3, 5, preactivation: true, generator: g);
        block.to(ScalarType.Float64);
        block.eval();
        using var scope = torch.NewDisposeScope();
        var x = Randn([2, 3, 6, 6], g);

        var expected = HandPool(Conv(block, "conv2").forward(Relu(Conv(block, "conv1").forward(Relu(x)))))
            .add(HandPool(Conv(block, "conv_sc").forward(x)));

        var actual = block.forward(x);
        Assert.True(actual.allclose(expected, rtol: 1e-12, atol: 1e-12), $"max |Δ| = {actual.sub(expected).abs().max().item<double>()}");
    }

    [Fact]
    public void FirstBlockHasNoInputReluAndPoolsBeforeItsShortcutConvolution()
    {
        using var g = new Generator(3);
        using var block = new ResBlockDown(3, 5, preactivation: false, generator: g);
        block.to(ScalarType.Float64);
        block.eval();
        using var scope = torch.NewDisposeScope();
        var x = Randn([2, 3, 6, 6], g);

        var expected = HandPool(Conv(block, "conv2").forward(Relu(Conv(block, "conv1").forward(x))))
            .add(Conv(block, "conv_sc").forward(HandPool(x)));

        var actual = block.forward(x);
        Assert.True(actual.allclose(expected, rtol: 1e-12, atol: 1e-12), $"max |Δ| = {actual.sub(expected).abs().max().item<double>()}");
        var withRelu = HandPool(Conv(block, "conv2").forward(Relu(Conv(block, "conv1").forward(Relu(x))))).add(Conv(block, "conv_sc").forward(HandPool(x)));
        Assert.False(actual.allclose(withRelu), "the first block must see negative inputs");
    }

    [Fact]
    public void SameWidthWithoutDownsamplingKeepsAnIdentityShortcut()
    {
        using var g = new Generator(4);
        using var block = new ResBlockDown(4, 4, downsample: false, generator: g);
        block.to(ScalarType.Float64);
        block.eval();
        using var scope = torch.NewDisposeScope();
        var x = Randn([2, 4, 5, 5], g);

        Assert.False(block.LearnedShortcut);
        Assert.DoesNotContain(block.named_parameters(), p => p.name.StartsWith("conv_sc", StringComparison.Ordinal));
        var expected = Conv(block, "conv2").forward(Relu(Conv(block, "conv1").forward(Relu(x)))).add(x);
        Assert.True(block.forward(x).allclose(expected, rtol: 1e-12, atol: 1e-12));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void NoBatchNormAnywhereOnlySpectralNormVectors(bool preactivation)
    {
        using var block = new ResBlockDown(3, 5, preactivation: preactivation);
        Assert.Empty(block.modules().OfType<BatchNorm>());
        Assert.False(StandingStatistics.Applies(block));
        Assert.Equal(["conv1.u", "conv2.u", "conv_sc.u"], block.named_buffers().Select(b => b.name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void HiddenWidthIsTheOutputWidth()
    {
        using var block = new ResBlockDown(3, 5);
        Assert.Equal([5L, 3L, 3L, 3L], Conv(block, "conv1").Weight.shape);
        Assert.Equal([5L, 5L, 3L, 3L], Conv(block, "conv2").Weight.shape);
        Assert.Equal([5L, 3L, 1L, 1L], Conv(block, "conv_sc").Weight.shape);
    }
}
