using System.Text.Json;
using GenCluster.Contracts.Jobs;
using GenCluster.Trainer.Checkpoints;
using GenCluster.Trainer.Imaging;
using GenCluster.Trainer.Recipes;
using GenCluster.Trainer.Training;
using TorchSharp;
using Launcher = GenCluster.Silo.Local.ChildProcess;

namespace GenCluster.IntegrationTests.Local;

/// <summary>
/// The README's main command, shrunk: <c>gencluster local</c> starts the real silo and two real trainer processes,
/// trains DCGAN data-parallel on a slice of MNIST, and leaves sample grids and checkpoints behind.
/// </summary>
public sealed class LocalTrainingTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "gencluster-local-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task TwoTrainersFinishTheJobAndTheCheckpointReproducesTheSampleGrid()
    {
        await using var local = StartLocal("--steps", "20", "--batch", "16", "--width", "16", "--dataset-limit", "1024",
            "--checkpoint-every", "10", "--sample-every", "10", "--grace-seconds", "10", "--evaluate", "false");
        var exited = await local.WaitForExitAsync(TimeSpan.FromMinutes(4));
        var output = await File.ReadAllTextAsync(Log);
        Assert.True(exited, $"gencluster local did not finish within 4 minutes:{Environment.NewLine}{output}");
        Assert.True(local.ExitCode == 0, $"gencluster local exited {local.ExitCode}:{Environment.NewLine}{output}");
        Assert.Contains("Succeeded", output);

        var run = Assert.Single(Directory.GetDirectories(Runs), d => !Path.GetFileName(d).StartsWith('.'));
        Assert.True(File.Exists(Path.Combine(run, "samples", "step-000010.png")), "sample grid of step 10");
        Assert.True(File.Exists(Path.Combine(run, "samples", "losses.png")), "loss curve beside the samples");
        var samplePath = Path.Combine(run, "samples", "step-000020.png");
        Assert.True(File.Exists(samplePath), "sample grid of step 20");
        // Rank 0's TensorBoard event file holds the scalars of every step and the sample grids.
        var events = Assert.Single(Directory.GetFiles(Path.Combine(run, "tensorboard"), "events.out.tfevents.*"));
        var eventText = System.Text.Encoding.Latin1.GetString(await File.ReadAllBytesAsync(events));
        Assert.Contains("metrics/loss_d", eventText);
        Assert.Contains("samples", eventText);

        var checkpoint = CheckpointStore.Load(Path.Combine(run, "checkpoints", CheckpointStore.DirectoryName(20)));
        Assert.Equal(20, checkpoint.Manifest.Step);
        Assert.Equal(2, checkpoint.Manifest.WorldSize);

        var spec = checkpoint.Manifest.ReadSpec(checkpoint.Directory);
        Assert.Equal("dcgan", checkpoint.Manifest.ModelKind);
        using var scope = torch.NewDisposeScope();
        // The trainers drew the grid on one thread; the same thread count gives the same float sums.
        torch.set_num_threads(1);
        using var recipe = RecipeRegistry.Create(spec.Model, new RecipeSetup { Seed = 12345, Classes = 10 });
        RecipeCheckpoint.Load(recipe, checkpoint, networksOnly: true);
        using var batch = recipe.Sample(TrainingSession.GridRequest(spec.Seed, 64, recipe.Classes));
        var (width, height, _, pixels) = SampleGrid.Render(batch.Images, columns: 8);
        using var rendered = new MemoryStream();
        PngWriter.WriteGrayscale(rendered, width, height, pixels);

        Assert.Equal(await File.ReadAllBytesAsync(samplePath), rendered.ToArray());
    }

    [Fact]
    public async Task CtrlCStopsTheJobAfterAVerifiedCheckpoint()
    {
        await using var local = StartLocal("--steps", "100000", "--batch", "8", "--width", "8", "--dataset-limit", "512",
            "--checkpoint-every", "100000", "--sample-every", "100000", "--grace-seconds", "20", "--evaluate", "false");

        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (!File.ReadAllText(Log).Contains("Running x2", StringComparison.Ordinal) || !StepsDone(File.ReadAllText(Log)))
        {
            Assert.False(local.HasExited, $"gencluster local exited early:{Environment.NewLine}{File.ReadAllText(Log)}");
            Assert.True(DateTime.UtcNow < deadline, $"training did not start within 2 minutes:{Environment.NewLine}{File.ReadAllText(Log)}");
            await Task.Delay(250);
        }

        local.Interrupt();
        var exited = await local.WaitForExitAsync(TimeSpan.FromSeconds(60));
        var output = await File.ReadAllTextAsync(Log);
        Assert.True(exited, $"gencluster local did not stop within 60 s of Ctrl+C:{Environment.NewLine}{output}");
        Assert.Equal(130, local.ExitCode);
        Assert.Contains("Preempted", output);

        var run = Assert.Single(Directory.GetDirectories(Runs), d => !Path.GetFileName(d).StartsWith('.'));
        var store = new CheckpointStore(Path.Combine(run, "checkpoints"), 3);
        var checkpoint = store.LoadLatestGood(out var rejected);
        Assert.Empty(rejected);
        Assert.NotNull(checkpoint);
        Assert.True(checkpoint.Manifest.Step > 0, "the Ctrl+C checkpoint holds the steps trained");
        Assert.Contains($"latest: {Path.GetFileName(checkpoint.Directory)}", output);
    }

    [Fact]
    public async Task AConditionalJobIsEvaluatedAtTheEndAndItsCheckpointSampledByTheCli()
    {
        await using var local = StartLocal("--model", "cgan", "--set", "latentDim=16", "--steps", "30", "--batch", "16", "--width", "32",
            "--dataset-limit", "2048", "--checkpoint-every", "30", "--sample-every", "30", "--grace-seconds", "10", "--evaluate", "true");
        var exited = await local.WaitForExitAsync(TimeSpan.FromMinutes(6));
        var output = await File.ReadAllTextAsync(Log);
        Assert.True(exited, $"gencluster local did not finish within 6 minutes:{Environment.NewLine}{output}");
        Assert.True(local.ExitCode == 0, $"gencluster local exited {local.ExitCode}:{Environment.NewLine}{output}");
        Assert.Contains("evaluated", output);
        Assert.Matches(@"evaluation   FID \d+\.\d{3} \(real-data floor \d+\.\d{3}, [\d.]+x\), \d+ of 10 classes present, label accuracy", output);

        var run = Assert.Single(Directory.GetDirectories(Runs), d => !Path.GetFileName(d).StartsWith('.'));
        using (var report = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(run, "evaluation.json"))))
        {
            Assert.Equal(10_000, report.RootElement.GetProperty("sample_count").GetInt32());
            Assert.InRange(report.RootElement.GetProperty("label_accuracy").GetDouble(), 0, 1);
        }

        var checkpoint = Path.Combine(run, "checkpoints", CheckpointStore.DirectoryName(30));
        var npy = Path.Combine(_root, "digits.npy");
        await using (var sample = Launcher.Start("gencluster sample", Path.Combine(AppContext.BaseDirectory, "gencluster.dll"),
                         ["sample", "--checkpoint", checkpoint, "--count", "40", "--class", "3", "--ema", "--out", npy, "--threads", "1"], Path.Combine(_root, "sample.log")))
        {
            Assert.True(await sample.WaitForExitAsync(TimeSpan.FromMinutes(2)), await File.ReadAllTextAsync(Path.Combine(_root, "sample.log")));
            Assert.True(sample.ExitCode == 0, await File.ReadAllTextAsync(Path.Combine(_root, "sample.log")));
        }
        var images = NpyFile.ReadImages(npy);
        Assert.Equal((40, 1, 28, 28), (images.Count, images.Channels, images.Height, images.Width));
        Assert.All(NpyFile.ReadLabels(Path.Combine(_root, "digits.labels.npy")), label => Assert.Equal(3, label));
        Assert.True(File.Exists(Path.Combine(_root, "digits.png")));
    }

    private string Runs => Path.Combine(_root, "runs");

    private string Log => Path.Combine(_root, "local.log");

    /// <summary>Starts the real <c>gencluster local</c> with two single-threaded trainers under this test's directory.</summary>
    private Launcher StartLocal(params string[] options) =>
        Launcher.Start("gencluster local", Path.Combine(AppContext.BaseDirectory, "gencluster.dll"),
            ["local", "--workers", "2", "--threads", "1", "--runs-dir", Runs, "--data-dir", Path.Combine(_root, "data"), .. options], Log);

    /// <summary>True once the progress line shows at least one finished step.</summary>
    private static bool StepsDone(string output) =>
        System.Text.RegularExpressions.Regex.IsMatch(output, @"\]\s+[1-9]\d*/100000");
}
