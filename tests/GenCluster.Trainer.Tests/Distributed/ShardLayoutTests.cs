using GenCluster.Trainer.Distributed;

namespace GenCluster.Trainer.Tests.Distributed;

public class ShardLayoutTests
{
    [Theory]
    [InlineData(0, 1)]
    [InlineData(0, 3)]
    [InlineData(2, 4)]
    [InlineData(7, 3)]
    [InlineData(10, 4)]
    [InlineData(1001, 5)]
    public void ShardsCoverTheBufferOnceAndDifferByAtMostOneElement(int length, int world)
    {
        var layout = new ShardLayout(length, world);
        var owners = new int[length];
        var sizes = new List<int>();
        for (var rank = 0; rank < world; rank++)
        {
            var (start, size) = layout.Shard(rank);
            sizes.Add(size);
            for (var i = start; i < start + size; i++) owners[i]++;
        }

        Assert.All(owners, count => Assert.Equal(1, count));
        Assert.Equal(length, sizes.Sum());
        Assert.True(sizes.Max() - sizes.Min() <= 1, $"shards of {length} over {world}: {string.Join(", ", sizes)}");
    }

    [Fact]
    public void RankOwnsTheChunkAfterItsOwnAsTheRingsReducePhaseLeavesIt()
    {
        var layout = new ShardLayout(10, 4);
        // Chunks of 10 over 4: [0,3) [3,6) [6,8) [8,10); rank r owns chunk r+1 mod 4.
        Assert.Equal((3, 3), layout.Shard(0));
        Assert.Equal((6, 2), layout.Shard(1));
        Assert.Equal((8, 2), layout.Shard(2));
        Assert.Equal((0, 3), layout.Shard(3));
        Assert.Equal((0, 7), new ShardLayout(7, 1).Shard(0));
    }
}
