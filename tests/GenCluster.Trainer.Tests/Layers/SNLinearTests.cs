using GenCluster.Trainer.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Tests.Layers;

public class SNLinearTests
{
    private static SnCase Case(Generator? generator = null)
    {
        var m = new SNLinear(4, 3, generator: generator);
        var g = new Generator(21); // lives as long as the case: the input factory draws from it
        return new SnCase(m, () => m.Weight, m.Sigma, m.NormalisedWeight, 0,
            dtype => torch.randn([5, 4], dtype: dtype, generator: g),
            (x, w) => nn.functional.linear(x, w, m.Bias));
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
    public void WithoutBiasThereIsNoBiasKey()
    {
        using var m = new SNLinear(4, 3, hasBias: false);
        Assert.Null(m.Bias);
        Assert.Equal(["u", "weight"], m.state_dict().Keys.Order());
    }

    [Fact]
    public void MorePowerIterationsConvergeFaster()
    {
        using var g = new Generator(5);
        using var one = new SNLinear(6, 6, generator: g);
        using var five = new SNLinear(6, 6, generator: g, powerIterations: 5);
        using var noGrad = torch.no_grad();
        five.Weight.copy_(one.Weight);
        five.state_dict()["u"].copy_(one.state_dict()["u"]);
        using var x = torch.randn(2, 6);
        for (var i = 0; i < 5; i++) one.forward(x).Dispose();
        five.forward(x).Dispose();
        Assert.True(one.state_dict()["u"].allclose(five.state_dict()["u"], rtol: 1e-5, atol: 1e-6), "five single iterations = one call of five");
    }
}
