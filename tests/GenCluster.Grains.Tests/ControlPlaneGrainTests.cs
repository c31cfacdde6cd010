using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Workers;

namespace GenCluster.Grains.Tests;

public class ControlPlaneGrainTests : IAsyncLifetime
{
    private readonly ControlPlaneCluster _c = new();

    public Task InitializeAsync() => _c.InitializeAsync();

    public Task DisposeAsync() => _c.DisposeAsync();

    [Fact]
    public async Task GangOfTwoFormsARoundAndLeaseExpiryReformsItFromTheSurvivor()
    {
        Assert.Null((await _c.Registry.Register(ControlPlaneCluster.Worker("a"))).Assignment);
        Assert.Null((await _c.Registry.Register(ControlPlaneCluster.Worker("b"))).Assignment);
        var job = await _c.Scheduler.Submit(new JobSpec
            { Name = "gang", MinWorkers = 1, MaxWorkers = 2, PerWorkerBatch = 32, GlobalBatch = 128, Steps = 100 });
        Assert.Equal(JobState.Forming, job.State);

        var a = (await _c.Beat("a")).Assignment!;
        var b = (await _c.Beat("b")).Assignment!;
        Assert.Equal((job.Id, 1L, 0, 2), (a.JobId, a.Round, a.Rank, a.WorldSize));
        Assert.Equal(1, b.Rank);
        Assert.Equal(["http://a.local:7000", "http://b.local:7000"], a.Peers);
        Assert.Equal(a.JobSecret, b.JobSecret);
        Assert.Equal(64, a.JobSecret.Length);
        Assert.Equal(2, a.GradientAccumulation);

        await _c.Beat("a", 1, job.Id, step: 40);
        await _c.Job(job.Id).ReportCheckpoint(1, new CheckpointRef(40, "/runs/ck/40", "sha"));
        var running = await _c.Job(job.Id).GetStatus();
        Assert.Equal(JobState.Running, running!.State);
        Assert.Equal(40, running.Progress!.Step);

        // Only a heartbeats while the fake clock passes the lease: b's lease expires.
        for (var i = 0; i < 3; i++)
        {
            _c.Time.Advance(TimeSpan.FromSeconds(2));
            await _c.Beat("a", 1, job.Id, step: 41);
        }
        var reformed = await _c.WaitForJob(job.Id, s => s.CurrentRound == 2, "round 2 after b's lease expired");
        Assert.Equal(1, reformed.Restarts);
        Assert.Contains(reformed.History, h => h.Kind == "round-failed" && h.Message.Contains("lease of worker b on host host-b expired"));
        var round2 = reformed.Rounds[^1];
        Assert.Equal(["a"], round2.Members.Select(m => m.WorkerId));
        Assert.Equal(40, round2.ResumeFrom!.Step);
        Assert.Equal(4, round2.GradientAccumulation);

        var a2 = (await _c.Beat("a", 1, job.Id)).Assignment!;
        Assert.Equal((2L, 0, 1), (a2.Round, a2.Rank, a2.WorldSize));

        var workers = await _c.Registry.GetWorkers();
        Assert.False(workers.Single(w => w.Info.WorkerId == "b").Alive);
        Assert.Equal(job.Id, workers.Single(w => w.Info.WorkerId == "a").JobId);
    }

    [Fact]
    public async Task WorkersOfInterleavedHostsEachGetTheRankOfTheirOwnEndpoint()
    {
        // Registered host by host in turn: the ring order groups each host's workers, so ranks differ from the placement order.
        foreach (var (id, host) in new[] { ("a", "h1"), ("b", "h2"), ("c", "h1"), ("d", "h2") })
            await _c.Registry.Register(ControlPlaneCluster.Worker(id) with { Host = host });
        var job = await _c.Scheduler.Submit(new JobSpec { Name = "hosts", MinWorkers = 4, MaxWorkers = 4, PerWorkerBatch = 8, Steps = 100 });

        var assignments = new Dictionary<string, Assignment>();
        foreach (var id in new[] { "a", "b", "c", "d" })
            assignments[id] = (await _c.Beat(id)).Assignment!;

        var round = (await _c.Job(job.Id).GetStatus())!.Rounds[^1];
        Assert.Equal(["h1", "h1", "h2", "h2"], round.Members.Select(m => m.Host));
        foreach (var (id, assignment) in assignments)
        {
            Assert.Equal(round.Members.Single(m => m.WorkerId == id).Rank, assignment.Rank);
            Assert.Equal($"http://{id}.local:7000", assignment.Peers[assignment.Rank]);
        }

        Assert.Equal([0, 1, 2, 3], assignments.Values.Select(a => a.Rank).Order());
    }

    [Fact]
    public async Task ASlowRankIsNamedOnceAsAStragglerWithItsScore()
    {
        await _c.Registry.Register(ControlPlaneCluster.Worker("a"));
        await _c.Registry.Register(ControlPlaneCluster.Worker("b"));
        var job = await _c.Scheduler.Submit(new JobSpec { Name = "slow", MinWorkers = 2, MaxWorkers = 2, PerWorkerBatch = 32, Steps = 100 });
        await _c.Beat("a");
        await _c.Beat("b");

        // Until every rank reported, there is no score; 0.1 s against 0.13 s is within the factor.
        await _c.Beat("a", 1, job.Id, step: 5, computeSeconds: 0.10);
        Assert.All(await _c.Job(job.Id).GetRankTimings(), t => Assert.True(double.IsNaN(t.StragglerScore)));
        await _c.Beat("b", 1, job.Id, step: 5, computeSeconds: 0.13);
        var timings = await _c.Job(job.Id).GetRankTimings();
        Assert.Equal(0.10 / 0.13, timings.Single(t => t.Rank == 0).StragglerScore, 9);
        Assert.Equal(1.3, timings.Single(t => t.Rank == 1).StragglerScore, 9);
        Assert.DoesNotContain((await _c.Job(job.Id).GetStatus())!.History, h => h.Kind == "rank-straggling");

        // b slows to 0.25 s: 2.5× a's — named once, with rank, worker, host and score, however many beats follow.
        for (var i = 0; i < 3; i++) await _c.Beat("b", 1, job.Id, step: 6 + i, computeSeconds: 0.25);
        var status = (await _c.Job(job.Id).GetStatus())!;
        var events = status.History.Where(h => h.Kind == "rank-straggling").ToList();
        var only = Assert.Single(events);
        Assert.Contains("rank 1 (b on host-b)", only.Message);
        Assert.Contains("2.50×", only.Message);
        var b = (await _c.Job(job.Id).GetRankTimings()).Single(t => t.Rank == 1);
        Assert.Equal((0.25, 2.5), (b.ComputeSeconds, Math.Round(b.StragglerScore, 9)));
    }

    [Fact]
    public async Task HigherPriorityJobPreemptsAfterTheLowerOneCheckpointsAndTheLowerOneResumesLater()
    {
        await _c.Registry.Register(ControlPlaneCluster.Worker("w1"));
        await _c.Registry.Register(ControlPlaneCluster.Worker("w2"));
        var low = await _c.Scheduler.Submit(new JobSpec { Name = "low", MinWorkers = 1, MaxWorkers = 2, Steps = 10 });
        Assert.Equal(2, low.Rounds[^1].Members.Count);
        await _c.Job(low.Id).ReportCheckpoint(1, new CheckpointRef(5, "/ck/5", "h"));

        var high = await _c.Scheduler.Submit(new JobSpec { Name = "high", Priority = 5, MinWorkers = 2, MaxWorkers = 2, Steps = 10 });
        Assert.Equal(JobState.Queued, high.State);
        var drainReply = await _c.Beat("w1", 1, low.Id);
        Assert.True(drainReply.CheckpointNow);
        Assert.Equal(low.Id, drainReply.Assignment!.JobId);

        await _c.Job(low.Id).ReportCheckpoint(1, new CheckpointRef(7, "/ck/7", "h7"));
        // The checkpoint alone hands nothing over: the workers go once every member has stopped training the round.
        Assert.True((await _c.Beat("w2", 1, low.Id)).CheckpointNow);
        Assert.Equal(JobState.Running, (await _c.Job(low.Id).GetStatus())!.State);
        await _c.Beat("w1");
        await _c.Beat("w2");
        var lowNow = await _c.WaitForJob(low.Id, s => s.State == JobState.Preempted, "the preemption after the checkpoint");
        Assert.Equal(1, lowNow.Preemptions);
        Assert.Contains(lowNow.History, h => h.Kind == "preempted" && h.Message.Contains($"checkpointed at step 7 and stopped, then gave its 2 workers to job {high.Id}"));
        var highNow = await _c.WaitForJob(high.Id, s => s.State == JobState.Forming, "the high-priority round");
        Assert.Equal(["w1", "w2"], highNow.Rounds[^1].Members.Select(m => m.WorkerId));
        var w1 = await _c.Beat("w1");
        Assert.Equal(high.Id, w1.Assignment!.JobId);
        Assert.False(w1.CheckpointNow);

        await _c.Job(high.Id).ReportCompleted(1, 0, 10);
        var resumed = await _c.WaitForJob(low.Id, s => s.CurrentRound == 2, "the preempted job's next round");
        Assert.Equal(7, resumed.Rounds[^1].ResumeFrom!.Step);
        Assert.Equal(JobState.Succeeded, (await _c.Job(high.Id).GetStatus())!.State);
    }

    [Fact]
    public async Task AJobThatDoesNotCheckpointInTimeIsPreemptedAtTheDrainDeadline()
    {
        await _c.Registry.Register(ControlPlaneCluster.Worker("w1"));
        var low = await _c.Scheduler.Submit(new JobSpec { Name = "low", MinWorkers = 1, MaxWorkers = 1 });
        var high = await _c.Scheduler.Submit(new JobSpec { Name = "high", Priority = 1, MinWorkers = 1, MaxWorkers = 1 });
        Assert.True((await _c.Beat("w1", 1, low.Id)).CheckpointNow);

        // Keep the lease alive (5 s) while the fake clock passes the 10 s drain deadline.
        foreach (var step in new[] { 4, 4, 3 })
        {
            _c.Time.Advance(TimeSpan.FromSeconds(step));
            await _c.Beat("w1", 1, low.Id);
        }
        var lowNow = await _c.WaitForJob(low.Id, s => s.State == JobState.Preempted, "the drain deadline");
        Assert.Contains(lowNow.History, h => h.Message.Contains("did not checkpoint within 10 s"));
        await _c.WaitForJob(high.Id, s => s.State == JobState.Forming, "the high-priority round");
    }

    [Fact]
    public async Task LeavingWorkerIsNotPlacedAgainAndFailuresSpendTheRestartBudget()
    {
        await _c.Registry.Register(ControlPlaneCluster.Worker("w1"));
        await _c.Registry.Register(ControlPlaneCluster.Worker("w2"));
        var job = await _c.Scheduler.Submit(new JobSpec { MinWorkers = 1, MaxWorkers = 2, RestartBudget = 1, Steps = 10 });

        await _c.Job(job.Id).ReportLeaving(1, 1, 3);
        var s = await _c.WaitForJob(job.Id, x => x.CurrentRound == 2, "a round without the leaving worker");
        Assert.Equal(["w1"], s.Rounds[^1].Members.Select(m => m.WorkerId));
        Assert.Equal((0, 1), (s.Restarts, s.Preemptions));
        Assert.Contains(s.History, h => h.Message.Contains("rank 1 (worker w2 on host host-w2) left at step 3"));

        await _c.Job(job.Id).ReportRoundFailure(2, 0, "ring error from rank 1");
        s = await _c.WaitForJob(job.Id, x => x.State == JobState.Restarting, "restarting after the first failure");
        Assert.Equal(2, s.CurrentRound);
        // A member of a failed round is placed again only after it heartbeats (a dead one never does).
        await WaitUntil(async () =>
        {
            await _c.Beat("w1");
            return (await _c.Job(job.Id).GetStatus())!.CurrentRound == 3;
        }, "round 3 once w1 heartbeats after the failure");
        await _c.Job(job.Id).ReportRoundFailure(3, 0, "ring error again");
        s = await _c.WaitForJob(job.Id, x => x.State == JobState.Failed, "failure once the budget is spent");
        Assert.Contains("restart budget of 1 spent", s.Reason);

        await WaitUntil(async () => (await _c.Beat("w1")).Assignment is null, "w1 released");
        var cancel = await _c.Scheduler.Cancel(job.Id, "too late");
        Assert.Equal(JobState.Failed, cancel!.State);
    }

    [Fact]
    public async Task UnknownWorkersAreToldToRegisterAndCancelFreesWorkers()
    {
        Assert.True((await _c.Beat("ghost")).MustRegister);
        await _c.Registry.Register(ControlPlaneCluster.Worker("w1"));
        var job = await _c.Scheduler.Submit(new JobSpec { MinWorkers = 1, MaxWorkers = 1 });
        Assert.NotNull((await _c.Beat("w1")).Assignment);
        var cancelled = await _c.Scheduler.Cancel(job.Id, "user asked");
        Assert.Equal(JobState.Cancelled, cancelled!.State);
        Assert.Null((await _c.Beat("w1")).Assignment);
        Assert.Null(await _c.Scheduler.Cancel("no-such-job", "x"));
        Assert.Equal([job.Id], await _c.Scheduler.ListJobs());
    }

    private static async Task WaitUntil(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"waited 20 s for {what}");
            await Task.Delay(20);
        }
    }
}
