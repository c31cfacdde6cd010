using GenCluster.Contracts.Jobs;

namespace GenCluster.IntegrationTests.Faults;

/// <summary>A job whose restart budget is spent fails, and says why.</summary>
[Collection(FaultsCollection.Name)]
public sealed class RestartBudgetTests : IDisposable
{
    private readonly FaultCluster _cluster = new();

    public void Dispose() => _cluster.Dispose();

    [Fact]
    public async Task KilledTrainerWithNoRestartBudgetFailsTheJobWithTheReason()
    {
        await _cluster.StartAsync(trainers: 2);
        var job = await _cluster.Silo.Api.SubmitAsync(_cluster.Spec(steps: 400, minWorkers: 1, maxWorkers: 2, restartBudget: 0));
        var running = await _cluster.WaitForAsync(job.Id,
            s => s.State == JobState.Running && s.Rounds[^1].Members.Count == 2 && s.Progress?.Step >= 5,
            TimeSpan.FromSeconds(60), "running on 2 trainers past step 5");
        _cluster.TrainerWithRank(running, 1).Kill();

        var failed = await _cluster.WaitForAsync(job.Id, s => s.State == JobState.Failed, TimeSpan.FromSeconds(30), "failed");
        Assert.StartsWith("restart budget of 0 spent; last failure: ", failed.Reason);
        Assert.Equal(1, failed.Restarts);
        Assert.Equal("failed", failed.History[^1].Kind);
        Assert.Equal(failed.Reason, failed.History[^1].Message);
    }
}
