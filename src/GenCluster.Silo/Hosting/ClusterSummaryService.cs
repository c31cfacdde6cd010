using GenCluster.Grains.Scheduling;
using GenCluster.Grains.Telemetry;

namespace GenCluster.Silo.Hosting;

/// <summary>Refreshes the gauges' snapshot (jobs by state, workers alive) from the scheduler every few seconds.</summary>
public sealed partial class ClusterSummaryService(
    IGrainFactory grains, SiloInstruments instruments, TimeProvider time, ILogger<ClusterSummaryService> logger) : BackgroundService
{
    /// <summary>Time between refreshes.</summary>
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(2);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Period, time);
        do
        {
            try
            {
                instruments.Publish(await grains.GetGrain<ISchedulerGrain>(ISchedulerGrain.Key).GetSummary());
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogRefreshFailed(e.Message);
            }
        } while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Cluster summary refresh failed (silo starting?): {Message}")]
    private partial void LogRefreshFailed(string message);
}
