using GenCluster.Contracts.Jobs;

namespace GenCluster.Contracts.Tests.Jobs;

public class JobIdTests
{
    [Fact]
    public void ANewIdIsTheUtcSecondAndSixHexDigits()
    {
        var id = JobId.New(new DateTimeOffset(2026, 3, 4, 7, 8, 9, TimeSpan.FromHours(2)), [0x0a, 0xbc, 0xff]);

        Assert.Equal("20260304-050809-0abcff", id);
        Assert.True(JobId.IsWellFormed(id));
        Assert.True(JobId.IsWellFormed(JobId.Example));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("nope")]
    [InlineData("20260304-050809-0ABCFF")]
    [InlineData("20260304-050809-0abcf")]
    [InlineData("20260304-050809-0abcff\n")]
    [InlineData("../20260304-050809-0abcff")]
    [InlineData("20260304-050809-0abcff/../../etc")]
    public void AnythingElseIsNotAnId(string? id) => Assert.False(JobId.IsWellFormed(id));

    [Fact]
    public void TheRandomPartMustBeThreeBytes()
    {
        var e = Assert.Throws<ArgumentException>(() => JobId.New(DateTimeOffset.UnixEpoch, [1, 2]));
        Assert.Contains("got 2", e.Message);
    }
}
