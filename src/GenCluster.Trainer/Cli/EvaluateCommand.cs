using System.CommandLine;
using GenCluster.Contracts.Jobs;
using GenCluster.Trainer.Checkpoints;
using GenCluster.Trainer.Evaluation;
using GenCluster.Trainer.Sampling;
using GenCluster.Trainer.Imaging;
using GenCluster.Trainer.Recipes;
using TorchSharp;

namespace GenCluster.Trainer.Cli;

/// <summary>
/// <c>gencluster-trainer evaluate</c>: FID, KID, their floors and the class histogram of 28×28 grey images (an .npy file,
/// or a real MNIST split as a sanity check) against the MNIST test split.
/// </summary>
public static class EvaluateCommand
{
    /// <summary>Exit code of a usage or input error (missing file, wrong shape, unknown data set).</summary>
    public const int UsageError = 2;

    /// <summary>The <c>evaluate</c> verb.</summary>
    public static Command Create()
    {
        var samples = new Option<string?>("--samples") { Description = "uint8 images N x 1 x 28 x 28 (.npy)" };
        var labels = new Option<string?>("--labels") { Description = "int64 intended digit of each image, N (.npy)" };
        var realSplit = new Option<string?>("--real-split") { Description = "Evaluate real MNIST images instead of --samples: test or train" };
        var count = new Option<int>("--count") { Description = "Images taken from --real-split (the first N)", DefaultValueFactory = _ => 10_000 };
        var dataset = new Option<string>("--dataset") { Description = "Reference data set", DefaultValueFactory = _ => "mnist" };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON" };
        var dataDir = new Option<string>("--data-dir") { Description = "Data directory (MNIST and the cached classifier live under <dir>/mnist)", DefaultValueFactory = _ => "data" };
        var threads = new Option<int>("--threads") { Description = "TorchSharp intra-op threads (0 = libtorch default)", DefaultValueFactory = _ => 2 };
        var checkpoint = new Option<string?>("--checkpoint") { Description = "Sample --count images from this checkpoint directory first, then evaluate them (with their labels for conditional models)" };
        var ema = new Option<bool>("--ema") { Description = "With --checkpoint: sample the EMA generator" };
        var seed = new Option<long>("--seed") { Description = "With --checkpoint: seed of the latents", DefaultValueFactory = _ => 1 };
        var temperature = new Option<double?>("--temperature") { Description = "With --checkpoint of an autoregressive prior (vqvae2): softmax temperature (default: the model's priorTemperature)" };
        var bottomTemperature = new Option<double?>("--bottom-temperature") { Description = "With --checkpoint of vqvae2: the bottom prior's temperature (default: --temperature, else the model's bottomPriorTemperature)" };
        var command = new Command("evaluate", "Measure images against the MNIST test split: classifier-feature FID and KID with their real-data floors, class histogram, label accuracy")
        {
            samples, labels, realSplit, count, dataset, json, dataDir, threads, checkpoint, ema, seed, temperature, bottomTemperature,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var request = new EvaluateRequest(
                parse.GetValue(samples), parse.GetValue(labels), parse.GetValue(realSplit), parse.GetValue(count),
                parse.GetValue(dataset)!, parse.GetValue(json), parse.GetValue(dataDir)!, parse.GetValue(threads),
                parse.GetValue(checkpoint), parse.GetValue(ema), parse.GetValue(seed), parse.GetValue(temperature), parse.GetValue(bottomTemperature));
            var options = new SampleEvaluatorOptions { DataDirectory = request.DataDirectory };
            return await RunAsync(request, options, Console.Out, Console.Error, cancellationToken);
        });
        return command;
    }

    /// <summary>What one <c>evaluate</c> invocation asks for.</summary>
    /// <param name="Samples">Path of the images .npy, or null with <paramref name="RealSplit"/>.</param>
    /// <param name="Labels">Path of the labels .npy, or null.</param>
    /// <param name="RealSplit"><c>test</c> or <c>train</c> to evaluate real images, or null.</param>
    /// <param name="Count">Images taken from the real split.</param>
    /// <param name="Dataset">Reference data set name.</param>
    /// <param name="Json">Print JSON instead of text.</param>
    /// <param name="DataDirectory">The data directory (<c>--data-dir</c>).</param>
    /// <param name="Threads">TorchSharp threads; 0 leaves libtorch's default.</param>
    /// <param name="Checkpoint">A checkpoint directory to sample <paramref name="Count"/> images from first, or null.</param>
    /// <param name="Ema">Sample the checkpoint's EMA generator.</param>
    /// <param name="Seed">Seed of the checkpoint's latents.</param>
    /// <param name="Temperature">Softmax temperature of an autoregressive prior (null = the model's own).</param>
    /// <param name="BottomTemperature">VQ-VAE-2's bottom prior temperature (null = <paramref name="Temperature"/>, else the model's own).</param>
    public sealed record EvaluateRequest(
        string? Samples, string? Labels, string? RealSplit, int Count, string Dataset, bool Json, string DataDirectory, int Threads,
        string? Checkpoint = null, bool Ema = false, long Seed = 1, double? Temperature = null, double? BottomTemperature = null);

    /// <summary>
    /// Runs the verb with <paramref name="evaluatorOptions"/> (the command passes the defaults with <c>--data-dir</c>):
    /// report on <paramref name="output"/>, progress and errors on <paramref name="error"/>; returns the exit code.
    /// </summary>
    public static async Task<int> RunAsync(EvaluateRequest request, SampleEvaluatorOptions evaluatorOptions, TextWriter output, TextWriter error,
        CancellationToken cancellationToken = default)
    {
        if (request.Dataset != "mnist")
            return Fail(error, $"--dataset '{request.Dataset}' is not supported; expected 'mnist'");
        if (new[] { request.Samples, request.RealSplit, request.Checkpoint }.Count(s => s is not null) != 1)
            return Fail(error, "give exactly one of --samples <file.npy>, --checkpoint <dir> and --real-split test|train");
        if (request.Checkpoint is not null && request.Labels is not null)
            return Fail(error, "--labels goes with --samples; a checkpoint's samples bring their own labels");
        if (request.RealSplit is not (null or "test" or "train"))
            return Fail(error, $"--real-split '{request.RealSplit}' is not supported; expected 'test' or 'train'");
        if (request.RealSplit is not null && request.Labels is not null)
            return Fail(error, "--labels goes with --samples; a real split brings its own labels");
        if (request.Count < 2)
            return Fail(error, $"--count must be at least 2, got {request.Count}");

        ImageArray? images = null;
        long[]? labels = null;
        try
        {
            if (request.Samples is { } samplesPath)
            {
                images = NpyFile.ReadImages(samplesPath);
                if (images.Channels != 1 || images.Height != 28 || images.Width != 28 || images.Count < 2)
                    return Fail(error, $"{samplesPath}: shape is {images.ShapeText}, expected (N, 1, 28, 28) uint8 with N >= 2");
            }
            if (request.Labels is { } labelsPath)
            {
                labels = NpyFile.ReadLabels(labelsPath);
                if (labels.Length != images!.Count)
                    return Fail(error, $"{labelsPath}: {labels.Length} labels, but {request.Samples} has {images.Count} images");
                if (labels.FirstOrDefault(l => l is < 0 or >= MnistFeatureClassifier.ClassCount, -1) is var bad and not -1)
                    return Fail(error, $"{labelsPath}: label {bad} is not a digit 0-9");
            }
        }
        catch (Exception ex) when (ex is FileNotFoundException or InvalidDataException)
        {
            return Fail(error, ex.Message);
        }

        if (request.Threads > 0) torch.set_num_threads(request.Threads);
        ReconstructionReport? reconstruction = null;
        SampleEvaluator? evaluator = null;
        if (request.Checkpoint is { } directory)
        {
            try
            {
                var checkpoint = CheckpointStore.Load(directory);
                if (checkpoint.Manifest.Spec is { ValueKind: System.Text.Json.JsonValueKind.Object } &&
                    EvaluationScope.SkipReason(checkpoint.Manifest.ReadSpec(directory).Dataset) is { } reason)
                    return Fail(error, $"{directory}: {reason}");
                using var recipe = CheckpointSampler.LoadRecipe(checkpoint);
                if (recipe is IReconstructingRecipe)
                {
                    // Autoencoders: the test split's reconstructions first, whether or not the model also samples.
                    evaluator = await SampleEvaluator.CreateAsync(evaluatorOptions, error, cancellationToken);
                    var test = evaluator.Data.TestImages;
                    var reconstructing = new ProgressBar(error, "reconstructing", test.Count, interactive: !Console.IsErrorRedirected);
                    reconstruction = ReconstructionEvaluator.EvaluateIfAutoencoder(recipe, test, evaluator, reconstructing.Report)!;
                    if (!recipe.CanSample)
                    {
                        output.Write(request.Json ? reconstruction.ToJson() + Environment.NewLine : reconstruction.ToText());
                        evaluator.Dispose();
                        return 0;
                    }
                }
                var bar = new ProgressBar(error, "sampling", request.Count, interactive: !Console.IsErrorRedirected);
                var sampled = CheckpointSampler.Sample(recipe, checkpoint, new SamplingRequest(request.Count, Ema: request.Ema, Seed: request.Seed, Temperature: request.Temperature, BottomTemperature: request.BottomTemperature), bar.Report);
                if (sampled.Images.Channels != 1 || sampled.Images.Height != 28 || sampled.Images.Width != 28)
                    return Fail(error, $"{directory}: the model draws {sampled.Images.ShapeText} images; the MNIST measure needs (N, 1, 28, 28)");
                (images, labels) = (sampled.Images, sampled.Labels);
            }
            catch (Exception ex) when (ex is CheckpointCorruptException or CheckpointMismatchException or ArgumentException)
            {
                evaluator?.Dispose();
                return Fail(error, ex.Message);
            }
        }
        evaluator ??= await SampleEvaluator.CreateAsync(evaluatorOptions, error, cancellationToken);
        using var owned = evaluator;
        if (request.RealSplit is { } split)
            (images, labels) = First(split == "test"
                ? (evaluator.Data.TestImages, evaluator.Data.TestLabels)
                : (evaluator.Data.TrainImages, evaluator.Data.TrainLabels), request.Count);

        var report = evaluator.Evaluate(images!, labels);
        if (reconstruction is not null && !request.Json) output.Write(reconstruction.ToText());
        output.Write(request.Json ? report.ToJson() + Environment.NewLine : report.ToText());
        return 0;
    }

    private static (ImageArray, long[]) First((ImageArray Images, long[] Labels) split, int count)
    {
        var n = Math.Min(count, split.Images.Count);
        var pixels = split.Images.Pixels.AsSpan(0, n * split.Images.ImageBytes).ToArray();
        return (split.Images with { Pixels = pixels, Count = n }, split.Labels[..n]);
    }

    private static int Fail(TextWriter error, string message)
    {
        error.WriteLine($"evaluate: {message}");
        return UsageError;
    }
}
