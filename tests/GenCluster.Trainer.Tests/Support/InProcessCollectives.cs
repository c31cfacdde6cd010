using GenCluster.Trainer.Distributed;

namespace GenCluster.Trainer.Tests.Support;

/// <summary>
/// Collectives between threads of one process, for tests: every rank runs on its own thread and the operations
/// meet at a barrier. Reductions add ranks in order 0..n-1 on every rank, so all ranks get bit-identical results.
/// </summary>
public sealed class InProcessGroup : IDisposable
{
    private readonly Barrier _barrier;
    private readonly Memory<float>[] _buffers;
    private readonly double[][] _gathered;
    private readonly TimeSpan _timeout;

    public InProcessGroup(int worldSize, TimeSpan? timeout = null)
    {
        WorldSize = worldSize;
        _barrier = new Barrier(worldSize);
        _buffers = new Memory<float>[worldSize];
        _gathered = new double[worldSize][];
        _timeout = timeout ?? TimeSpan.FromSeconds(60);
    }

    public int WorldSize { get; }

    public ICollectives For(int rank) => new Member(this, rank);

    public void Dispose() => _barrier.Dispose();

    private void Meet(int rank, string operation)
    {
        if (!_barrier.SignalAndWait(_timeout))
            throw new TimeoutException($"rank {rank}: {operation} did not complete within {_timeout}: some rank did not arrive");
    }

    private sealed class Member(InProcessGroup group, int rank) : ICollectives
    {
        public int Rank => rank;

        public int WorldSize => group.WorldSize;

        public Task AllReduceAsync(Memory<float> buffer, ReduceOp op, CancellationToken cancellationToken = default)
        {
            group._buffers[rank] = buffer;
            group.Meet(rank, "all-reduce");
            var length = buffer.Length;
            CheckLengths("all-reduce", length);
            var result = new float[length];
            for (var r = 0; r < WorldSize; r++)
            {
                var source = group._buffers[r].Span;
                for (var i = 0; i < length; i++) result[i] += source[i];
            }
            if (op == ReduceOp.Average)
            {
                for (var i = 0; i < length; i++) result[i] /= WorldSize;
            }
            group.Meet(rank, "all-reduce");
            result.CopyTo(buffer.Span);
            group.Meet(rank, "all-reduce");
            return Task.CompletedTask;
        }

        /// <summary>Reduces this rank's shard the way <see cref="AllReduceAsync"/> reduces every element, so both give identical values.</summary>
        public Task ReduceScatterAsync(Memory<float> buffer, ReduceOp op, CancellationToken cancellationToken = default)
        {
            group._buffers[rank] = buffer;
            group.Meet(rank, "reduce-scatter");
            CheckLengths("reduce-scatter", buffer.Length);
            var (start, length) = new ShardLayout(buffer.Length, WorldSize).Shard(rank);
            var result = new float[length];
            for (var r = 0; r < WorldSize; r++)
            {
                var source = group._buffers[r].Span.Slice(start, length);
                for (var i = 0; i < length; i++) result[i] += source[i];
            }
            if (op == ReduceOp.Average)
            {
                for (var i = 0; i < length; i++) result[i] /= WorldSize;
            }
            group.Meet(rank, "reduce-scatter");
            result.CopyTo(buffer.Span.Slice(start, length));
            group.Meet(rank, "reduce-scatter");
            return Task.CompletedTask;
        }

        public Task AllGatherAsync(Memory<float> buffer, CancellationToken cancellationToken = default)
        {
            group._buffers[rank] = buffer;
            group.Meet(rank, "all-gather");
            CheckLengths("all-gather", buffer.Length);
            var layout = new ShardLayout(buffer.Length, WorldSize);
            for (var r = 0; r < WorldSize; r++)
            {
                if (r == rank) continue;
                var (start, length) = layout.Shard(r);
                group._buffers[r].Span.Slice(start, length).CopyTo(buffer.Span.Slice(start, length));
            }
            group.Meet(rank, "all-gather");
            return Task.CompletedTask;
        }

        private void CheckLengths(string operation, int length)
        {
            for (var r = 0; r < WorldSize; r++)
            {
                if (group._buffers[r].Length != length)
                    throw new InvalidOperationException($"{operation} length mismatch: rank {r} has {group._buffers[r].Length}, rank {rank} has {length}");
            }
        }

        public Task BroadcastAsync(Memory<float> buffer, int root, CancellationToken cancellationToken = default)
        {
            if (rank == root) group._buffers[root] = buffer;
            group.Meet(rank, "broadcast");
            if (rank != root) group._buffers[root].Span.CopyTo(buffer.Span);
            group.Meet(rank, "broadcast");
            return Task.CompletedTask;
        }

        public Task BarrierAsync(CancellationToken cancellationToken = default)
        {
            group.Meet(rank, "barrier");
            return Task.CompletedTask;
        }

        public Task<double[][]> AllGatherAsync(ReadOnlyMemory<double> values, CancellationToken cancellationToken = default)
        {
            group._gathered[rank] = values.ToArray();
            group.Meet(rank, "all-gather");
            var all = group._gathered.Select(v => (double[])v.Clone()).ToArray();
            group.Meet(rank, "all-gather");
            return Task.FromResult(all);
        }
    }
}
