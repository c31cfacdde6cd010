using GenCluster.Trainer.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Tests.Layers;

public class SNEmbeddingTests
{
    private static SnCase Case(Generator? generator = null)
    {
        var m = new SNEmbedding(5, 3, generator: generator);
        var g = new Generator(24); // lives as long as the case: the input factory draws from it
        return new SnCase(m, () => m.Weight, m.Sigma, m.NormalisedWeight, 0,
            _ => torch.tensor(new long[] { 0, 4, 2, 2, 1, 3 }).reshape(2, 3),
            (idx, w) => w.index_select(0, idx.reshape(-1)).reshape(2, 3, 3));
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
    public void UStaysARegisteredBuffer() => SpectralNormKit.UStaysARegisteredBuffer(Case(), ["weight", "u"]);

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
    public void LooksUpRowsOfTheNormalisedTable()
    {
        using var m = new SNEmbedding(4, 6);
        m.eval();
        using var scope = torch.NewDisposeScope();
        var y = m.forward(torch.tensor(new long[] { 3, 1 }));
        Assert.Equal([2L, 6], y.shape);
        Assert.True(y[0].equal(m.NormalisedWeight()[3]).all().item<bool>());
        Assert.Equal([4L], m.state_dict()["u"].shape);
    }
}
