using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Workers;
using GenCluster.Grains.Jobs;
using Microsoft.Extensions.Time.Testing;

namespace GenCluster.Grains.Tests.Jobs;

public class JobStateMachineTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    internal static WorkerInfo Worker(string id) => new(id, $"host-{id}", $"http://{id}.local:7000", $"http://{id}.local:9000", "cpu");

    private JobStatus Submitted(JobSpec? spec = null) =>
        JobStateMachine.Submit("j1", spec ?? new JobSpec { MinWorkers = 1, MaxWorkers = 4, Steps = 100 }, "/runs/j1", _time.GetUtcNow());

    [Fact]
    public void SubmitQueuesWithAHistoryEntry()
    {
        var s = Submitted();
        Assert.Equal(JobState.Queued, s.State);
        Assert.Equal(0, s.CurrentRound);
        Assert.Equal("submitted", Assert.Single(s.History).Kind);
    }

    [Fact]
    public void EvaluationFiguresOfTheCurrentRoundAreKeptWithAnEvent()
    {
        var s = JobStateMachine.FormRound(Submitted(), [Worker("a")], _time.GetUtcNow());
        var figures = new Dictionary<string, double> { ["fid"] = 4.25, ["fid_floor"] = 0.85, ["classes_present"] = 10 };

        var evaluated = JobStateMachine.RecordEvaluation(s, 1, figures, _time.GetUtcNow());

        Assert.Equal(figures, evaluated.Evaluation);
        var e = evaluated.History[^1];
        Assert.Equal(("evaluated", 1L), (e.Kind, e.Round));
        Assert.Contains("fid 4.25", e.Message);
        Assert.Same(s, JobStateMachine.RecordEvaluation(s, 7, figures, _time.GetUtcNow()));
    }

    [Fact]
    public void FormRoundAssignsRanksInOrderWithPeersAndSecret()
    {
        var s = JobStateMachine.FormRound(Submitted(), [Worker("a"), Worker("b"), Worker("c")], _time.GetUtcNow());
        Assert.Equal(JobState.Forming, s.State);
        Assert.Equal(1, s.CurrentRound);
        var round = s.Rounds[^1];
        Assert.Equal(["a", "b", "c"], round.Members.Select(m => m.WorkerId));
        Assert.Equal([0, 1, 2], round.Members.Select(m => m.Rank));

        var b = JobStateMachine.AssignmentFor(s, "b", "secret")!;
        Assert.Equal(1, b.Rank);
        Assert.Equal(3, b.WorldSize);
        Assert.Equal(round.Members.Select(m => m.RingEndpoint), b.Peers);
        Assert.Equal("secret", b.JobSecret);
        Assert.Equal("/runs/j1", b.RunDirectory);
        Assert.Null(b.ResumeFrom);
        Assert.Null(JobStateMachine.AssignmentFor(s, "z", "secret"));
    }

    [Fact]
    public void FormRoundRejectsASizeOutsideMinMax()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            JobStateMachine.FormRound(Submitted(new JobSpec { MinWorkers = 2, MaxWorkers = 2 }), [Worker("a")], _time.GetUtcNow()));
        Assert.Contains("2..2", e.Message);
        Assert.Contains("got 1", e.Message);
    }

    [Fact]
    public void FirstTrainingHeartbeatMakesTheRoundRunningAndRankZeroProgressIsKept()
    {
        var s = JobStateMachine.FormRound(Submitted(), [Worker("a"), Worker("b")], _time.GetUtcNow());
        var p1 = new TrainingProgress(5, 0, 100, new Dictionary<string, double> { ["loss_d"] = 0.5 });
        s = JobStateMachine.RecordHeartbeat(s, "b", 1, WorkerActivity.Training, p1, _time.GetUtcNow());
        Assert.Equal(JobState.Running, s.State);
        Assert.Null(s.Progress);

        var p0 = new TrainingProgress(7, 1, 200, new Dictionary<string, double> { ["loss_g"] = 1.5 });
        s = JobStateMachine.RecordHeartbeat(s, "a", 1, WorkerActivity.Training, p0, _time.GetUtcNow());
        Assert.Equal(7, s.Progress!.Step);

        var stale = JobStateMachine.RecordHeartbeat(s, "a", 0, WorkerActivity.Training, p1, _time.GetUtcNow());
        Assert.Same(s, stale);
    }

    [Fact]
    public void FailureRestartsFromLatestCheckpointUntilTheBudgetIsSpent()
    {
        var spec = new JobSpec { MinWorkers = 1, MaxWorkers = 2, RestartBudget = 1, Steps = 100 };
        var s = JobStateMachine.FormRound(Submitted(spec), [Worker("a"), Worker("b")], _time.GetUtcNow());
        s = JobStateMachine.RecordCheckpoint(s, 1, new CheckpointRef(50, "/c/50", "abc"), _time.GetUtcNow());
        _time.Advance(TimeSpan.FromSeconds(3));
        s = JobStateMachine.EndRound(s, 1, RoundEnd.Failure, "lease of worker b expired", _time.GetUtcNow());

        Assert.Equal(JobState.Restarting, s.State);
        Assert.Equal(1, s.Restarts);
        Assert.Equal("lease of worker b expired", s.Rounds[0].EndReason);
        Assert.Equal(_time.GetUtcNow(), s.Rounds[0].EndedAt);

        s = JobStateMachine.FormRound(s, [Worker("a")], _time.GetUtcNow());
        Assert.Equal(2, s.CurrentRound);
        Assert.Equal(50, s.Rounds[^1].ResumeFrom!.Step);
        Assert.Equal(50, JobStateMachine.AssignmentFor(s, "a", "x")!.ResumeFrom!.Step);

        s = JobStateMachine.EndRound(s, 2, RoundEnd.Failure, "rank 0 ring error", _time.GetUtcNow());
        Assert.Equal(JobState.Failed, s.State);
        Assert.Contains("restart budget of 1 spent", s.Reason);
        Assert.Contains("rank 0 ring error", s.Reason);
        Assert.True(s.IsTerminal);
    }

    [Fact]
    public void ReportsForAnotherRoundAreIgnored()
    {
        var s = JobStateMachine.FormRound(Submitted(), [Worker("a")], _time.GetUtcNow());
        Assert.Same(s, JobStateMachine.EndRound(s, 7, RoundEnd.Failure, "stale", _time.GetUtcNow()));
        Assert.Same(s, JobStateMachine.RecordCheckpoint(s, 2, new CheckpointRef(1, "p", "h"), _time.GetUtcNow()));
        Assert.Same(s, JobStateMachine.Complete(s, 3, 0, 100, _time.GetUtcNow()));
    }

    [Fact]
    public void PreemptionRequeuesAndCountsAgainstItsOwnBudget()
    {
        var spec = new JobSpec { MinWorkers = 1, MaxWorkers = 1, PreemptionBudget = 1, RestartBudget = 0 };
        var s = JobStateMachine.FormRound(Submitted(spec), [Worker("a")], _time.GetUtcNow());
        s = JobStateMachine.EndRound(s, 1, RoundEnd.Preemption, "rank 0 left (SIGTERM)", _time.GetUtcNow());
        Assert.Equal(JobState.Preempted, s.State);
        Assert.Equal((0, 1), (s.Restarts, s.Preemptions));
        Assert.True(JobStateMachine.CanFormRound(s));

        s = JobStateMachine.FormRound(s, [Worker("b")], _time.GetUtcNow());
        s = JobStateMachine.EndRound(s, 2, RoundEnd.Preemption, "again", _time.GetUtcNow());
        Assert.Equal(JobState.Failed, s.State);
        Assert.Contains("preemption budget of 1 spent", s.Reason);
    }

    [Fact]
    public void OnlyRankZeroAtTheTargetStepCompletes()
    {
        var s = JobStateMachine.FormRound(Submitted(new JobSpec { Steps = 10 }), [Worker("a")], _time.GetUtcNow());
        Assert.Same(s, JobStateMachine.Complete(s, 1, 1, 10, _time.GetUtcNow()));
        var early = JobStateMachine.Complete(s, 1, 0, 9, _time.GetUtcNow());
        Assert.Equal(JobState.Forming, early.State);
        Assert.Equal("ignored", early.History[^1].Kind);

        var done = JobStateMachine.Complete(s, 1, 0, 10, _time.GetUtcNow());
        Assert.Equal(JobState.Succeeded, done.State);
        Assert.NotNull(done.FinishedAt);
        Assert.NotNull(done.Rounds[^1].EndedAt);
        Assert.Equal(10, done.Progress!.Step);
        Assert.Same(done, JobStateMachine.Cancel(done, "late", _time.GetUtcNow()));
    }

    [Fact]
    public void CancelEndsTheActiveRound()
    {
        var s = JobStateMachine.FormRound(Submitted(), [Worker("a")], _time.GetUtcNow());
        s = JobStateMachine.Cancel(s, "user asked", _time.GetUtcNow());
        Assert.Equal(JobState.Cancelled, s.State);
        Assert.Equal("user asked", s.Reason);
        Assert.Contains("cancelled", s.Rounds[^1].EndReason);
        Assert.Equal(s, JobStateMachine.FormRound(s, [Worker("b")], _time.GetUtcNow()));
    }

    [Fact]
    public void OlderCheckpointsDoNotReplaceNewerOnes()
    {
        var s = JobStateMachine.FormRound(Submitted(), [Worker("a")], _time.GetUtcNow());
        s = JobStateMachine.RecordCheckpoint(s, 1, new CheckpointRef(20, "/c/20", "h20"), _time.GetUtcNow());
        Assert.Same(s, JobStateMachine.RecordCheckpoint(s, 1, new CheckpointRef(10, "/c/10", "h10"), _time.GetUtcNow()));
        Assert.Equal(20, s.LatestCheckpoint!.Step);
    }

    [Fact]
    public void RecoveryIsRecordedWhenTheNextRoundRunsWithTheStepsToTrainAgain()
    {
        var s = JobStateMachine.FormRound(Submitted(), [Worker("a"), Worker("b")], _time.GetUtcNow());
        _time.Advance(TimeSpan.FromSeconds(1));
        s = JobStateMachine.RecordHeartbeat(s, "a", 1, WorkerActivity.Training, Progress(12), _time.GetUtcNow());
        s = JobStateMachine.RecordCheckpoint(s, 1, new CheckpointRef(10, "/c/10", "h10"), _time.GetUtcNow());
        s = JobStateMachine.RecordHeartbeat(s, "a", 1, WorkerActivity.Training, Progress(13), _time.GetUtcNow());
        _time.Advance(TimeSpan.FromSeconds(1));
        var detected = _time.GetUtcNow();
        s = JobStateMachine.EndRound(s, 1, RoundEnd.Failure, "rank 1: lease expired", detected);
        Assert.Equal(13, s.Rounds[^1].ReachedStep);

        s = JobStateMachine.FormRound(s, [Worker("a")], _time.GetUtcNow());
        _time.Advance(TimeSpan.FromSeconds(1));
        s = JobStateMachine.RecordHeartbeat(s, "a", 2, WorkerActivity.Training, null, _time.GetUtcNow());
        Assert.Equal(JobState.Running, s.State);
        Assert.Empty(s.Recoveries);
        _time.Advance(TimeSpan.FromSeconds(2.5));
        s = JobStateMachine.RecordHeartbeat(s, "a", 2, WorkerActivity.Training, Progress(11), _time.GetUtcNow());

        var recovery = Assert.Single(s.Recoveries);
        Assert.Equal(new JobRecovery(1, "round-failed", detected, _time.GetUtcNow(), 3), recovery);
        Assert.Equal(3.5, recovery.Seconds, 6);
        Assert.Equal(3, s.LostSteps);
        var recovered = s.History[^1];
        Assert.Equal(("recovered", 2L), (recovered.Kind, recovered.Round));
        Assert.Contains("training again 3.5 s after round 1 ended (round-failed); 3 steps to train again (last reported step 13, resumed from step 10)", recovered.Message);
        Assert.Single(JobStateMachine.RecordHeartbeat(s, "a", 2, WorkerActivity.Training, Progress(12), _time.GetUtcNow()).Recoveries);
    }

    [Fact]
    public void ARoundThatEndsBeforeTrainingIsPartOfTheSameRecovery()
    {
        var s = JobStateMachine.FormRound(Submitted(), [Worker("a"), Worker("b")], _time.GetUtcNow());
        _time.Advance(TimeSpan.FromSeconds(1));
        s = JobStateMachine.RecordHeartbeat(s, "a", 1, WorkerActivity.Training, Progress(7), _time.GetUtcNow());
        _time.Advance(TimeSpan.FromSeconds(1));
        var detected = _time.GetUtcNow();
        s = JobStateMachine.EndRound(s, 1, RoundEnd.Failure, "rank 1 died", detected);
        s = JobStateMachine.FormRound(s, [Worker("a"), Worker("c")], _time.GetUtcNow());
        _time.Advance(TimeSpan.FromSeconds(5));
        s = JobStateMachine.EndRound(s, 2, RoundEnd.Failure, "rank 1 joined too late", _time.GetUtcNow());
        s = JobStateMachine.FormRound(s, [Worker("a"), Worker("c")], _time.GetUtcNow());
        _time.Advance(TimeSpan.FromSeconds(1));
        s = JobStateMachine.RecordHeartbeat(s, "a", 3, WorkerActivity.Training, Progress(1), _time.GetUtcNow());

        var recovery = Assert.Single(s.Recoveries);
        Assert.Equal((1L, detected, 6.0, 7L), (recovery.EndedRound, recovery.DetectedAt, recovery.Seconds, recovery.LostSteps));
    }

    [Fact]
    public void FirstRoundRunningIsNoRecovery()
    {
        var s = JobStateMachine.FormRound(Submitted(), [Worker("a")], _time.GetUtcNow());
        s = JobStateMachine.RecordHeartbeat(s, "a", 1, WorkerActivity.Training, null, _time.GetUtcNow());
        Assert.Empty(s.Recoveries);
        Assert.DoesNotContain(s.History, e => e.Kind == "recovered");
    }

    [Fact]
    public void CheckpointReportedAfterItsRoundEndedStillBecomesTheResumePoint()
    {
        var s = JobStateMachine.FormRound(Submitted(), [Worker("a"), Worker("b")], _time.GetUtcNow());
        s = JobStateMachine.EndRound(s, 1, RoundEnd.Preemption, "rank 1 left at step 7 (SIGTERM)", _time.GetUtcNow());
        s = JobStateMachine.RecordCheckpoint(s, 1, new CheckpointRef(7, "/c/7", "h7"), _time.GetUtcNow());
        Assert.Equal(7, s.LatestCheckpoint!.Step);
        Assert.Same(s, JobStateMachine.RecordCheckpoint(s, 1, new CheckpointRef(7, "/c/7", "h7"), _time.GetUtcNow()));
        Assert.Same(s, JobStateMachine.RecordCheckpoint(s, 2, new CheckpointRef(9, "/c/9", "h9"), _time.GetUtcNow()));
        s = JobStateMachine.FormRound(s, [Worker("a")], _time.GetUtcNow());
        Assert.Equal(7, s.Rounds[^1].ResumeFrom!.Step);
    }

    [Fact]
    public void CompletionIsTheFinalWordOnProgressAndTheLastCheckpointStillCountsAfterIt()
    {
        var s = JobStateMachine.FormRound(Submitted(), [Worker("a")], _time.GetUtcNow());
        _time.Advance(TimeSpan.FromSeconds(1));
        s = JobStateMachine.RecordHeartbeat(s, "a", 1, WorkerActivity.Training, Progress(95), _time.GetUtcNow());
        s = JobStateMachine.Complete(s, 1, 0, 100, _time.GetUtcNow());
        Assert.Equal((JobState.Succeeded, 100L), (s.State, s.Progress!.Step));

        s = JobStateMachine.RecordCheckpoint(s, 1, new CheckpointRef(100, "/c/100", "h"), _time.GetUtcNow());
        Assert.Equal(100, s.LatestCheckpoint!.Step);
        Assert.Equal(JobState.Succeeded, s.State);
    }

    private static TrainingProgress Progress(long step) => new(step, 0, 100, new Dictionary<string, double>());
}
