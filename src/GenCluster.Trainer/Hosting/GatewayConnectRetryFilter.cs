using Microsoft.Extensions.Options;

namespace GenCluster.Trainer.Hosting;

/// <summary>
/// Retries the Orleans client's first connection to the gateways once a second until
/// <see cref="TrainerOptions.ConnectTimeoutSeconds"/> has passed since the first failure, then stops the trainer with
/// <see cref="GatewayUnreachableException"/> (Orleans' own filter retries forever). A gateway that refuses the
/// trainer's certificate only closes the connection, so the message points to the silo's log, which names the reason.
/// </summary>
public sealed partial class GatewayConnectRetryFilter(IOptions<TrainerOptions> options, TimeProvider time, ILogger<GatewayConnectRetryFilter> logger)
    : IClientConnectionRetryFilter
{
    private long? _firstFailure;

    /// <inheritdoc />
    public async Task<bool> ShouldRetryConnectionAttempt(Exception exception, CancellationToken cancellationToken)
    {
        var o = options.Value;
        _firstFailure ??= time.GetTimestamp();
        var limit = TimeSpan.FromSeconds(o.ConnectTimeoutSeconds);
        if (time.GetElapsedTime(_firstFailure.Value) >= limit)
        {
            var gateway = string.IsNullOrEmpty(o.Redis) ? $"the gateway at 127.0.0.1:{o.GatewayPort}" : $"any gateway listed in Redis {o.Redis}";
            throw new GatewayUnreachableException(
                $"could not connect to {gateway} within {o.ConnectTimeoutSeconds:0.#} s (--connect-timeout-seconds; last error: {exception.Message}). " +
                "If the silo is up, its log says why it closed the connection: a refused certificate is logged as 'TLS: refused the trainer certificate ...', " +
                "and a trainer without TLS cannot talk to a silo that uses it.", exception);
        }
        Retrying(logger, exception.Message);
        await Task.Delay(TimeSpan.FromSeconds(1), time, cancellationToken);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "No connection to a gateway yet ({Error}); retrying")]
    private static partial void Retrying(ILogger logger, string error);
}
