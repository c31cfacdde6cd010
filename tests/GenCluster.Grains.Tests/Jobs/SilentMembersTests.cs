using GenCluster.Contracts.Jobs;
using GenCluster.Grains.Jobs;

namespace GenCluster.Grains.Tests.Jobs;

public class SilentMembersTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    private static readonly RoundMember[] Members =
    [
        new(0, "w0", "gpu1", "http://10.77.0.11:29500"),
        new(1, "w1", "gpu2", "http://10.77.0.12:29500"),
        new(2, "w2", "gpu3", "http://10.77.0.13:29500"),
    ];

    [Fact]
    public void OnlyMembersQuietLongerThanTheThresholdAreSilent()
    {
        var heard = new Dictionary<string, DateTimeOffset> { ["w0"] = Now.AddSeconds(-0.5), ["w1"] = Now.AddSeconds(-5.6), ["w2"] = Now.AddSeconds(-3.0) };

        var silent = SilentMembers.Find(Members, heard, Now, TimeSpan.FromSeconds(3.3));

        var only = Assert.Single(silent);
        Assert.Equal((1, 5.6), (only.Member.Rank, Math.Round(only.Silent.TotalSeconds, 1)));
    }

    [Fact]
    public void AMemberNeverHeardIsNotJudged()
    {
        // A job grain that was just activated again (its silo failed) has heard nobody yet.
        Assert.Empty(SilentMembers.Find(Members, new Dictionary<string, DateTimeOffset>(), Now, TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void TheDescriptionNamesTheSilentFirstThenTheReport()
    {
        var report = "rank 2 (worker w2 on host gpu3) reported: no progress from rank 0 within 5 s while sending to it.";

        Assert.Equal(report, SilentMembers.Describe([], report));
        Assert.Equal($"rank 1 (worker w1 on host gpu2, no heartbeat for 5.6 s) went silent; {report}",
            SilentMembers.Describe([(Members[1], TimeSpan.FromSeconds(5.6))], report));
    }

    [Theory]
    [InlineData(10, 10.0 / 3)]
    [InlineData(3, 2)]
    [InlineData(30, 10)]
    public void TheThresholdIsAThirdOfTheLeaseAndAtLeastTwoSeconds(double lease, double expected)
    {
        Assert.Equal(expected, SilentMembers.Threshold(TimeSpan.FromSeconds(lease)).TotalSeconds, 6);
    }
}
