using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Workers;

namespace GenCluster.Grains.Jobs;

/// <summary>
/// A formed round: the job's status and one assignment per member, in the order the members were given to
/// <see cref="IJobControlGrain.StartRound"/> (empty when none formed). Ranks follow the ring order
/// (<see cref="RingOrder"/>, each host's workers adjacent), which may differ from that order: pair by position, not by rank.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record RoundStart([property: Id(0)] JobStatus Status, [property: Id(1)] IReadOnlyList<Assignment> Assignments);

/// <summary>The control plane's side of a job grain (the scheduler and the registry call these).</summary>
public interface IJobControlGrain : IJobGrain
{
    /// <summary>Creates the job (idempotent for the same id).</summary>
    Task<JobStatus> Initialize(JobSpec spec, string runDirectory);

    /// <summary>Forms the next round from <paramref name="members"/>; ranks follow <see cref="RingOrder"/>.</summary>
    Task<RoundStart> StartRound(IReadOnlyList<WorkerInfo> members);

    /// <summary>Ends the round early; null for an unknown job.</summary>
    Task<JobStatus?> EndRound(long round, RoundEnd end, string reason);

    /// <summary>Cancels the job; null for an unknown job.</summary>
    Task<JobStatus?> Cancel(string reason);

    /// <summary>A member's heartbeat (liveness and, from rank 0, progress).</summary>
    Task RecordHeartbeat(string workerId, long round, WorkerActivity activity, TrainingProgress? progress);
}
