using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Workers;
using GenCluster.Trainer.Checkpoints;
using GenCluster.Trainer.Data;
using GenCluster.Contracts.Models;
using GenCluster.Trainer.Recipes;
using GenCluster.Trainer.Recipes.Gan;
using GenCluster.Trainer.Tests.Support;
using TorchSharp;

namespace GenCluster.Trainer.Tests.Training;

/// <summary>A run interrupted at step k and resumed from its checkpoint ends exactly where the uninterrupted run does.</summary>
public class ExactResumeTests
{
    [Fact]
    public async Task TwoRanksResumedAtStepThreeMatchSixUninterruptedSteps()
    {
        var data = SyntheticIdx.Dataset(40);
        var spec = SessionHarness.TinySpec(4, checkpointEvery: 3);

        using var straightDir = RepoPaths.NewTemp();
        float[] straight;
        using (var group = new InProcessGroup(2))
        {
            var sessions = SessionHarness.Create(2, spec, straightDir.Path, data, _ => TinyGan.Create(1), group);
            await SessionHarness.RunAll(sessions, 6);
            straight = SessionHarness.State(sessions[0].Recipe);
            SessionHarness.DisposeAll(sessions);
        }

        using var resumedDir = RepoPaths.NewTemp();
        CheckpointRef checkpoint;
        using (var group = new InProcessGroup(2))
        {
            var sessions = SessionHarness.Create(2, spec, resumedDir.Path, data, _ => TinyGan.Create(1), group);
            checkpoint = (await SessionHarness.RunAll(sessions, 3))[0].LastCheckpoint!;
            SessionHarness.DisposeAll(sessions);
        }
        float[] resumed;
        using (var group = new InProcessGroup(2))
        {
            // Fresh processes would build freshly initialised models: use different weights to prove they are replaced.
            var sessions = SessionHarness.Create(2, spec, resumedDir.Path, data, rank => TinyGan.Create(99 + rank), group, resumeFrom: checkpoint);
            var results = await SessionHarness.RunAll(sessions, 6);
            Assert.All(results, r => Assert.Equal(6, r.Step));
            Assert.Equal(checkpoint, sessions[1].ResumedFrom);
            resumed = SessionHarness.State(sessions[0].Recipe);
            SessionHarness.DisposeAll(sessions);
        }

        Assert.Equal(3, checkpoint.Step);
        Assert.Equal(straight, resumed);
    }

    /// <summary>
    /// A checkpoint of a sharded run holds the whole optimiser state: it resumes sharded at another world size, or
    /// unsharded, and a replicated run's checkpoint resumes sharded, each following one worker's uninterrupted run
    /// with the same global batch.
    /// </summary>
    [Theory]
    [InlineData(2, true, 3, true)]
    [InlineData(2, true, 1, true)]
    [InlineData(2, true, 3, false)]
    [InlineData(3, false, 2, true)]
    public async Task ShardedOptimizerStateResumesAtAnotherWorldSize(int firstWorld, bool firstSharded, int secondWorld, bool secondSharded)
    {
        const int globalBatch = 12;
        var data = SyntheticIdx.Dataset(48);
        JobSpec Spec(int world, bool shard) => SessionHarness.TinySpec(globalBatch / world, checkpointEvery: 3) with { ShardOptimizer = shard };

        using var straightDir = RepoPaths.NewTemp();
        float[] straight;
        using (var group = new InProcessGroup(1))
        {
            var sessions = SessionHarness.Create(1, Spec(1, false), straightDir.Path, data, _ => TinyGan.Create(1), group);
            await SessionHarness.RunAll(sessions, 6);
            straight = SessionHarness.State(sessions[0].Recipe);
            SessionHarness.DisposeAll(sessions);
        }

        using var resumedDir = RepoPaths.NewTemp();
        CheckpointRef checkpoint;
        using (var group = new InProcessGroup(firstWorld))
        {
            var sessions = SessionHarness.Create(firstWorld, Spec(firstWorld, firstSharded), resumedDir.Path, data, _ => TinyGan.Create(1), group);
            checkpoint = (await SessionHarness.RunAll(sessions, 3))[0].LastCheckpoint!;
            SessionHarness.DisposeAll(sessions);
        }
        float[] resumed;
        using (var group = new InProcessGroup(secondWorld))
        {
            var sessions = SessionHarness.Create(secondWorld, Spec(secondWorld, secondSharded), resumedDir.Path, data, rank => TinyGan.Create(99 + rank), group, resumeFrom: checkpoint);
            var results = await SessionHarness.RunAll(sessions, 6);
            Assert.All(results, r => Assert.Equal(6, r.Step));
            resumed = SessionHarness.State(sessions[0].Recipe);
            foreach (var other in sessions.Skip(1)) Assert.Equal(resumed, SessionHarness.State(other.Recipe));
            SessionHarness.DisposeAll(sessions);
        }

        var maxDiff = straight.Zip(resumed).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(maxDiff <= 1e-5,
            $"{firstWorld} ranks (sharded: {firstSharded}) resumed on {secondWorld} (sharded: {secondSharded}): max |Δ| from the uninterrupted run is {maxDiff}, expected ≤ 1e-5");
    }

    [Fact]
    public async Task DcganWithBatchNormResumesExactlyAndTheCheckpointReproducesTheGenerator()
    {
        var data = new ImageDataset(SyntheticIdx.Images(48, 28, 28), 48, 28, 28);
        var spec = new JobSpec { PerWorkerBatch = 8, Seed = 3, CheckpointEvery = 2, Model = new DcganOptions { LatentDim = 8, Width = 4 } };
        ITrainingRecipe Dcgan(int rank) => RecipeRegistry.Create(spec.Model, new RecipeSetup { Seed = 3 + rank });

        using var straightDir = RepoPaths.NewTemp();
        float[] straight;
        using (var group = new InProcessGroup(1))
        {
            var sessions = SessionHarness.CreateWith(1, spec, straightDir.Path, data, Dcgan, group);
            await SessionHarness.RunAll(sessions, 5);
            straight = SessionHarness.State(sessions[0].Recipe);
            SessionHarness.DisposeAll(sessions);
        }

        using var resumedDir = RepoPaths.NewTemp();
        CheckpointRef checkpoint;
        using var z = torch.randn(6, 8);
        float[] expectedImages;
        using (var group = new InProcessGroup(1))
        {
            var sessions = SessionHarness.CreateWith(1, spec, resumedDir.Path, data, Dcgan, group);
            checkpoint = (await SessionHarness.RunAll(sessions, 2))[0].LastCheckpoint!;
            expectedImages = Generate(((GanRecipe)sessions[0].Recipe).Generator, z);
            SessionHarness.DisposeAll(sessions);
        }

        using (var fresh = (GanRecipe)RecipeRegistry.Create(spec.Model, new RecipeSetup { Seed = 42 }))
        {
            var loaded = CheckpointStore.Load(checkpoint);
            fresh.Generator.load(loaded.PathOf("generator.bin"));
            Assert.Equal(expectedImages, Generate(fresh.Generator, z));
        }

        float[] resumed;
        var diffs = new List<string>();
        using (var group = new InProcessGroup(1))
        {
            var sessions = SessionHarness.CreateWith(1, spec, resumedDir.Path, data, rank => Dcgan(rank + 10), group, resumeFrom: checkpoint);
            sessions[0].OptionsDiffer += diffs.AddRange;
            await SessionHarness.RunAll(sessions, 5);
            resumed = SessionHarness.State(sessions[0].Recipe);
            SessionHarness.DisposeAll(sessions);
        }

        Assert.Empty(diffs);
        Assert.Equal(straight, resumed);
    }

    [Fact]
    public async Task ResumingWithChangedOptionsReportsTheDifference()
    {
        var data = SyntheticIdx.Dataset(40);
        using var dir = RepoPaths.NewTemp();
        CheckpointRef checkpoint;
        using (var group = new InProcessGroup(1))
        {
            var sessions = SessionHarness.Create(1, SessionHarness.TinySpec(4), dir.Path, data, _ => TinyGan.Create(1), group);
            checkpoint = (await SessionHarness.RunAll(sessions, 1))[0].LastCheckpoint!;
            SessionHarness.DisposeAll(sessions);
        }
        var changed = SessionHarness.TinySpec(4) with { Model = (DcganOptions)SessionHarness.TinySpec(4).Model with { LearningRateG = 5e-4 } };
        var diffs = new List<string>();
        using (var group = new InProcessGroup(1))
        {
            var sessions = SessionHarness.Create(1, changed, dir.Path, data, _ => TinyGan.Create(1), group, resumeFrom: checkpoint);
            sessions[0].OptionsDiffer += diffs.AddRange;
            await SessionHarness.RunAll(sessions, 2);
            SessionHarness.DisposeAll(sessions);
        }

        Assert.Equal(["spec.model.learning_rate_g: 0.001 (checkpoint) -> 0.0005 (now)"], diffs);
    }

    [Fact]
    public async Task ResumingOnFewerRanksWithTheSameGlobalBatchFollowsTheSameTrajectory()
    {
        var data = SyntheticIdx.Dataset(48);
        var twoRanks = SessionHarness.TinySpec(4, checkpointEvery: 3);
        var oneRank = SessionHarness.TinySpec(8, checkpointEvery: 3);

        using var straightDir = RepoPaths.NewTemp();
        float[] straight;
        using (var group = new InProcessGroup(2))
        {
            var sessions = SessionHarness.Create(2, twoRanks, straightDir.Path, data, _ => TinyGan.Create(1), group);
            await SessionHarness.RunAll(sessions, 8);
            straight = SessionHarness.State(sessions[0].Recipe);
            SessionHarness.DisposeAll(sessions);
        }

        using var dir = RepoPaths.NewTemp();
        CheckpointRef checkpoint;
        using (var group = new InProcessGroup(2))
        {
            var sessions = SessionHarness.Create(2, twoRanks, dir.Path, data, _ => TinyGan.Create(1), group);
            checkpoint = (await SessionHarness.RunAll(sessions, 3))[0].LastCheckpoint!;
            SessionHarness.DisposeAll(sessions);
        }
        float[] resumed;
        var diffs = new List<string>();
        using (var group = new InProcessGroup(1))
        {
            var sessions = SessionHarness.Create(1, oneRank, dir.Path, data, _ => TinyGan.Create(5), group, resumeFrom: checkpoint);
            sessions[0].OptionsDiffer += diffs.AddRange;
            await SessionHarness.RunAll(sessions, 8);
            resumed = SessionHarness.State(sessions[0].Recipe);
            SessionHarness.DisposeAll(sessions);
        }

        Assert.Equal(["spec.per_worker_batch: 4 (checkpoint) -> 8 (now)", "world_size: 2 (checkpoint) -> 1 (now)"], diffs);
        var maxDiff = straight.Zip(resumed).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(maxDiff <= 1e-5, $"max |2 ranks - resumed on 1 rank| is {maxDiff}, expected ≤ 1e-5");
    }

    private static float[] Generate(torch.nn.Module<torch.Tensor, torch.Tensor, torch.Tensor> g, torch.Tensor z)
    {
        g.eval();
        using var noGrad = torch.no_grad();
        using var labels = torch.zeros(z.shape[0], torch.ScalarType.Int64);
        using var images = g.forward(z, labels);
        g.train();
        return images.data<float>().ToArray();
    }
}
