namespace GenCluster.Contracts.Jobs;

/// <summary>One job, keyed by its id. Trainers call the <see cref="IJobTrainerReports"/> methods on it.</summary>
public interface IJobGrain : IGrainWithStringKey, IJobTrainerReports
{
    /// <summary>The job's full status (spec, state, rounds, progress, checkpoints, history), or null for an unknown id.</summary>
    Task<JobStatus?> GetStatus();

    /// <summary>Per rank of the current round, its compute time per step and straggler score (empty when no round runs).</summary>
    Task<IReadOnlyList<RankTiming>> GetRankTimings();
}
