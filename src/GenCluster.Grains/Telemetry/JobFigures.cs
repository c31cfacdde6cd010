using GenCluster.Contracts.Jobs;

namespace GenCluster.Grains.Telemetry;

/// <summary>One job's figures for the per-job gauges (label <c>job_id</c>) and its ranks' (labels <c>job_id, rank, host</c>).</summary>
/// <param name="JobId">The job.</param>
/// <param name="Step">Rank 0's latest step.</param>
/// <param name="TargetSteps">The spec's steps.</param>
/// <param name="Running">True while its state is Running.</param>
/// <param name="Goodput">Share of wall time on steps that count (NaN before any timed step).</param>
/// <param name="Restarts">Restarts after failures so far.</param>
/// <param name="RestartBudget">The spec's restart budget.</param>
/// <param name="StepsSinceCheckpoint">Steps since its latest durable checkpoint (all of them when there is none).</param>
/// <param name="CheckpointEvery">The spec's checkpoint cadence in steps (0 = only at the end).</param>
/// <param name="Ranks">The current round's ranks, with compute time and straggler score.</param>
public sealed record JobFigures(
    string JobId, long Step, long TargetSteps, bool Running, double Goodput, int Restarts, int RestartBudget,
    long StepsSinceCheckpoint, int CheckpointEvery, IReadOnlyList<RankTiming> Ranks)
{
    /// <summary>How long a finished job's figures stay exported, so the last scrape sees its final goodput.</summary>
    public static readonly TimeSpan FinishedRetention = TimeSpan.FromMinutes(10);

    /// <summary>Whether <paramref name="status"/> is exported at <paramref name="now"/>: while it lives and for a while after.</summary>
    public static bool Exported(JobStatus status, DateTimeOffset now) =>
        !status.IsTerminal || status.FinishedAt is { } finished && now - finished < FinishedRetention;

    /// <summary>The figures of <paramref name="status"/> with its ranks' <paramref name="timings"/>.</summary>
    public static JobFigures From(JobStatus status, IReadOnlyList<RankTiming> timings)
    {
        var step = status.Progress?.Step ?? 0;
        return new JobFigures(status.Id, step, status.Spec.Steps, status.State == JobState.Running, status.Goodput ?? double.NaN,
            status.Restarts, status.Spec.RestartBudget, step - (status.LatestCheckpoint?.Step ?? 0), status.Spec.CheckpointEvery, timings);
    }
}
