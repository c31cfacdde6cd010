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

    [Fact]
    public async Task SessionWithCheckpointsAndSamplesKeepsTheLiveTensorCountFlat()
    {
        using var temp = RepoPaths.NewTemp();
        using var group = new InProcessGroup(1);
        var spec = SessionHarness.TinySpec(4, checkpointEvery: 5, sampleEvery: 5);
        var sessions = SessionHarness.Create(1, spec, temp.Path, SyntheticIdx.Dataset(64), _ => TinyGan.Create(1), group);
        var live = new Dictionary<long, long>();
        var created = new Dictionary<long, long>();
        // Events fire on the training thread, whose statistics are the ones that matter.
        sessions[0].StepCompleted += p =>
        {
            live[p.Step] = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            created[p.Step] = DisposeScopeManager.Statistics.CreatedInScopeCount;
        };
        try
        {
            await SessionHarness.RunAll(sessions, 60);
        }
        finally
        {
            SessionHarness.DisposeAll(sessions);
        }

        Assert.True(created[60] - created[11] > 49 * 20, "the statistics should see the tensors each step creates");
        Assert.True(live[60] == live[11], $"live tensors on the training thread went from {live[11]} at step 11 to {live[60]} at step 60");
    }
}
