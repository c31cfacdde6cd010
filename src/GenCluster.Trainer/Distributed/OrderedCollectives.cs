namespace GenCluster.Trainer.Distributed;

/// <summary>
/// An <see cref="ICollectives"/> that starts every call strictly after the previous one, in the order the calls were
/// made, and runs them off the calling thread. Ring collectives must be called in the same order on every rank; when
/// some calls are launched from backward (gradient buckets, as their gradients become final) and others from the step
/// itself, a chain keeps the order the program issued them in, whatever thread the pool runs each on.
/// </summary>
/// <remarks>
/// A call returns at once with a task that completes when its collective does. A failed collective fails the ones
/// queued behind it too, with the same exception (a ring that broke cannot run another).
/// </remarks>
public sealed class OrderedCollectives(ICollectives inner) : ICollectives
{
    private readonly Lock _lock = new();
    private Task _tail = Task.CompletedTask;

    /// <inheritdoc />
    public int Rank => inner.Rank;

    /// <inheritdoc />
    public int WorldSize => inner.WorldSize;

    /// <summary>The collectives being ordered.</summary>
    public ICollectives Inner => inner;

    /// <summary>A task that completes when every call issued so far has completed (faulted if one of them failed).</summary>
    public Task Drain()
    {
        lock (_lock) return _tail;
    }

    /// <inheritdoc />
    public Task AllReduceAsync(Memory<float> buffer, ReduceOp op, CancellationToken cancellationToken = default) =>
        Enqueue(() => inner.AllReduceAsync(buffer, op, cancellationToken));

    /// <inheritdoc />
    public Task ReduceScatterAsync(Memory<float> buffer, ReduceOp op, CancellationToken cancellationToken = default) =>
        Enqueue(() => inner.ReduceScatterAsync(buffer, op, cancellationToken));

    /// <inheritdoc />
    public Task AllGatherAsync(Memory<float> buffer, CancellationToken cancellationToken = default) =>
        Enqueue(() => inner.AllGatherAsync(buffer, cancellationToken));

    /// <inheritdoc />
    public Task BroadcastAsync(Memory<float> buffer, int root, CancellationToken cancellationToken = default) =>
        Enqueue(() => inner.BroadcastAsync(buffer, root, cancellationToken));

    /// <inheritdoc />
    public Task BarrierAsync(CancellationToken cancellationToken = default) =>
        Enqueue(() => inner.BarrierAsync(cancellationToken));

    /// <inheritdoc />
    public async Task<double[][]> AllGatherAsync(ReadOnlyMemory<double> values, CancellationToken cancellationToken = default)
    {
        double[][]? result = null;
        await Enqueue(async () => result = await inner.AllGatherAsync(values, cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
        return result!;
    }

    private Task Enqueue(Func<Task> collective)
    {
        lock (_lock)
        {
            var previous = _tail;
            _tail = Task.Run(async () =>
            {
                // A failure ahead rethrows here unchanged, so whoever waits sees the collective and the peer that failed.
                await previous.ConfigureAwait(false);
                await collective().ConfigureAwait(false);
            });
            return _tail;
        }
    }
}
