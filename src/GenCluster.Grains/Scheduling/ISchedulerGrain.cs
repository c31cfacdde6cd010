using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Workers;
using GenCluster.Grains.Telemetry;

namespace GenCluster.Grains.Scheduling;

/// <summary>What a worker should do now, as the scheduler sees it.</summary>
/// <param name="Assignment">Its assignment, or null for idle.</param>
/// <param name="Known">False when the scheduler has never heard of the worker.</param>
/// <param name="CheckpointNow">Its job is being preempted: checkpoint after the current step.</param>
[GenerateSerializer, Immutable]
public sealed record WorkerDirective(
    [property: Id(0)] Assignment? Assignment, [property: Id(1)] bool Known, [property: Id(2)] bool CheckpointNow = false);

/// <summary>A worker the registry gave up on, and why.</summary>
[GenerateSerializer, Immutable]
public sealed record LostWorker([property: Id(0)] string WorkerId, [property: Id(1)] string Reason);

/// <summary>The queue, the placement of jobs on workers, and preemption. One grain, key <see cref="Key"/>.</summary>
public interface ISchedulerGrain : IGrainWithIntegerKey
{
    /// <summary>The single scheduler's key.</summary>
    const long Key = 0;

    /// <summary>Accepts a validated spec, queues the job and places what fits. Throws <see cref="ArgumentException"/> for an invalid spec.</summary>
    Task<JobStatus> Submit(JobSpec spec);

    /// <summary>Cancels a job; null for an unknown id.</summary>
    Task<JobStatus?> Cancel(string jobId, string reason);

    /// <summary>Every job id ever submitted, oldest first.</summary>
    Task<IReadOnlyList<string>> ListJobs();

    /// <summary>A worker registered or came back to life; returns its directive after placing what fits.</summary>
    Task<WorkerDirective> WorkerJoined(WorkerInfo info);

    /// <summary>
    /// A live worker heartbeats, naming the round it is training (null job when idle). A member of a draining round that
    /// no longer trains it has stopped after the round's agreed checkpoint.
    /// </summary>
    Task<WorkerDirective> WorkerHeartbeat(string workerId, string? trainingJobId, long trainingRound);

    /// <summary>Workers whose leases ran out: their rounds end as failures.</summary>
    Task WorkersLost(IReadOnlyList<LostWorker> lost);

    /// <summary>A job ended its round itself (trainer report); releases the round's workers.</summary>
    [OneWay]
    Task RoundEnded(string jobId, long round, JobState state, string? leavingWorkerId);

    /// <summary>Current assignments by worker id.</summary>
    Task<IReadOnlyDictionary<string, Assignment>> GetAssignments();

    /// <summary>Counts for the gauges.</summary>
    Task<ClusterSummary> GetSummary();
}
