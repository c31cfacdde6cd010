using GenCluster.Contracts.Jobs;

namespace GenCluster.IntegrationTests.Faults;

/// <summary>SIGTERM to a trainer: it finishes its step, the round checkpoints, the job records a preemption and goes on.</summary>
[Collection(FaultsCollection.Name)]
public sealed class PreemptionSignalTests : IDisposable
{
    private readonly FaultCluster _cluster = new();

    public void Dispose() => _cluster.Dispose();

    [Fact]
    public async Task SigtermedTrainerCheckpointsLeavesWithExitZeroAndTheOthersCarryOnFromThatStep()
    {
        var (spec, jobId, running) = await _cluster.StartJobOnThreeTrainersAsync();
        var leaver = running.Rounds[^1].Members.Single(m => m.Rank == 2);
        var process = _cluster.TrainerWithRank(running, 2);
        process.Terminate();

        Assert.True(await process.WaitForExitAsync(TimeSpan.FromSeconds(20)), $"the trainer did not exit within its 20 s grace\n{_cluster.Logs()}");
        Assert.Equal(0, process.ExitCode);

        var done = await _cluster.WaitForAsync(jobId, s => s.State == JobState.Succeeded, TimeSpan.FromSeconds(75), "succeeded");
        var preempted = done.History.SingleOrDefault(e => e.Kind == "preempted");
        Assert.True(preempted is not null, $"no preemption recorded:\n{FaultCluster.Describe(done)}\n{_cluster.Logs()}");
        Assert.Equal(running.CurrentRound, preempted.Round);
        Assert.Contains($"rank 2 (worker {leaver.WorkerId} on host {leaver.Host}) left at step", preempted.Message);
        Assert.Contains("(SIGTERM)", preempted.Message);
        Assert.Equal(0, done.Restarts);
        Assert.Equal(1, done.Preemptions);
        Assert.DoesNotContain(done.History, e => e.Kind == "round-failed");

        // The just-in-time checkpoint is at the step the leaver reported, and the next round starts right after it.
        var leftAt = long.Parse(preempted.Message.Split("left at step ")[1].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains(done.Checkpoints, c => c.Step == leftAt);
        var next = done.Rounds.Single(r => r.Number == running.CurrentRound + 1);
        Assert.Equal(2, next.Members.Count);
        Assert.DoesNotContain(next.Members, m => m.WorkerId == leaver.WorkerId);

        var history = _cluster.History(done);
        history.AssertComplete(spec.Steps, FaultCluster.CheckpointEvery);
        Assert.Equal(leftAt, history.Rounds.Single(r => r.Round == next.Number).ResumedFrom);
        Assert.Equal(leftAt, history.Rounds.Single(r => r.Round == running.CurrentRound).Last);
    }
}
