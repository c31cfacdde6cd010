using GenCluster.Trainer.Layers;
using TorchSharp;

namespace GenCluster.Trainer.Tests.Layers;

public class TruncationTests
{
    [Theory]
    [InlineData(0.1)]
    [InlineData(0.5)]
    [InlineData(2.0)]
    public void NeverReturnsAValueAboveTheThresholdAndKeepsThoseBelow(double threshold)
    {
        using var generator = new torch.Generator(9);
        using var z = torch.randn([200, 16], generator: generator);
        using var truncated = Truncation.Resample(z, threshold, generator);

        Assert.True(truncated.abs().max().item<float>() <= threshold);
        using var inside = z.abs().le(threshold);
        Assert.True(truncated.masked_select(inside).eq(z.masked_select(inside)).all().item<bool>(), "values within the threshold are kept");
        Assert.Equal(z.shape, truncated.shape);
    }

    [Fact]
    public void ANonPositiveThresholdIsRefused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Truncation.Resample(torch.zeros(2), 0));
}
