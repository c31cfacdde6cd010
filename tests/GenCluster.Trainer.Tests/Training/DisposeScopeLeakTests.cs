using GenCluster.Contracts.Jobs;
using GenCluster.Trainer.Data;
using GenCluster.Trainer.Models;
using GenCluster.Trainer.Objectives;
using GenCluster.Trainer.Tests.Support;
using GenCluster.Trainer.Training;
using TorchSharp;

namespace GenCluster.Trainer.Tests.Training;

public class DisposeScopeLeakTests
{
    [Fact]
    public void LiveTensorCountStaysFlatOverManySteps()
    {
        torch.set_num_threads(1);
        using var group = new InProcessGroup(1);
        using var models = GanModels.Create(new JobSpec { ModelOptions = new ModelOptions { LatentDim = 8, Width = 4 } }, seed: 1);
        var data = new ImageDataset(SyntheticIdx.Images(64, 28, 28), 64, 28, 28);
        using var noise = new torch.Generator(5);
        using var step = new DataParallelGanStep(models, new NonSaturatingObjective(), group.For(0), data,
            new DistributedSampler(64, 1, 0, 8, seed: 1), noise, perWorkerBatch: 8, accumulation: 2, new ModelOptions(), torch.CPU, bucketBytes: 8192);

        for (var i = 0; i < 3; i++) step.Run(false, default);
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (var i = 0; i < 60; i++) step.Run(false, default);
        var after = DisposeScopeManager.Statistics.ThreadTotalLiveCount;

        Assert.True(before > 0, "the statistics should see the models' tensors created on this thread");
        Assert.True(after == before, $"live tensors grew from {before} to {after} over 60 steps");
    }
}
