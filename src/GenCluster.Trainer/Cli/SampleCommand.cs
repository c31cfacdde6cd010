using System.CommandLine;
using GenCluster.Trainer.Checkpoints;
using GenCluster.Trainer.Evaluation;
using GenCluster.Trainer.Imaging;
using GenCluster.Trainer.Recipes;
using GenCluster.Trainer.Sampling;
using TorchSharp;

namespace GenCluster.Trainer.Cli;

/// <summary>
/// <c>gencluster-trainer sample</c>: N images from a checkpoint directory to a NumPy file (uint8, N×C×H×W), their labels
/// beside it for conditional models (<c>x.labels.npy</c>, int64), and a PNG grid (<c>x.png</c>: one row per class for
/// conditional models).
/// </summary>
public static class SampleCommand
{
    /// <summary>Exit code of a usage or input error.</summary>
    public const int UsageError = 2;

    /// <summary>The <c>sample</c> verb.</summary>
    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "Checkpoint directory (its manifest names the model kind and options)", Required = true };
        var count = new Option<int>("--count") { Description = "Images to draw", DefaultValueFactory = _ => 10_000 };
        var output = new Option<string>("--out") { Description = "Output .npy file (labels go to <name>.labels.npy, a grid to <name>.png)", Required = true };
        var classLabel = new Option<int?>("--class") { Description = "Conditional models: draw only this class" };
        var ema = new Option<bool>("--ema") { Description = "Sample the EMA copy of the generator" };
        var seed = new Option<long>("--seed") { Description = "Seed of the latents", DefaultValueFactory = _ => 1 };
        var truncation = new Option<double>("--truncation") { Description = "Truncation trick: resample latent values above this magnitude (0 = none)", DefaultValueFactory = _ => 0 };
        var threads = new Option<int>("--threads") { Description = "TorchSharp intra-op threads (0 = libtorch default)", DefaultValueFactory = _ => 2 };
        var temperature = new Option<double?>("--temperature") { Description = "Autoregressive priors (vqvae2): softmax temperature (default: the model's priorTemperature)" };
        var bottomTemperature = new Option<double?>("--bottom-temperature") { Description = "vqvae2: the bottom prior's temperature (default: --temperature, else the model's bottomPriorTemperature)" };
        var reconstruct = new Option<bool>("--reconstruct") { Description = "Autoencoders: reconstruct the first --count MNIST test images instead; --out names a PNG with inputs and reconstructions in alternate rows" };
        var dataDir = new Option<string>("--data-dir") { Description = "With --reconstruct: data directory (MNIST under <dir>/mnist)", DefaultValueFactory = _ => "data" };
        var command = new Command("sample", "Draw N images from a checkpoint into a .npy file (and labels and a PNG grid beside it), or reconstruct test images with an autoencoder")
        {
            checkpoint, count, output, classLabel, ema, seed, truncation, threads, temperature, bottomTemperature, reconstruct, dataDir,
        };
        command.SetAction(async (parse, cancellationToken) => parse.GetValue(reconstruct)
            ? await ReconstructAsync(parse.GetValue(checkpoint)!, parse.GetValue(output)!, parse.GetValue(count), parse.GetValue(dataDir)!,
                parse.GetValue(threads), Console.Out, Console.Error, cancellationToken)
            : Run(
                parse.GetValue(checkpoint)!, parse.GetValue(output)!,
                new SamplingRequest(parse.GetValue(count), parse.GetValue(classLabel), parse.GetValue(ema), parse.GetValue(seed), parse.GetValue(truncation),
                    Temperature: parse.GetValue(temperature), BottomTemperature: parse.GetValue(bottomTemperature)),
                parse.GetValue(threads), Console.Out, Console.Error));
        return command;
    }

    /// <summary>
    /// Reconstructs the first <paramref name="count"/> MNIST test images with the autoencoder of <paramref name="checkpoint"/>
    /// and writes them side by side with the inputs (rows of 8 alternating input, reconstruction) to <paramref name="output"/> (.png).
    /// </summary>
    public static async Task<int> ReconstructAsync(string checkpoint, string output, int count, string dataDirectory, int threads,
        TextWriter log, TextWriter error, CancellationToken cancellationToken = default)
    {
        const int columns = 8;
        if (!output.EndsWith(".png", StringComparison.Ordinal))
            return Fail(error, $"--out must name a .png file with --reconstruct, got '{output}'");
        if (count < columns || count % columns != 0)
            return Fail(error, $"--count must be a positive multiple of {columns} with --reconstruct (one row per {columns} images), got {count}");
        if (threads > 0) torch.set_num_threads(threads);
        try
        {
            var loaded = CheckpointStore.Load(checkpoint);
            using var recipe = CheckpointSampler.LoadRecipe(loaded);
            if (recipe is not IReconstructingRecipe autoencoder)
                return Fail(error, $"--reconstruct: model kind '{recipe.Kind}' is not an autoencoder; it only samples");
            var data = await MnistSplits.LoadAsync(dataDirectory, cancellationToken: cancellationToken);
            if (count > data.TestImages.Count) return Fail(error, $"--count must be at most {data.TestImages.Count}, got {count}");
            using var scope = torch.NewDisposeScope();
            var inputs = data.TestImages.Batch(0, count);
            SampleGrid.WritePng(output, ReconstructionGrid.Interleave(inputs, autoencoder.Reconstruct(inputs), columns), columns);
            log.WriteLine($"{count} MNIST test images and their {recipe.Kind} reconstructions (step {loaded.Manifest.Step}) -> {output}");
            return 0;
        }
        catch (Exception ex) when (ex is CheckpointCorruptException or CheckpointMismatchException or ArgumentException or FileNotFoundException)
        {
            return Fail(error, ex.Message);
        }
    }

    /// <summary>Runs the verb; returns the exit code.</summary>
    public static int Run(string checkpoint, string output, SamplingRequest request, int threads, TextWriter log, TextWriter error)
    {
        if (!output.EndsWith(".npy", StringComparison.Ordinal))
            return Fail(error, $"--out must name a .npy file, got '{output}'");
        if (request.Truncation < 0 || !double.IsFinite(request.Truncation))
            return Fail(error, $"--truncation must be 0 (none) or a positive number, got {request.Truncation}");
        if (threads > 0) torch.set_num_threads(threads);
        SampledImages sampled;
        try
        {
            var bar = new ProgressBar(error, "sampling", request.Count, interactive: !Console.IsErrorRedirected);
            sampled = CheckpointSampler.Sample(checkpoint, request, bar.Report);
        }
        catch (Exception ex) when (ex is CheckpointCorruptException or CheckpointMismatchException or ArgumentException)
        {
            return Fail(error, ex.Message);
        }
        NpyFile.WriteImages(output, sampled.Images);
        var stem = output[..^".npy".Length];
        if (sampled.Labels is { } labels) NpyFile.WriteLabels(stem + ".labels.npy", labels);
        WriteGrid(stem + ".png", sampled);
        log.WriteLine($"{sampled.Images.Count} images {sampled.Images.ShapeText} of {sampled.ModelKind} at step {sampled.Step} -> {output}" +
                      (sampled.Labels is null ? "" : $", labels -> {stem}.labels.npy") + $", grid -> {stem}.png");
        return 0;
    }

    /// <summary>Up to 8 rows of 8; conditional models get one row per class (the first 8 images drawn for it).</summary>
    private static void WriteGrid(string path, SampledImages sampled)
    {
        var images = sampled.Images;
        var chosen = sampled.Labels is { } labels
            ? labels.Select((label, index) => (label, index)).GroupBy(x => x.label).OrderBy(g => g.Key).SelectMany(g => g.Take(8).Select(x => x.index)).ToArray()
            : Enumerable.Range(0, Math.Min(64, images.Count)).ToArray();
        using var scope = torch.NewDisposeScope();
        SampleGrid.WritePng(path, images.Batch(chosen), columns: 8);
    }

    private static int Fail(TextWriter error, string message)
    {
        error.WriteLine($"sample: {message}");
        return UsageError;
    }
}
