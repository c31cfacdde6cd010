using System.Text.Json;
using GenCluster.Trainer.Cli;
using GenCluster.Trainer.Evaluation;
using GenCluster.Trainer.Imaging;
using GenCluster.Trainer.Tests.Support;

namespace GenCluster.Trainer.Tests.Evaluation;

[Collection(SmallEvaluationCollection.Name)]
public class EvaluateCommandTests(SmallEvaluationFixture fixture)
{
    [Fact]
    public async Task PrintsTheTextOrJsonReportForSamplesAndLabels()
    {
        using var temp = RepoPaths.NewTemp();
        var samples = Path.Combine(temp.Path, "samples.npy");
        var labels = Path.Combine(temp.Path, "labels.npy");
        const int n = 600;
        var test = fixture.Data.TestImages;
        NpyFile.WriteImages(samples, test with { Pixels = test.Pixels[..(n * test.ImageBytes)], Count = n });
        NpyFile.WriteLabels(labels, fixture.Data.TestLabels.AsSpan(0, n));

        var (code, output, _) = await Run(Request(samples, labels));
        Assert.Equal(0, code);
        Assert.Contains($"{n} images vs mnist test split (10000)", output);
        Assert.Contains("label accuracy", output);

        (code, output, _) = await Run(Request(samples, labels) with { Json = true });
        Assert.Equal(0, code);
        using var json = JsonDocument.Parse(output);
        Assert.Equal(n, json.RootElement.GetProperty("sample_count").GetInt32());
        Assert.True(json.RootElement.GetProperty("label_accuracy").GetDouble() > 0.9);
    }

    [Fact]
    public async Task ARealSplitStandsInForSamples()
    {
        var (code, output, _) = await Run(Request(null, null) with { RealSplit = "test", Count = 10_000, Json = true });
        Assert.Equal(0, code);
        using var json = JsonDocument.Parse(output);
        Assert.True(json.RootElement.GetProperty("fid").GetDouble() < 1e-6);
    }

    [Fact]
    public async Task InputErrorsExitWithTwoAndSayWhatIsWrong()
    {
        using var temp = RepoPaths.NewTemp();
        var missing = Path.Combine(temp.Path, "missing.npy");
        var (code, _, error) = await Run(Request(missing, null));
        Assert.Equal(2, code);
        Assert.Contains(missing, error);

        var rgb = Path.Combine(temp.Path, "rgb.npy");
        NpyFile.WriteImages(rgb, new ImageArray(new byte[2 * 3 * 32 * 32], 2, 3, 32, 32));
        (code, _, error) = await Run(Request(rgb, null));
        Assert.Equal(2, code);
        Assert.Contains($"{rgb}: shape is (2, 3, 32, 32), expected (N, 1, 28, 28) uint8", error);

        var samples = Path.Combine(temp.Path, "samples.npy");
        var labels = Path.Combine(temp.Path, "labels.npy");
        NpyFile.WriteImages(samples, new ImageArray(new byte[3 * 784], 3, 1, 28, 28));
        NpyFile.WriteLabels(labels, [1, 2]);
        (code, _, error) = await Run(Request(samples, labels));
        Assert.Equal(2, code);
        Assert.Contains($"{labels}: 2 labels, but {samples} has 3 images", error);

        (code, _, error) = await Run(Request(samples, null) with { Dataset = "cifar10" });
        Assert.Equal(2, code);
        Assert.Contains("--dataset 'cifar10' is not supported", error);

        (code, _, error) = await Run(Request(null, null));
        Assert.Equal(2, code);
        Assert.Contains("exactly one of --samples", error);
    }

    [Fact]
    public void TheVerbIsRegistered()
    {
        var parse = TrainerCli.Build().Parse(["evaluate", "--samples", "x.npy", "--json", "--threads", "1"]);
        Assert.Empty(parse.Errors);
    }

    private EvaluateCommand.EvaluateRequest Request(string? samples, string? labels) =>
        new(samples, labels, null, 10_000, "mnist", false, fixture.DataDirectory, 0);

    private async Task<(int Code, string Output, string Error)> Run(EvaluateCommand.EvaluateRequest request)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await EvaluateCommand.RunAsync(request, fixture.Evaluator, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
