using System.Text;
using System.Text.Json;
using GenCluster.Trainer.Checkpoints;
using GenCluster.Trainer.Tests.Support;

namespace GenCluster.Trainer.Tests.Checkpoints;

public class CheckpointStoreTests
{
    private static LoadedCheckpoint SaveStep(CheckpointStore store, long step) =>
        store.Save(new CheckpointManifest { Step = step, Options = JsonSerializer.SerializeToElement(new { step }) },
            new Dictionary<string, Action<Stream>>
            {
                ["weights.bin"] = s => s.Write(Encoding.UTF8.GetBytes($"weights of step {step} " + new string('x', 100))),
                ["adam.bin"] = s => s.Write(Encoding.UTF8.GetBytes($"adam {step}")),
            });

    [Fact]
    public void KeepsTheNewestKAndNothingTemporary()
    {
        using var temp = RepoPaths.NewTemp();
        var store = new CheckpointStore(temp.Path, keep: 2);
        for (var step = 100; step <= 500; step += 100) SaveStep(store, step);

        Assert.Equal(["step-000500", "step-000400"], store.StepDirectories().Select(Path.GetFileName));
        Assert.Equal(2, Directory.GetFileSystemEntries(temp.Path).Length);
        Assert.Equal(500, store.LoadLatestGood(out var rejected)!.Manifest.Step);
        Assert.Empty(rejected);
    }

    [Fact]
    public void TruncatedNewestFallsBackToThePreviousNamingTheFile()
    {
        using var temp = RepoPaths.NewTemp();
        var store = new CheckpointStore(temp.Path, keep: 3);
        SaveStep(store, 1);
        var newest = SaveStep(store, 2);
        var weights = newest.PathOf("weights.bin");
        File.WriteAllBytes(weights, File.ReadAllBytes(weights)[..10]);

        var good = store.LoadLatestGood(out var rejected);

        Assert.Equal(1, good!.Manifest.Step);
        var reason = Assert.Single(rejected);
        Assert.Equal(newest.Directory, reason.Directory);
        Assert.Contains("weights.bin has 10 bytes", reason.Message);
    }

    [Fact]
    public void CorruptedBytesAreDetectedBySha256()
    {
        using var temp = RepoPaths.NewTemp();
        var store = new CheckpointStore(temp.Path, keep: 3);
        SaveStep(store, 1);
        var newest = SaveStep(store, 2);
        var adam = newest.PathOf("adam.bin");
        var bytes = File.ReadAllBytes(adam);
        bytes[0] ^= 0xFF;
        File.WriteAllBytes(adam, bytes);

        Assert.Equal(1, store.LoadLatestGood(out var rejected)!.Manifest.Step);
        Assert.Contains("adam.bin SHA-256 is", Assert.Single(rejected).Message);
        Assert.Throws<CheckpointCorruptException>(() => CheckpointStore.Load(newest.ToRef()));
    }

    [Fact]
    public void MissingOrBrokenManifestIsSkipped()
    {
        using var temp = RepoPaths.NewTemp();
        var store = new CheckpointStore(temp.Path, keep: 3);
        SaveStep(store, 1);
        var second = SaveStep(store, 2);
        var third = SaveStep(store, 3);
        File.Delete(Path.Combine(third.Directory, "manifest.json"));
        File.WriteAllText(Path.Combine(second.Directory, "manifest.json"), "{ not json");

        Assert.Equal(1, store.LoadLatestGood(out var rejected)!.Manifest.Step);
        Assert.Equal(2, rejected.Count);
        Assert.Contains("manifest.json is missing", rejected[0].Message);
        Assert.Contains("manifest.json is not valid", rejected[1].Message);
    }

    [Fact]
    public void RewritingAStepReplacesItAndAReferenceDetectsTheSwap()
    {
        using var temp = RepoPaths.NewTemp();
        var store = new CheckpointStore(temp.Path, keep: 3);
        var first = SaveStep(store, 5);
        var second = SaveStep(store, 5);

        Assert.Single(store.StepDirectories());
        Assert.NotEqual(first.ManifestSha256, second.ManifestSha256);
        var ex = Assert.Throws<CheckpointCorruptException>(() => CheckpointStore.Load(first.ToRef()));
        Assert.Contains("from the job's record", ex.Message);
        Assert.Equal(5, CheckpointStore.Load(second.ToRef()).Manifest.Step);
    }

    [Fact]
    public void OptionsDiffNamesEachChangedField()
    {
        var saved = JsonSerializer.SerializeToElement(new { spec = new { seed = 1, model_options = new { width = 64, beta1 = 0.5 } }, world_size = 2 });
        var now = JsonSerializer.SerializeToElement(new { spec = new { seed = 1, model_options = new { width = 32, beta1 = 0.5 } }, world_size = 3 });

        var diff = OptionsDiff.Compare(saved, now);

        Assert.Equal(["spec.model_options.width: 64 (checkpoint) -> 32 (now)", "world_size: 2 (checkpoint) -> 3 (now)"], diff);
        Assert.Empty(OptionsDiff.Compare(saved, saved));
    }
}
