using GenCluster.Contracts.Jobs;
using GenCluster.Grains.Jobs;

namespace GenCluster.Grains.Tests.Jobs;

public class BatchGeometryTests
{
    [Theory]
    [InlineData(1, 8)]
    [InlineData(2, 4)]
    [InlineData(4, 2)]
    [InlineData(8, 1)]
    public void AccumulationKeepsTheGlobalBatchFixed(int worldSize, int expected)
    {
        var spec = new JobSpec { PerWorkerBatch = 32, GlobalBatch = 256, MinWorkers = 1, MaxWorkers = 8 };
        Assert.Equal(expected, BatchGeometry.GradientAccumulation(spec, worldSize));
        Assert.Equal(256, expected * worldSize * spec.PerWorkerBatch);
    }

    [Fact]
    public void WithoutAGlobalBatchTheSpecsAccumulationIsUsed()
    {
        var spec = new JobSpec { PerWorkerBatch = 32, GradientAccumulation = 3 };
        Assert.Equal(3, BatchGeometry.GradientAccumulation(spec, 5));
    }

    [Fact]
    public void WorldSizesThatCannotKeepTheGlobalBatchAreExcluded()
    {
        var spec = new JobSpec { PerWorkerBatch = 32, GlobalBatch = 256, MinWorkers = 1, MaxWorkers = 6 };
        Assert.Equal([1, 2, 4], BatchGeometry.WorldSizes(spec));
        var e = Assert.Throws<ArgumentException>(() => BatchGeometry.GradientAccumulation(spec, 3));
        Assert.Contains("globalBatch 256", e.Message);
        Assert.Contains("world size 3", e.Message);
    }

    [Fact]
    public async Task WorldSizesUpToTheLargestIntEnd()
    {
        var spec = new JobSpec { PerWorkerBatch = 1, GlobalBatch = 2, MinWorkers = int.MaxValue - 2, MaxWorkers = int.MaxValue };

        var sizes = await Task.Run(() => BatchGeometry.WorldSizes(spec)).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Empty(sizes);
    }
}
