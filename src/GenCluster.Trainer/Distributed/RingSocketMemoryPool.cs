using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.AspNetCore.Connections;

namespace GenCluster.Trainer.Distributed;

/// <summary>
/// Memory pool for Kestrel's socket transport with blocks larger than Kestrel's 4 KiB default. Kestrel receives
/// into one pool block per <c>recv</c> call and queues request bodies in blocks of the same pool, so a 64 MiB
/// all-reduce costs 16,384 receive calls at 4 KiB; with 64 KiB blocks it costs about 1,000 and the gRPC layer reads
/// each message from far fewer segments. Blocks are pinned (sockets hold them during I/O) and reused, never evicted.
/// </summary>
internal sealed class RingSocketMemoryPoolFactory(int blockBytes) : IMemoryPoolFactory<byte>
{
    public MemoryPool<byte> Create(MemoryPoolOptions? options = null) => new RingSocketMemoryPool(blockBytes);
}

/// <summary>A pool of pinned, fixed-size blocks; <see cref="Rent"/> hands out a whole block for any size up to it.</summary>
internal sealed class RingSocketMemoryPool(int blockBytes) : MemoryPool<byte>
{
    private readonly ConcurrentQueue<Block> _free = new();
    private volatile bool _disposed;

    public override int MaxBufferSize => blockBytes;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (minBufferSize > blockBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(minBufferSize), minBufferSize, $"blocks of this pool hold at most {blockBytes} bytes.");
        }

        if (!_free.TryDequeue(out var block))
        {
            block = new Block(this, GC.AllocateUninitializedArray<byte>(blockBytes, pinned: true));
        }

        block.Rented = true;
        return block;
    }

    protected override void Dispose(bool disposing)
    {
        _disposed = true;
        _free.Clear();
    }

    private void Return(Block block)
    {
        if (!_disposed)
        {
            _free.Enqueue(block);
        }
    }

    private sealed class Block(RingSocketMemoryPool pool, byte[] array) : IMemoryOwner<byte>
    {
        public bool Rented;

        public Memory<byte> Memory => array;

        public void Dispose()
        {
            // Kestrel returns each block once; a second Dispose must not hand the same block out twice.
            if (Rented)
            {
                Rented = false;
                pool.Return(this);
            }
        }
    }
}
