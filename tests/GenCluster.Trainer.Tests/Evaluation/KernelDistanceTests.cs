using GenCluster.Trainer.Evaluation;
using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Tests.Evaluation;

public class KernelDistanceTests
{
    [Fact]
    public void UnbiasedEstimatorMatchesAHandComputation()
    {
        // d = 1, k(x, y) = (xy + 1)³. X = {1, 2}, Y = {0, 1, 3}.
        // Off-diagonal X pairs: k(1,2) = 27 (twice) → 54 / (2·1) = 27.
        // Off-diagonal Y pairs: k(0,1) = 1, k(0,3) = 1, k(1,3) = 64 (each twice) → 132 / (3·2) = 22.
        // Cross: k(1,0)=1 k(1,1)=8 k(1,3)=64 k(2,0)=1 k(2,1)=27 k(2,3)=343 → 444 / 6 = 74.
        // MMD²ᵤ = 27 + 22 − 2·74 = −99.
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(new double[,] { { 1 }, { 2 } });
        var y = torch.tensor(new double[,] { { 0 }, { 1 }, { 3 } });
        Assert.Equal(-99, KernelDistance.UnbiasedMmd2(x, y), 1e-12);
    }

    [Fact]
    public void KernelDividesTheDotProductByTheDimension()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(new double[,] { { 1, 2 } });
        var y = torch.tensor(new double[,] { { 3, 4 } });
        Assert.Equal(Math.Pow(11.0 / 2 + 1, 3), KernelDistance.Kernel(x, y).item<double>(), 1e-12);
    }

    [Fact]
    public void SameDistributionGivesAKidNearZero()
    {
        using var scope = torch.NewDisposeScope();
        using var generator = new Generator(5);
        var x = torch.randn([4000, 32], dtype: ScalarType.Float64, generator: generator);
        var y = torch.randn([4000, 32], dtype: ScalarType.Float64, generator: generator);
        var kid = KernelDistance.Compute(x, y, subsets: 10, subsetSize: 1000, seed: 1);
        Assert.True(Math.Abs(kid.Mean) < 1e-3, $"KID {kid.Mean}");
        Assert.Equal((10, 1000), (kid.Subsets, kid.SubsetSize));
        Assert.True(kid.Std > 0);
    }

    [Fact]
    public void AShiftedDistributionGivesAClearlyPositiveKid()
    {
        using var scope = torch.NewDisposeScope();
        using var generator = new Generator(6);
        var x = torch.randn([4000, 32], dtype: ScalarType.Float64, generator: generator);
        var y = torch.randn([4000, 32], dtype: ScalarType.Float64, generator: generator) + 0.5;
        var kid = KernelDistance.Compute(x, y, subsets: 10, subsetSize: 1000, seed: 1);
        Assert.True(kid.Mean > 0.05 && kid.Mean > 10 * kid.Std, $"KID {kid.Mean} ± {kid.Std}");
    }

    [Fact]
    public void SubsetsAreSeededAndCappedByTheSmallerSet()
    {
        using var scope = torch.NewDisposeScope();
        using var generator = new Generator(8);
        var x = torch.randn([300, 4], dtype: ScalarType.Float64, generator: generator);
        var y = torch.randn([500, 4], dtype: ScalarType.Float64, generator: generator);
        var first = KernelDistance.Compute(x, y, subsets: 4, subsetSize: 1000, seed: 9);
        Assert.Equal(first, KernelDistance.Compute(x, y, subsets: 4, subsetSize: 1000, seed: 9));
        Assert.Equal(300, first.SubsetSize);
        Assert.NotEqual(first.Mean, KernelDistance.Compute(x, y, subsets: 4, subsetSize: 1000, seed: 10).Mean);
    }
}
