using GenCluster.Contracts.Jobs;
using GenCluster.Grains.Jobs;

namespace GenCluster.Grains.Tests.Jobs;

public class StragglerDetectorTests
{
    private static RoundMember[] Members(int n) => [.. Enumerable.Range(0, n).Select(r => new RoundMember(r, $"w{r}", $"h{r}", $"http://h{r}:1"))];

    [Fact]
    public void ScoreIsComputeOverTheOtherRanksMedian()
    {
        var timings = StragglerDetector.Score(Members(4), new Dictionary<int, double> { [0] = 1, [1] = 1.2, [2] = 0.8, [3] = 3 });
        // Rank 3: others 0.8, 1, 1.2 → median 1. Rank 0: others 0.8, 1.2, 3 → 1.2.
        Assert.Equal(3.0, timings[3].StragglerScore, 12);
        Assert.Equal(1 / 1.2, timings[0].StragglerScore, 12);
        // Even count of others: the mean of the middle two (rank 3's 3 s does not drag rank 2's baseline beyond them).
        var five = StragglerDetector.Score(Members(5), new Dictionary<int, double> { [0] = 1, [1] = 2, [2] = 3, [3] = 4, [4] = 10 });
        Assert.Equal(10 / 2.5, five[4].StragglerScore, 12);
        Assert.Equal(["h3"], StragglerDetector.Stragglers(timings, 1.5).Select(t => t.Host));
        Assert.Equal(("w3", "h3", 3.0), (timings[3].WorkerId, timings[3].Host, timings[3].ComputeSeconds));
    }

    [Fact]
    public void TwoRanksCompareWithEachOther()
    {
        var timings = StragglerDetector.Score(Members(2), new Dictionary<int, double> { [0] = 0.1, [1] = 0.2 });
        Assert.Equal([0.5, 2.0], timings.Select(t => t.StragglerScore));
        Assert.Equal([1], StragglerDetector.Stragglers(timings, 1.5).Select(t => t.Rank));
    }

    [Fact]
    public void NoScoresUntilEveryRankReportedAPositiveTime()
    {
        Assert.All(StragglerDetector.Score(Members(3), new Dictionary<int, double> { [0] = 1, [1] = 5 }), t => Assert.True(double.IsNaN(t.StragglerScore)));
        Assert.All(StragglerDetector.Score(Members(2), new Dictionary<int, double> { [0] = 1, [1] = 0 }), t => Assert.True(double.IsNaN(t.StragglerScore)));
        Assert.True(double.IsNaN(StragglerDetector.Score(Members(1), new Dictionary<int, double> { [0] = 1 })[0].StragglerScore));
        Assert.Empty(StragglerDetector.Stragglers(StragglerDetector.Score(Members(3), new Dictionary<int, double> { [0] = 9 }), 1.5));
    }
}
