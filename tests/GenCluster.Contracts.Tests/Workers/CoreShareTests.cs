using GenCluster.Contracts.Workers;

namespace GenCluster.Contracts.Tests.Workers;

public class CoreShareTests
{
    [Theory]
    [InlineData(2, 0, 2, "0")]          // this project's 2-core machine: a core each
    [InlineData(2, 1, 2, "1")]
    [InlineData(2, 0, 1, "0,1")]        // alone: every core
    [InlineData(8, 1, 2, "4,5,6,7")]
    [InlineData(7, 2, 3, "4,5")]        // the remainder core is left unbound to any slot
    [InlineData(2, 2, 3, "0")]          // more trainers than cores: they wrap round, one core each
    public void SlotITakesTheIthContiguousBlock(int cores, int slot, int slots, string expected) =>
        Assert.Equal(expected, string.Join(',', CoreShare.Of([.. Enumerable.Range(0, cores)], slot, slots)));

    [Fact]
    public void TheBlocksAreTakenFromTheCoresTheProcessMayUseNotFromZero()
    {
        // A container allowed cores 4, 6, 9 and 11 only.
        int[] allowed = [4, 6, 9, 11];
        Assert.Equal([4, 6], CoreShare.Of(allowed, 0, 2));
        Assert.Equal([9, 11], CoreShare.Of(allowed, 1, 2));
    }

    [Fact]
    public void SlotsNeverShareACoreWhileThereAreEnoughAndEachHasItsThreadBudget()
    {
        for (var cores = 1; cores <= 32; cores++)
        for (var slots = 1; slots <= cores; slots++)
        {
            var all = Enumerable.Range(0, cores).ToArray();
            var blocks = Enumerable.Range(0, slots).Select(s => CoreShare.Of(all, s, slots)).ToList();
            Assert.Equal(blocks.Sum(b => b.Count), blocks.SelectMany(b => b).Distinct().Count());
            // The compute threads a trainer runs fit in its block (the ring's reserved core is inside it too).
            Assert.All(blocks, b => Assert.True(b.Count >= ThreadBudget.ComputeThreads(cores, slots), $"{cores} cores, {slots} slots: block {b.Count}"));
        }
    }

    [Fact]
    public void NonsenseIsRefusedByName()
    {
        Assert.Equal("allowed", Assert.Throws<ArgumentException>(() => CoreShare.Of([], 0, 1)).ParamName);
        Assert.Equal("slots", Assert.Throws<ArgumentOutOfRangeException>(() => CoreShare.Of([0], 0, 0)).ParamName);
        Assert.Equal("slot", Assert.Throws<ArgumentOutOfRangeException>(() => CoreShare.Of([0, 1], 2, 2)).ParamName);
        Assert.Equal("slot", Assert.Throws<ArgumentOutOfRangeException>(() => CoreShare.Of([0, 1], -1, 2)).ParamName);
    }

    [Theory]
    [InlineData(2, 2, true)]
    [InlineData(16, 8, true)]
    [InlineData(2, 1, false)]   // alone: every core is its own anyway
    [InlineData(2, 3, false)]   // more trainers than cores
    public void SeveralTrainersWithACoreEachAreBoundByDefault(int cores, int trainers, bool expected) =>
        Assert.Equal(expected, CoreShare.BindsByDefault(cores, trainers));

    [Fact]
    public void ASlotRoundTripsAndAMalformedOneIsNamed()
    {
        Assert.Equal((1, 3), CoreShare.ParseSlot(CoreShare.FormatSlot(1, 3), "--cpu-slot"));
        foreach (var bad in new[] { "", "1", "3/3", "-1/2", "+1/2", "1/2/3", " 0/2" })
        {
            var message = Assert.Throws<FormatException>(() => CoreShare.ParseSlot(bad, "--cpu-slot")).Message;
            Assert.Contains($"--cpu-slot must be i/n with 0 <= i < n", message);
            Assert.Contains($"got '{bad}'", message);
        }
    }
}
