using GenCluster.Contracts.Jobs;

namespace GenCluster.IntegrationTests.Faults;

/// <summary>A higher-priority job takes the workers; the lower one checkpoints, is Preempted and resumes by itself.</summary>
[Collection(FaultsCollection.Name)]
public sealed class SchedulerPreemptionTests : IDisposable
{
    private readonly FaultCluster _cluster = new();

    public void Dispose() => _cluster.Dispose();

    [Fact]
    public async Task LowerPriorityJobCheckpointsYieldsAndResumesAfterwards()
    {
        await _cluster.StartAsync(trainers: 2);
        var lowSpec = _cluster.Spec(steps: 100, minWorkers: 2, maxWorkers: 2, priority: 0, name: "low");
        var low = await _cluster.Silo.Api.SubmitAsync(lowSpec);
        var running = await _cluster.WaitForAsync(low.Id, s => s.State == JobState.Running && s.Progress?.Step >= 8,
            TimeSpan.FromSeconds(60), "running past step 8");

        var highSpec = _cluster.Spec(steps: 20, minWorkers: 2, maxWorkers: 2, priority: 10, name: "high");
        var high = await _cluster.Silo.Api.SubmitAsync(highSpec);
        var highDone = await _cluster.WaitForAsync(high.Id, s => s.State == JobState.Succeeded, TimeSpan.FromSeconds(60), "high succeeded");
        var lowDone = await _cluster.WaitForAsync(low.Id, s => s.State == JobState.Succeeded, TimeSpan.FromSeconds(75), "low succeeded");

        var preempted = lowDone.History.Single(e => e.Kind == "preempted");
        Assert.Equal(running.CurrentRound, preempted.Round);
        Assert.Contains($"job {high.Id}", preempted.Message);
        Assert.Contains(lowDone.History, e => e.Kind == "requeued");
        Assert.Equal((0, 1), (lowDone.Restarts, lowDone.Preemptions));
        // The low job's next round started after the high job finished, from the checkpoint it wrote when asked.
        var resumed = lowDone.Rounds.Single(r => r.Number == running.CurrentRound + 1);
        Assert.True(resumed.FormedAt >= highDone.FinishedAt, $"resumed at {resumed.FormedAt:O}, high job finished at {highDone.FinishedAt:O}");
        var history = _cluster.History(lowDone);
        history.AssertComplete(lowSpec.Steps, FaultCluster.CheckpointEvery);
        Assert.Equal(0, history.RerunSteps().Single());
        _cluster.History(highDone).AssertComplete(highSpec.Steps, FaultCluster.CheckpointEvery);
    }
}
