using GenCluster.Contracts.Workers;

namespace GenCluster.Contracts.Jobs;

/// <summary>Where a job is in its life.</summary>
public enum JobState
{
    /// <summary>Waiting for enough free workers.</summary>
    Queued,
    /// <summary>A round has been formed; its members have not all started yet.</summary>
    Forming,
    /// <summary>The current round is training.</summary>
    Running,
    /// <summary>A round ended by a failure; waiting for the next round.</summary>
    Restarting,
    /// <summary>A round ended by a preemption; back in the queue, resumes from its latest checkpoint.</summary>
    Preempted,
    /// <summary>Rank 0 reached the target step.</summary>
    Succeeded,
    /// <summary>A budget was spent or the job cannot run; the history says why.</summary>
    Failed,
    /// <summary>Cancelled by a user.</summary>
    Cancelled,
}

/// <summary>One rank of a round.</summary>
/// <param name="Rank">0..n-1; ring order is rank order.</param>
/// <param name="WorkerId">The trainer holding the rank.</param>
/// <param name="Host">The trainer's host.</param>
/// <param name="RingEndpoint">The trainer's ring endpoint.</param>
[GenerateSerializer, Immutable]
public sealed record RoundMember(
    [property: Id(0)] int Rank,
    [property: Id(1)] string WorkerId,
    [property: Id(2)] string Host,
    [property: Id(3)] string RingEndpoint);

/// <summary>A fixed member set training together; losing any member ends it.</summary>
/// <param name="Number">Round number, 1 for the first.</param>
/// <param name="Members">Members in rank order.</param>
/// <param name="GradientAccumulation">Micro-batches per step in this round.</param>
/// <param name="ResumeFrom">Checkpoint the round starts from, or null for a fresh start.</param>
/// <param name="FormedAt">When the round was formed.</param>
/// <param name="EndedAt">When it ended, or null while current.</param>
/// <param name="EndReason">Why it ended, or null while current.</param>
/// <param name="ReachedStep">Rank 0's last reported step in this round when it ended (null: none reported).</param>
/// <param name="PerWorkerBatch">Images per worker per micro-batch in this round (0 in rounds recorded before it was kept).</param>
/// <param name="StepSeconds">Rank 0's wall seconds of this round's steps when it ended (null: not reported).</param>
[GenerateSerializer, Immutable]
public sealed record JobRound(
    [property: Id(0)] long Number,
    [property: Id(1)] IReadOnlyList<RoundMember> Members,
    [property: Id(2)] int GradientAccumulation,
    [property: Id(3)] CheckpointRef? ResumeFrom,
    [property: Id(4)] DateTimeOffset FormedAt,
    [property: Id(5)] DateTimeOffset? EndedAt = null,
    [property: Id(6)] string? EndReason = null,
    [property: Id(7)] long? ReachedStep = null,
    [property: Id(8)] int PerWorkerBatch = 0,
    [property: Id(9)] double? StepSeconds = null)
{
    /// <summary>Images per optimiser step over the round: workers × per-worker batch × accumulation (what the optimiser sees).</summary>
    public long GlobalBatch => (long)Members.Count * PerWorkerBatch * GradientAccumulation;
}

/// <summary>A round that ended early and when training went on after it.</summary>
/// <param name="EndedRound">The round that ended (failure or preemption).</param>
/// <param name="Cause">Event kind that ended it: <c>round-failed</c> or <c>preempted</c>.</param>
/// <param name="DetectedAt">When the control plane ended the round.</param>
/// <param name="RunningAt">When training went on: the first progress rank 0 of a later round reported.</param>
/// <param name="LostSteps">Steps to train again: rank 0's last reported step in the ended round minus the next round's resume step.</param>
[GenerateSerializer, Immutable]
public sealed record JobRecovery(
    [property: Id(0)] long EndedRound,
    [property: Id(1)] string Cause,
    [property: Id(2)] DateTimeOffset DetectedAt,
    [property: Id(3)] DateTimeOffset RunningAt,
    [property: Id(4)] long LostSteps)
{
    /// <summary>Seconds from detection to training again.</summary>
    public double Seconds => (RunningAt - DetectedAt).TotalSeconds;
}

/// <summary>One entry of a job's history.</summary>
/// <param name="At">When it happened.</param>
/// <param name="Kind">Short kind, e.g. <c>submitted</c>, <c>round-formed</c>, <c>lease-expired</c>, <c>preempted</c>.</param>
/// <param name="Round">The round it concerns (0 = none).</param>
/// <param name="Message">What happened and why.</param>
[GenerateSerializer, Immutable]
public sealed record JobEvent(
    [property: Id(0)] DateTimeOffset At,
    [property: Id(1)] string Kind,
    [property: Id(2)] long Round,
    [property: Id(3)] string Message);

/// <summary>A job's durable status, as the API shows it.</summary>
[GenerateSerializer, Immutable]
public sealed record JobStatus
{
    /// <summary>Job id.</summary>
    [Id(0)] public required string Id { get; init; }

    /// <summary>The submitted spec.</summary>
    [Id(1)] public required JobSpec Spec { get; init; }

    /// <summary>Current state.</summary>
    [Id(2)] public JobState State { get; init; }

    /// <summary>When it was submitted.</summary>
    [Id(3)] public DateTimeOffset SubmittedAt { get; init; }

    /// <summary>Every round so far, oldest first; the last is current while the job is Forming or Running.</summary>
    [Id(4)] public IReadOnlyList<JobRound> Rounds { get; init; } = [];

    /// <summary>Latest progress reported by rank 0.</summary>
    [Id(5)] public TrainingProgress? Progress { get; init; }

    /// <summary>When <see cref="Progress"/> was last updated.</summary>
    [Id(6)] public DateTimeOffset? ProgressAt { get; init; }

    /// <summary>Latest durable checkpoint; the next round resumes from it.</summary>
    [Id(7)] public CheckpointRef? LatestCheckpoint { get; init; }

    /// <summary>Every checkpoint reported, oldest first.</summary>
    [Id(8)] public IReadOnlyList<CheckpointRef> Checkpoints { get; init; } = [];

    /// <summary>Events with timestamps and reasons, oldest first.</summary>
    [Id(9)] public IReadOnlyList<JobEvent> History { get; init; } = [];

    /// <summary>Restarts after failures so far (against <see cref="JobSpec.RestartBudget"/>).</summary>
    [Id(10)] public int Restarts { get; init; }

    /// <summary>Preemptions so far (against <see cref="JobSpec.PreemptionBudget"/>).</summary>
    [Id(11)] public int Preemptions { get; init; }

    /// <summary>Where the job's checkpoints and samples live.</summary>
    [Id(12)] public string RunDirectory { get; init; } = "";

    /// <summary>When it reached a terminal state.</summary>
    [Id(13)] public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>Why it failed or was cancelled.</summary>
    [Id(14)] public string? Reason { get; init; }

    /// <summary>Every recovery so far (round ended early → next round running), oldest first.</summary>
    [Id(15)] public IReadOnlyList<JobRecovery> Recoveries { get; init; } = [];

    /// <summary>Sample-quality figures of the final model when the spec asked for an evaluation (empty until then).</summary>
    [Id(16)] public IReadOnlyDictionary<string, double> Evaluation { get; init; } = new Dictionary<string, double>();

    /// <summary>Share of the job's wall time spent on steps that count (<see cref="JobGoodput"/>), or null before any timed step.</summary>
    public double? Goodput => JobGoodput.Of(this);

    /// <summary>Steps trained again after rounds ended early (sum of <see cref="JobRecovery.LostSteps"/>).</summary>
    public long LostSteps => Recoveries.Sum(r => r.LostSteps);

    /// <summary>The current round number (0 before the first).</summary>
    public long CurrentRound => Rounds.Count == 0 ? 0 : Rounds[^1].Number;

    /// <summary>True once Succeeded, Failed or Cancelled.</summary>
    public bool IsTerminal => State is JobState.Succeeded or JobState.Failed or JobState.Cancelled;

    /// <summary>True while a round is current (Forming or Running).</summary>
    public bool HasActiveRound => State is JobState.Forming or JobState.Running;
}
