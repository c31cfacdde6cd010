using GenCluster.Trainer.Data;

namespace GenCluster.Trainer.Tests.Data;

public class DistributedSamplerTests
{
    private static List<int[]> Epoch(DistributedSampler sampler) =>
        Enumerable.Range(0, (int)sampler.BatchesPerEpoch).Select(_ => sampler.Next()).ToList();

    [Theory]
    [InlineData(100, 1, 10)]
    [InlineData(103, 3, 7)]
    [InlineData(64, 4, 4)]
    public void ShardsAreDisjointEqualAndCoverAllButTheDroppedTail(int size, int world, int batch)
    {
        var perRank = Enumerable.Range(0, world).Select(r => Epoch(new DistributedSampler(size, world, r, batch, seed: 3))).ToList();

        var counts = perRank.Select(b => b.Count).Distinct().ToList();
        Assert.Single(counts);
        Assert.Equal(size / (world * batch), counts[0]);
        var all = perRank.SelectMany(b => b.SelectMany(x => x)).ToList();
        Assert.Equal(all.Count, all.Distinct().Count());
        Assert.Equal(size - size % (world * batch), all.Count);
        Assert.All(all, i => Assert.InRange(i, 0, size - 1));
    }

    [Fact]
    public void NRanksWithBatchBSeeWhatOneRankWithBatchNBSees()
    {
        var single = Epoch(new DistributedSampler(90, 1, 0, 30, seed: 5));
        var ranks = Enumerable.Range(0, 3).Select(r => Epoch(new DistributedSampler(90, 3, r, 10, seed: 5))).ToList();

        for (var step = 0; step < single.Count; step++)
            Assert.Equal(single[step], ranks.SelectMany(r => r[step]).ToArray());
    }

    [Fact]
    public void EachEpochIsReshuffledDeterministically()
    {
        var sampler = new DistributedSampler(50, 1, 0, 10, seed: 9);
        var e0 = Epoch(sampler).SelectMany(b => b).ToArray();
        var e1 = Epoch(sampler).SelectMany(b => b).ToArray();

        Assert.Equal(1, sampler.Position.Epoch);
        Assert.NotEqual(e0, e1);
        Assert.Equal(e0.Order(), e1.Order());
        Assert.Equal(e1, new DistributedSampler(50, 1, 0, 10, seed: 9).Order(1));
        Assert.NotEqual(e0, new DistributedSampler(50, 1, 0, 10, seed: 10).Order(0));
    }

    [Fact]
    public void ResumingAtAPositionContinuesTheSameSequence()
    {
        var uninterrupted = new DistributedSampler(40, 2, 1, 5, seed: 1);
        var taken = Enumerable.Range(0, 11).Select(_ => uninterrupted.Next()).ToList();

        var first = new DistributedSampler(40, 2, 1, 5, seed: 1);
        for (var i = 0; i < 6; i++) first.Next();
        var resumed = new DistributedSampler(40, 2, 1, 5, seed: 1, first.Position);
        var rest = Enumerable.Range(0, 5).Select(_ => resumed.Next()).ToList();

        Assert.Equal(new SamplerPosition(1, 2), first.Position);
        Assert.Equal(taken.Skip(6), rest);
        Assert.Equal(uninterrupted.Position, resumed.Position);
    }

    [Fact]
    public void DatasetSmallerThanOneGlobalBatchIsRejected()
    {
        var ex = Assert.Throws<ArgumentException>(() => new DistributedSampler(10, 2, 0, 8, seed: 1));
        Assert.Contains("2 ranks × 8", ex.Message);
    }
}
