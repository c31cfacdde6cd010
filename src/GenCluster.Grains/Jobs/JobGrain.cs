using System.Security.Cryptography;
using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Workers;
using GenCluster.Grains.Scheduling;
using GenCluster.Grains.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GenCluster.Grains.Jobs;

/// <summary>A job's durable state: its status and the ring secret its members share.</summary>
[GenerateSerializer]
public sealed class JobGrainState
{
    /// <summary>Null until the job is initialized.</summary>
    [Id(0)] public JobStatus? Status { get; set; }

    /// <summary>Random per job; presented on every ring connection.</summary>
    [Id(1)] public string Secret { get; set; } = "";
}

/// <summary>One job: loads its state, asks <see cref="JobStateMachine"/>, persists, and tells the scheduler about round ends.</summary>
public sealed partial class JobGrain(
    [PersistentState("job", ControlPlaneOptions.StorageName)] IPersistentState<JobGrainState> state,
    TimeProvider time,
    SiloInstruments instruments,
    IOptions<ControlPlaneOptions> options,
    ILogger<JobGrain> logger) : Grain, IJobControlGrain
{
    // Per-rank compute times of the current round: in memory only, refreshed by every heartbeat.
    private long _timedRound;
    private readonly Dictionary<int, double> _computeSeconds = [];
    private readonly HashSet<int> _namedStragglers = [];

    // When each worker was last heard (heartbeats, round formation): in memory only, to name silent members of a failed round.
    private readonly Dictionary<string, DateTimeOffset> _lastHeard = [];

    private string Id => this.GetPrimaryKeyString();

    /// <inheritdoc />
    public Task<JobStatus?> GetStatus() => Task.FromResult(state.State.Status);

    /// <inheritdoc />
    public Task<IReadOnlyList<RankTiming>> GetRankTimings() =>
        Task.FromResult(state.State.Status is { HasActiveRound: true } status && _timedRound == status.CurrentRound
            ? StragglerDetector.Score(status.Rounds[^1].Members, _computeSeconds)
            : (IReadOnlyList<RankTiming>)[]);

    /// <inheritdoc />
    public async Task<JobStatus> Initialize(JobSpec spec, string runDirectory)
    {
        if (state.State.Status is { } existing) return existing;
        state.State.Status = JobStateMachine.Submit(Id, spec, runDirectory, time.GetUtcNow());
        state.State.Secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        await state.WriteStateAsync();
        LogSubmitted(Id, spec.Name, spec.Priority);
        return state.State.Status;
    }

    /// <inheritdoc />
    public async Task<RoundStart> StartRound(IReadOnlyList<WorkerInfo> members)
    {
        var status = Require();
        var next = JobStateMachine.FormRound(status, members, time.GetUtcNow());
        if (ReferenceEquals(next, status)) return new RoundStart(status, []);
        await Save(next);
        instruments.RoundFormed();
        LogRoundFormed(Id, next.CurrentRound, members.Count);
        foreach (var member in members) _lastHeard[member.WorkerId] = time.GetUtcNow();
        var assignments = members.Select(m => JobStateMachine.AssignmentFor(next, m.WorkerId, state.State.Secret)!).ToArray();
        return new RoundStart(next, assignments);
    }

    /// <inheritdoc />
    public async Task<JobStatus?> EndRound(long round, RoundEnd end, string reason)
    {
        if (state.State.Status is not { } status) return null;
        var next = JobStateMachine.EndRound(status, round, end, reason, time.GetUtcNow());
        if (ReferenceEquals(next, status)) return status;
        await Save(next);
        Count(end);
        LogRoundEnded(Id, round, end, next.State, reason);
        return next;
    }

    /// <inheritdoc />
    public async Task<JobStatus?> Cancel(string reason)
    {
        if (state.State.Status is not { } status) return null;
        var next = JobStateMachine.Cancel(status, reason, time.GetUtcNow());
        if (!ReferenceEquals(next, status)) await Save(next);
        return next;
    }

    /// <inheritdoc />
    public async Task RecordHeartbeat(string workerId, long round, WorkerActivity activity, TrainingProgress? progress)
    {
        if (state.State.Status is not { } status) return;
        _lastHeard[workerId] = time.GetUtcNow();
        var next = JobStateMachine.RecordHeartbeat(status, workerId, round, activity, progress, time.GetUtcNow());
        next = RecordTiming(next, workerId, round, progress);
        if (ReferenceEquals(next, status)) return;
        await Save(next);
        if (next.Recoveries.Count > status.Recoveries.Count && next.Recoveries[^1] is { } recovery)
        {
            instruments.Recovered(recovery.Seconds, recovery.LostSteps);
            LogRecovered(Id, next.CurrentRound, recovery.Seconds, recovery.LostSteps);
        }
    }

    /// <summary>Keeps the member's compute time and names a rank the first time in a round it becomes a straggler.</summary>
    private JobStatus RecordTiming(JobStatus status, string workerId, long round, TrainingProgress? progress)
    {
        if (!status.HasActiveRound || round != status.CurrentRound) return status;
        if (_timedRound != round)
        {
            _timedRound = round;
            _computeSeconds.Clear();
            _namedStragglers.Clear();
        }
        var member = status.Rounds[^1].Members.FirstOrDefault(m => m.WorkerId == workerId);
        if (member is null || progress is null || !progress.Metrics.TryGetValue(RankTiming.ComputeSecondsMetric, out var seconds) || !(seconds > 0)) return status;
        _computeSeconds[member.Rank] = seconds;
        var factor = options.Value.StragglerFactor;
        foreach (var straggler in StragglerDetector.Stragglers(StragglerDetector.Score(status.Rounds[^1].Members, _computeSeconds), factor))
        {
            if (!_namedStragglers.Add(straggler.Rank)) continue;
            status = JobStateMachine.RecordStraggler(status, round, straggler, factor, time.GetUtcNow());
            LogStraggler(Id, round, straggler.Rank, straggler.Host, straggler.StragglerScore);
        }
        return status;
    }

    /// <inheritdoc />
    public async Task ReportCheckpoint(long round, CheckpointRef checkpoint)
    {
        if (state.State.Status is not { } status) return;
        var next = JobStateMachine.RecordCheckpoint(status, round, checkpoint, time.GetUtcNow());
        if (ReferenceEquals(next, status)) return;
        await Save(next);
    }

    /// <inheritdoc />
    public async Task ReportEvaluation(long round, IReadOnlyDictionary<string, double> figures)
    {
        if (state.State.Status is not { } status) return;
        var next = JobStateMachine.RecordEvaluation(status, round, figures, time.GetUtcNow());
        if (ReferenceEquals(next, status)) return;
        await Save(next);
    }

    /// <inheritdoc />
    public Task ReportRoundFailure(long round, int rank, string reason)
    {
        // The reporter names the peer it was blocked on; a member that has also stopped heartbeating is named first.
        var members = state.State.Status?.Rounds.FirstOrDefault(r => r.Number == round)?.Members ?? [];
        var silent = SilentMembers.Find(members.Where(m => m.Rank != rank), _lastHeard, time.GetUtcNow(),
            SilentMembers.Threshold(TimeSpan.FromSeconds(options.Value.LeaseSeconds)));
        return EndByTrainer(round, RoundEnd.Failure, rank, SilentMembers.Describe(silent, $"rank {rank} ({Member(round, rank)}) reported: {reason}"), leaving: false);
    }

    /// <inheritdoc />
    public Task ReportLeaving(long round, int rank, long step) =>
        EndByTrainer(round, RoundEnd.Preemption, rank, $"rank {rank} ({Member(round, rank)}) left at step {step} (SIGTERM)", leaving: true);

    /// <inheritdoc />
    public async Task ReportCompleted(long round, int rank, long step)
    {
        if (state.State.Status is not { } status) return;
        var next = JobStateMachine.Complete(status, round, rank, step, time.GetUtcNow());
        if (ReferenceEquals(next, status)) return;
        await Save(next);
        if (next.State == JobState.Succeeded)
        {
            LogSucceeded(Id, step);
            GrainFactory.GetGrain<ISchedulerGrain>(ISchedulerGrain.Key).RoundEnded(Id, round, next.State, null).Ignore();
        }
    }

    private async Task EndByTrainer(long round, RoundEnd end, int rank, string reason, bool leaving)
    {
        if (state.State.Status is not { } status) return;
        var next = JobStateMachine.EndRound(status, round, end, reason, time.GetUtcNow());
        if (ReferenceEquals(next, status)) return;
        await Save(next);
        Count(end);
        LogRoundEnded(Id, round, end, next.State, reason);
        var leaver = leaving ? status.Rounds[^1].Members.FirstOrDefault(m => m.Rank == rank)?.WorkerId : null;
        GrainFactory.GetGrain<ISchedulerGrain>(ISchedulerGrain.Key).RoundEnded(Id, round, next.State, leaver).Ignore();
    }

    private string Member(long round, int rank)
    {
        var r = state.State.Status?.Rounds.FirstOrDefault(x => x.Number == round);
        var m = r?.Members.FirstOrDefault(x => x.Rank == rank);
        return m is null ? "unknown member" : $"worker {m.WorkerId} on host {m.Host}";
    }

    private void Count(RoundEnd end)
    {
        if (end == RoundEnd.Failure) instruments.Restarted();
        else instruments.Preempted();
    }

    private JobStatus Require() =>
        state.State.Status ?? throw new InvalidOperationException($"job {Id} does not exist (never submitted)");

    private async Task Save(JobStatus next)
    {
        state.State.Status = next;
        await state.WriteStateAsync();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} submitted: '{Name}', priority {Priority}")]
    private partial void LogSubmitted(string jobId, string name, int priority);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} formed round {Round} with {Workers} workers")]
    private partial void LogRoundFormed(string jobId, long round, int workers);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} round {Round} ended ({End}), now {State}: {Reason}")]
    private partial void LogRoundEnded(string jobId, long round, RoundEnd end, JobState state, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} round {Round} running: recovered in {Seconds:F1} s, {LostSteps} steps to train again")]
    private partial void LogRecovered(string jobId, long round, double seconds, long lostSteps);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} round {Round}: rank {Rank} on {Host} is straggling, {Score:F2}x the other ranks' compute time")]
    private partial void LogStraggler(string jobId, long round, int rank, string host, double score);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} succeeded at step {Step}")]
    private partial void LogSucceeded(string jobId, long step);
}
