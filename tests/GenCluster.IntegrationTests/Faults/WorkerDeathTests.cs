using GenCluster.Contracts.Jobs;

namespace GenCluster.IntegrationTests.Faults;

/// <summary>SIGKILL of one of three trainers mid-run: the next round forms from the survivors and the job finishes.</summary>
[Collection(FaultsCollection.Name)]
public sealed class WorkerDeathTests : IDisposable
{
    private readonly FaultCluster _cluster = new();

    public void Dispose() => _cluster.Dispose();

    [Fact]
    public async Task SigkilledTrainerIsLeftOutAndTheSurvivorsResumeFromTheLatestCheckpoint()
    {
        var (spec, jobId, running) = await _cluster.StartJobOnThreeTrainersAsync();
        var victim = running.Rounds[^1].Members.Single(m => m.Rank == 1);
        _cluster.TrainerWithRank(running, 1).Kill();

        var done = await _cluster.WaitForAsync(jobId, s => s.State == JobState.Succeeded, TimeSpan.FromSeconds(75), "succeeded");

        var failure = done.History.First(e => e.Kind == "round-failed");
        Assert.Equal(running.CurrentRound, failure.Round);
        var next = done.Rounds.Single(r => r.Number == running.CurrentRound + 1);
        Assert.Equal(2, next.Members.Count);
        Assert.DoesNotContain(next.Members, m => m.WorkerId == victim.WorkerId);
        Assert.True(done.Restarts >= 1, FaultCluster.Describe(done));
        Assert.Contains(done.History, e => e.Kind == "recovered" && e.Round == next.Number);

        var history = _cluster.History(done);
        history.AssertComplete(spec.Steps, FaultCluster.CheckpointEvery);
        Assert.Contains(history.Rounds, r => r.Round == next.Number);
        // Every round resumed from at least the newest checkpoint the control plane knew of when it was formed.
        foreach (var round in history.Rounds)
            Assert.True(round.ResumedFrom >= (done.Rounds.Single(r => r.Number == round.Round).ResumeFrom?.Step ?? 0), history.ToString());
        Assert.All(done.Recoveries, r => Assert.InRange(r.LostSteps, 0, FaultCluster.CheckpointEvery));

        // The recovery is in the silo's metrics too.
        var metrics = await _cluster.Silo.Http.GetStringAsync("/metrics");
        Assert.Matches(@"\ngencluster_restarts_total\{[^}]*\} [1-9]", metrics);
        Assert.Matches(@"\ngencluster_recovery_seconds_count\{[^}]*\} [1-9]", metrics);
        Assert.Matches(@"\ngencluster_lost_steps_total\{[^}]*\} \d", metrics);
    }
}
