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
                var statuses = new List<JobStatus>();
                foreach (var id in await scheduler.ListJobs())
                    if (await grains.GetGrain<IJobGrain>(id).GetStatus() is { } status) statuses.Add(status);
                // Jobs by state from the jobs themselves: the scheduler's copy learns of round ends, not of Forming → Running.
                var summary = await scheduler.GetSummary();
                instruments.Publish(summary with { JobsByState = statuses.GroupBy(s => s.State).ToDictionary(g => g.Key, g => g.Count()) });
                instruments.Publish(await JobFiguresAsync(statuses));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogRefreshFailed(e.Message);
            }
        } while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    /// <summary>The figures of the jobs still exported (<see cref="JobFigures.Exported"/>).</summary>
    private async Task<IReadOnlyList<JobFigures>> JobFiguresAsync(IReadOnlyList<JobStatus> statuses)
    {
        var now = time.GetUtcNow();
        var figures = new List<JobFigures>();
        foreach (var status in statuses.Where(s => JobFigures.Exported(s, now)))
            figures.Add(JobFigures.From(status, await grains.GetGrain<IJobGrain>(status.Id).GetRankTimings()));
        return figures;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Cluster summary refresh failed (silo starting?): {Message}")]
    private partial void LogRefreshFailed(string message);
}
