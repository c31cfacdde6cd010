using GenCluster.Trainer.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace GenCluster.Trainer.Tests.Hosting;

public sealed class GatewayConnectRetryFilterTests
{
    private readonly FakeTimeProvider _time = new();

    private GatewayConnectRetryFilter Filter(TrainerOptions options) =>
        new(Options.Create(options), _time, NullLogger<GatewayConnectRetryFilter>.Instance);

    [Fact]
    public async Task RetriesOnceASecondUntilTheTimeoutThenStopsNamingTheGatewayAndTheFlag()
    {
        var filter = Filter(new TrainerOptions { GatewayPort = 30123, ConnectTimeoutSeconds = 3 });
        var refused = new InvalidOperationException("Unable to connect to any of the 1 available gateways.");

        for (var attempt = 0; attempt < 3; attempt++)
        {
            var retry = filter.ShouldRetryConnectionAttempt(refused, CancellationToken.None);
            Assert.False(retry.IsCompleted);
            _time.Advance(TimeSpan.FromSeconds(1));
            Assert.True(await retry);
        }

        var error = await Assert.ThrowsAsync<GatewayUnreachableException>(() => filter.ShouldRetryConnectionAttempt(refused, CancellationToken.None));
        Assert.StartsWith("could not connect to the gateway at 127.0.0.1:30123 within 3 s (--connect-timeout-seconds; " +
                          "last error: Unable to connect to any of the 1 available gateways.)", error.Message);
        Assert.Contains("TLS: refused the trainer certificate", error.Message);
        Assert.Same(refused, error.InnerException);
    }

    [Fact]
    public async Task InRedisModeTheMessageNamesRedis()
    {
        var filter = Filter(new TrainerOptions { Redis = "redis:6379", ConnectTimeoutSeconds = 0.5 });
        var first = filter.ShouldRetryConnectionAttempt(new TimeoutException("t"), CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(await first);

        var error = await Assert.ThrowsAsync<GatewayUnreachableException>(() => filter.ShouldRetryConnectionAttempt(new TimeoutException("t"), CancellationToken.None));

        Assert.StartsWith("could not connect to any gateway listed in Redis redis:6379 within 0.5 s", error.Message);
    }
}
