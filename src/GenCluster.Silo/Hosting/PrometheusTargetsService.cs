using GenCluster.Contracts.Workers;
using GenCluster.Grains.Workers;
using GenCluster.Silo.Telemetry;
using Microsoft.Extensions.Options;

namespace GenCluster.Silo.Hosting;

/// <summary>
/// Keeps Prometheus' file-based service discovery current (<see cref="SiloHostOptions.PrometheusTargets"/>): this
/// silo's target once, the live trainers' every few seconds as they register, lose their lease or leave.
/// </summary>
public sealed partial class PrometheusTargetsService(
    IGrainFactory grains, IOptions<SiloHostOptions> options, TimeProvider time, ILogger<PrometheusTargetsService> logger) : BackgroundService
{
    /// <summary>Time between refreshes.</summary>
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(2);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        if (string.IsNullOrEmpty(o.PrometheusTargets)) return;
        var directory = Path.GetFullPath(o.PrometheusTargets);
        Directory.CreateDirectory(directory);
        PrometheusTargets.WriteIfChanged(Path.Combine(directory, PrometheusTargets.SiloFileName(o.HttpPort)),
            PrometheusTargets.Silo(o.AdvertisedAddress, o.HttpPort, System.Net.Dns.GetHostName()));
        using var timer = new PeriodicTimer(Period, time);
        do
        {
            try
            {
                var workers = await grains.GetGrain<IWorkerDirectoryGrain>(IWorkerRegistryGrain.Key).GetWorkers();
                if (PrometheusTargets.WriteIfChanged(Path.Combine(directory, PrometheusTargets.TrainersFileName), PrometheusTargets.Trainers(workers)))
                    LogTargets(workers.Count(w => w.Alive), directory);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogRefreshFailed(e.Message);
            }
        } while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Prometheus targets: {Trainers} live trainer(s) written to {Directory}")]
    private partial void LogTargets(int trainers, string directory);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Prometheus targets refresh failed: {Message}")]
    private partial void LogRefreshFailed(string message);
}
