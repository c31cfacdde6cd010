using GenCluster.Contracts.Jobs;

namespace GenCluster.IntegrationTests.Faults;

/// <summary>SIGSTOP (a frozen trainer): detected within 30 s, the event names rank and host, the round re-forms without it.</summary>
[Collection(FaultsCollection.Name)]
public sealed class HangTests : IDisposable
{
    private readonly FaultCluster _cluster = new();

    public void Dispose() => _cluster.Dispose();

    [Fact]
    public async Task FrozenTrainerIsDetectedNamedAndLeftOut()
    {
        var (spec, jobId, running) = await _cluster.StartJobOnThreeTrainersAsync();
        var frozen = running.Rounds[^1].Members.Single(m => m.Rank == 1);
        var process = _cluster.TrainerWithRank(running, 1);
        var frozenAt = DateTimeOffset.UtcNow;
        process.Freeze();
        try
        {
            var detected = await _cluster.WaitForAsync(jobId, s => s.CurrentRound > running.CurrentRound || s.State == JobState.Restarting,
                TimeSpan.FromSeconds(30), "detected the frozen trainer");
            var failure = detected.History.First(e => e.Kind == "round-failed" && e.Round == running.CurrentRound);
            Assert.True(failure.At - frozenAt < TimeSpan.FromSeconds(30), $"detected after {(failure.At - frozenAt).TotalSeconds:F1} s");
            Assert.Contains("rank 1", failure.Message);
            Assert.Contains($"host {frozen.Host}", failure.Message);
            Assert.Contains(frozen.WorkerId, failure.Message);

            var done = await _cluster.WaitForAsync(jobId, s => s.State == JobState.Succeeded, TimeSpan.FromSeconds(75), "succeeded");
            Assert.All(done.Rounds.Where(r => r.Number > running.CurrentRound), r => Assert.DoesNotContain(r.Members, m => m.WorkerId == frozen.WorkerId));
            _cluster.History(done).AssertComplete(spec.Steps, FaultCluster.CheckpointEvery);
            Assert.All(done.Recoveries, r => Assert.InRange(r.LostSteps, 0, FaultCluster.CheckpointEvery));
        }
        finally
        {
            process.Thaw();
            process.Kill();
        }
    }
}
