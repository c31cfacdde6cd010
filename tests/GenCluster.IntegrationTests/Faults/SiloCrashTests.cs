using GenCluster.Contracts.Jobs;

namespace GenCluster.IntegrationTests.Faults;

/// <summary>SIGKILL the silo mid-run and start it again on the same data directory: the trainers reconnect by themselves.</summary>
[Collection(FaultsCollection.Name)]
public sealed class SiloCrashTests : IDisposable
{
    private readonly FaultCluster _cluster = new();

    public void Dispose() => _cluster.Dispose();

    [Fact]
    public async Task TrainersKeepGoingThroughASiloRestartAndNoStepIsRunTwiceOrSkipped()
    {
        await _cluster.StartAsync(trainers: 2);
        var spec = _cluster.Spec(steps: 600, minWorkers: 2, maxWorkers: 2);
        var job = await _cluster.Silo.Api.SubmitAsync(spec);
        var running = await _cluster.WaitForAsync(job.Id, s => s.State == JobState.Running && s.Progress?.Step >= 8,
            TimeSpan.FromSeconds(60), "running past step 8");

        _cluster.Silo.Kill();
        await _cluster.Silo.StartAsync();
        var restarted = await _cluster.Silo.Api.GetJobAsync(job.Id);
        // The trainers reconnect by themselves: the restarted silo hears rank 0's progress in the same round.
        await _cluster.WaitForAsync(job.Id, s => s.Progress!.Step > restarted.Progress!.Step || s.State == JobState.Succeeded,
            TimeSpan.FromSeconds(30), "hearing progress again after the restart");

        var done = await _cluster.WaitForAsync(job.Id, s => s.State == JobState.Succeeded, TimeSpan.FromSeconds(75), "succeeded");
        Assert.Equal(0, done.Restarts);
        Assert.Equal(running.CurrentRound, done.CurrentRound);
        Assert.Equal(spec.Steps, done.Progress!.Step);
        var history = _cluster.History(done);
        history.AssertComplete(spec.Steps, FaultCluster.CheckpointEvery);
        Assert.Single(history.Rounds);
        var steps = done.Checkpoints.Select(c => c.Step).ToArray();
        Assert.Equal(steps.Order().Distinct(), steps);
        Assert.Equal(spec.Steps, steps[^1]);
    }
}
