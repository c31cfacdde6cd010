using GenCluster.Contracts.Jobs;
using GenCluster.Trainer.Training;

namespace GenCluster.Trainer.Tests.Training;

public class StepBenchmarkTests
{
    [Fact]
    public void ReportsPositiveTimesAndRates()
    {
        var spec = new JobSpec { PerWorkerBatch = 8, Model = new GenCluster.Contracts.Models.DcganOptions { LatentDim = 8, Width = 4 } };

        var result = StepBenchmark.Run(spec, threads: 1, steps: 3, warmup: 1);

        Assert.True(result.MedianStepSeconds > 0);
        Assert.True(result.TrainingFlops > 0 && result.MatmulFlops > 0);
        Assert.Equal(result.TrainingFlops / result.MatmulFlops, result.Efficiency);
    }

    [Fact]
    public async Task SingleRankCollectivesLeaveValuesAsTheyAre()
    {
        var collectives = new SingleRankCollectives();
        var buffer = new float[] { 1, 2 };

        await collectives.AllReduceAsync(buffer, GenCluster.Trainer.Distributed.ReduceOp.Average);
        var gathered = await collectives.AllGatherAsync(new double[] { 3 });

        Assert.Equal([1f, 2f], buffer);
        Assert.Equal([3.0], Assert.Single(gathered));
    }
}
