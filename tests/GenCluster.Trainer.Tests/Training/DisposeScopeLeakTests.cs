using GenCluster.Contracts.Models;
using GenCluster.Trainer.Checkpoints;
using GenCluster.Trainer.Data;
using GenCluster.Trainer.Recipes;
using GenCluster.Trainer.Recipes.Gan;
using GenCluster.Trainer.Tests.Support;
using GenCluster.Trainer.Training;
using TorchSharp;

namespace GenCluster.Trainer.Tests.Training;

public class DisposeScopeLeakTests
{
    public static TheoryData<string> Kinds() => [.. ModelCatalog.Kinds];

    /// <summary>Every recipe, at a small width, with accumulation, EMA and (where the kind has one) the gradient penalty.</summary>
    [Theory]
    [MemberData(nameof(Kinds))]
    public void LiveTensorCountStaysFlatOverManyStepsOfEveryRecipe(string kind)
    {
        torch.set_num_threads(1);
        using var group = new InProcessGroup(1);
        var options = TinyOptions(kind);
        var labels = Enumerable.Range(0, 64).Select(i => i % 10).ToArray();
        var data = new ImageDataset(SyntheticIdx.Images(64, 28, 28), 64, 28, 28, 1, labels, 10);
        using var recipe = RecipeRegistry.Create(options, new RecipeSetup { Seed = 1, Classes = 10, BucketBytes = 8192 });
        using var noise = new NoiseStreams(5);
        var sampler = new DistributedSampler(64, 1, 0, 4, seed: 1);
        long step = 0;
        // Multi-stage kinds step in every stage.
        var stages = options.Stages(30);
        void Run(int i)
        {
            using var scope = torch.NewDisposeScope();
            recipe.Step(new StepContext(group.For(0), data, sampler, noise, 4, 2, torch.CPU, step++, default, stages[i % stages.Count]));
        }

        for (var i = 0; i < 4; i++) Run(i);
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (var i = 0; i < 12; i++) Run(i);
        if (recipe.CanSample)
        {
            using var batch = recipe.Sample(new SampleRequest(4, Ema: true, Seed: 3));
            Assert.Equal(4, batch.Images.shape[0]);
        }
        if (recipe is IReconstructingRecipe autoencoder)
        {
            using var images = data.Batch([0, 1, 2]);
            using var reconstructed = autoencoder.Reconstruct(images);
            foreach (var (_, _, codes) in autoencoder.Codes(images)) codes.Dispose();
        }
        var after = DisposeScopeManager.Statistics.ThreadTotalLiveCount;

        Assert.True(before > 0, "the statistics should see the models' tensors created on this thread");
        Assert.True(after == before, $"{kind}: live tensors grew from {before} to {after} over 12 steps and a sample");
    }

    /// <summary>Every kind at a small size (VQ-VAE-2 with a prior stage).</summary>
    private static ModelOptions TinyOptions(string kind) => ModelCatalog.Defaults(kind) switch
    {
        GanOptions gan => gan with { LatentDim = 12, Width = 8, EmaDecay = 0.9, HistoricalAveraging = kind == "gan" ? 0.1 : 0 },
        VaeOptions vae => vae with { Width = 4, LatentDim = 4 },
        VqVaeOptions vq => vq with { Width = 8, ResidualWidth = 4, CodebookSize = 8, CodeDim = 4 },
        VqVae2Options vq2 => vq2 with { Width = 8, ResidualWidth = 4, CodebookSize = 8, CodeDim = 4, PriorSteps = 15, PriorWidth = 4, PriorLayers = 2, PriorKernel = 3 },
        var other => throw new ArgumentException($"no tiny options for kind {other.Kind}"),
    };

    /// <summary>
    /// Cross-replica BatchNorm on two ranks (threads): the all-reduce autograd nodes and wire copies leave nothing behind;
    /// with sharded optimiser state, neither do the shard updates nor gathering and saving the state for checkpoints;
    /// with buckets all-reduced during backward, neither do the gradient-arrival nodes and bucket snapshots.
    /// </summary>
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void TwoRankStepsKeepTheLiveTensorCountFlatOnEveryRank(bool shardOptimizer, bool overlap)
    {
        const int world = 2;
        using var group = new InProcessGroup(world);
        var options = new DcganOptions { LatentDim = 8, Width = 4, EmaDecay = 0.9, DSteps = 2, SyncBatchNorm = !overlap };
        var labels = Enumerable.Range(0, 64).Select(i => i % 10).ToArray();
        var data = new ImageDataset(SyntheticIdx.Images(64, 28, 28), 64, 28, 28, 1, labels, 10);
        var counts = new (long Before, long After, long Bytes)[world];
        var failures = new Exception?[world];
        var threads = Enumerable.Range(0, world).Select(rank => new Thread(() =>
        {
            try
            {
                torch.set_num_threads(1);
                using var recipe = RecipeRegistry.Create(options,
                    new RecipeSetup
                    {
                        Seed = 1, Classes = 10, BucketBytes = overlap ? 1024 : 8192, WorldSize = world, Rank = rank, ShardOptimizer = shardOptimizer,
                        OverlapBackward = overlap,
                    });
                using var noise = new NoiseStreams(5);
                var sampler = new DistributedSampler(64, world, rank, 4, seed: 1);
                long step = 0;
                long bytes = 0;
                void Run()
                {
                    using var scope = torch.NewDisposeScope();
                    var context = new StepContext(group.For(rank), data, sampler, noise, 4, 2, torch.CPU, step++, default);
                    recipe.Step(context);
                    bytes += overlap ? ((GanRecipe)recipe).OverlapCounts.EarlyLaunches : context.SyncBatchNormBytes;
                    if (step % 4 == 0)
                    {
                        RecipeCheckpoint.GatherOptimizers(recipe, group.For(rank), default);
                        if (rank == 0)
                        {
                            foreach (var optimizer in recipe.Optimizers) optimizer.State.Save(new BinaryWriter(Stream.Null));
                        }
                    }
                }

                for (var i = 0; i < 3; i++) Run();
                var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
                for (var i = 0; i < 12; i++) Run();
                counts[rank] = (before, DisposeScopeManager.Statistics.ThreadTotalLiveCount, bytes);
            }
            catch (Exception ex)
            {
                failures[rank] = ex;
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        Assert.All(failures, f => Assert.Null(f));
        for (var rank = 0; rank < world; rank++)
        {
            var (before, after, bytes) = counts[rank];
            Assert.True(bytes > 0, overlap
                ? $"rank {rank}: buckets should have been all-reduced during backward"
                : $"rank {rank}: the steps should have synchronised BatchNorm statistics");
            Assert.True(after == before, $"rank {rank}: live tensors grew from {before} to {after} over 12 two-rank steps");
        }
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
