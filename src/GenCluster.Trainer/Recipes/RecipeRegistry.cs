using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Models;
using GenCluster.Trainer.Training;
using GenCluster.Trainer.Recipes.Autoencoder;
using GenCluster.Trainer.Recipes.Gan;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Recipes;

/// <summary>What a recipe is built for: the data's shape, the device, the seed of its initial weights.</summary>
public sealed record RecipeSetup
{
    /// <summary>Seed of the initial weights.</summary>
    public long Seed { get; init; } = 1;

    /// <summary>Training device.</summary>
    public Device Device { get; init; } = CPU;

    /// <summary>Image channels.</summary>
    public int Channels { get; init; } = 1;

    /// <summary>Image height.</summary>
    public int Height { get; init; } = 28;

    /// <summary>Image width.</summary>
    public int Width { get; init; } = 28;

    /// <summary>Classes of the data set (0 = unlabelled).</summary>
    public int Classes { get; init; }

    /// <summary>Target size of one gradient all-reduce message (0 = <see cref="GradientBuckets.AutoBucketBytes"/>).</summary>
    public long BucketBytes { get; init; }

    /// <summary>Overlap the gradient all-reduce with backward where the recipe allows it (<see cref="BackwardOverlap"/>).</summary>
    public bool OverlapBackward { get; init; }

    /// <summary>
    /// The bucket size for a network whose gradients <paramref name="overlapping"/> all-reduce during backward or not:
    /// <see cref="BucketBytes"/> when set; otherwise a quarter of the network's gradients when overlapping (0, see
    /// <see cref="GradientBuckets.AutoBucketBytes"/>), and DDP's 25 MiB when not, since buckets only help by starting
    /// early: after backward one large all-reduce pays the per-collective latency once.
    /// </summary>
    public long BucketBytesFor(bool overlapping) => BucketBytes > 0 ? BucketBytes : overlapping ? 0 : 25L * 1024 * 1024;

    /// <summary>Whether gradients overlap with backward here: asked for, with ranks to all-reduce with (one rank registers no hooks).</summary>
    public bool Overlaps => OverlapBackward && WorldSize > 1;

    /// <summary>Ranks in the round (the gradient buckets carry one NaN flag per rank).</summary>
    public int WorldSize { get; init; } = 1;

    /// <summary>This process's rank in the round (the shard of sharded optimiser state it keeps).</summary>
    public int Rank { get; init; }

    /// <summary>Shard the optimiser state over the round (<c>JobSpec.ShardOptimizer</c>, ZeRO-1).</summary>
    public bool ShardOptimizer { get; init; }
}

/// <summary>
/// The recipe for each model kind of <see cref="ModelCatalog"/>. Adding a family means a folder under Recipes and one
/// line here; the cadence, journal and worker loop do not change.
/// </summary>
public static class RecipeRegistry
{
    private static readonly IReadOnlyDictionary<Type, Func<ModelOptions, RecipeSetup, ITrainingRecipe>> Factories =
        new Dictionary<Type, Func<ModelOptions, RecipeSetup, ITrainingRecipe>>
        {
            [typeof(MlpGanOptions)] = GanRecipe.Create,
            [typeof(CganOptions)] = GanRecipe.Create,
            [typeof(DcganOptions)] = GanRecipe.Create,
            [typeof(WganOptions)] = GanRecipe.Create,
            [typeof(WganGpOptions)] = GanRecipe.Create,
            [typeof(SnganOptions)] = GanRecipe.Create,
            [typeof(SaganOptions)] = GanRecipe.Create,
            [typeof(BigGanOptions)] = GanRecipe.Create,
            [typeof(VaeOptions)] = VaeRecipe.Create,
            [typeof(VqVaeOptions)] = VqVaeRecipe.Create,
            [typeof(VqVae2Options)] = VqVaeRecipe.Create,
        };

    /// <summary>Kinds with a recipe.</summary>
    public static IReadOnlyList<string> Kinds => ModelCatalog.Entries.Where(e => Factories.ContainsKey(e.OptionsType)).Select(e => e.Kind).ToList();

    /// <summary>Builds the recipe for <paramref name="options"/>.</summary>
    /// <exception cref="ArgumentException">No recipe for the kind, or sharded optimiser state asked of a kind that does not shard it; the message names the field.</exception>
    public static ITrainingRecipe Create(ModelOptions options, RecipeSetup setup)
    {
        if (!Factories.TryGetValue(options.GetType(), out var factory))
            throw new ArgumentException($"model kind '{options.Kind}' has no training recipe in this trainer; it has {string.Join(", ", Kinds)}", nameof(options));
        if (setup.ShardOptimizer && OptimizerSharding.Refusal(options) is { } refusal)
            throw new ArgumentException($"shardOptimizer: {refusal}", nameof(setup));
        return factory(options, setup);
    }
}
