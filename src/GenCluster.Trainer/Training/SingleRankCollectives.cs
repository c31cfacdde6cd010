using GenCluster.Trainer.Distributed;

namespace GenCluster.Trainer.Training;

/// <summary>The collectives of a world of one: every operation leaves the buffer as it is.</summary>
public sealed class SingleRankCollectives : ICollectives
{
    /// <inheritdoc />
    public int Rank => 0;

    /// <inheritdoc />
    public int WorldSize => 1;

    /// <inheritdoc />
    public Task AllReduceAsync(Memory<float> buffer, ReduceOp op, CancellationToken cancellationToken = default) => Task.CompletedTask;

    /// <inheritdoc />
    public Task ReduceScatterAsync(Memory<float> buffer, ReduceOp op, CancellationToken cancellationToken = default) => Task.CompletedTask;

    /// <inheritdoc />
    public Task AllGatherAsync(Memory<float> buffer, CancellationToken cancellationToken = default) => Task.CompletedTask;

    /// <inheritdoc />
    public Task BroadcastAsync(Memory<float> buffer, int root, CancellationToken cancellationToken = default) =>
        root == 0 ? Task.CompletedTask : throw new ArgumentOutOfRangeException(nameof(root), root, "the only rank is 0");

    /// <inheritdoc />
    public Task BarrierAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    /// <inheritdoc />
    public Task<double[][]> AllGatherAsync(ReadOnlyMemory<double> values, CancellationToken cancellationToken = default) =>
        Task.FromResult(new[] { values.ToArray() });
}
