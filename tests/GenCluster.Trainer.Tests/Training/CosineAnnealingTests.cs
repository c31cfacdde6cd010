using GenCluster.Trainer.Training;

namespace GenCluster.Trainer.Tests.Training;

public class CosineAnnealingTests
{
    [Fact]
    public void StartsAtTheRateHalvesMidwayAndEndsAtZero()
    {
        Assert.Equal(1e-3, CosineAnnealing.Rate(1e-3, 0, 100), 15);
        Assert.Equal(5e-4, CosineAnnealing.Rate(1e-3, 50, 100), 15);
        Assert.Equal(0, CosineAnnealing.Rate(1e-3, 100, 100), 15);
        // Symmetric about the middle: η_t + η_(T−t) = η.
        Assert.Equal(1e-3, CosineAnnealing.Rate(1e-3, 20, 100) + CosineAnnealing.Rate(1e-3, 80, 100), 15);
        var rates = Enumerable.Range(0, 101).Select(t => CosineAnnealing.Rate(1, t, 100)).ToList();
        Assert.All(rates.Zip(rates.Skip(1)), pair => Assert.True(pair.Second < pair.First));
    }

    [Fact]
    public void RefusesStepsOutsideTheSchedule()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => CosineAnnealing.Rate(1, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => CosineAnnealing.Rate(1, -1, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => CosineAnnealing.Rate(1, 11, 10));
    }
}
