namespace GenCluster.Trainer.Distributed;

/// <summary>How an all-reduce combines the ranks' buffers.</summary>
public enum ReduceOp
{
    /// <summary>Element-wise sum.</summary>
    Sum,
    /// <summary>Element-wise sum divided by the world size.</summary>
    Average,
}

/// <summary>
/// Collective operations over one round's ranks. Every rank must call the same collectives in the same order;
/// each call has a deadline and fails with an error naming the missing rank rather than waiting forever.
/// Training code depends on this interface only, never on the transport.
/// </summary>
public interface ICollectives
{
    /// <summary>This process's rank, 0..WorldSize-1.</summary>
    int Rank { get; }

    /// <summary>Number of ranks.</summary>
    int WorldSize { get; }

    /// <summary>In place: every rank ends with the element-wise reduction of all ranks' buffers.</summary>
    Task AllReduceAsync(Memory<float> buffer, ReduceOp op, CancellationToken cancellationToken = default);

    /// <summary>
    /// In place, the first half of <see cref="AllReduceAsync"/>: afterwards this rank's shard of the buffer
    /// (<see cref="ShardLayout.Shard"/> for <see cref="Rank"/> and <see cref="WorldSize"/>) holds the element-wise
    /// reduction of all ranks' buffers; the rest of the buffer is left in an unspecified state.
    /// </summary>
    Task ReduceScatterAsync(Memory<float> buffer, ReduceOp op, CancellationToken cancellationToken = default);

    /// <summary>
    /// In place, the second half of <see cref="AllReduceAsync"/>: every rank contributes its shard of the buffer
    /// (<see cref="ShardLayout.Shard"/>) and every rank ends with every rank's shard, in full precision whatever the
    /// gradient encoding.
    /// </summary>
    Task AllGatherAsync(Memory<float> buffer, CancellationToken cancellationToken = default);

    /// <summary>In place: every rank ends with <paramref name="root"/>'s buffer.</summary>
    Task BroadcastAsync(Memory<float> buffer, int root, CancellationToken cancellationToken = default);

    /// <summary>Returns once every rank has entered the barrier.</summary>
    Task BarrierAsync(CancellationToken cancellationToken = default);

    /// <summary>Small values from every rank, indexed by rank (metrics, agreement on a step, fingerprints).</summary>
    Task<double[][]> AllGatherAsync(ReadOnlyMemory<double> values, CancellationToken cancellationToken = default);
}
