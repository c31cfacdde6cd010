using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Models;
using GenCluster.Trainer.Layers;
using GenCluster.Trainer.Objectives;
using GenCluster.Trainer.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenCluster.Trainer.Recipes.Gan;

/// <summary>
/// The training step of every GAN kind: <c>dSteps</c> discriminator (critic) updates, each on a fresh real batch and
/// over <c>accumulation</c> micro-batches, then one generator update on the last critic iteration's latents; the
/// kind's objective (non-saturating with optional one-sided label smoothing, hinge, Wasserstein with clipping or a
/// gradient penalty), optional historical averaging, and an EMA copy of G for samples.
/// </summary>
/// <remarks>
/// <para>Networks: <c>generator</c>, <c>discriminator</c> (BatchNorm statistics broadcast from rank 0; spectral-norm
/// <c>u</c> vectors are functions of the synchronised weights and so identical on every rank), <c>generator_ema</c>
/// (parameters identical by construction: updated from the synchronised G after each step; its BatchNorm statistics
/// are copied from G's and follow rank 0), <c>historical_average_g/d</c> (identical by construction).</para>
/// <para>A non-finite loss or gradient on any rank skips the update it feeds on every rank (a bad critic update skips
/// the rest of the step); the micro-batches drawn so far stay consumed, and the sampler and noise positions are part
/// of every checkpoint, so a resumed run repeats the same trajectory.</para>
/// <para>With buckets in flight during backward and more than one critic iteration, every iteration but the last runs
/// the next one's first generator forward while its own gradients all-reduce (<see cref="ForwardsOverlapped"/>): G's
/// forward needs neither D's gradients nor its new weights, and the draws come in the same order, so the result is the
/// same bit for bit. The one difference: a skipped critic update has already drawn that next micro-batch.</para>
/// </remarks>
public sealed class GanRecipe : ITrainingRecipe
{
    private readonly GanOptions _options;
    private readonly IGanObjective _objective;
    private readonly Module<Tensor, Tensor, Tensor> _g;
    private readonly Module<Tensor, Tensor, Tensor> _d;
    private readonly Module<Tensor, Tensor, Tensor>? _ema;
    private readonly HistoricalAverage? _averageG;
    private readonly HistoricalAverage? _averageD;
    private readonly OptimizerHelper? _optimizerG;
    private readonly OptimizerHelper? _optimizerD;
    private readonly ShardedAdam? _shardedG;
    private readonly ShardedAdam? _shardedD;
    private readonly GradientBuckets _bucketsG;
    private readonly GradientBuckets _bucketsD;
    private readonly BackwardOverlap? _overlapG;
    private readonly BackwardOverlap? _overlapD;
    private readonly Parameter[] _parametersD;
    private readonly double _orthogonal;
    private readonly IReadOnlyList<Parameter> _orthogonallyRegularised;
    private readonly int _latentDim;
    private readonly int _classes;

    /// <summary>The registry's factory: networks for the kind, its objective.</summary>
    public static ITrainingRecipe Create(ModelOptions options, RecipeSetup setup)
    {
        var gan = (GanOptions)options;
        return new GanRecipe(gan, GanNetworks.For(gan, setup), GanObjectives.For(gan), setup);
    }

    /// <summary>Wires a GAN recipe around given networks (tests pass small ones).</summary>
    public GanRecipe(GanOptions options, GanNetworks networks, IGanObjective objective, RecipeSetup setup)
    {
        _options = options;
        _objective = objective;
        _latentDim = networks.LatentDim;
        _classes = options.Conditional ? setup.Classes : 0;
        _g = networks.Generator;
        _d = networks.Discriminator;
        _g.to(setup.Device);
        _d.to(setup.Device);
        var list = new List<RecipeNetwork>
        {
            new("generator", _g, BufferPolicy.BroadcastFromRank0),
            new("discriminator", _d, BufferPolicy.BroadcastFromRank0),
        };
        if (options.EmaDecay > 0)
        {
            _ema = networks.NewGenerator();
            _ema.to(setup.Device);
            foreach (var p in _ema.parameters()) p.requires_grad_(false);
            ExponentialMovingAverage.CopyFrom(_ema, _g);
            list.Add(new("generator_ema", _ema, BufferPolicy.Recomputed));
        }
        if (options.HistoricalAveraging > 0)
        {
            _averageG = new HistoricalAverage(_g);
            _averageD = new HistoricalAverage(_d);
            list.Add(new("historical_average_g", _averageG, BufferPolicy.IdenticalByConstruction));
            list.Add(new("historical_average_d", _averageD, BufferPolicy.IdenticalByConstruction));
        }
        Networks = list;
        _parametersD = [.. _d.parameters()];
        // Only BigGAN regularises, and only its G knows what to leave out (the shared embedding).
        (_orthogonal, _orthogonallyRegularised) = (options, _g) is (BigGanOptions big, BigGanGenerator bigG)
            ? (big.OrthogonalRegularization, bigG.OrthogonallyRegularised())
            : (0, []);
        OverlapRefusal = !setup.OverlapBackward ? "off (Trainer:OverlapBackward)"
            : !setup.Overlaps ? "off (one rank: nothing to all-reduce)"
            : BackwardOverlap.Refusal(objective is GradientPenaltyObjective, options.SyncBatchNorm, setup.ShardOptimizer);
        var bucketBytes = setup.BucketBytesFor(OverlapRefusal is null);
        _bucketsG = new GradientBuckets(_g.parameters(), bucketBytes, setup.WorldSize);
        _bucketsD = new GradientBuckets(_parametersD, bucketBytes, setup.WorldSize);
        if (OverlapRefusal is null)
        {
            _overlapG = new BackwardOverlap(_g, _bucketsG);
            _overlapD = new BackwardOverlap(_d, _bucketsD);
        }
        if (setup.ShardOptimizer)
        {
            if (OptimizerSharding.Refusal(options) is { } refusal) throw new ArgumentException($"shardOptimizer: {refusal}", nameof(setup));
            _shardedG = new ShardedAdam(_g.parameters(), _bucketsG, setup.Rank, setup.WorldSize, options.LearningRateG, options.Beta1, options.Beta2);
            _shardedD = new ShardedAdam(_parametersD, _bucketsD, setup.Rank, setup.WorldSize, options.LearningRateD, options.Beta1, options.Beta2);
            Optimizers = [new("generator", _shardedG), new("discriminator", _shardedD)];
        }
        else
        {
            _optimizerG = NewOptimizer(_g.parameters(), options.LearningRateG);
            _optimizerD = NewOptimizer(_parametersD, options.LearningRateD);
            Optimizers = [new("generator", _optimizerG), new("discriminator", _optimizerD)];
        }
        MetricNames = objective is GradientPenaltyObjective
            ? ["loss_d", "loss_g", GradientPenaltyObjective.PenaltyMetric]
            : ["loss_d", "loss_g"];
    }

    /// <inheritdoc />
    public string Kind => _options.Kind;

    /// <summary>Why gradients are not all-reduced during backward, or null when they are.</summary>
    public string? OverlapRefusal { get; }

    /// <summary>
    /// Generator forwards run while the critic's gradients were still all-reducing (the next critic iteration's first,
    /// drawn before the wait; with buckets in flight during backward and more than one critic iteration).
    /// </summary>
    public long ForwardsOverlapped { get; private set; }

    /// <inheritdoc />
    public (long EarlyLaunches, long Redos) OverlapCounts =>
        (_bucketsG.EarlyLaunches + _bucketsD.EarlyLaunches, _bucketsG.Redos + _bucketsD.Redos);

    /// <inheritdoc />
    public IReadOnlyList<RecipeNetwork> Networks { get; }

    /// <inheritdoc />
    public IReadOnlyList<RecipeOptimizer> Optimizers { get; }

    /// <inheritdoc />
    public IReadOnlyList<string> MetricNames { get; }

    /// <inheritdoc />
    public int Classes => _classes;

    /// <inheritdoc />
    public bool HasEma => _ema is not null;

    /// <inheritdoc />
    public long GradientBytesPerStep => _bucketsD.TotalBytes * _options.DSteps + _bucketsG.TotalBytes;

    /// <summary>G.</summary>
    public Module<Tensor, Tensor, Tensor> Generator => _g;

    /// <summary>D.</summary>
    public Module<Tensor, Tensor, Tensor> Discriminator => _d;

    /// <summary>The EMA copy of G, or null when <c>emaDecay</c> is 0.</summary>
    public Module<Tensor, Tensor, Tensor>? GeneratorEma => _ema;

    /// <inheritdoc />
    public void Step(StepContext context)
    {
        using var syncBatchNorm = _options.SyncBatchNorm ? context.SyncBatchNorm() : null;
        var accumulation = context.Accumulation;
        var fakes = new List<(Tensor Images, Tensor Labels)>(accumulation);
        var extras = new Dictionary<string, double>(StringComparer.Ordinal);
        double lossD = 0;
        // A micro-batch's inputs and G's fakes for them; the first of the next critic iteration's may be drawn early.
        CriticInput? ahead = null;
        CriticInput Prepare(bool lastIteration, bool lastMicroBatch)
        {
            var (real, realLabels) = context.NextBatch();
            var z = context.Latents(_latentDim);
            var fakeLabels = _classes > 0 ? context.RandomLabels(_classes) : realLabels;
            // The last fakes' backward (in G's update) completes G's gradients: arm before G's forward.
            if (lastIteration && lastMicroBatch) context.OverlapBackward(_overlapG);
            if (lastIteration)
            {
                var fake = _g.forward(z, fakeLabels);
                fakes.Add((fake, fakeLabels));
                return new(real, realLabels, fakeLabels, fake);
            }
            using var noGrad = torch.no_grad();
            return new(real, realLabels, fakeLabels, _g.forward(z, fakeLabels));
        }
        for (var k = 0; k < _options.DSteps; k++)
        {
            var last = k == _options.DSteps - 1;
            ZeroGrad(_optimizerD, _shardedD);
            lossD = 0;
            extras.Clear();
            for (var m = 0; m < accumulation; m++)
            {
                var input = ahead ?? Prepare(last, m == accumulation - 1);
                ahead = null;
                // The last micro-batch's backward completes D's gradients: arm before D's forward.
                if (m == accumulation - 1) context.OverlapBackward(_overlapD);
                var detached = input.Fake.detach();
                var batch = new CriticBatch(x => _d.forward(x, input.RealLabels), input.Real, detached,
                    _d.forward(input.Real, input.RealLabels), _d.forward(detached, input.FakeLabels), context.Uniform);
                var loss = _objective.DiscriminatorLoss(batch, (name, value) =>
                    extras[name] = extras.GetValueOrDefault(name) + value.item<float>() / accumulation);
                if (_averageD is not null) loss = loss + _averageD.Penalty() * _options.HistoricalAveraging;
                var scaled = loss / accumulation;
                scaled.backward();
                lossD += scaled.item<float>();
            }
            // With D's buckets in flight, G's forward for the next critic iteration, which needs neither D's gradients nor
            // its weights, runs before the wait for them instead of after it.
            var nextIsLast = k + 1 == _options.DSteps - 1;
            Action? drawNext = _overlapD is not null && !last
                ? () => { ahead = Prepare(nextIsLast, accumulation == 1); ForwardsOverlapped++; }
                : null;
            if (!Update(context, _bucketsD, _optimizerD, _shardedD, "discriminator", lossD, whileAveraging: drawNext))
            {
                context.Report("loss_d", lossD);
                return;
            }
            if (_options is WganOptions wgan) Clip(wgan.Clip);
            _averageD?.Update();
        }
        context.Report("loss_d", lossD);
        foreach (var (name, value) in extras) context.Report(name, value);

        ZeroGrad(_optimizerG, _shardedG);
        foreach (var p in _parametersD) p.requires_grad_(false);
        double lossG = 0;
        try
        {
            foreach (var (fake, labels) in fakes)
            {
                var loss = _objective.GeneratorLoss(_d.forward(fake, labels));
                if (_averageG is not null) loss = loss + _averageG.Penalty() * _options.HistoricalAveraging;
                var scaled = loss / accumulation;
                scaled.backward();
                lossG += scaled.item<float>();
            }
        }
        finally
        {
            foreach (var p in _parametersD) p.requires_grad_(true);
        }
        context.Report("loss_g", lossG);
        // The term depends on the weights only, identical on every rank, so it may join the gradient before or after the
        // average; the sharded update never holds the whole averaged gradient, so it joins before there.
        Action? regularise = _orthogonal > 0 ? () => OrthogonalRegularization.Apply(_orthogonallyRegularised, _orthogonal) : null;
        if (!Update(context, _bucketsG, _optimizerG, _shardedG, "generator", lossG, regularise)) return;
        _averageG?.Update();
        if (_ema is not null)
        {
            _standingFresh = false;
            if (context.Step < _options.EmaStart) ExponentialMovingAverage.CopyFrom(_ema, _g);
            else ExponentialMovingAverage.Update(_ema, _g, _options.EmaDecay);
        }
    }

    /// <inheritdoc />
    public SampleBatch Sample(SampleRequest request)
    {
        using var scope = NewDisposeScope();
        using var random = new torch.Generator((ulong)request.Seed);
        var z = torch.randn([request.Count, _latentDim], generator: random);
        if (request.Truncation > 0) z = Truncation.Resample(z, request.Truncation, random);
        Tensor? labels = null;
        if (_classes > 0)
        {
            var values = new long[request.Count];
            for (var i = 0; i < values.Length; i++)
                values[i] = request.Labels?[i] ?? request.ClassLabel ?? (long)i * _classes / request.Count;
            labels = torch.tensor(values, ScalarType.Int64);
        }
        var g = request.Ema && _ema is not null ? _ema : _g;
        if (ReferenceEquals(g, _ema)) RecomputeStanding(request.Truncation);
        var device = g.parameters().First().device;
        g.eval();
        try
        {
            using var noGrad = torch.no_grad();
            var images = g.forward(z.to(device), (labels ?? torch.zeros(request.Count, ScalarType.Int64)).to(device)).cpu();
            return new SampleBatch(images.MoveToOuterDisposeScope(), labels?.MoveToOuterDisposeScope());
        }
        finally
        {
            g.train();
        }
    }

    /// <summary>
    /// BatchNorm statistics of the EMA generator recomputed for its averaged weights (standing statistics) from a fixed
    /// stream of latents, so a sample depends only on the weights and the request; nothing to do until the EMA moves again.
    /// </summary>
    public void RecomputeBuffers() => RecomputeStanding(0);

    /// <summary>
    /// Standing statistics for latents truncated at <paramref name="truncation"/> (0 = none), as the reference recomputes
    /// them per truncation: truncated z has a smaller spread, and statistics collected on untruncated z would shrink
    /// every feature of a truncated sample towards the background.
    /// </summary>
    private void RecomputeStanding(double truncation)
    {
        if (_ema is null || !StandingStatistics.Applies(_ema)) return;
        if (_standingFresh && _standingTruncation == truncation) return;
        var device = _ema.parameters().First().device;
        using var random = new torch.Generator(StandingSeed);
        StandingStatistics.Recompute(_ema, StandingBatches, _ =>
        {
            var z = torch.randn([StandingBatchSize, _latentDim], generator: random);
            if (truncation > 0) z = Truncation.Resample(z, truncation, random);
            z = z.to(device);
            var labels = _classes > 0
                ? torch.randint(0, _classes, [StandingBatchSize], dtype: ScalarType.Int64, generator: random).to(device)
                : torch.zeros(StandingBatchSize, ScalarType.Int64, device: device);
            _ema.forward(z, labels);
        });
        _standingFresh = true;
        _standingTruncation = truncation;
    }

    private bool _standingFresh;
    private double _standingTruncation;

    private const int StandingBatches = 16;
    private const int StandingBatchSize = 64;
    private const ulong StandingSeed = 0x57A2D;

    /// <inheritdoc />
    public void Dispose()
    {
        _bucketsD.Dispose();
        _bucketsG.Dispose();
        _optimizerD?.Dispose();
        _optimizerG?.Dispose();
        _shardedD?.Dispose();
        _shardedG?.Dispose();
        _g.Dispose();
        _d.Dispose();
        _ema?.Dispose();
        _averageG?.Dispose();
        _averageD?.Dispose();
    }

    /// <summary>
    /// One network's update, taken by every rank together: all-reduce and a replicated step, or the sharded step
    /// (ZeRO-1). <paramref name="regularise"/> adds a weight-only term to the gradient. <paramref name="whileAveraging"/>
    /// runs between launching the all-reduces and waiting for them, and must touch neither these gradients nor these
    /// parameters. False when a rank's values were not finite (the update is skipped everywhere).
    /// </summary>
    private static bool Update(StepContext context, GradientBuckets buckets, OptimizerHelper? replicated, ShardedAdam? sharded,
        string phase, double loss, Action? regularise = null, Action? whileAveraging = null)
    {
        if (sharded is not null)
        {
            regularise?.Invoke();
            whileAveraging?.Invoke();
            return context.StepSharded(buckets, sharded, phase, loss);
        }
        var complete = context.BeginAverageGradients(buckets, phase, loss);
        whileAveraging?.Invoke();
        if (!complete()) return false;
        regularise?.Invoke();
        replicated!.step();
        return true;
    }

    private static void ZeroGrad(OptimizerHelper? replicated, ShardedAdam? sharded)
    {
        if (sharded is not null) sharded.ZeroGrad();
        else replicated!.zero_grad();
    }

    private OptimizerHelper NewOptimizer(IEnumerable<Parameter> parameters, double learningRate) => _options.Optimizer switch
    {
        "rmsprop" => optim.RMSProp(parameters, learningRate, alpha: _options.Beta2),
        _ => new Training.KeptScalars.Adam(parameters, learningRate, _options.Beta1, _options.Beta2),
    };

    private void Clip(double clip)
    {
        using var noGrad = torch.no_grad();
        foreach (var p in _parametersD) p.clamp_(-clip, clip);
    }

    /// <summary>One critic micro-batch: real images and labels, the fakes' labels, and G's fakes (with or without a graph).</summary>
    private sealed record CriticInput(Tensor Real, Tensor RealLabels, Tensor FakeLabels, Tensor Fake);
}
