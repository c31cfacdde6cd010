namespace GenCluster.Trainer.Data;

/// <summary>Where a sampler is: the epoch and the number of micro-batches already taken in it (per rank).</summary>
public readonly record struct SamplerPosition(int Epoch, long Batch);

/// <summary>
/// Deals each epoch's shuffled indices to the ranks so that every rank gets disjoint, equally many micro-batches.
/// </summary>
/// <remarks>
/// Epoch e's order is a Fisher–Yates shuffle seeded by (seed, e) only, so it is the same on every rank and after a
/// resume, and no random state has to be carried besides the position. Global micro-batch j is the slice
/// [j·n·B, (j+1)·n·B) of that order and rank r takes its r-th B-sized part: n ranks with batch B therefore see exactly
/// the examples one rank with batch n·B sees. The tail that does not fill a whole global micro-batch is dropped (on
/// every rank alike), so all ranks run the same number of batches per epoch.
/// </remarks>
public sealed class DistributedSampler
{
    private readonly int _datasetSize;
    private readonly int _worldSize;
    private readonly int _rank;
    private readonly int _batchSize;
    private readonly long _seed;
    private int[]? _order;
    private int _orderEpoch = -1;

    /// <summary>Creates a sampler at <paramref name="position"/> (default: the start of epoch 0).</summary>
    public DistributedSampler(int datasetSize, int worldSize, int rank, int batchSize, long seed, SamplerPosition position = default)
    {
        if (worldSize < 1) throw new ArgumentOutOfRangeException(nameof(worldSize), worldSize, "world size must be at least 1");
        if (rank < 0 || rank >= worldSize) throw new ArgumentOutOfRangeException(nameof(rank), rank, $"rank must be in 0..{worldSize - 1}");
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch size must be at least 1");
        if ((long)worldSize * batchSize > datasetSize)
            throw new ArgumentException(
                $"dataset of {datasetSize} images is smaller than one global micro-batch ({worldSize} ranks × {batchSize}); raise the dataset limit or lower the batch",
                nameof(datasetSize));
        _datasetSize = datasetSize;
        _worldSize = worldSize;
        _rank = rank;
        _batchSize = batchSize;
        _seed = seed;
        BatchesPerEpoch = datasetSize / (worldSize * batchSize);
        if (position.Epoch < 0 || position.Batch < 0 || position.Batch > BatchesPerEpoch)
            throw new ArgumentOutOfRangeException(nameof(position), position, $"position must have epoch ≥ 0 and batch in 0..{BatchesPerEpoch}");
        Position = position;
    }

    /// <summary>Micro-batches each rank takes per epoch.</summary>
    public long BatchesPerEpoch { get; }

    /// <summary>The next micro-batch to be taken.</summary>
    public SamplerPosition Position { get; private set; }

    /// <summary>Moves to <paramref name="position"/> (resume).</summary>
    public void Seek(SamplerPosition position)
    {
        if (position.Epoch < 0 || position.Batch < 0 || position.Batch > BatchesPerEpoch)
            throw new ArgumentOutOfRangeException(nameof(position), position, $"position must have epoch ≥ 0 and batch in 0..{BatchesPerEpoch}");
        Position = position;
    }

    /// <summary>Returns this rank's next micro-batch of indices and advances, rolling over to the next epoch at its end.</summary>
    public int[] Next()
    {
        if (Position.Batch >= BatchesPerEpoch)
            Position = new SamplerPosition(Position.Epoch + 1, 0);
        var order = Order(Position.Epoch);
        var start = (int)((Position.Batch * _worldSize + _rank) * _batchSize);
        var batch = order.AsSpan(start, _batchSize).ToArray();
        Position = Position with { Batch = Position.Batch + 1 };
        return batch;
    }

    /// <summary>The shuffled order of all indices for <paramref name="epoch"/>.</summary>
    public int[] Order(int epoch)
    {
        if (_order is not null && _orderEpoch == epoch) return _order;
        var order = new int[_datasetSize];
        for (var i = 0; i < order.Length; i++) order[i] = i;
        // The seeded System.Random algorithm is fixed across .NET versions, which exact resume relies on.
        var random = new Random(HashCode32(_seed, epoch));
        for (var i = order.Length - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        _order = order;
        _orderEpoch = epoch;
        return order;
    }

    private static int HashCode32(long seed, int epoch)
    {
        unchecked
        {
            var x = (ulong)seed * 0x9E3779B97F4A7C15UL ^ (ulong)epoch * 0xC2B2AE3D27D4EB4FUL;
            x ^= x >> 33;
            x *= 0xFF51AFD7ED558CCDUL;
            x ^= x >> 33;
            return (int)(x & 0x7FFFFFFF);
        }
    }
}
