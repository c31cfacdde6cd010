using GenCluster.Contracts.Jobs;
using GenCluster.Grains.Scheduling;
using GenCluster.Grains.Telemetry;

namespace GenCluster.Silo.Hosting;

/// <summary>Refreshes the gauges' snapshot (jobs by state, workers alive, per-job and per-rank figures) from the grains every few seconds.</summary>
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
                var scheduler = grains.GetGrain<ISchedulerGrain>(ISchedulerGrain.Key);
                instruments.Publish(await scheduler.GetSummary());
                instruments.Publish(await JobFiguresAsync(await scheduler.ListJobs()));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogRefreshFailed(e.Message);
            }
        } while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    /// <summary>The figures of the jobs still exported (<see cref="JobFigures.Exported"/>).</summary>
    private async Task<IReadOnlyList<JobFigures>> JobFiguresAsync(IReadOnlyList<string> ids)
    {
        var now = time.GetUtcNow();
        var figures = new List<JobFigures>();
        foreach (var id in ids)
        {
            var job = grains.GetGrain<IJobGrain>(id);
            if (await job.GetStatus() is not { } status || !JobFigures.Exported(status, now)) continue;
            figures.Add(JobFigures.From(status, await job.GetRankTimings()));
        }
        return figures;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Cluster summary refresh failed (silo starting?): {Message}")]
    private partial void LogRefreshFailed(string message);
}
