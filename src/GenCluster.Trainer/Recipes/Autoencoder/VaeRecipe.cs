using GenCluster.Contracts.Models;
using GenCluster.Trainer.Layers;
using GenCluster.Trainer.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenCluster.Trainer.Recipes.Autoencoder;

/// <summary>
/// The VAE's training step (Kingma &amp; Welling 2014): maximise the ELBO E_q[log p(x|z)] − KL(q(z|x) ‖ N(0, I)) with
/// one reparametrised sample per image, the KL in closed form. Pixels in [0, 1] are the Bernoulli decoder's targets
/// (binary cross-entropy on logits) or the Gaussian decoder's (fixed σ). Reports the negative ELBO and its two terms
/// in nats per image. Samples decode z ~ N(0, I) to the decoder's mean.
/// </summary>
/// <remarks>The noise ε comes from the step's latent stream, per image, so n workers × B and one worker × n·B compute the same update.</remarks>
public sealed class VaeRecipe : ITrainingRecipe, IReconstructingRecipe, IElboRecipe
{
    private readonly VaeOptions _options;
    private readonly VaeNetwork _network;
    private readonly OptimizerHelper _optimizer;
    private readonly GradientBuckets _buckets;
    private readonly BackwardOverlap? _overlap;

    /// <summary>The registry's factory.</summary>
    public static ITrainingRecipe Create(ModelOptions options, RecipeSetup setup) => new VaeRecipe((VaeOptions)options, setup);

    /// <summary>Builds the network and optimiser.</summary>
    public VaeRecipe(VaeOptions options, RecipeSetup setup)
    {
        if (setup.Height != setup.Width)
            throw new ArgumentException($"model.kind vae: images must be square, got {setup.Height}×{setup.Width}");
        _options = options;
        _network = new VaeNetwork(options, setup.Channels, setup.Height, setup.Seed);
        _network.to(setup.Device);
        Networks = [new("vae", _network, BufferPolicy.IdenticalByConstruction)];
        _optimizer = new Training.KeptScalars.Adam(_network.parameters(), options.LearningRate, options.Beta1, options.Beta2);
        Optimizers = [new("vae", _optimizer)];
        _buckets = new GradientBuckets(_network.parameters(), setup.BucketBytesFor(setup.Overlaps), setup.WorldSize);
        if (setup.Overlaps) _overlap = new BackwardOverlap(_network, _buckets);
    }

    /// <summary>Metric names.</summary>
    public const string NegativeElbo = "neg_elbo", ReconstructionTerm = "reconstruction", KlTerm = "kl";

    /// <inheritdoc />
    public string Kind => _options.Kind;

    /// <inheritdoc />
    public IReadOnlyList<RecipeNetwork> Networks { get; }

    /// <inheritdoc />
    public IReadOnlyList<RecipeOptimizer> Optimizers { get; }

    /// <inheritdoc />
    public IReadOnlyList<string> MetricNames { get; } = [NegativeElbo, ReconstructionTerm, KlTerm];

    /// <inheritdoc />
    public int Classes => 0;

    /// <inheritdoc />
    public bool HasEma => false;

    /// <inheritdoc />
    public long GradientBytesPerStep => _buckets.TotalBytes;

    /// <summary>The network.</summary>
    public VaeNetwork Network => _network;

    /// <inheritdoc />
    public void RecomputeBuffers()
    {
    }

    /// <summary>Per image: the reconstruction term −log p(x|z) [N] in nats, for targets in [0, 1].</summary>
    public Tensor ReconstructionNll(Tensor decoded, Tensor targets)
    {
        var perPixel = _options.Decoder == "gaussian"
            ? (decoded - targets).square().div(2 * _options.DecoderSigma * _options.DecoderSigma) + Math.Log(_options.DecoderSigma * Math.Sqrt(2 * Math.PI))
            : functional.binary_cross_entropy_with_logits(decoded, targets, reduction: Reduction.None);
        return perPixel.flatten(1).sum(1);
    }

    /// <inheritdoc />
    public (long EarlyLaunches, long Redos) OverlapCounts => (_buckets.EarlyLaunches, _buckets.Redos);

    /// <inheritdoc />
    public void Step(StepContext context)
    {
        _optimizer.zero_grad();
        double loss = 0, reconstruction = 0, kl = 0;
        for (var m = 0; m < context.Accumulation; m++)
        {
            var (images, _) = context.NextBatch();
            if (m == context.Accumulation - 1) context.OverlapBackward(_overlap);
            var targets = images.add(1).div(2);
            var (mean, logVariance) = _network.Encode(images);
            var z = Reparameterization.Sample(mean, logVariance, context.Latents(_network.LatentDim));
            var nll = ReconstructionNll(_network.Decode(z), targets).mean();
            var divergence = GaussianKl.ToStandardNormal(mean, logVariance).mean();
            var scaled = (nll + divergence) / context.Accumulation;
            scaled.backward();
            loss += scaled.item<float>();
            reconstruction += nll.item<float>() / context.Accumulation;
            kl += divergence.item<float>() / context.Accumulation;
        }
        context.Report(NegativeElbo, loss);
        context.Report(ReconstructionTerm, reconstruction);
        context.Report(KlTerm, kl);
        if (context.AverageGradients(_buckets, "vae", loss)) _optimizer.step();
    }

    /// <inheritdoc />
    public SampleBatch Sample(SampleRequest request)
    {
        using var scope = NewDisposeScope();
        using var random = new torch.Generator((ulong)request.Seed);
        var z = torch.randn([request.Count, _network.LatentDim], generator: random);
        var images = Evaluate(() => Mean(_network.Decode(z.to(Device))));
        return new SampleBatch(images.MoveToOuterDisposeScope(), null);
    }

    /// <inheritdoc />
    public Tensor Reconstruct(Tensor images)
    {
        using var scope = NewDisposeScope();
        return Evaluate(() => Mean(_network.Decode(_network.Encode(images.to(Device)).Mean))).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public IReadOnlyList<(string Level, int CodebookSize, Tensor Codes)> Codes(Tensor images) => [];

    /// <inheritdoc />
    public Tensor NegativeElboPerImage(Tensor images, Generator noise)
    {
        using var scope = NewDisposeScope();
        var epsilon = torch.randn([images.shape[0], _network.LatentDim], generator: noise).to(Device);
        return Evaluate(() =>
        {
            var x = images.to(Device);
            var (mean, logVariance) = _network.Encode(x);
            var z = Reparameterization.Sample(mean, logVariance, epsilon);
            return ReconstructionNll(_network.Decode(z), x.add(1).div(2)) + GaussianKl.ToStandardNormal(mean, logVariance);
        }).MoveToOuterDisposeScope();
    }

    /// <summary>The decoder's mean image in [−1, 1].</summary>
    private Tensor Mean(Tensor decoded) =>
        (_options.Decoder == "gaussian" ? decoded.clamp(0, 1) : decoded.sigmoid()).mul(2).sub(1);

    private Device Device => _network.parameters().First().device;

    private Tensor Evaluate(Func<Tensor> run)
    {
        _network.eval();
        try
        {
            using var noGrad = torch.no_grad();
            return run().cpu();
        }
        finally
        {
            _network.train();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _buckets.Dispose();
        _optimizer.Dispose();
        _network.Dispose();
    }
}
