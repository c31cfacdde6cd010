using GenCluster.Contracts.Jobs;

namespace GenCluster.Contracts.Workers;

/// <summary>A trainer process introducing itself to the control plane.</summary>
/// <param name="WorkerId">Stable id chosen by the trainer (host + pid + start time is typical).</param>
/// <param name="Host">Host name, shown in events (e.g. which host froze).</param>
/// <param name="RingEndpoint">HTTP/2 address of its ring service, e.g. <c>http://127.0.0.1:7201</c>.</param>
/// <param name="MetricsEndpoint">HTTP/1 address serving <c>/metrics</c> and <c>/health</c>.</param>
/// <param name="Device">Device it trains on, e.g. <c>cpu</c> or <c>cuda:0</c>.</param>
[GenerateSerializer, Immutable]
public sealed record WorkerInfo(
    [property: Id(0)] string WorkerId,
    [property: Id(1)] string Host,
    [property: Id(2)] string RingEndpoint,
    [property: Id(3)] string MetricsEndpoint,
    [property: Id(4)] string Device);

/// <summary>What a trainer is doing, sent with every heartbeat.</summary>
public enum WorkerActivity
{
    /// <summary>No assignment.</summary>
    Idle,
    /// <summary>Running the assignment named in the heartbeat.</summary>
    Training,
    /// <summary>Leaving (SIGTERM): finishing the step and checkpointing.</summary>
    Leaving,
}

/// <summary>Periodic liveness and progress from a trainer; renews its lease.</summary>
[GenerateSerializer, Immutable]
public sealed record Heartbeat(
    [property: Id(0)] string WorkerId,
    [property: Id(1)] WorkerActivity Activity,
    [property: Id(2)] string? JobId,
    [property: Id(3)] long Round,
    [property: Id(4)] TrainingProgress? Progress);

/// <summary>Latest training progress of one rank.</summary>
/// <param name="Step">Optimizer steps completed.</param>
/// <param name="Epoch">Current epoch of the sampler.</param>
/// <param name="ImagesPerSecond">Global throughput estimate over the last interval.</param>
/// <param name="Metrics">Losses and other scalars, e.g. <c>loss_d</c>, <c>loss_g</c>.</param>
[GenerateSerializer, Immutable]
public sealed record TrainingProgress(
    [property: Id(0)] long Step,
    [property: Id(1)] int Epoch,
    [property: Id(2)] double ImagesPerSecond,
    [property: Id(3)] IReadOnlyDictionary<string, double> Metrics);

/// <summary>A checkpoint that has been written durably (directory renamed into place).</summary>
/// <param name="Step">Optimizer step it holds.</param>
/// <param name="Path">Checkpoint directory.</param>
/// <param name="ManifestSha256">SHA-256 of its manifest, so a replaced or corrupted copy is noticed.</param>
[GenerateSerializer, Immutable]
public sealed record CheckpointRef(
    [property: Id(0)] long Step,
    [property: Id(1)] string Path,
    [property: Id(2)] string ManifestSha256);

/// <summary>One round's job for one trainer: who it is in the ring and where to start from.</summary>
/// <param name="JobId">The job.</param>
/// <param name="Round">Round number; ring messages carry it so stale traffic is rejected. Ranks never carry across rounds.</param>
/// <param name="Rank">This trainer's rank, 0..WorldSize-1.</param>
/// <param name="Peers">Ring endpoints indexed by rank (rank r sends to r+1 mod n).</param>
/// <param name="JobSecret">Shared secret peers present on every ring connection.</param>
/// <param name="Spec">The job spec.</param>
/// <param name="GradientAccumulation">Micro-batches per step this round (keeps the global batch fixed).</param>
/// <param name="ResumeFrom">Checkpoint to start from, or null for a fresh start.</param>
/// <param name="RunDirectory">Where this job's checkpoints and samples live.</param>
[GenerateSerializer, Immutable]
public sealed record Assignment(
    [property: Id(0)] string JobId,
    [property: Id(1)] long Round,
    [property: Id(2)] int Rank,
    [property: Id(3)] IReadOnlyList<string> Peers,
    [property: Id(4)] string JobSecret,
    [property: Id(5)] JobSpec Spec,
    [property: Id(6)] int GradientAccumulation,
    [property: Id(7)] CheckpointRef? ResumeFrom,
    [property: Id(8)] string RunDirectory)
{
    /// <summary>Number of ranks in the round.</summary>
    public int WorldSize => Peers.Count;
}

/// <summary>The control plane's answer to a heartbeat: what the trainer should be doing now.</summary>
/// <param name="Assignment">Null = be idle (stop any current work); otherwise run exactly this job and round.</param>
/// <param name="LeaseSeconds">The lease granted; heartbeat well within it.</param>
/// <param name="CheckpointNow">Set when the job wants a checkpoint as soon as the current step ends (preemption).</param>
/// <param name="MustRegister">Set when the registry does not know the worker (e.g. its state was lost): call Register again.</param>
[GenerateSerializer, Immutable]
public sealed record HeartbeatReply(
    [property: Id(0)] Assignment? Assignment,
    [property: Id(1)] double LeaseSeconds,
    [property: Id(2)] bool CheckpointNow = false,
    [property: Id(3)] bool MustRegister = false);
