using GenCluster.Trainer.Distributed;

namespace GenCluster.Trainer.Tests.Distributed;

public sealed class RingSocketMemoryPoolTests
{
    [Fact]
    public void RentHandsOutWholeBlocksAndReusesReturnedOnes()
    {
        using var pool = new RingSocketMemoryPool(65536);
        var first = pool.Rent(2048);
        Assert.Equal(65536, first.Memory.Length);
        Assert.Equal(65536, pool.MaxBufferSize);
        first.Memory.Span[0] = 42;
        var array = first.Memory;
        first.Dispose();
        first.Dispose(); // a second return must not put the block in the pool twice

        using var again = pool.Rent();
        using var other = pool.Rent(65536);
        Assert.True(again.Memory.Span.Overlaps(array.Span));
        Assert.False(other.Memory.Span.Overlaps(array.Span));
    }

    [Fact]
    public void RentLargerThanABlockNamesTheLimit()
    {
        using var pool = new RingSocketMemoryPool(4096);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => pool.Rent(4097));
        Assert.Contains("4096", error.Message, StringComparison.Ordinal);
    }
}
