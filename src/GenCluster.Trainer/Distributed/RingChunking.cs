namespace GenCluster.Trainer.Distributed;

/// <summary>How a buffer is cut into ring chunks (one per rank, <see cref="ShardLayout"/>) and chunks into frames.</summary>
internal readonly record struct RingChunking(int Length, int WorldSize, int FrameElements)
{
    private ShardLayout Layout => new(Length, WorldSize);

    /// <summary>Chunk c covers [Start(c), Start(c) + Size(c)) (<see cref="ShardLayout"/>).</summary>
    public int Start(int chunk) => Layout.Start(chunk);

    public int Size(int chunk) => Layout.Size(chunk);

    /// <summary>Frames per chunk; an empty chunk still sends one empty frame so every rank follows one schedule.</summary>
    public int Frames(int chunk) => Math.Max(1, (Size(chunk) + FrameElements - 1) / FrameElements);

    /// <summary>Element range of frame f of chunk c, relative to the chunk.</summary>
    public (int Offset, int Count) Frame(int chunk, int frame)
    {
        var offset = frame * FrameElements;
        return (offset, Math.Min(FrameElements, Size(chunk) - offset));
    }

    public static int Mod(int value, int n) => ((value % n) + n) % n;
}
