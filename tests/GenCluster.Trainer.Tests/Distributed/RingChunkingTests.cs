using GenCluster.Trainer.Distributed;

namespace GenCluster.Trainer.Tests.Distributed;

public class RingChunkingTests
{
    [Theory]
    [InlineData(0, 3)]
    [InlineData(2, 5)]
    [InlineData(17, 4)]
    [InlineData(1_000_003, 8)]
    public void ChunksTileTheBufferAndFramesTileEachChunk(int length, int n)
    {
        var chunking = new RingChunking(length, n, 256);
        var covered = 0;
        for (var c = 0; c < n; c++)
        {
            Assert.Equal(covered, chunking.Start(c));
            Assert.InRange(chunking.Size(c), length / n, (length / n) + 1);
            var inChunk = 0;
            for (var f = 0; f < chunking.Frames(c); f++)
            {
                var (offset, count) = chunking.Frame(c, f);
                Assert.Equal(inChunk, offset);
                inChunk += count;
            }

            Assert.Equal(chunking.Size(c), inChunk);
            covered += chunking.Size(c);
        }

        Assert.Equal(length, covered);
    }

    [Fact]
    public void ValidatorNamesTheConfigKey()
    {
        var result = new RingOptionsValidator().Validate(null, new RingOptions { FrameBytes = 8_388_608, InboxFrames = 0, CollectiveTimeout = TimeSpan.Zero });

        Assert.True(result.Failed);
        Assert.Contains("Ring:FrameBytes", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("8388608", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Ring:InboxFrames", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Ring:CollectiveTimeout", result.FailureMessage, StringComparison.Ordinal);
    }
}
