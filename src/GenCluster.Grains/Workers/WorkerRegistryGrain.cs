using GenCluster.Contracts.Workers;
using GenCluster.Grains.Jobs;
using GenCluster.Grains.Scheduling;
using GenCluster.Grains.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GenCluster.Grains.Workers;

/// <summary>The registry's durable state.</summary>
[GenerateSerializer]
public sealed class WorkerRegistryState
{
    /// <summary>Leases by worker id.</summary>
    [Id(0)] public Dictionary<string, WorkerLease> Workers { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// Registration and leases. Heartbeats renew a lease and return the scheduler's directive; a timer expires leases
/// (time from <see cref="TimeProvider"/>) and reports the lost workers to the scheduler, which ends their rounds.
/// </summary>
public sealed partial class WorkerRegistryGrain(
    [PersistentState("workers", ControlPlaneOptions.StorageName)] IPersistentState<WorkerRegistryState> state,
    IOptions<ControlPlaneOptions> options,
    TimeProvider time,
    SiloInstruments instruments,
    ILogger<WorkerRegistryGrain> logger) : Grain, IWorkerDirectoryGrain
{
    private TimeSpan Lease => TimeSpan.FromSeconds(options.Value.LeaseSeconds);

    private ISchedulerGrain Scheduler => GrainFactory.GetGrain<ISchedulerGrain>(ISchedulerGrain.Key);

    /// <inheritdoc />
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // The silo may have been down for longer than a lease: give every live worker a fresh lease so a restart is
        // not mistaken for the death of all trainers; those that are really gone expire one lease later.
        var now = time.GetUtcNow();
        foreach (var (id, lease) in state.State.Workers.ToList())
            if (lease.Alive) state.State.Workers[id] = lease with { ExpiresAt = now + Lease };

        var period = TimeSpan.FromSeconds(options.Value.LeaseCheckSeconds);
        this.RegisterGrainTimer(_ => CheckLeases(), new GrainTimerCreationOptions(period, period) { KeepAlive = true });
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task<HeartbeatReply> Register(WorkerInfo worker)
    {
        state.State.Workers[worker.WorkerId] = LeasePolicy.Renew(worker, time.GetUtcNow(), Lease);
        await state.WriteStateAsync();
        LogRegistered(worker.WorkerId, worker.Host, worker.RingEndpoint, worker.Device);
        var directive = await Scheduler.WorkerJoined(worker);
        return new HeartbeatReply(directive.Assignment, options.Value.LeaseSeconds);
    }

    /// <inheritdoc />
    public async Task<HeartbeatReply> Heartbeat(Heartbeat heartbeat)
    {
        if (!state.State.Workers.TryGetValue(heartbeat.WorkerId, out var lease))
            return new HeartbeatReply(null, options.Value.LeaseSeconds, MustRegister: true);

        var wasAlive = lease.Alive;
        state.State.Workers[heartbeat.WorkerId] = LeasePolicy.Renew(lease.Info, time.GetUtcNow(), Lease);
        WorkerDirective directive;
        if (wasAlive)
        {
            directive = await Scheduler.WorkerHeartbeat(heartbeat.WorkerId,
                heartbeat.Activity == WorkerActivity.Idle ? null : heartbeat.JobId, heartbeat.Round);
        }
        else
        {
            await state.WriteStateAsync();
            LogRevived(heartbeat.WorkerId);
            directive = await Scheduler.WorkerJoined(lease.Info);
        }
        if (!directive.Known) return new HeartbeatReply(null, options.Value.LeaseSeconds, MustRegister: true);

        if (heartbeat.JobId is { } jobId && heartbeat.Round > 0)
        {
            await GrainFactory.GetGrain<IJobControlGrain>(jobId)
                .RecordHeartbeat(heartbeat.WorkerId, heartbeat.Round, heartbeat.Activity, heartbeat.Progress);
        }
        return new HeartbeatReply(directive.Assignment, options.Value.LeaseSeconds, directive.CheckpointNow);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<WorkerStatus>> GetWorkers()
    {
        var assignments = await Scheduler.GetAssignments();
        return state.State.Workers.Values
            .OrderBy(l => l.Info.WorkerId, StringComparer.Ordinal)
            .Select(l => assignments.TryGetValue(l.Info.WorkerId, out var a)
                ? new WorkerStatus(l.Info, l.Alive, l.ExpiresAt, l.LastHeartbeatAt, a.JobId, a.Round, a.Rank)
                : new WorkerStatus(l.Info, l.Alive, l.ExpiresAt, l.LastHeartbeatAt, null, 0, -1))
            .ToArray();
    }

    /// <inheritdoc />
    public async Task<int> CheckLeases()
    {
        var now = time.GetUtcNow();
        var expired = LeasePolicy.Expired(state.State.Workers.Values, now);
        if (expired.Count == 0) return 0;

        var lost = new List<LostWorker>();
        foreach (var lease in expired)
        {
            state.State.Workers[lease.Info.WorkerId] = lease with { Alive = false };
            var reason = LeasePolicy.ExpiryReason(lease, now);
            lost.Add(new LostWorker(lease.Info.WorkerId, reason));
            instruments.LeaseExpired();
            LogExpired(reason);
        }
        await state.WriteStateAsync();
        await Scheduler.WorkersLost(lost);
        return expired.Count;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Worker {WorkerId} registered from {Host} (ring {Ring}, device {Device})")]
    private partial void LogRegistered(string workerId, string host, string ring, string device);

    [LoggerMessage(Level = LogLevel.Information, Message = "Worker {WorkerId} heartbeats again after its lease expired")]
    private partial void LogRevived(string workerId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Reason}")]
    private partial void LogExpired(string reason);
}
