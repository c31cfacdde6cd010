using GenCluster.Contracts.Models;
using GenCluster.Silo.Local;

namespace GenCluster.Silo.Tests.Local;

public class RunSummaryTests
{
    [Fact]
    public void SamplesAndReconstructionsEachGetTheirLine()
    {
        var figures = new Dictionary<string, double>
        {
            ["fid"] = 10.418, ["fid_floor"] = 0.8631, ["fid_ratio"] = 12.07, ["classes_present"] = 10, ["kid"] = 0.03,
            ["reconstruction_mse"] = 0.001517, ["codebook_usage_top"] = 1, ["codebook_usage_bottom"] = 0.9531, ["reconstruction_fid"] = 0.5316,
        };

        var lines = RunSummary.EvaluationLines(figures, "/runs/j");

        Assert.Equal(2, lines.Count);
        Assert.Equal("evaluation   FID 10.418 (real-data floor 0.863, 12.1x), 10 of 10 classes present   (/runs/j/evaluation.json)", lines[0]);
        Assert.Equal("reconstruct  test-split MSE 0.00152, codes used top 100.0%, bottom 95.3%, reconstructions' FID 0.532   (/runs/j/reconstruction.json)", lines[1]);
    }

    [Fact]
    public void AModelWithoutSamplesPrintsNoFidLineAndTheVaeItsBound()
    {
        var vqvae = RunSummary.EvaluationLines(new Dictionary<string, double> { ["reconstruction_mse"] = 0.002, ["codebook_usage_codes"] = 0.5 }, "/r");
        Assert.Equal("reconstruct  test-split MSE 0.00200, codes used codes 50.0%   (/r/reconstruction.json)", Assert.Single(vqvae));

        var vae = RunSummary.EvaluationLines(new Dictionary<string, double> { ["reconstruction_mse"] = 0.0089, ["neg_elbo_test"] = 104.31 }, "/r");
        Assert.Equal("reconstruct  test-split MSE 0.00890, negative ELBO 104.31 nats per image   (/r/reconstruction.json)", Assert.Single(vae));

        var gan = RunSummary.EvaluationLines(new Dictionary<string, double> { ["fid"] = 6.2, ["fid_floor"] = 0.85, ["fid_ratio"] = 7.3, ["classes_present"] = 10, ["label_accuracy"] = 0.9858 }, "/r");
        Assert.EndsWith("10 of 10 classes present, label accuracy 98.6%   (/r/evaluation.json)", Assert.Single(gan));
    }

    public static TheoryData<ModelOptions, string> SampleCommands => new()
    {
        { new DcganOptions(), " --count 10000 --out samples.npy --ema" },
        { new DcganOptions { EmaDecay = 0 }, " --count 10000 --out samples.npy" },
        { new BigGanOptions(), " --count 10000 --out samples.npy --ema" },
        { new VaeOptions(), " --count 10000 --out samples.npy" },
        { new VqVaeOptions(), " --reconstruct --count 64 --out reconstructions.png" },
        { new VqVae2Options { PriorSteps = 10 }, " --count 10000 --out samples.npy --ema" },
        { new VqVae2Options { PriorSteps = 10, PriorEmaDecay = 0 }, " --count 10000 --out samples.npy" },
        { new VqVae2Options(), " --reconstruct --count 64 --out reconstructions.png" },
    };

    /// <summary>The suggested command runs: <c>--ema</c> is an error for a checkpoint without averaged weights, and a model without a prior draws no samples.</summary>
    [Theory]
    [MemberData(nameof(SampleCommands))]
    public void TheSuggestedSampleCommandFitsTheModel(ModelOptions model, string tail) =>
        Assert.Equal("gencluster sample --checkpoint /c" + tail, RunSummary.SampleCommand(model, "/c"));
}
