using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Models;

namespace GenCluster.IntegrationTests.Faults;

/// <summary>
/// A VQ-VAE-2 job trains its autoencoder (steps 0–20), then its prior (20–40). A trainer killed during the prior stage
/// costs a round: the next round resumes from a prior-stage checkpoint, in the prior stage, and the stage-1 model
/// (encoder, decoder, codebooks) in every later checkpoint is byte for byte the one the autoencoder stage ended with.
/// </summary>
[Collection(FaultsCollection.Name)]
public sealed class PriorStageResumeTests : IDisposable
{
    private readonly FaultCluster _cluster = new();

    public void Dispose() => _cluster.Dispose();

    [Fact]
    public async Task AKilledTrainerInThePriorStageResumesThereWithStageOneUnchanged()
    {
        await _cluster.StartAsync(trainers: 3);
        var spec = _cluster.Spec(steps: 40, minWorkers: 2, maxWorkers: 3) with
        {
            KeepCheckpoints = 20,
            Model = new VqVae2Options
            {
                Width = 8, ResidualWidth = 4, ResidualBlocks = 1, CodebookSize = 16, CodeDim = 8,
                PriorSteps = 20, PriorWidth = 8, PriorLayers = 2, PriorKernel = 3,
            },
        };
        var job = await _cluster.Silo.Api.SubmitAsync(spec);
        var running = await _cluster.WaitForAsync(job.Id,
            s => s.State == JobState.Running && s.Rounds[^1].Members.Count == 3 && s.Progress?.Step >= 26,
            TimeSpan.FromSeconds(120), "running on 3 trainers in the prior stage past step 26");
        var before = running.Rounds[^1];

        _cluster.TrainerWithRank(running, 1).Kill();
        var done = await _cluster.WaitForAsync(job.Id, s => s.State == JobState.Succeeded, TimeSpan.FromSeconds(180), "succeeded");

        var after = done.Rounds.Single(r => r.Number == before.Number + 1);
        Assert.NotNull(after.ResumeFrom);
        Assert.True(after.ResumeFrom!.Step >= 25, $"the round after the kill should resume from a prior-stage checkpoint (≥ 25), got step {after.ResumeFrom.Step}");
        // Every step the resumed round ran was a prior step: no reconstruction figures, the prior's bits per code.
        var journal = File.ReadAllLines(Path.Combine(done.RunDirectory, "steps.csv"));
        var columns = journal[0].Split(',');
        var (round, mse, nll) = (Array.IndexOf(columns, "round"), Array.IndexOf(columns, "mse"), Array.IndexOf(columns, "nll_top_bits"));
        var resumed = journal.Skip(1).Select(l => l.Split(',')).Where(f => f[round] == after.Number.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.NotEmpty(resumed);
        Assert.All(resumed, f => Assert.True(f[mse] == "NaN" && double.Parse(f[nll], System.Globalization.CultureInfo.InvariantCulture) > 0,
            $"a step of the resumed round was not a prior step: {string.Join(',', f)}"));

        var checkpoints = Path.Combine(done.RunDirectory, "checkpoints");
        var stageOne = File.ReadAllBytes(Path.Combine(checkpoints, "autoencoder-final", "autoencoder.bin"));
        Assert.Equal(stageOne, File.ReadAllBytes(Path.Combine(checkpoints, "step-000020", "autoencoder.bin")));
        foreach (var step in new[] { 25, 30, 35, 40 })
        {
            var directory = Path.Combine(checkpoints, $"step-{step:D6}");
            Assert.True(stageOne.AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(directory, "autoencoder.bin"))),
                $"the autoencoder in {directory} differs from the one the autoencoder stage ended with");
            Assert.Contains("\"stage\": \"prior\"", File.ReadAllText(Path.Combine(directory, "manifest.json")));
        }
        _cluster.History(done).AssertComplete(spec.Steps, FaultCluster.CheckpointEvery);
    }
}
