using GenCluster.Contracts.Workers;
using GenCluster.Grains.Workers;
using Microsoft.Extensions.Time.Testing;

namespace GenCluster.Grains.Tests.Workers;

public class LeasePolicyTests
{
    private static readonly WorkerInfo A = new("a", "host-a", "http://a:7000", "http://a:9000", "cpu");
    private static readonly WorkerInfo B = new("b", "host-b", "http://b:7000", "http://b:9000", "cpu");

    [Fact]
    public void LeasesExpireExactlyAfterTheirDurationUnlessRenewed()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var lease = TimeSpan.FromSeconds(10);
        var a = LeasePolicy.Renew(A, time.GetUtcNow(), lease);
        var b = LeasePolicy.Renew(B, time.GetUtcNow(), lease);

        time.Advance(TimeSpan.FromSeconds(6));
        b = LeasePolicy.Renew(B, time.GetUtcNow(), lease);
        time.Advance(TimeSpan.FromSeconds(3.9));
        Assert.Empty(LeasePolicy.Expired([a, b], time.GetUtcNow()));

        time.Advance(TimeSpan.FromSeconds(0.1));
        var expired = Assert.Single(LeasePolicy.Expired([a, b], time.GetUtcNow()));
        Assert.Equal("a", expired.Info.WorkerId);
        var reason = LeasePolicy.ExpiryReason(expired, time.GetUtcNow());
        Assert.Contains("worker a on host host-a", reason);
        Assert.Contains("10.0 s ago", reason);

        Assert.Empty(LeasePolicy.Expired([a with { Alive = false }], time.GetUtcNow()));
    }
}
