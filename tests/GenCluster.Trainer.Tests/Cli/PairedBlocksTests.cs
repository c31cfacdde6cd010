using GenCluster.Trainer.Cli;

namespace GenCluster.Trainer.Tests.Cli;

public class PairedBlocksTests
{
    [Fact]
    public void EachRingBlockIsComparedWithTheAloneBlockBeforeIt()
    {
        // Two blocks of 3 steps on 2 ranks. The machine slows down by 50 ms in the second block, for both modes alike:
        // paired, the ring costs 10 ms in each block; the drift does not enter the difference.
        double[][] alone = [[0.100, 0.102, 0.101, 0.150, 0.152, 0.151], [0.099, 0.100, 0.103, 0.149, 0.150, 0.153]];
        double[][] ring = [[0.111, 0.112, 0.113, 0.161, 0.162, 0.163], [0.111, 0.112, 0.113, 0.161, 0.162, 0.163]];

        var (mean, half, blocks) = PairedBlocks.ExposedPerStep(ring, alone, 3);

        // Block 1: ring median 0.112, alone max(0.101, 0.100) = 0.101: 11 ms; block 2: 0.162 − max(0.151, 0.150): 11 ms.
        Assert.Equal(2, blocks);
        Assert.Equal(0.011, mean, 9);
        Assert.Equal(0, half, 9);
    }

    [Fact]
    public void TheIntervalIsStudentsOverTheBlocks()
    {
        // One rank, blocks of one step: differences 1, 2, 3, 4 ms; mean 2.5, sd 1.291, t(0.975, 3) = 3.182.
        double[][] alone = [[0.010, 0.010, 0.010, 0.010]];
        double[][] ring = [[0.011, 0.012, 0.013, 0.014]];

        var (mean, half, blocks) = PairedBlocks.ExposedPerStep(ring, alone, 1);

        Assert.Equal(4, blocks);
        Assert.Equal(0.0025, mean, 9);
        Assert.Equal(3.182 * Math.Sqrt(1.0 / 0.6 * 1e-6 / 4 * 1.0), half, 6);
    }

    [Fact]
    public void APartialLastBlockIsLeftOutAndOneBlockHasNoInterval()
    {
        double[][] alone = [[0.010, 0.010, 0.010]];
        double[][] ring = [[0.012, 0.012, 0.050]];

        var (mean, half, blocks) = PairedBlocks.ExposedPerStep(ring, alone, 2);

        Assert.Equal(1, blocks);
        Assert.Equal(0.002, mean, 9);
        Assert.True(double.IsNaN(half));
        Assert.Equal(0, PairedBlocks.ExposedPerStep([[0.1]], [[0.1]], 2).Blocks);
        Assert.Throws<ArgumentOutOfRangeException>(() => PairedBlocks.ExposedPerStep(ring, alone, 0));
    }

    [Theory]
    [InlineData(1, 12.706)]
    [InlineData(19, 2.093)]
    [InlineData(30, 2.042)]
    [InlineData(60, 2.000)]
    [InlineData(120, 1.980)]
    public void StudentQuantilesMatchTheTables(int degreesOfFreedom, double expected) =>
        Assert.Equal(expected, PairedBlocks.StudentT975(degreesOfFreedom), 2);
}
