using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Workers;
using GenCluster.Grains.Jobs;
using GenCluster.Grains.Scheduling;
using GenCluster.Grains.Workers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;

namespace GenCluster.Grains.Tests;

/// <summary>A one-silo in-process Orleans cluster running GenCluster's grains on memory storage and a fake clock.</summary>
public sealed class ControlPlaneCluster : IAsyncLifetime
{
    public const double LeaseSeconds = 5;

    public const double DrainSeconds = 10;

    private InProcessTestCluster? _cluster;

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    public IClusterClient Client => _cluster!.Client;

    public ISchedulerGrain Scheduler => Client.GetGrain<ISchedulerGrain>(ISchedulerGrain.Key);

    public IWorkerDirectoryGrain Registry => Client.GetGrain<IWorkerDirectoryGrain>(IWorkerRegistryGrain.Key);

    public IJobGrain Job(string id) => Client.GetGrain<IJobGrain>(id);

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddMemoryGrainStorage(ControlPlaneOptions.StorageName);
            silo.Services.AddSingleton<TimeProvider>(Time);
            silo.Services.AddGenClusterControlPlane().Configure(o =>
            {
                o.LeaseSeconds = LeaseSeconds;
                o.LeaseCheckSeconds = 0.05;
                o.PreemptionDrainSeconds = DrainSeconds;
                o.RunsDirectory = "/runs";
            });
        });
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null) await _cluster.DisposeAsync();
    }

    public static WorkerInfo Worker(string id) => new(id, $"host-{id}", $"http://{id}.local:7000", $"http://{id}.local:9000", "cpu");

    public Task<HeartbeatReply> Beat(string workerId, long round = 0, string? jobId = null, long step = 0, double? computeSeconds = null)
    {
        var metrics = new Dictionary<string, double> { ["loss_d"] = 0.7 };
        if (computeSeconds is { } seconds) metrics[RankTiming.ComputeSecondsMetric] = seconds;
        return Registry.Heartbeat(new Heartbeat(workerId, jobId is null ? WorkerActivity.Idle : WorkerActivity.Training, jobId, round,
            jobId is null ? null : new TrainingProgress(step, 0, 10, metrics)));
    }

    /// <summary>Polls the job until <paramref name="condition"/> holds (one-way notifications settle asynchronously).</summary>
    public async Task<JobStatus> WaitForJob(string id, Func<JobStatus, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        JobStatus? last = null;
        while (DateTime.UtcNow < deadline)
        {
            last = await Job(id).GetStatus();
            if (last is not null && condition(last)) return last;
            await Task.Delay(20);
        }
        throw new TimeoutException($"job {id}: waited 20 s for {what}; last state {last?.State}, round {last?.CurrentRound}, " +
                                   $"history: {string.Join(" | ", last?.History.Select(h => h.Message) ?? [])}");
    }
}
