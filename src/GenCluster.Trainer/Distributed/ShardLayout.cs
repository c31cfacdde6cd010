namespace GenCluster.Trainer.Distributed;

/// <summary>
/// How a buffer of <see cref="Length"/> elements is cut among <see cref="WorldSize"/> ranks, for the ring's chunks and
/// for sharded state (ZeRO-1): chunk c covers [<see cref="Start"/>(c), <see cref="Start"/>(c) + <see cref="Size"/>(c)),
/// balanced (the first <c>Length % n</c> chunks hold one element more) and the same on every rank.
/// </summary>
/// <remarks>
/// Rank r owns chunk (r + 1) mod n: the chunk the ring's reduce phase completes on r. A reduce-scatter is then
/// exactly the first half of an all-reduce, adding the ranks' values in the same order, so a sharded update sees
/// bit for bit the gradients an all-reduce would have given it.
/// </remarks>
public readonly record struct ShardLayout(int Length, int WorldSize)
{
    /// <summary>First element of chunk <paramref name="chunk"/>.</summary>
    public int Start(int chunk)
    {
        var baseSize = Length / WorldSize;
        var extra = Length % WorldSize;
        return (chunk * baseSize) + Math.Min(chunk, extra);
    }

    /// <summary>Elements in chunk <paramref name="chunk"/> (0 when the buffer is shorter than the world).</summary>
    public int Size(int chunk) => (Length / WorldSize) + (chunk < Length % WorldSize ? 1 : 0);

    /// <summary>The chunk rank <paramref name="rank"/> owns after a reduce-scatter and contributes to an all-gather.</summary>
    public int ChunkOf(int rank) => (rank + 1) % WorldSize;

    /// <summary>The elements rank <paramref name="rank"/> owns.</summary>
    public (int Start, int Length) Shard(int rank)
    {
        var chunk = ChunkOf(rank);
        return (Start(chunk), Size(chunk));
    }
}
