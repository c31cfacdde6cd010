using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Workers;

namespace GenCluster.Grains.Jobs;

/// <summary>How a round ended early.</summary>
public enum RoundEnd
{
    /// <summary>A member died, hung, or reported a broken ring: counts against the restart budget.</summary>
    Failure,
    /// <summary>A member left on SIGTERM or the scheduler took workers: counts against the preemption budget.</summary>
    Preemption,
}

/// <summary>
/// The job's decisions as pure functions of its status. Every method returns the new status, or the same instance
/// when the input is stale or not allowed (a report for another round, a transition out of a terminal state), so
/// callers compare references to know whether anything changed.
/// </summary>
public static class JobStateMachine
{
    /// <summary>A newly submitted job, Queued.</summary>
    public static JobStatus Submit(string id, JobSpec spec, string runDirectory, DateTimeOffset now) => new()
    {
        Id = id,
        Spec = spec,
        State = JobState.Queued,
        SubmittedAt = now,
        RunDirectory = runDirectory,
        History = new[]
        {
            new JobEvent(now, "submitted", 0,
                $"submitted '{spec.Name}' with priority {spec.Priority}, {spec.MinWorkers}..{spec.MaxWorkers} workers, {spec.Steps} steps"),
        },
    };

    /// <summary>True when a new round may be formed: the job is waiting (Queued, Restarting or Preempted).</summary>
    public static bool CanFormRound(JobStatus status) =>
        status.State is JobState.Queued or JobState.Restarting or JobState.Preempted;

    /// <summary>
    /// Forms the next round from <paramref name="members"/> in the given order (rank = index, ring order = rank order);
    /// it resumes from the latest checkpoint and derives gradient accumulation for its world size.
    /// </summary>
    public static JobStatus FormRound(JobStatus status, IReadOnlyList<WorkerInfo> members, DateTimeOffset now)
    {
        if (!CanFormRound(status)) return status;
        var spec = status.Spec;
        if (members.Count < spec.MinWorkers || members.Count > spec.MaxWorkers)
            throw new ArgumentException(
                $"job {status.Id}: a round needs {spec.MinWorkers}..{spec.MaxWorkers} workers, got {members.Count}", nameof(members));
        if (members.Select(m => m.WorkerId).Distinct(StringComparer.Ordinal).Count() != members.Count)
            throw new ArgumentException($"job {status.Id}: a round's members must be distinct workers", nameof(members));

        var number = status.CurrentRound + 1;
        var round = new JobRound(
            number,
            RingOrder.Arrange(members).Select((w, rank) => new RoundMember(rank, w.WorkerId, w.Host, w.RingEndpoint)).ToArray(),
            BatchGeometry.GradientAccumulation(spec, members.Count),
            status.LatestCheckpoint,
            now,
            PerWorkerBatch: spec.PerWorkerBatch);
        var resume = round.ResumeFrom is null ? "a fresh start" : $"checkpoint at step {round.ResumeFrom.Step}";
        return status with
        {
            State = JobState.Forming,
            Rounds = Append(status.Rounds, round),
            History = Append(status.History, new JobEvent(now, "round-formed", number,
                $"round {number} formed with {members.Count} workers " +
                $"({string.Join(", ", round.Members.Select(m => $"rank {m.Rank}={m.WorkerId}@{m.Host}"))}), " +
                $"global batch {round.GlobalBatch} = {members.Count} × {round.PerWorkerBatch} per worker × accumulation {round.GradientAccumulation}, from {resume}")),
        };
    }

    /// <summary>The assignment of <paramref name="workerId"/> in the current round, or null when it is not a member.</summary>
    public static Assignment? AssignmentFor(JobStatus status, string workerId, string secret)
    {
        if (!status.HasActiveRound) return null;
        var round = status.Rounds[^1];
        var member = round.Members.FirstOrDefault(m => m.WorkerId == workerId);
        if (member is null) return null;
        return new Assignment(status.Id, round.Number, member.Rank,
            round.Members.Select(m => m.RingEndpoint).ToArray(), secret, status.Spec, round.GradientAccumulation,
            round.ResumeFrom, status.RunDirectory);
    }

    /// <summary>A member heartbeats while training the current round: Forming becomes Running; rank 0's progress is kept.</summary>
    public static JobStatus RecordHeartbeat(
        JobStatus status, string workerId, long round, WorkerActivity activity, TrainingProgress? progress, DateTimeOffset now)
    {
        if (!status.HasActiveRound || round != status.CurrentRound || activity == WorkerActivity.Idle) return status;
        var member = status.Rounds[^1].Members.FirstOrDefault(m => m.WorkerId == workerId);
        if (member is null) return status;

        var next = status;
        if (status.State == JobState.Forming)
        {
            next = next with
            {
                State = JobState.Running,
                History = Append(next.History, new JobEvent(now, "round-running", round,
                    $"round {round} running (first heartbeat from rank {member.Rank}, {workerId})")),
            };
        }
        if (member.Rank == 0 && progress is not null && Recovery(next, now) is { } recovery)
        {
            next = next with
            {
                Recoveries = Append(next.Recoveries, recovery),
                History = Append(next.History, new JobEvent(now, "recovered", round,
                    $"training again {recovery.Seconds:F1} s after round {recovery.EndedRound} ended ({recovery.Cause}); " +
                    $"{recovery.LostSteps} steps to train again (last reported step {ReachedIn(next, recovery.EndedRound)}, " +
                    $"resumed from step {next.Rounds[^1].ResumeFrom?.Step ?? 0})")),
            };
        }
        if (member.Rank == 0 && progress is not null)
            next = next with { Progress = progress, ProgressAt = now };
        return next;
    }

    /// <summary>A rank of the current round computes <paramref name="timing"/>'s score times slower than the others: an event names it and its host.</summary>
    public static JobStatus RecordStraggler(JobStatus status, long round, RankTiming timing, double factor, DateTimeOffset now)
    {
        if (!status.HasActiveRound || round != status.CurrentRound) return status;
        return status with
        {
            History = Append(status.History, new JobEvent(now, "rank-straggling", round,
                $"rank {timing.Rank} ({timing.WorkerId} on {timing.Host}) computes {timing.ComputeSeconds * 1000:F0} ms per step, " +
                $"{timing.StragglerScore:F2}× the other ranks' median (threshold {factor:F2}×)")),
        };
    }

    /// <summary>
    /// Rank 0 wrote a durable checkpoint; a newer one becomes the resume point. A report that arrives after its round
    /// ended (a SIGTERM'd rank's leave or the completion overtook it, or the silo was away) still counts: the checkpoint is on disk.
    /// </summary>
    public static JobStatus RecordCheckpoint(JobStatus status, long round, CheckpointRef checkpoint, DateTimeOffset now)
    {
        if (round < 1 || round > status.CurrentRound) return status;
        if (status.LatestCheckpoint is { } latest && checkpoint.Step <= latest.Step) return status;
        return status with
        {
            LatestCheckpoint = checkpoint,
            Checkpoints = Append(status.Checkpoints, checkpoint),
            History = Append(status.History, new JobEvent(now, "checkpoint", round,
                $"checkpoint at step {checkpoint.Step} in {checkpoint.Path}")),
        };
    }

    /// <summary>Records the final model's evaluation figures (from the current round only) with an event listing them.</summary>
    public static JobStatus RecordEvaluation(JobStatus status, long round, IReadOnlyDictionary<string, double> figures, DateTimeOffset now)
    {
        if (round < 1 || round != status.CurrentRound || figures.Count == 0) return status;
        var text = string.Join(", ", figures.Select(f => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{f.Key} {f.Value:G4}")));
        return status with
        {
            Evaluation = new Dictionary<string, double>(figures),
            History = Append(status.History, new JobEvent(now, "evaluated", round, $"samples of the final model: {text}")),
        };
    }

    /// <summary>
    /// Ends the current round early. A failure goes to Restarting and a preemption to Preempted; when the matching
    /// budget is spent the job Fails with the reason.
    /// </summary>
    public static JobStatus EndRound(JobStatus status, long round, RoundEnd end, string reason, DateTimeOffset now)
    {
        if (!status.HasActiveRound || round != status.CurrentRound) return status;
        var ended = CloseRound(status, reason, now);
        var history = Append(status.History, new JobEvent(now,
            end == RoundEnd.Failure ? "round-failed" : "preempted", round, $"round {round} ended: {reason}"));

        if (end == RoundEnd.Failure)
        {
            var restarts = status.Restarts + 1;
            if (restarts > status.Spec.RestartBudget)
            {
                var why = $"restart budget of {status.Spec.RestartBudget} spent; last failure: {reason}";
                return Finish(ended with { Restarts = restarts, History = history }, JobState.Failed, "failed", why, round, now);
            }
            return ended with
            {
                State = JobState.Restarting,
                Restarts = restarts,
                History = Append(history, new JobEvent(now, "restarting", round,
                    $"restart {restarts} of {status.Spec.RestartBudget}; next round resumes from {ResumePoint(status)}")),
            };
        }

        var preemptions = status.Preemptions + 1;
        if (preemptions > status.Spec.PreemptionBudget)
        {
            var why = $"preemption budget of {status.Spec.PreemptionBudget} spent; last preemption: {reason}";
            return Finish(ended with { Preemptions = preemptions, History = history }, JobState.Failed, "failed", why, round, now);
        }
        return ended with
        {
            State = JobState.Preempted,
            Preemptions = preemptions,
            History = Append(history, new JobEvent(now, "requeued", round,
                $"preemption {preemptions} of {status.Spec.PreemptionBudget}; back in the queue, resumes from {ResumePoint(status)}")),
        };
    }

    /// <summary>Rank 0 reached the target step in the current round: the job Succeeds.</summary>
    public static JobStatus Complete(JobStatus status, long round, int rank, long step, DateTimeOffset now)
    {
        if (!status.HasActiveRound || round != status.CurrentRound || rank != 0) return status;
        if (step < status.Spec.Steps)
        {
            return status with
            {
                History = Append(status.History, new JobEvent(now, "ignored", round,
                    $"rank 0 reported completion at step {step}, before the target step {status.Spec.Steps}")),
            };
        }
        // Heartbeats may have missed the last steps (the silo was away): the completion report is the final word.
        if ((status.Progress?.Step ?? -1) < step)
        {
            status = status with
            {
                Progress = (status.Progress ?? new TrainingProgress(step, 0, 0, new Dictionary<string, double>())) with { Step = step },
                ProgressAt = now,
            };
        }
        var done = CloseRound(status, $"completed at step {step}", now);
        // Heartbeats lag the last steps; the completion report is the authoritative final step.
        var finalProgress = (status.Progress ?? new TrainingProgress(step, 0, 0, new Dictionary<string, double>())) with { Step = step };
        done = done with { Progress = finalProgress, ProgressAt = now };
        return Finish(done, JobState.Succeeded, "succeeded", $"rank 0 reached step {step} of {status.Spec.Steps}", round, now);
    }

    /// <summary>Cancels a job that has not finished.</summary>
    public static JobStatus Cancel(JobStatus status, string reason, DateTimeOffset now)
    {
        if (status.IsTerminal) return status;
        var closed = status.HasActiveRound ? CloseRound(status, $"cancelled: {reason}", now) : status;
        return Finish(closed, JobState.Cancelled, "cancelled", reason, status.CurrentRound, now);
    }

    /// <summary>Fails a job that has not finished (e.g. it can never be placed).</summary>
    public static JobStatus Fail(JobStatus status, string reason, DateTimeOffset now)
    {
        if (status.IsTerminal) return status;
        var closed = status.HasActiveRound ? CloseRound(status, $"failed: {reason}", now) : status;
        return Finish(closed, JobState.Failed, "failed", reason, status.CurrentRound, now);
    }

    private static string ResumePoint(JobStatus status) =>
        status.LatestCheckpoint is { } c ? $"the checkpoint at step {c.Step}" : "a fresh start (no checkpoint yet)";

    private static JobStatus CloseRound(JobStatus status, string reason, DateTimeOffset now)
    {
        var rounds = status.Rounds.ToArray();
        var current = status.Progress is { } p && status.ProgressAt > rounds[^1].FormedAt ? p : null;
        var seconds = current is not null && current.Metrics.TryGetValue(JobGoodput.RoundStepSecondsMetric, out var s) ? s : (double?)null;
        rounds[^1] = rounds[^1] with { EndedAt = now, EndReason = reason, ReachedStep = current?.Step, StepSeconds = seconds };
        return status with { Rounds = rounds };
    }

    /// <summary>
    /// The recovery that rank 0's first progress in the current round completes, or null when there is none pending (the
    /// first round, or already recorded). Rounds that ended before training a step are part of the same recovery: it
    /// counts from the end of the last round that trained.
    /// </summary>
    private static JobRecovery? Recovery(JobStatus status, DateTimeOffset now)
    {
        var rounds = status.Rounds;
        if (rounds.Count < 2 || rounds[^2].EndedAt is null) return null;
        if (status.Recoveries.Count > 0 && status.Recoveries[^1].RunningAt >= rounds[^1].FormedAt) return null;
        var k = rounds.Count - 2;
        while (k > 0 && rounds[k].ReachedStep is null && rounds[k - 1].EndedAt is not null
               && (status.Recoveries.Count == 0 || status.Recoveries[^1].EndedRound < rounds[k - 1].Number))
            k--;
        var ended = rounds[k];
        var cause = status.History.LastOrDefault(e => e.Round == ended.Number && e.Kind is "round-failed" or "preempted")?.Kind ?? "round-failed";
        var resumed = rounds[^1].ResumeFrom?.Step ?? 0;
        var lost = Math.Max(0, (ended.ReachedStep ?? resumed) - resumed);
        return new JobRecovery(ended.Number, cause, ended.EndedAt!.Value, now, lost);
    }

    private static string ReachedIn(JobStatus status, long round) =>
        status.Rounds.FirstOrDefault(r => r.Number == round)?.ReachedStep is { } step ? $"{step}" : "unknown";

    private static JobStatus Finish(JobStatus status, JobState state, string kind, string reason, long round, DateTimeOffset now) =>
        status with
        {
            State = state,
            FinishedAt = now,
            Reason = reason,
            History = Append(status.History, new JobEvent(now, kind, round, reason)),
        };

    private static T[] Append<T>(IReadOnlyList<T> list, T item)
    {
        var result = new T[list.Count + 1];
        for (var i = 0; i < list.Count; i++) result[i] = list[i];
        result[^1] = item;
        return result;
    }
}
