using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Models;

namespace GenCluster.IntegrationTests.Faults;

/// <summary>
/// A BigGAN job with a global batch of 96 on four trainers (8 per worker × accumulation 3) loses one to SIGKILL: the
/// round of three that follows accumulates 4 micro-batches, so the optimiser still sees 96 images per step.
/// </summary>
[Collection(FaultsCollection.Name)]
public sealed class GlobalBatchTests : IDisposable
{
    private readonly FaultCluster _cluster = new();

    public void Dispose() => _cluster.Dispose();

    [Fact]
    public async Task ARoundOfThreeAfterARoundOfFourChangesAccumulationNotTheGlobalBatch()
    {
        await _cluster.StartAsync(trainers: 4);
        var spec = _cluster.Spec(steps: 40, minWorkers: 3, maxWorkers: 4) with
        {
            GlobalBatch = 96,
            Model = new BigGanOptions { Width = 4, LatentDim = 12, SharedDim = 8, EmaDecay = 0.9, EmaStart = 5, DSteps = 2 },
        };
        var job = await _cluster.Silo.Api.SubmitAsync(spec);
        var running = await _cluster.WaitForAsync(job.Id,
            s => s.State == JobState.Running && s.Rounds[^1].Members.Count == 4 && s.Progress?.Step >= 6,
            TimeSpan.FromSeconds(90), "running on 4 trainers past step 6");
        var four = running.Rounds[^1];
        Assert.Equal((8, 3, 96L), (four.PerWorkerBatch, four.GradientAccumulation, four.GlobalBatch));

        _cluster.TrainerWithRank(running, 2).Kill();
        var done = await _cluster.WaitForAsync(job.Id, s => s.State == JobState.Succeeded, TimeSpan.FromSeconds(120), "succeeded");

        var three = done.Rounds.Single(r => r.Number == four.Number + 1);
        Assert.Equal(3, three.Members.Count);
        Assert.Equal((8, 4, 96L), (three.PerWorkerBatch, three.GradientAccumulation, three.GlobalBatch));
        Assert.Contains(done.History, e => e.Kind == "round-formed" && e.Round == three.Number &&
                                           e.Message.Contains("global batch 96 = 3 × 8 per worker × accumulation 4", StringComparison.Ordinal));
        _cluster.History(done).AssertComplete(spec.Steps, FaultCluster.CheckpointEvery);
    }
}
