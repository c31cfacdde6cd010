using GenCluster.Contracts.Jobs;

namespace GenCluster.Silo.Local;

/// <summary>A fault the chaos run injected.</summary>
/// <param name="At">Seconds since the job was submitted.</param>
/// <param name="Kind"><c>SIGKILL trainer</c>, <c>SIGTERM trainer</c> or <c>SIGKILL+restart silo</c>.</param>
/// <param name="Target">Process name and worker id.</param>
/// <param name="Note">What followed, e.g. the silo's downtime.</param>
public sealed record ChaosFault(double At, string Kind, string Target, string Note = "");

/// <summary>
/// The figures of a chaos run, from the job's status and its step journal. Steps re-run per recovery are exact (from
/// the journal: the previous round's last step minus the next round's resume step); a checkpoint counts as lost when
/// a round resumed from an older step than the newest checkpoint the control plane had recorded when it formed the round.
/// </summary>
public sealed record ChaosReport(
    long TargetStep,
    long ReachedStep,
    JobState State,
    int CheckpointInterval,
    IReadOnlyList<ChaosFault> Faults,
    IReadOnlyList<JobRecovery> Recoveries,
    IReadOnlyList<(long FromRound, long ToRound, long Rerun)> RerunSteps,
    int LostCheckpoints,
    int Gaps)
{
    /// <summary>The goal for one recovery, detection to training again.</summary>
    public const double RecoveryGoalSeconds = 10;

    /// <summary>Builds the report.</summary>
    public static ChaosReport From(JobStatus status, IReadOnlyList<JournalRound> journal, IReadOnlyList<ChaosFault> faults)
    {
        var reruns = journal.Zip(journal.Skip(1), (a, b) => (a.Round, b.Round, a.Last - b.ResumedFrom)).ToArray();
        var gaps = journal.Zip(journal.Skip(1), (a, b) => b.First > a.Last + 1).Count(g => g);
        var lost = journal.Count(j => status.Rounds.FirstOrDefault(r => r.Number == j.Round)?.ResumeFrom is { } from && j.ResumedFrom < from.Step);
        var reached = journal.Count > 0 ? journal[^1].Last : status.Progress?.Step ?? 0;
        return new ChaosReport(status.Spec.Steps, reached, status.State, status.Spec.CheckpointEvery, faults, status.Recoveries, reruns, lost, gaps);
    }

    /// <summary>True when every goal holds: succeeded at the target, no lost checkpoint, no gap, re-runs within one interval, recoveries within 10 s.</summary>
    public bool MeetsGoals =>
        State == JobState.Succeeded && ReachedStep == TargetStep && LostCheckpoints == 0 && Gaps == 0
        && RerunSteps.All(r => r.Rerun <= CheckpointInterval) && Recoveries.All(r => r.Seconds <= RecoveryGoalSeconds);

    /// <summary>The report as text lines.</summary>
    public IEnumerable<string> Lines()
    {
        yield return $"target step {TargetStep}, reached step {ReachedStep}, job {State}";
        yield return $"faults injected: {Faults.Count}";
        foreach (var f in Faults) yield return $"  t={f.At,6:F1}s  {f.Kind,-22} {f.Target}{(f.Note.Length > 0 ? $"  ({f.Note})" : "")}";
        yield return $"recoveries: {Recoveries.Count} (detection -> training again: rank 0's first step in a later round)";
        foreach (var r in Recoveries)
            yield return $"  round {r.EndedRound} {r.Cause,-12} at {r.DetectedAt:HH:mm:ss.f}  recovered in {r.Seconds,5:F1} s";
        yield return $"steps re-run per recovery (exact, from steps.csv; checkpoint interval {CheckpointInterval}):";
        foreach (var (from, to, rerun) in RerunSteps) yield return $"  round {from} -> round {to}: {rerun} steps";
        yield return $"steps lost in total: {RerunSteps.Sum(r => r.Rerun)}; lost checkpoints: {LostCheckpoints}; skipped steps (gaps): {Gaps}";
        var slowest = Recoveries.Count == 0 ? 0 : Recoveries.Max(r => r.Seconds);
        var maxRerun = RerunSteps.Count == 0 ? 0 : RerunSteps.Max(r => r.Rerun);
        yield return $"goals: 0 lost checkpoints [{Ok(LostCheckpoints == 0)}], <= {CheckpointInterval} steps lost per failure (max {maxRerun}) " +
                     $"[{Ok(maxRerun <= CheckpointInterval)}], recovery <= {RecoveryGoalSeconds:F0} s (max {slowest:F1} s) [{Ok(slowest <= RecoveryGoalSeconds)}]";
    }

    private static string Ok(bool ok) => ok ? "ok" : "MISSED";
}
