using System.Security.Cryptography;
using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Workers;
using GenCluster.Grains.Jobs;
using GenCluster.Grains.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GenCluster.Grains.Scheduling;

/// <summary>A job the scheduler still has to run.</summary>
[GenerateSerializer]
public sealed class ScheduledJob
{
    /// <summary>Job priority.</summary>
    [Id(0)] public int Priority { get; set; }
    /// <summary>Submit time.</summary>
    [Id(1)] public DateTimeOffset SubmittedAt { get; set; }
    /// <summary>Accepted round sizes.</summary>
    [Id(2)] public List<int> WorldSizes { get; set; } = [];
    /// <summary>Round in progress, 0 while queued.</summary>
    [Id(3)] public long ActiveRound { get; set; }
    /// <summary>Members of the active round, or of the last round (preferred when it re-forms).</summary>
    [Id(4)] public List<string> Workers { get; set; } = [];
    /// <summary>While being preempted: the job its workers go to once it has checkpointed.</summary>
    [Id(5)] public string? DrainingFor { get; set; }
    /// <summary>When a drain gives up waiting for the checkpoint.</summary>
    [Id(6)] public DateTimeOffset DrainDeadline { get; set; }
    /// <summary>While draining: members that stopped training the round (after its agreed checkpoint).</summary>
    [Id(7)] public List<string> DrainStopped { get; set; } = [];
}

/// <summary>A worker as the scheduler sees it.</summary>
[GenerateSerializer]
public sealed class ScheduledWorker
{
    /// <summary>What it registered with.</summary>
    [Id(0)] public required WorkerInfo Info { get; set; }
    /// <summary>Lease holds.</summary>
    [Id(1)] public bool Alive { get; set; }
    /// <summary>Told us it is leaving (SIGTERM): not placed again until it re-registers.</summary>
    [Id(2)] public bool Leaving { get; set; }
    /// <summary>Registration order, to place workers deterministically.</summary>
    [Id(3)] public long Sequence { get; set; }
    /// <summary>Current assignment, or null when free.</summary>
    [Id(4)] public Assignment? Assignment { get; set; }
    /// <summary>
    /// Was in a round that failed and has not heartbeated since: not placed until it does. A SIGKILL'd member's lease
    /// has not run out when the survivors report the broken ring; this keeps it out of the next round.
    /// </summary>
    [Id(5)] public bool Suspect { get; set; }
}

/// <summary>The scheduler's durable state.</summary>
[GenerateSerializer]
public sealed class SchedulerState
{
    /// <summary>Jobs not yet finished, by id.</summary>
    [Id(0)] public Dictionary<string, ScheduledJob> Jobs { get; set; } = new(StringComparer.Ordinal);
    /// <summary>Workers by id.</summary>
    [Id(1)] public Dictionary<string, ScheduledWorker> Workers { get; set; } = new(StringComparer.Ordinal);
    /// <summary>Every job id, oldest first.</summary>
    [Id(2)] public List<string> AllJobs { get; set; } = [];
    /// <summary>Last known state of every job.</summary>
    [Id(3)] public Dictionary<string, JobState> States { get; set; } = new(StringComparer.Ordinal);
    /// <summary>Last worker sequence number handed out.</summary>
    [Id(4)] public long WorkerSequence { get; set; }
}

/// <summary>Queue, placement and preemption: keeps the books and asks <see cref="SchedulingPolicy"/> what to do.</summary>
public sealed partial class SchedulerGrain(
    [PersistentState("scheduler", ControlPlaneOptions.StorageName)] IPersistentState<SchedulerState> state,
    IOptions<ControlPlaneOptions> options,
    TimeProvider time,
    ILogger<SchedulerGrain> logger) : Grain, ISchedulerGrain
{
    private SchedulerState S => state.State;

    /// <inheritdoc />
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var period = TimeSpan.FromSeconds(options.Value.LeaseCheckSeconds);
        this.RegisterGrainTimer(_ => CheckDrains(), new GrainTimerCreationOptions(period, period) { KeepAlive = true });
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task<JobStatus> Submit(JobSpec spec)
    {
        var errors = JobSpecValidator.Validate(spec);
        if (errors.Count > 0) throw new ArgumentException(string.Join("; ", errors.Values.SelectMany(e => e)), nameof(spec));

        var now = time.GetUtcNow();
        var id = JobId.New(now, RandomNumberGenerator.GetBytes(JobId.RandomBytes));
        var runs = string.IsNullOrWhiteSpace(spec.RunsDirectory) ? options.Value.RunsDirectory : spec.RunsDirectory;
        var status = await Job(id).Initialize(spec, Path.GetFullPath(Path.Combine(runs, id)));
        S.Jobs[id] = new ScheduledJob
        {
            Priority = spec.Priority, SubmittedAt = status.SubmittedAt, WorldSizes = [.. BatchGeometry.WorldSizes(spec)],
        };
        S.AllJobs.Add(id);
        S.States[id] = status.State;
        await state.WriteStateAsync();
        await Reschedule();
        return await Job(id).GetStatus() ?? status;
    }

    /// <inheritdoc />
    public async Task<JobStatus?> Cancel(string jobId, string reason)
    {
        if (!S.States.ContainsKey(jobId)) return null;
        var status = await Job(jobId).Cancel(reason);
        if (status is null) return null;
        S.States[jobId] = status.State;
        if (status.IsTerminal && S.Jobs.Remove(jobId)) Release(jobId);
        await state.WriteStateAsync();
        await Reschedule();
        return status;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> ListJobs() => Task.FromResult<IReadOnlyList<string>>(S.AllJobs.ToArray());

    /// <inheritdoc />
    public async Task<WorkerDirective> WorkerJoined(WorkerInfo info)
    {
        if (!S.Workers.TryGetValue(info.WorkerId, out var worker))
        {
            S.Workers[info.WorkerId] = worker = new ScheduledWorker { Info = info, Sequence = ++S.WorkerSequence };
        }
        worker.Info = info;
        worker.Alive = true;
        worker.Leaving = false;
        worker.Suspect = false;
        await state.WriteStateAsync();
        await Reschedule();
        return new WorkerDirective(worker.Assignment, true);
    }

    /// <inheritdoc />
    public async Task<WorkerDirective> WorkerHeartbeat(string workerId, string? trainingJobId, long trainingRound)
    {
        if (!S.Workers.TryGetValue(workerId, out var w) || !w.Alive) return new WorkerDirective(null, false);
        var changed = false;
        if (w.Suspect)
        {
            w.Suspect = false;
            changed = true;
        }
        if (w.Assignment is { } a && S.Jobs.TryGetValue(a.JobId, out var job) && job.DrainingFor is not null && job.ActiveRound == a.Round
            && (trainingJobId != a.JobId || trainingRound != a.Round) && !job.DrainStopped.Contains(workerId))
        {
            job.DrainStopped.Add(workerId);
            changed = true;
            if (job.Workers.All(job.DrainStopped.Contains))
            {
                var step = (await Job(a.JobId).GetStatus())?.LatestCheckpoint?.Step ?? 0;
                await Preempt(a.JobId, job, $"checkpointed at step {step} and stopped, then gave its {job.Workers.Count} workers to job " +
                                            $"{job.DrainingFor} (priority {Priority(job.DrainingFor)} > {job.Priority})");
            }
        }
        if (changed)
        {
            await state.WriteStateAsync();
            await Reschedule();
        }
        return new WorkerDirective(w.Assignment, true, w.Assignment is { } current && S.Jobs.GetValueOrDefault(current.JobId)?.DrainingFor is not null);
    }

    /// <inheritdoc />
    public async Task WorkersLost(IReadOnlyList<LostWorker> lost)
    {
        foreach (var (workerId, reason) in lost)
        {
            if (!S.Workers.TryGetValue(workerId, out var worker)) continue;
            worker.Alive = false;
            if (worker.Assignment is not { } a) continue;
            var rank = a.Rank;
            var status = await Job(a.JobId).EndRound(a.Round, RoundEnd.Failure, $"rank {rank}: {reason}");
            AfterRoundEnd(a.JobId, a.Round, status?.State ?? JobState.Failed);
            LogWorkerLost(workerId, a.JobId, a.Round, reason);
        }
        await state.WriteStateAsync();
        await Reschedule();
    }

    /// <inheritdoc />
    public async Task RoundEnded(string jobId, long round, JobState jobState, string? leavingWorkerId)
    {
        if (leavingWorkerId is not null && S.Workers.TryGetValue(leavingWorkerId, out var leaver)) leaver.Leaving = true;
        AfterRoundEnd(jobId, round, jobState);
        await state.WriteStateAsync();
        await Reschedule();
    }

    /// <inheritdoc />
    public Task<IReadOnlyDictionary<string, Assignment>> GetAssignments() =>
        Task.FromResult<IReadOnlyDictionary<string, Assignment>>(S.Workers
            .Where(w => w.Value.Assignment is not null)
            .ToDictionary(w => w.Key, w => w.Value.Assignment!, StringComparer.Ordinal));

    /// <inheritdoc />
    public Task<ClusterSummary> GetSummary() => Task.FromResult(new ClusterSummary(
        S.States.Values.GroupBy(s => s).ToDictionary(g => g.Key, g => g.Count()),
        S.Workers.Values.Count(w => w.Alive)));

    private void AfterRoundEnd(string jobId, long round, JobState jobState)
    {
        S.States[jobId] = jobState;
        if (!S.Jobs.TryGetValue(jobId, out var job)) return;
        if (job.ActiveRound == round)
        {
            if (jobState == JobState.Restarting)
            {
                foreach (var id in job.Workers)
                    if (S.Workers.TryGetValue(id, out var member)) member.Suspect = true;
            }
            Release(jobId);
            job.ActiveRound = 0;
            job.DrainingFor = null;
            job.DrainStopped.Clear();
        }
        if (jobState is JobState.Succeeded or JobState.Failed or JobState.Cancelled)
        {
            Release(jobId);
            S.Jobs.Remove(jobId);
        }
    }

    private void Release(string jobId)
    {
        foreach (var w in S.Workers.Values)
            if (w.Assignment?.JobId == jobId) w.Assignment = null;
    }

    /// <summary>Runs scheduling passes until nothing changes (a preemption re-queues its victim for the next pass).</summary>
    private async Task Reschedule()
    {
        for (var pass = 0; pass < 8; pass++)
        {
            // A job waiting for a draining victim's workers is not placed elsewhere meanwhile, and the victim's
            // workers are spoken for.
            var awaited = S.Jobs.Values.Select(j => j.DrainingFor).OfType<string>().ToHashSet(StringComparer.Ordinal);
            var queue = S.Jobs.Where(j => j.Value.ActiveRound == 0 && !awaited.Contains(j.Key))
                .Select(j => new QueuedJob(j.Key, j.Value.Priority, j.Value.SubmittedAt, j.Value.WorldSizes, j.Value.Workers))
                .ToList();
            if (queue.Count == 0) return;
            var running = S.Jobs.Where(j => j.Value.ActiveRound != 0 && j.Value.DrainingFor is null)
                .Select(j => new RunningJob(j.Key, j.Value.Priority, j.Value.SubmittedAt, j.Value.Workers))
                .ToList();
            var free = S.Workers.Values.Where(w => w.Alive && !w.Leaving && !w.Suspect && w.Assignment is null)
                .OrderBy(w => w.Sequence).Select(w => w.Info.WorkerId).ToList();

            var decision = SchedulingPolicy.Decide(queue, running, free);
            if (decision.IsEmpty) return;

            var drain = TimeSpan.FromSeconds(options.Value.PreemptionDrainSeconds);
            var pledged = new HashSet<string>(StringComparer.Ordinal);
            foreach (var victim in decision.Preemptions)
            {
                var job = S.Jobs[victim.JobId];
                if (drain > TimeSpan.Zero)
                {
                    // Let the victim checkpoint first: its trainers see CheckpointNow, agree on a step, checkpoint and
                    // stop; once every member heartbeats as stopped (or at the drain deadline) the workers are handed over.
                    job.DrainingFor = victim.ForJobId;
                    job.DrainStopped.Clear();
                    job.DrainDeadline = time.GetUtcNow() + drain;
                    pledged.UnionWith(victim.Workers);
                    LogDraining(victim.JobId, victim.ForJobId, drain.TotalSeconds);
                    continue;
                }
                await Preempt(victim.JobId, job, $"the scheduler took its {victim.Workers.Count} workers for job " +
                                                 $"{victim.ForJobId} (priority {Priority(victim.ForJobId)} > {job.Priority})");
            }

            foreach (var placement in decision.Placements)
            {
                if (placement.Workers.Any(pledged.Contains) || S.Jobs.Values.Any(j => j.DrainingFor == placement.JobId)) continue;
                var members = placement.Workers.Select(w => S.Workers[w].Info).ToList();
                var start = await Job(placement.JobId).StartRound(members);
                S.States[placement.JobId] = start.Status.State;
                var job = S.Jobs[placement.JobId];
                if (start.Assignments.Count == 0)
                {
                    if (start.Status.IsTerminal) S.Jobs.Remove(placement.JobId);
                    continue;
                }
                job.ActiveRound = start.Status.CurrentRound;
                job.Workers = [.. placement.Workers];
                // The assignments come in the order of the members given, not by rank: ranks follow the ring order
                // (RingOrder), which groups each host's workers.
                for (var i = 0; i < start.Assignments.Count; i++)
                    S.Workers[placement.Workers[i]].Assignment = start.Assignments[i];
            }
            await state.WriteStateAsync();
        }
    }

    private async Task Preempt(string jobId, ScheduledJob job, string reason)
    {
        var round = job.ActiveRound;
        var status = await Job(jobId).EndRound(round, RoundEnd.Preemption, reason);
        AfterRoundEnd(jobId, round, status?.State ?? JobState.Failed);
        LogPreempted(jobId, reason);
    }

    private int Priority(string jobId) => S.Jobs.GetValueOrDefault(jobId)?.Priority ?? 0;

    /// <summary>Ends drains whose deadline passed (or whose beneficiary is gone) and hands the workers over.</summary>
    private async Task CheckDrains()
    {
        var now = time.GetUtcNow();
        var changed = false;
        foreach (var (id, job) in S.Jobs.Where(j => j.Value.DrainingFor is not null).ToList())
        {
            if (!S.Jobs.ContainsKey(job.DrainingFor!))
            {
                job.DrainingFor = null;
                changed = true;
            }
            else if (now >= job.DrainDeadline)
            {
                await Preempt(id, job, $"did not checkpoint within {options.Value.PreemptionDrainSeconds} s; the scheduler took " +
                                       $"its {job.Workers.Count} workers for job {job.DrainingFor} " +
                                       $"(priority {Priority(job.DrainingFor!)} > {job.Priority})");
                changed = true;
            }
        }
        if (!changed) return;
        await state.WriteStateAsync();
        await Reschedule();
    }

    private IJobControlGrain Job(string id) => GrainFactory.GetGrain<IJobControlGrain>(id);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Worker {WorkerId} lost from job {JobId} round {Round}: {Reason}")]
    private partial void LogWorkerLost(string workerId, string jobId, long round, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} asked to checkpoint within {Seconds} s before giving its workers to job {ForJobId}")]
    private partial void LogDraining(string jobId, string forJobId, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} preempted: {Reason}")]
    private partial void LogPreempted(string jobId, string reason);
}
