using GenCluster.Trainer.Training;

namespace GenCluster.Trainer.Tests.Training;

public class OverlapPolicyTests
{
    [Theory]
    [InlineData(2, 1, 2, false)]   // this machine: two one-thread trainers fill both cores
    [InlineData(2, 1, 1, true)]    // one trainer, one thread: the other core is the ring's
    [InlineData(16, 3, 4, true)]   // ThreadBudget's 3 threads on four cores each leave one core per trainer
    [InlineData(16, 4, 4, false)]
    [InlineData(8, 0, 1, false)]   // libtorch's default takes every core
    public void AutoOverlapsWhereEveryTrainerOnTheHostHasASpareCore(int cores, int threads, int ranksOnHost, bool expected) =>
        Assert.Equal(expected, OverlapPolicy.Overlaps("auto", cores, threads, ranksOnHost));

    [Fact]
    public void OnAndOffAreObeyedAndAnythingElseIsRefusedByName()
    {
        Assert.True(OverlapPolicy.Overlaps("on", 2, 1, 2));
        Assert.False(OverlapPolicy.Overlaps("off", 64, 1, 1));
        var error = Assert.Throws<ArgumentException>(() => OverlapPolicy.Overlaps("yes", 2, 1, 1));
        Assert.Contains("Trainer:OverlapBackward", error.Message);
        Assert.Contains("'yes'", error.Message);
    }
}
