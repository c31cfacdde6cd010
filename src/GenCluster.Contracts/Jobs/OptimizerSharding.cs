using GenCluster.Contracts.Models;

namespace GenCluster.Contracts.Jobs;

/// <summary>Which models can shard their optimiser state (<see cref="JobSpec.ShardOptimizer"/>); the silo and the trainers ask the same.</summary>
public static class OptimizerSharding
{
    /// <summary>The kinds whose recipe shards its optimisers (the GAN family, whose optimisers are Adam by default).</summary>
    public static IReadOnlyList<string> Kinds { get; } =
        ModelCatalog.Entries.Where(e => typeof(GanOptions).IsAssignableFrom(e.OptionsType)).Select(e => e.Kind).ToList();

    /// <summary>Why <paramref name="model"/> cannot shard its optimiser state (a message for the <c>shardOptimizer</c> field), or null when it can.</summary>
    public static string? Refusal(ModelOptions model) => model switch
    {
        GanOptions { Optimizer: "adam" } => null,
        GanOptions gan => $"needs model.optimizer 'adam' (the sharded optimiser is Adam), got '{gan.Optimizer}'",
        _ => $"is supported for model kinds {string.Join(", ", Kinds)} so far, got '{model.Kind}'",
    };
}
