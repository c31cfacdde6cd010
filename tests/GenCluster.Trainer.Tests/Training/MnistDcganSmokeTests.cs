using GenCluster.Contracts.Jobs;
using GenCluster.Trainer.Checkpoints;
using GenCluster.Trainer.Data;
using GenCluster.Trainer.Tests.Support;
using GenCluster.Trainer.Training;

namespace GenCluster.Trainer.Tests.Training;

/// <summary>A few DCGAN steps on a slice of real MNIST, two ranks, end to end through data, checkpoint and sample.</summary>
public class MnistDcganSmokeTests
{
    [Fact]
    public async Task TwoRanksTrainOnAnMnistSliceAndWriteACheckpointAndASample()
    {
        using var temp = RepoPaths.NewTemp();
        var engine = new TrainingEngineOptions
        {
            Threads = 1,
            DataDirectory = Path.Combine(temp.Path, "data"),
            SharedDatasetDirectory = RepoPaths.SharedMnist is { } mnist ? Path.GetDirectoryName(mnist) : null,
            SampleCount = 16,
        };
        var spec = new JobSpec
        {
            DatasetLimit = 256,
            PerWorkerBatch = 16,
            Steps = 3,
            CheckpointEvery = 0,
            SampleEvery = 0,
            Model = new GenCluster.Contracts.Models.DcganOptions { LatentDim = 16, Width = 8 },
        };
        var data = await TrainingData.LoadAsync(spec, engine);
        Assert.Equal(256, data.Count);
        Assert.Equal((28, 28), (data.Height, data.Width));

        using var group = new InProcessGroup(2);
        var runDir = Path.Combine(temp.Path, "runs", "job");
        var sessions = Enumerable.Range(0, 2).Select(rank => new TrainingSession(new SessionSetup
        {
            Spec = spec,
            RunDirectory = runDir,
            Collectives = group.For(rank),
            Dataset = data,
            Engine = engine,
        })).ToArray();
        try
        {
            var results = await SessionHarness.RunAll(sessions, spec.Steps);

            Assert.All(results, r => Assert.Equal(SessionOutcome.Completed, r.Outcome));
            var checkpoint = CheckpointStore.Load(results[0].LastCheckpoint!);
            Assert.Equal(3, checkpoint.Manifest.Step);
            Assert.Equal(2, checkpoint.Manifest.WorldSize);
            Assert.True(File.Exists(Path.Combine(runDir, "samples", "step-000003.png")));
            Assert.Equal(SessionHarness.State(sessions[0].Recipe), SessionHarness.State(sessions[1].Recipe));
        }
        finally
        {
            SessionHarness.DisposeAll(sessions);
        }
    }

    [Fact]
    public async Task UnknownDatasetNamesTheField()
    {
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => TrainingData.LoadAsync(new JobSpec { Dataset = "cifar10" }, new TrainingEngineOptions()));
        Assert.Contains("JobSpec.Dataset 'cifar10'", ex.Message);
    }
}
