using GenCluster.Contracts.Workers;

namespace GenCluster.Contracts.Tests.Workers;

public class ThreadBudgetTests
{
    [Theory]
    [InlineData(2, 2, 1)]   // this project's 2-core machine: one core each, nothing to spare
    [InlineData(2, 1, 2)]
    [InlineData(3, 2, 1)]
    [InlineData(1, 4, 1)]   // more trainers than cores: still one thread each
    [InlineData(16, 8, 2)]
    [InlineData(16, 4, 3)]  // four cores each: one left to the ring
    [InlineData(16, 1, 15)]
    public void EachTrainerGetsItsShareWithOneCoreLeftToTheRingFromFourEach(int cores, int trainers, int expected) =>
        Assert.Equal(expected, ThreadBudget.ComputeThreads(cores, trainers));

    [Fact]
    public void NonsenseCountsAreRefusedByName()
    {
        Assert.Equal("cores", Assert.Throws<ArgumentOutOfRangeException>(() => ThreadBudget.ComputeThreads(0, 1)).ParamName);
        Assert.Equal("trainersOnHost", Assert.Throws<ArgumentOutOfRangeException>(() => ThreadBudget.ComputeThreads(4, 0)).ParamName);
    }
}
