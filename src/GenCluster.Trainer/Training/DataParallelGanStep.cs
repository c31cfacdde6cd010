using GenCluster.Contracts.Jobs;
using GenCluster.Trainer.Data;
using GenCluster.Trainer.Distributed;
using GenCluster.Trainer.Models;
using GenCluster.Trainer.Objectives;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Training;

/// <summary>What one data-parallel step did, identical on every rank.</summary>
/// <param name="Skipped">Every rank skipped an update because some rank saw NaN/Inf.</param>
/// <param name="SkipReason">Which phase was skipped and on which ranks, when skipped.</param>
/// <param name="LossD">Discriminator loss averaged over ranks (NaN when not finite).</param>
/// <param name="LossG">Generator loss averaged over ranks.</param>
/// <param name="StopRequested">Some rank asked to checkpoint and stop after this step.</param>
/// <param name="AllReduceSeconds">Time in gradient all-reduces.</param>
/// <param name="AllReduceBytes">Gradient bytes all-reduced.</param>
public readonly record struct StepOutcome(bool Skipped, string? SkipReason, double LossD, double LossG, bool StopRequested, double AllReduceSeconds, long AllReduceBytes);

/// <summary>
/// One optimizer step of a GAN, data-parallel over <see cref="ICollectives"/>: a discriminator update then a
/// generator update, each over <c>accumulation</c> micro-batches, gradients averaged over ranks in buckets, Adam.
/// </summary>
/// <remarks>
/// <para>Latents for a micro-batch are drawn for the whole global micro-batch, one image at a time, from a generator
/// seeded identically on every rank, and each rank takes its slice. With the sampler's layout, the k-th image of a
/// step gets the same example and latent whatever the world size, per-worker batch and accumulation, so any
/// geometry with the same global batch computes the same update (up to float summation order) for models without
/// batch-coupled layers.</para>
/// <para>NaN/Inf: each rank checks its losses and gathered gradients before the all-reduce and all ranks all-gather
/// the verdict, so they skip together. A bad D phase skips the whole step; a bad G phase skips the G update (the D
/// update of that step stands). Either way the step counts as skipped; the data and latents are still consumed, so
/// the trajectory stays a pure function of the step.</para>
/// <para>Every step body runs in its own <c>torch.NewDisposeScope()</c>; the class must be driven from one thread.</para>
/// </remarks>
public sealed class DataParallelGanStep : IDisposable
{
    private readonly GanModels _models;
    private readonly IGanObjective _objective;
    private readonly ICollectives _collectives;
    private readonly ImageDataset _data;
    private readonly int _batch;
    private readonly int _accumulation;
    private readonly Device _device;
    private readonly GradientBuckets _bucketsD;
    private readonly GradientBuckets _bucketsG;
    private readonly Parameter[] _parametersD;

    /// <summary>Wires the step; <paramref name="sampler"/> and <paramref name="noise"/> are advanced by every call.</summary>
    public DataParallelGanStep(
        GanModels models, IGanObjective objective, ICollectives collectives, ImageDataset data, DistributedSampler sampler,
        Generator noise, int perWorkerBatch, int accumulation, ModelOptions options, Device device, long bucketBytes)
    {
        if (accumulation < 1) throw new ArgumentOutOfRangeException(nameof(accumulation), accumulation, "gradient accumulation must be at least 1");
        _models = models;
        _objective = objective;
        _collectives = collectives;
        _data = data;
        Sampler = sampler;
        Noise = noise;
        _batch = perWorkerBatch;
        _accumulation = accumulation;
        _device = device;
        _parametersD = [.. models.Discriminator.parameters()];
        OptimizerG = optim.Adam(models.Generator.parameters(), options.LearningRateG, options.Beta1, options.Beta2);
        OptimizerD = optim.Adam(_parametersD, options.LearningRateD, options.Beta1, options.Beta2);
        _bucketsG = new GradientBuckets(models.Generator.parameters(), bucketBytes);
        _bucketsD = new GradientBuckets(_parametersD, bucketBytes);
    }

    /// <summary>Adam for G.</summary>
    public Adam OptimizerG { get; }

    /// <summary>Adam for D.</summary>
    public Adam OptimizerD { get; }

    /// <summary>The data order.</summary>
    public DistributedSampler Sampler { get; }

    /// <summary>The latent-noise generator (same state on every rank).</summary>
    public Generator Noise { get; }

    /// <summary>Gradient bytes all-reduced per step (G and D).</summary>
    public long GradientBytesPerStep => _bucketsD.TotalBytes + _bucketsG.TotalBytes;

    /// <summary>Runs one step. Blocks on the collectives; call it from the training thread.</summary>
    public StepOutcome Run(bool stopRequested, CancellationToken cancellationToken)
    {
        using var scope = torch.NewDisposeScope();
        var g = _models.Generator;
        var d = _models.Discriminator;

        OptimizerD.zero_grad();
        var fakes = new List<Tensor>(_accumulation);
        var lossD = torch.zeros(1);
        for (var m = 0; m < _accumulation; m++)
        {
            var real = _data.Batch(Sampler.Next(), _device);
            var fake = g.forward(NextLatents());
            var loss = _objective.DiscriminatorLoss(d.forward(real), d.forward(fake.detach())) / _accumulation;
            loss.backward();
            lossD += loss.detach().cpu();
            fakes.Add(fake);
        }
        _bucketsD.Gather();
        var localD = lossD.item<float>();
        var badD = !float.IsFinite(localD) || !_bucketsD.AllFinite();
        var verdictD = _collectives.AllGatherAsync(new[] { badD ? 1.0 : 0.0 }, cancellationToken).GetAwaiter().GetResult();
        if (verdictD.Any(v => v[0] != 0))
        {
            var end = Agree(localD, double.NaN, badG: false, stopRequested, cancellationToken);
            return new StepOutcome(true, $"discriminator update skipped: non-finite values on rank(s) {Ranks(verdictD)}",
                end.LossD, double.NaN, end.Stop, 0, 0);
        }
        var (secondsD, bytesD) = _bucketsD.AllReduceAndScatter(_collectives, cancellationToken);
        OptimizerD.step();

        OptimizerG.zero_grad();
        foreach (var p in _parametersD) p.requires_grad_(false);
        var lossG = torch.zeros(1);
        try
        {
            foreach (var fake in fakes)
            {
                var loss = _objective.GeneratorLoss(d.forward(fake)) / _accumulation;
                loss.backward();
                lossG += loss.detach().cpu();
            }
        }
        finally
        {
            foreach (var p in _parametersD) p.requires_grad_(true);
        }
        _bucketsG.Gather();
        var localG = lossG.item<float>();
        var badG = !float.IsFinite(localG) || !_bucketsG.AllFinite();
        var agreed = Agree(localD, localG, badG, stopRequested, cancellationToken);
        if (agreed.BadRanks.Count > 0)
        {
            return new StepOutcome(true, $"generator update skipped: non-finite values on rank(s) {string.Join(", ", agreed.BadRanks)}",
                agreed.LossD, double.NaN, agreed.Stop, secondsD, bytesD);
        }
        var (secondsG, bytesG) = _bucketsG.AllReduceAndScatter(_collectives, cancellationToken);
        OptimizerG.step();
        return new StepOutcome(false, null, agreed.LossD, agreed.LossG, agreed.Stop, secondsD + secondsG, bytesD + bytesG);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _bucketsD.Dispose();
        _bucketsG.Dispose();
        OptimizerD.Dispose();
        OptimizerG.Dispose();
    }

    /// <summary>This rank's slice of the latents of the whole global micro-batch, drawn one image at a time.</summary>
    /// <remarks>
    /// Drawing per image makes the latent of the k-th image of a step independent of how images are grouped into
    /// ranks and micro-batches (randn over a larger tensor does not produce the same sequence as several smaller ones).
    /// </remarks>
    private Tensor NextLatents()
    {
        var first = _collectives.Rank * _batch;
        var rows = new Tensor[_batch];
        for (var i = 0; i < _collectives.WorldSize * _batch; i++)
        {
            var z = torch.randn([1, _models.LatentDim], generator: Noise);
            if (i >= first && i < first + _batch) rows[i - first] = z;
            else z.Dispose();
        }
        var mine = torch.cat(rows);
        return _device.type == DeviceType.CPU ? mine : mine.to(_device);
    }

    private (double LossD, double LossG, bool Stop, List<int> BadRanks) Agree(double lossD, double lossG, bool badG, bool stop, CancellationToken cancellationToken)
    {
        var all = _collectives.AllGatherAsync(new[] { lossD, lossG, badG ? 1.0 : 0.0, stop ? 1.0 : 0.0 }, cancellationToken).GetAwaiter().GetResult();
        var bad = Enumerable.Range(0, all.Length).Where(r => all[r][2] != 0).ToList();
        return (all.Average(v => v[0]), all.Average(v => v[1]), all.Any(v => v[3] != 0), bad);
    }

    private static string Ranks(double[][] verdicts) =>
        string.Join(", ", Enumerable.Range(0, verdicts.Length).Where(r => verdicts[r][0] != 0));
}
