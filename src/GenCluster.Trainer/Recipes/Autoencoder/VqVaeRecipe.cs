using GenCluster.Contracts.Models;
using GenCluster.Trainer.Evaluation;
using GenCluster.Trainer.Layers;
using GenCluster.Trainer.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenCluster.Trainer.Recipes.Autoencoder;

/// <summary>
/// VQ-VAE and VQ-VAE-2 training. Autoencoder stage: reconstruction MSE (images in [−1, 1]) plus β × the commitment
/// loss of every level; the encoder and decoder step on the averaged gradient; each codebook's per-code counts and
/// sums for the step are SUM-all-reduced over the round and only then applied as the EMA update (with dead-code
/// restarts), so every rank holds the identical codebook. VQ-VAE-2's prior stage: the stage-1 model is frozen (no
/// gradient, no codebook update), it assigns codes to each real batch, and the top and bottom gated PixelCNNs step on
/// their averaged negative log-likelihood gradient.
/// </summary>
/// <remarks>
/// Networks: <c>autoencoder</c> (codebooks in buffers: <see cref="BufferPolicy.AllReducedBeforeUpdate"/>) and, for
/// VQ-VAE-2, <c>prior</c>. Metrics: <c>mse</c> in [0, 1] pixel units, <c>commitment</c>, per level
/// <c>perplexity_*</c> and <c>usage_*</c> (share of the codebook the step's whole batch used), <c>restarts</c>; in
/// the prior stage <c>nll_top_bits</c> and <c>nll_bottom_bits</c> (bits per code). A stage reports NaN for the other
/// stage's metrics.
/// </remarks>
public sealed class VqVaeRecipe : ITrainingRecipe, IReconstructingRecipe
{
    private readonly VectorQuantizedOptions _options;
    private readonly VectorQuantizedAutoencoder _autoencoder;
    private readonly VqVae2Prior? _prior;
    private readonly VqVae2Prior? _priorEma;
    private readonly OptimizerHelper _optimizer;
    private readonly OptimizerHelper? _priorOptimizer;
    private readonly GradientBuckets _buckets;
    private readonly GradientBuckets? _priorBuckets;
    private readonly BackwardOverlap? _overlap;
    private readonly BackwardOverlap? _priorOverlap;

    /// <summary>Metric names.</summary>
    public const string Mse = "mse", Commitment = "commitment", Restarts = "restarts", NllTop = "nll_top_bits", NllBottom = "nll_bottom_bits";

    /// <summary>The registry's factory.</summary>
    public static ITrainingRecipe Create(ModelOptions options, RecipeSetup setup) => new VqVaeRecipe((VectorQuantizedOptions)options, setup);

    /// <summary>Builds the networks and optimisers.</summary>
    public VqVaeRecipe(VectorQuantizedOptions options, RecipeSetup setup)
    {
        if (setup.Height != setup.Width)
            throw new ArgumentException($"model.kind {options.Kind}: images must be square, got {setup.Height}×{setup.Width}");
        _options = options;
        _autoencoder = VectorQuantizedAutoencoder.For(options, setup.Channels, setup.Height, setup.Width, setup.Seed);
        _autoencoder.to(setup.Device);
        var networks = new List<RecipeNetwork> { new("autoencoder", _autoencoder, BufferPolicy.AllReducedBeforeUpdate) };
        _optimizer = new Training.KeptScalars.Adam(_autoencoder.parameters(), options.LearningRate, options.Beta1, options.Beta2);
        var optimizers = new List<RecipeOptimizer> { new("autoencoder", _optimizer) };
        _buckets = new GradientBuckets(_autoencoder.parameters(), setup.BucketBytesFor(setup.Overlaps), setup.WorldSize);
        if (setup.Overlaps) _overlap = new BackwardOverlap(_autoencoder, _buckets);
        var metrics = new List<string> { Mse, Commitment };
        foreach (var (level, _) in _autoencoder.Quantizers) metrics.AddRange([$"perplexity_{level}", $"usage_{level}"]);
        metrics.Add(Restarts);
        if (options is VqVae2Options two)
        {
            _prior = new VqVae2Prior(two, setup.Seed);
            _prior.to(setup.Device);
            networks.Add(new("prior", _prior, BufferPolicy.IdenticalByConstruction));
            _priorOptimizer = new Training.KeptScalars.Adam(_prior.parameters(), two.PriorLearningRate, options.Beta1, options.Beta2);
            optimizers.Add(new("prior", _priorOptimizer));
            if (two.PriorEmaDecay > 0)
            {
                _priorEma = new VqVae2Prior(two, setup.Seed);
                _priorEma.to(setup.Device);
                foreach (var p in _priorEma.parameters()) p.requires_grad_(false);
                ExponentialMovingAverage.CopyFrom(_priorEma, _prior);
                // A function of the synchronised prior after every step, so identical on every rank.
                networks.Add(new("prior_ema", _priorEma, BufferPolicy.IdenticalByConstruction));
            }
            _priorBuckets = new GradientBuckets(_prior.parameters(), setup.BucketBytesFor(setup.Overlaps), setup.WorldSize);
            if (setup.Overlaps) _priorOverlap = new BackwardOverlap(_prior, _priorBuckets);
            metrics.AddRange([NllTop, NllBottom]);
        }
        Networks = networks;
        Optimizers = optimizers;
        MetricNames = metrics;
    }

    /// <inheritdoc />
    public string Kind => _options.Kind;

    /// <inheritdoc />
    public IReadOnlyList<RecipeNetwork> Networks { get; }

    /// <inheritdoc />
    public IReadOnlyList<RecipeOptimizer> Optimizers { get; }

    /// <inheritdoc />
    public IReadOnlyList<string> MetricNames { get; }

    /// <inheritdoc />
    public int Classes => 0;

    /// <inheritdoc />
    public bool HasEma => _priorEma is not null;

    /// <inheritdoc />
    public long GradientBytesPerStep => _buckets.TotalBytes;

    /// <inheritdoc />
    public bool CanSample => _prior is { TrainedSteps: > 0 };

    /// <summary>The stage-1 model.</summary>
    public VectorQuantizedAutoencoder Autoencoder => _autoencoder;

    /// <summary>VQ-VAE-2's prior, or null.</summary>
    public VqVae2Prior? Prior => _prior;

    /// <summary>The exponential moving average of <see cref="Prior"/>'s weights (what samples use), or null.</summary>
    public VqVae2Prior? PriorEma => _priorEma;

    /// <inheritdoc />
    public void RecomputeBuffers()
    {
    }

    /// <inheritdoc />
    public (long EarlyLaunches, long Redos) OverlapCounts => (
        _buckets.EarlyLaunches + (_priorBuckets?.EarlyLaunches ?? 0),
        _buckets.Redos + (_priorBuckets?.Redos ?? 0));

    /// <inheritdoc />
    public void Step(StepContext context)
    {
        if (context.Stage.Name == VqVae2Options.PriorStage) PriorStep(context);
        else AutoencoderStep(context);
    }

    private void AutoencoderStep(StepContext context)
    {
        _optimizer.zero_grad();
        double loss = 0, mse = 0, commitment = 0;
        for (var m = 0; m < context.Accumulation; m++)
        {
            var (images, _) = context.NextBatch();
            if (m == context.Accumulation - 1) context.OverlapBackward(_overlap);
            var pass = _autoencoder.Forward(images);
            var reconstruction = functional.mse_loss(pass.Reconstruction, images);
            var commit = pass.Levels.Select(l => l.Quantized.Commitment).Aggregate((a, b) => a + b);
            var scaled = (reconstruction + _options.Commitment * commit) / context.Accumulation;
            scaled.backward();
            loss += scaled.item<float>();
            // [−1, 1] → [0, 1] pixel units: a quarter of the squared error.
            mse += reconstruction.item<float>() / 4 / context.Accumulation;
            commitment += commit.item<float>() / context.Accumulation;
            foreach (var (level, (_, quantizer)) in pass.Levels.Zip(_autoencoder.Quantizers))
                quantizer.Accumulate(level.Encoded, level.Quantized.Codes);
        }
        context.Report(Mse, mse);
        context.Report(Commitment, commitment);
        var ok = context.AverageGradients(_buckets, "autoencoder", loss);
        if (ok) _optimizer.step();
        var restarts = 0;
        var index = 0;
        foreach (var (level, quantizer) in _autoencoder.Quantizers)
        {
            // The round's counts and sums, summed over ranks before the update: the same update everywhere.
            var statistics = quantizer.TakeStatistics(context.Rank, context.WorldSize);
            if (!ok) continue;
            context.AllReduceSum(statistics);
            var counts = quantizer.ApplyUpdate(statistics, context.WorldSize, RestartSeed(context.Step, index++));
            restarts += quantizer.LastRestarts;
            var usage = CodebookUsage.From(level, [.. counts.cpu().to(float64).data<double>()]);
            context.Report($"perplexity_{level}", usage.Perplexity);
            context.Report($"usage_{level}", usage.Share);
        }
        context.Report(Restarts, restarts);
    }

    private void PriorStep(StepContext context)
    {
        if (_prior is null) throw new InvalidOperationException($"model kind {_options.Kind} has no prior stage");
        var two = (VqVae2Options)_options;
        var rate = two.PriorSchedule == "cosine"
            ? CosineAnnealing.Rate(two.PriorLearningRate, Math.Clamp(context.Step - context.Stage.FirstStep, 0, context.Stage.Steps), context.Stage.Steps)
            : two.PriorLearningRate;
        foreach (var group in _priorOptimizer!.ParamGroups) group.LearningRate = rate;
        _priorOptimizer.zero_grad();
        double loss = 0, top = 0, bottom = 0;
        for (var m = 0; m < context.Accumulation; m++)
        {
            var (images, _) = context.NextBatch();
            var codes = CodesOf(images);
            if (m == context.Accumulation - 1) context.OverlapBackward(_priorOverlap);
            var (nllTop, nllBottom) = _prior.NegativeLogLikelihood(codes[0], codes[1]);
            var scaled = (nllTop + nllBottom) / context.Accumulation;
            scaled.backward();
            loss += scaled.item<float>();
            top += nllTop.item<float>() / Math.Log(2) / context.Accumulation;
            bottom += nllBottom.item<float>() / Math.Log(2) / context.Accumulation;
        }
        context.Report(NllTop, top);
        context.Report(NllBottom, bottom);
        if (!context.AverageGradients(_priorBuckets!, "prior", loss)) return;
        _priorOptimizer.step();
        _prior.CountStep();
        if (_priorEma is not null)
        {
            // TensorFlow's ExponentialMovingAverage ramp: early steps weigh the newest weights more.
            var t = _prior.TrainedSteps;
            ExponentialMovingAverage.Update(_priorEma, _prior, Math.Min(two.PriorEmaDecay, (1.0 + t) / (10.0 + t)));
        }
    }

    /// <summary>The frozen stage-1 model's codes of <paramref name="images"/>, top level first.</summary>
    private Tensor[] CodesOf(Tensor images)
    {
        using var noGrad = torch.no_grad();
        return [.. _autoencoder.Encode(images).Select(l => l.Quantized.Codes)];
    }

    private static long RestartSeed(long step, int level) => step * 16 + level + 1;

    /// <inheritdoc />
    public SampleBatch Sample(SampleRequest request)
    {
        if (_prior is null)
            throw new InvalidOperationException($"model kind {_options.Kind} has no prior to sample from; it reconstructs (sample --reconstruct)");
        if (_prior.TrainedSteps == 0)
            throw new InvalidOperationException($"the {_options.Kind} prior has not been trained yet (the job is still in its autoencoder stage, or ran with priorSteps 0)");
        using var scope = NewDisposeScope();
        using var random = new torch.Generator((ulong)request.Seed);
        var shapes = _autoencoder.CodeShapes;
        var two = (VqVae2Options)_options;
        var temperature = request.Temperature ?? two.PriorTemperature;
        var bottomTemperature = request.BottomTemperature ?? request.Temperature ?? (two.BottomPriorTemperature > 0 ? two.BottomPriorTemperature : two.PriorTemperature);
        if (!(temperature > 0)) throw new ArgumentException($"temperature must be > 0, got {temperature}", nameof(request));
        if (!(bottomTemperature > 0)) throw new ArgumentException($"bottom temperature must be > 0, got {bottomTemperature}", nameof(request));
        var prior = request.Ema && _priorEma is not null ? _priorEma : _prior;
        prior.eval();
        _autoencoder.eval();
        try
        {
            using var noGrad = torch.no_grad();
            var (top, bottom) = prior.Sample(request.Count, shapes[0], shapes[1], temperature, bottomTemperature, random);
            var images = _autoencoder.Decode([top, bottom]).clamp(-1, 1).cpu();
            return new SampleBatch(images.MoveToOuterDisposeScope(), null);
        }
        finally
        {
            prior.train();
            _autoencoder.train();
        }
    }

    /// <inheritdoc />
    public Tensor Reconstruct(Tensor images)
    {
        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        return _autoencoder.Forward(images.to(Device)).Reconstruction.clamp(-1, 1).cpu().MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public IReadOnlyList<(string Level, int CodebookSize, Tensor Codes)> Codes(Tensor images)
    {
        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        var levels = _autoencoder.Encode(images.to(Device));
        return [.. levels.Zip(_autoencoder.Quantizers).Select(x => (x.First.Name, x.Second.Quantizer.CodebookSize, x.First.Quantized.Codes.cpu().MoveToOuterDisposeScope()))];
    }

    private Device Device => _autoencoder.parameters().First().device;

    /// <inheritdoc />
    public void Dispose()
    {
        _buckets.Dispose();
        _priorBuckets?.Dispose();
        _optimizer.Dispose();
        _priorOptimizer?.Dispose();
        _autoencoder.Dispose();
        _prior?.Dispose();
        _priorEma?.Dispose();
    }
}
