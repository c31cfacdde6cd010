using GenCluster.Trainer.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Tests.Layers;

public class SNConvTranspose2dTests
{
    private static SnCase Case(Generator? generator = null)
    {
        var m = new SNConvTranspose2d(2, 3, kernelSize: 3, stride: 2, padding: 1, generator: generator, outputPadding: 1);
        var g = new Generator(23); // lives as long as the case: the input factory draws from it
        return new SnCase(m, () => m.Weight, m.Sigma, m.NormalisedWeight, 1,
            dtype => torch.randn([2, 2, 3, 3], dtype: dtype, generator: g),
            (x, w) => nn.functional.conv_transpose2d(x, w, m.Bias, strides: [2, 2], padding: [1, 1], output_padding: [1, 1]));
    }

    [Fact]
    public void SigmaConvergesToTheLargestSingularValue() => SpectralNormKit.SigmaConvergesToTheLargestSingularValue(Case());

    [Fact]
    public void ForwardUsesTheNormalisedWeight() => SpectralNormKit.ForwardUsesTheNormalisedWeight(Case());

    [Fact]
    public void OneIterationPerTrainingForwardAndNoneInEval() => SpectralNormKit.OneIterationPerTrainingForwardAndNoneInEval(Case());

    [Fact]
    public void WeightGradientMatchesFiniteDifferences() => SpectralNormKit.WeightGradientMatchesFiniteDifferences(Case());

    [Fact]
    public void UStaysARegisteredBuffer() => SpectralNormKit.UStaysARegisteredBuffer(Case(), ["weight", "bias", "u"]);

    [Fact]
    public void TheSameSeedGivesTheSameWeightAndU()
    {
        using var g1 = new Generator(3);
        using var g2 = new Generator(3);
        using var g3 = new Generator(4);
        var a = Case(g1).Module.state_dict();
        var b = Case(g2).Module.state_dict();
        var c = Case(g3).Module.state_dict();
        foreach (var key in a.Keys)
        {
            Assert.True(a[key].equal(b[key]).all().item<bool>(), $"{key} differs for the same seed");
            Assert.False(a[key].equal(c[key]).all().item<bool>(), $"{key} equal for different seeds");
        }
    }

    [Fact]
    public void RowsAreTheOutputChannelsAsInPyTorch()
    {
        using var m = new SNConvTranspose2d(2, 5, kernelSize: 4, stride: 2, padding: 1);
        using var x = torch.randn(1, 2, 7, 7);
        using var y = m.forward(x);
        Assert.Equal([5L], m.state_dict()["u"].shape);
        Assert.Equal([2L, 5, 4, 4], m.Weight.shape);
        Assert.Equal([1L, 5, 14, 14], y.shape);
    }
}
