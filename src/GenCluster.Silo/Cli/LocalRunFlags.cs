using System.CommandLine;
using GenCluster.Silo.Local;

namespace GenCluster.Silo.Cli;

/// <summary>The flags describing a run on a local cluster, shared by <c>local</c> and <c>chaos</c> (each with its own defaults).</summary>
internal sealed class LocalRunFlags
{
    private readonly LocalRunOptions _defaults;
    private readonly Option<string> _model;
    private readonly Option<string[]> _set;
    private readonly Option<bool> _syncBn;
    private readonly Option<bool> _shardOptimizer;
    private readonly Option<bool> _evaluate;
    private readonly Option<string> _dataset;
    private readonly Option<int> _imageSize;
    private readonly Option<int> _channels;
    private readonly Option<int> _workers;
    private readonly Option<long> _steps;
    private readonly Option<int> _batch;
    private readonly Option<int> _width;
    private readonly Option<int> _globalBatch;
    private readonly Option<int?> _dSteps;
    private readonly Option<long?> _emaStart;
    private readonly Option<int> _limit;
    private readonly Option<int> _checkpointEvery;
    private readonly Option<int> _sampleEvery;
    private readonly Option<long> _seed;
    private readonly Option<string> _gradientTransfer;
    private readonly Option<string> _overlap;
    private readonly Option<int> _threads;
    private readonly Option<string> _bindCores;
    private readonly Option<string> _runs;
    private readonly Option<string> _data;
    private readonly Option<string> _trainer;
    private readonly Option<double> _grace;

    private readonly bool _presets;

    /// <summary>Flags with defaults <paramref name="d"/>; with <paramref name="presets"/> the model kind's local preset fills the flags not given.</summary>
    public LocalRunFlags(LocalRunOptions d, bool presets = false)
    {
        _defaults = d;
        _presets = presets;
        _model = new("--model") { Description = $"Model kind: {string.Join(", ", GenCluster.Contracts.Models.ModelCatalog.Kinds)}", DefaultValueFactory = _ => d.Model };
        _set = new("--set") { Description = "A model option as name=value (camelCase, e.g. dSteps=5, emaDecay=0.999); repeatable", AllowMultipleArgumentsPerToken = false };
        _shardOptimizer = new("--shard-optimizer") { Description = "Shard Adam's state over the workers (ZeRO-1): optimiser memory per worker falls by the worker count; GAN kinds with Adam" };
        _syncBn = new("--sync-bn") { Description = "Cross-replica BatchNorm: G's and D's BatchNorm use the statistics of all workers' batches (the model option syncBn=true)" };
        _evaluate = new("--evaluate") { Description = "Score samples of the final model at the end (Fréchet distance in a digit classifier's features)", DefaultValueFactory = _ => d.Evaluate };
        _dataset = new("--dataset") { Description = "Data set: mnist, or the path of an image folder (one sub-folder of PNG/JPEG images per class) or of CIFAR-10 binary batches", DefaultValueFactory = _ => d.Dataset };
        _imageSize = new("--image-size") { Description = "Side of the training images (0 = the data's own: 28 MNIST, 32 CIFAR-10 and image folders); image folders are scaled and centre-cropped", DefaultValueFactory = _ => d.ImageSize };
        _channels = new("--channels") { Description = "Channels of the training images: 0 = the data's own (1 MNIST, 3 otherwise), 1 grey, 3 RGB", DefaultValueFactory = _ => d.Channels };
        _workers = new("--workers", "-n") { Description = "Trainer processes", DefaultValueFactory = _ => d.Workers };
        _steps = new("--steps") { Description = "Optimizer steps", DefaultValueFactory = _ => d.Steps };
        _batch = new("--batch") { Description = "Images per worker per step", DefaultValueFactory = _ => d.PerWorkerBatch };
        _width = new("--width") { Description = "Base channel width of G and D (0 = the model kind's default)", DefaultValueFactory = _ => d.Width };
        _globalBatch = new("--global-batch") { Description = "Images per optimiser step over all trainers (0 = --batch × --workers); the rest is gradient accumulation", DefaultValueFactory = _ => d.GlobalBatch };
        _dSteps = new("--d-steps") { Description = "GAN kinds: D updates per G update (same as --set dSteps=N)" };
        _emaStart = new("--ema-start") { Description = "GAN kinds: step from which G's weights are averaged (same as --set emaStart=N)" };
        _limit = new("--dataset-limit") { Description = "Use only the first N images (0 = all)", DefaultValueFactory = _ => d.DatasetLimit };
        _checkpointEvery = new("--checkpoint-every") { Description = "Checkpoint every N steps", DefaultValueFactory = _ => d.CheckpointEvery };
        _sampleEvery = new("--sample-every") { Description = "Sample grid every N steps (0 = only at the end)", DefaultValueFactory = _ => d.SampleEvery };
        _seed = new("--seed") { Description = "Seed", DefaultValueFactory = _ => d.Seed };
        _overlap = new("--overlap") { Description = "All-reduce gradients during backward: auto (where every trainer has a core beside its threads), on or off", DefaultValueFactory = _ => d.Overlap };
        _gradientTransfer = new("--gradient-transfer") { Description = "Gradients on the ring: fp32 (exact) or bf16 (half the bytes)", DefaultValueFactory = _ => d.GradientTransfer };
        _threads = new("--threads") { Description = "TorchSharp threads per trainer (0 = share the cores)", DefaultValueFactory = _ => d.Threads };
        _bindCores = new("--bind-cores") { Description = "Bind each trainer's threads to its own cores: off, auto (when there are several trainers and a core for each) or on", DefaultValueFactory = _ => d.BindCores };
        _runs = new("--runs-dir") { Description = "Where runs (checkpoints, samples) go", DefaultValueFactory = _ => d.RunsDirectory };
        _data = new("--data-dir") { Description = "Where data sets are kept (MNIST is fetched when missing)", DefaultValueFactory = _ => d.DataDirectory };
        _trainer = new("--trainer") { Description = "Path of gencluster-trainer.dll (default: found beside this build)", DefaultValueFactory = _ => d.TrainerPath };
        _grace = new("--grace-seconds") { Description = "Time trainers get to checkpoint on Ctrl+C or SIGTERM", DefaultValueFactory = _ => d.GraceSeconds };
    }

    /// <summary>Adds every flag to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        Option[] all = [_model, _set, _syncBn, _evaluate, _dataset, _imageSize, _channels, _workers, _steps, _batch, _globalBatch, _dSteps, _emaStart, _width, _limit, _checkpointEvery, _sampleEvery, _seed, _gradientTransfer, _overlap, _shardOptimizer, _threads, _bindCores, _runs, _data, _trainer, _grace];
        foreach (var option in all) command.Options.Add(option);
    }

    /// <summary>The run the flags describe.</summary>
    public LocalRunOptions Bind(ParseResult result)
    {
        var model = result.GetValue(_model)!;
        var preset = _presets ? LocalPresets.For(model) : null;
        T Pick<T>(Option<T> option, Func<LocalPreset, T> fromPreset) =>
            preset is not null && result.GetResult(option) is null or { Implicit: true } ? fromPreset(preset) : result.GetValue(option)!;
        return Bound(result) with
        {
            ModelSettings = [.. preset?.Settings ?? [], .. Settings(result)],
            Steps = Pick(_steps, p => p.Steps),
            GlobalBatch = Pick(_globalBatch, p => p.GlobalBatch),
            PerWorkerBatch = Pick(_batch, p => p.PerWorkerBatch),
            Width = Pick(_width, p => p.Width),
            CheckpointEvery = Pick(_checkpointEvery, p => p.Cadence),
            SampleEvery = Pick(_sampleEvery, p => p.Cadence),
        };
    }

    private LocalRunOptions Bound(ParseResult result) => _defaults with
    {
        Model = result.GetValue(_model)!,
        ModelSettings = [.. Settings(result)],
        GlobalBatch = result.GetValue(_globalBatch),
        Evaluate = result.GetValue(_evaluate),
        Dataset = result.GetValue(_dataset)!,
        ImageSize = result.GetValue(_imageSize),
        Channels = result.GetValue(_channels),
        Workers = result.GetValue(_workers),
        Steps = result.GetValue(_steps),
        PerWorkerBatch = result.GetValue(_batch),
        Width = result.GetValue(_width),
        DatasetLimit = result.GetValue(_limit),
        CheckpointEvery = result.GetValue(_checkpointEvery),
        SampleEvery = result.GetValue(_sampleEvery),
        Seed = result.GetValue(_seed),
        GradientTransfer = result.GetValue(_gradientTransfer)!,
        Overlap = result.GetValue(_overlap)!,
        ShardOptimizer = result.GetValue(_shardOptimizer),
        Threads = result.GetValue(_threads),
        BindCores = result.GetValue(_bindCores)!,
        RunsDirectory = result.GetValue(_runs)!,
        DataDirectory = result.GetValue(_data)!,
        TrainerPath = result.GetValue(_trainer)!,
        GraceSeconds = result.GetValue(_grace),
    };

    /// <summary>--set, then the model-option flags as <c>name=value</c> settings (later ones win).</summary>
    private IEnumerable<string> Settings(ParseResult result)
    {
        foreach (var setting in result.GetValue(_set) ?? []) yield return setting;
        if (result.GetValue(_syncBn)) yield return "syncBn=true";
        if (result.GetValue(_dSteps) is { } dSteps) yield return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"dSteps={dSteps}");
        if (result.GetValue(_emaStart) is { } emaStart) yield return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"emaStart={emaStart}");
    }

    /// <summary>Prints <paramref name="problems"/> (exit 2) or runs the verb, turning expected failures into a message and exit 1.</summary>
    public static async Task<int> RunAsync(ParseResult result, string verb, IReadOnlyList<string> problems, Func<TextWriter, Task<int>> run)
    {
        var error = result.InvocationConfiguration.Error;
        if (problems.Count > 0)
        {
            foreach (var p in problems) error.WriteLine(p);
            return 2;
        }
        try
        {
            return await run(result.InvocationConfiguration.Output);
        }
        catch (Exception ex) when (ex is FileNotFoundException or InvalidOperationException or TimeoutException or InvalidDataException or Api.GenClusterApiException)
        {
            error.WriteLine($"gencluster {verb}: {ex.Message}");
            return 1;
        }
    }
}
