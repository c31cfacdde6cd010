using GenCluster.Contracts.Models;
using GenCluster.Trainer.Cli;
using GenCluster.Trainer.Evaluation;
using GenCluster.Trainer.Imaging;
using GenCluster.Trainer.Recipes;
using GenCluster.Trainer.Sampling;
using GenCluster.Trainer.Tests.Recipes.Autoencoder;
using GenCluster.Trainer.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Tests.Evaluation;

/// <summary>Autoencoders under <c>evaluate</c> and <c>sample</c>: reconstructions of the test split, codebook use, and no samples without a prior.</summary>
[Collection(SmallEvaluationCollection.Name)]
public class AutoencoderEvaluationTests(SmallEvaluationFixture fixture)
{
    private static readonly VqVaeOptions Tiny = AutoencoderDataParallelTests.VqVae with { CodebookSize = 16 };

    /// <summary>A VQ-VAE trained two steps on synthetic 28×28 images; returns its checkpoint directory.</summary>
    private static async Task<string> TinyCheckpoint(string directory)
    {
        using var group = new InProcessGroup(1);
        var spec = SessionHarness.TinySpec(4, model: Tiny) with { Steps = 2 };
        var sessions = SessionHarness.CreateWith(1, spec, directory, AutoencoderDataParallelTests.Data(28), _ => AutoencoderDataParallelTests.Recipe(Tiny, 1, 1, 28), group);
        try
        {
            var results = await SessionHarness.RunAll(sessions, 2);
            return results[0].LastCheckpoint!.Path;
        }
        finally
        {
            SessionHarness.DisposeAll(sessions);
        }
    }

    [Fact]
    public async Task EvaluateReportsReconstructionAndCodebookUseOfAModelWithoutPrior()
    {
        using var temp = RepoPaths.NewTemp();
        var checkpoint = await TinyCheckpoint(temp.Path);
        var output = new StringWriter();
        var error = new StringWriter();
        var request = new EvaluateCommand.EvaluateRequest(null, null, null, 100, "mnist", false, fixture.DataDirectory, 0, Checkpoint: checkpoint);

        var code = await EvaluateCommand.RunAsync(request, fixture.Evaluator, output, error);

        Assert.True(code == 0, error.ToString());
        Assert.Contains("reconstruction MSE", output.ToString());
        Assert.Contains("over 10000 test images", output.ToString());
        Assert.Matches(@"codebook codes\s+\d+/16 codes used", output.ToString());
        // The reconstructions are measured as a set too, but there are no samples to measure.
        Assert.Matches(@"reconstructions' FID \d+\.\d{3}", output.ToString());
        Assert.DoesNotContain("KID", output.ToString());

        var ex = Assert.Throws<ArgumentException>(() => CheckpointSampler.Sample(checkpoint, new SamplingRequest(4)));
        Assert.Contains("no trained prior", ex.Message);
    }

    [Fact]
    public async Task SampleReconstructWritesInputsBesideReconstructions()
    {
        using var temp = RepoPaths.NewTemp();
        var checkpoint = await TinyCheckpoint(temp.Path);
        var png = Path.Combine(temp.Path, "r.png");
        var log = new StringWriter();
        var error = new StringWriter();

        Assert.Equal(0, await SampleCommand.ReconstructAsync(checkpoint, png, 16, fixture.DataDirectory, 0, log, error));
        // 8 columns; 2 input rows + 2 reconstruction rows of 28-pixel tiles with 2-pixel borders.
        var header = File.ReadAllBytes(png)[16..24];
        Assert.Equal((8 * 30 + 2, 4 * 30 + 2), (BigEndian(header, 0), BigEndian(header, 4)));
        Assert.Equal(2, await SampleCommand.ReconstructAsync(checkpoint, png, 12, fixture.DataDirectory, 0, log, error));
        Assert.Contains("--count must be a positive multiple of 8", error.ToString());
    }

    private static int BigEndian(byte[] b, int offset) => (b[offset] << 24) | (b[offset + 1] << 16) | (b[offset + 2] << 8) | b[offset + 3];

    /// <summary>The measure's arithmetic on a fake autoencoder: a constant offset and known codes.</summary>
    [Fact]
    public void MseIsInUnitPixelsAndUsageCountsCodesSeen()
    {
        var images = new ImageArray(Enumerable.Range(0, 3 * 16).Select(i => (byte)(i * 5)).ToArray(), 3, 1, 4, 4);
        var report = ReconstructionEvaluator.Evaluate(new Offset(), images, batchSize: 2);

        // +0.2 in [−1, 1] is +0.1 in [0, 1]: squared 0.01.
        Assert.Equal(0.01, report.Mse, 6);
        var usage = Assert.Single(report.Codebooks);
        Assert.Equal(("codes", 8, 2), (usage.Level, usage.CodebookSize, usage.Used));
        // Codes 0 and 3 equally often: perplexity 2.
        Assert.Equal(2.0, usage.Perplexity, 6);
        Assert.Equal(0.25, usage.Share, 6);
        Assert.Null(report.Fid);

        // With a distance, the reconstructions go to it as 8-bit images: +0.2 is +25.5 grey levels (rounded either way
        // in float32), clamped at 255.
        ImageArray? measured = null;
        var withFid = ReconstructionEvaluator.Evaluate(new Offset(), images, r => { measured = r; return 1.5; }, batchSize: 2);
        Assert.Equal(1.5, withFid.Fid);
        Assert.Equal(images with { Pixels = measured!.Pixels }, measured);
        Assert.All(images.Pixels.Zip(measured.Pixels), x => Assert.InRange(x.Second - Math.Min(255, x.First + 25.5), -0.5, 0.5));
        Assert.Equal(1.5, withFid.Figures()["reconstruction_fid"]);
    }

    /// <summary>The VAE's figure: the mean over images of the recipe's per-image bound, its noise from a stream seeded 0.</summary>
    [Fact]
    public void NegativeElboIsTheMeanOfThePerImageBoundOverAllBatches()
    {
        var images = new ImageArray(Enumerable.Range(0, 5 * 16).Select(i => (byte)(i * 3)).ToArray(), 5, 1, 4, 4);
        Assert.Null(ReconstructionEvaluator.Evaluate(new Offset(), images, batchSize: 2).NegElbo);

        var report = ReconstructionEvaluator.Evaluate(new Bounded(), images, batchSize: 2);

        // Batches of 2, 2 and 1 draw 2, 2 and 1 normals from one stream seeded 0.
        using var stream = new torch.Generator(0);
        double expected = 0;
        for (var start = 0; start < 5; start += 2)
        {
            var count = Math.Min(2, 5 - start);
            var draws = torch.randn([count], generator: stream).data<float>().ToArray();
            for (var i = 0; i < count; i++)
                expected += images.Batch(start + i, 1).sum().item<float>() + draws[i];
        }
        Assert.Equal(expected / 5, report.NegElbo!.Value, 4);
        Assert.Equal(report.NegElbo, ReconstructionEvaluator.Evaluate(new Bounded(), images, batchSize: 2).NegElbo);
        Assert.Equal(report.NegElbo!.Value, report.Figures()["neg_elbo_test"]);
        Assert.Contains("negative ELBO", report.ToText());
        Assert.Contains("\"neg_elbo\"", report.ToJson());
    }

    /// <summary>A fake VAE whose bound is an image's pixel sum plus one draw of the evaluation's noise.</summary>
    private sealed class Bounded : IReconstructingRecipe, IElboRecipe
    {
        public Tensor Reconstruct(Tensor images) => images.clone();

        public IReadOnlyList<(string Level, int CodebookSize, Tensor Codes)> Codes(Tensor images) => [];

        public Tensor NegativeElboPerImage(Tensor images, Generator noise) =>
            images.flatten(1).sum(1) + torch.randn([images.shape[0]], generator: noise);
    }

    private sealed class Offset : IReconstructingRecipe
    {
        public Tensor Reconstruct(Tensor images) => images + 0.2;

        public IReadOnlyList<(string Level, int CodebookSize, Tensor Codes)> Codes(Tensor images) =>
            [("codes", 8, torch.tensor(Enumerable.Range(0, (int)images.shape[0] * 4).Select(i => i % 2 == 0 ? 0L : 3L).ToArray()).reshape(images.shape[0], 2, 2))];
    }
}
