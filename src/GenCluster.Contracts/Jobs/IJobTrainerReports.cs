using GenCluster.Contracts.Workers;

namespace GenCluster.Contracts.Jobs;

/// <summary>What trainers tell a job directly (besides heartbeats). Reports for another round are ignored.</summary>
public interface IJobTrainerReports
{
    /// <summary>Rank 0 wrote a durable checkpoint.</summary>
    Task ReportCheckpoint(long round, CheckpointRef checkpoint);

    /// <summary>A rank saw the round break (ring error naming a peer, numerical rollback, ...).</summary>
    Task ReportRoundFailure(long round, int rank, string reason);

    /// <summary>Rank 0 scored samples of the final model (<c>JobSpec.Evaluate</c>): figures by name (fid, fid_floor, fid_ratio, kid, classes_present, label_accuracy).</summary>
    Task ReportEvaluation(long round, IReadOnlyDictionary<string, double> figures);

    /// <summary>A rank reached the target step; the job succeeds when rank 0 reports it.</summary>
    Task ReportCompleted(long round, int rank, long step);

    /// <summary>A rank leaves on SIGTERM after the round's just-in-time checkpoint (a preemption, not a failure).</summary>
    Task ReportLeaving(long round, int rank, long step);
}
