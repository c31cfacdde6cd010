namespace GenCluster.Contracts.Jobs;

/// <summary>
/// Goodput: the share of a job's wall time spent on steps that count. Wall time runs from its first round's formation
/// to its end (or its latest progress while it runs); the steps that count are those no later round trains again, each
/// costing its round's mean step time. Time waiting for rounds to form, recovering, checkpointing, writing samples,
/// and the steps lost to a failure (trained again after resuming from an older checkpoint) all count against it.
/// </summary>
public static class JobGoodput
{
    /// <summary>Rank 0's progress metric: wall seconds of the current round's steps so far.</summary>
    public const string RoundStepSecondsMetric = "round_step_seconds";

    /// <summary>The goodput of <paramref name="status"/> in [0, 1], or null before any timed step.</summary>
    public static double? Of(JobStatus status)
    {
        if (status.Rounds.Count == 0) return null;
        var end = status.FinishedAt ?? status.ProgressAt;
        if (end is null) return null;
        var wall = (end.Value - status.Rounds[0].FormedAt).TotalSeconds;
        if (!(wall > 0)) return null;

        double useful = 0;
        var timed = false;
        for (var i = 0; i < status.Rounds.Count; i++)
        {
            var round = status.Rounds[i];
            var first = round.ResumeFrom?.Step ?? 0;
            var (reached, seconds) = round.EndedAt is null ? Current(status, round) : (round.ReachedStep, round.StepSeconds);
            if (reached is not { } r || seconds is not { } s || r <= first) continue;
            var kept = Math.Min(r, i + 1 < status.Rounds.Count ? status.Rounds[i + 1].ResumeFrom?.Step ?? 0 : long.MaxValue) - first;
            useful += s * Math.Max(0, kept) / (r - first);
            timed = true;
        }
        return timed ? Math.Clamp(useful / wall, 0, 1) : null;
    }

    private static (long? Reached, double? Seconds) Current(JobStatus status, JobRound round) =>
        status.Progress is { } p && status.ProgressAt > round.FormedAt && p.Metrics.TryGetValue(RoundStepSecondsMetric, out var seconds)
            ? (p.Step, seconds)
            : (null, null);
}
