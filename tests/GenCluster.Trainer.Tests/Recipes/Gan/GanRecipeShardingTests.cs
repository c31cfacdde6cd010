using GenCluster.Contracts.Models;
using GenCluster.Trainer.Recipes;
using GenCluster.Trainer.Training;
using Xunit.Abstractions;

namespace GenCluster.Trainer.Tests.Recipes.Gan;

/// <summary>The GAN recipe with <c>shardOptimizer</c>: what each rank holds, and the kinds that refuse it.</summary>
public class GanRecipeShardingTests(ITestOutputHelper output)
{
    private static long StateBytes(ModelOptions model, int world, int rank, bool shard)
    {
        using var recipe = RecipeRegistry.Create(model, new RecipeSetup { Seed = 1, WorldSize = world, Rank = rank, ShardOptimizer = shard });
        return recipe.Optimizers.Sum(o => o.State.StateBytes);
    }

    /// <summary>
    /// DCGAN at its default size (the <c>gencluster local</c> preset's width is 32): each rank's optimiser bytes are the
    /// replicated figure over the world size, up to one element per gradient bucket; the figures go to the test output.
    /// </summary>
    [Theory]
    [InlineData(64)]
    [InlineData(32)]
    public void OptimizerBytesPerRankFallByTheWorldSize(int width)
    {
        var model = new DcganOptions { Width = width };
        var replicated = StateBytes(model, 1, 0, shard: false);
        Assert.Equal(replicated, StateBytes(model, 1, 0, shard: true));
        output.WriteLine($"dcgan width {width}: optimizer bytes per rank, replicated {replicated:N0}");
        foreach (var world in new[] { 2, 3, 4, 8 })
        {
            var perRank = Enumerable.Range(0, world).Select(rank => StateBytes(model, world, rank, shard: true)).ToArray();
            output.WriteLine($"  sharded over {world}: {string.Join(" / ", perRank.Select(b => b.ToString("N0")))} (replicated / {world} = {replicated / (double)world:N0})");
            Assert.Equal(replicated, perRank.Sum());
            // G and D: one bucket each at this size, so a rank's share is off by at most one element (8 bytes) per bucket.
            Assert.All(perRank, b => Assert.InRange(b, (replicated / world) - 16, (replicated / world) + 16));
        }
    }

    [Fact]
    public void KindsThatDoNotShardTheirOptimizerRefuseNamingTheField()
    {
        var vae = Assert.Throws<ArgumentException>(() => RecipeRegistry.Create(new VaeOptions(), new RecipeSetup { ShardOptimizer = true }));
        Assert.StartsWith("shardOptimizer: ", vae.Message);
        Assert.Contains("'vae'", vae.Message);

        var rmsprop = Assert.Throws<ArgumentException>(() => RecipeRegistry.Create(new WganOptions { Width = 8 }, new RecipeSetup { ShardOptimizer = true }));
        Assert.Contains("model.optimizer 'adam'", rmsprop.Message);
        Assert.Contains("'rmsprop'", rmsprop.Message);
    }
}
