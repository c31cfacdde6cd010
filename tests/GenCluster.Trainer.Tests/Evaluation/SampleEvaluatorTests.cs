using System.Text.Json;
using GenCluster.Trainer.Evaluation;
using GenCluster.Trainer.Imaging;

namespace GenCluster.Trainer.Tests.Evaluation;

[Collection(SmallEvaluationCollection.Name)]
public class SampleEvaluatorTests(SmallEvaluationFixture fixture)
{
    [Fact]
    public async Task RealImagesScoreNearTheFloorAndNoiseFarAboveIt()
    {
        var log = new StringWriter();
        using var evaluator = await SampleEvaluator.CreateAsync(fixture.Evaluator, log);
        Assert.True(evaluator.ClassifierTestAccuracy > 0.9);
        Assert.True(evaluator.Floor.Fid > 0);

        var test = evaluator.Evaluate(fixture.Data.TestImages, fixture.Data.TestLabels);
        Assert.Equal(0, test.Fid, 1e-6);
        Assert.Equal(evaluator.ClassifierTestAccuracy, test.LabelAccuracy);
        Assert.Equal(10, test.ClassesPresent);
        Assert.Equal(1, test.ClassShares.Sum(), 1e-9);

        var floor = evaluator.Evaluate(evaluator.FloorImages());
        Assert.Equal(evaluator.Floor.Fid, floor.Fid, 1e-9);
        Assert.Equal(1, floor.FidRatio, 1e-9);
        Assert.Null(floor.LabelAccuracy);

        var random = new Random(4);
        var noisePixels = new byte[2000 * 784];
        random.NextBytes(noisePixels);
        var noise = evaluator.Evaluate(new ImageArray(noisePixels, 2000, 1, 28, 28));
        Assert.True(noise.FidRatio > 20, $"noise FID {noise.Fid}, floor {noise.FidFloor}");
        Assert.True(noise.KidMean > 10 * Math.Max(floor.KidMean, floor.KidStd), $"noise KID {noise.KidMean}, floor {floor.KidMean} ± {floor.KidStd}");

        // One digit only: the histogram shows the collapse.
        var ones = Enumerable.Range(0, fixture.Data.TestLabels.Length).Where(i => fixture.Data.TestLabels[i] == 1).Take(500).ToArray();
        var onePixels = ones.SelectMany(i => fixture.Data.TestImages.Pixels.AsSpan(i * 784, 784).ToArray()).ToArray();
        var collapsed = evaluator.Evaluate(new ImageArray(onePixels, ones.Length, 1, 28, 28), [.. ones.Select(_ => 1L)]);
        Assert.True(collapsed.ClassesPresent == 1 && collapsed.ClassShares[1] > 0.95, string.Join(", ", collapsed.ClassShares));
        Assert.True(collapsed.LabelAccuracy > 0.95);
        Assert.True(collapsed.FidRatio > 5, $"single-digit FID ratio {collapsed.FidRatio}");
    }

    [Fact]
    public async Task TheFloorIsCachedBesideTheClassifier()
    {
        var first = new StringWriter();
        using (await SampleEvaluator.CreateAsync(fixture.Evaluator, first)) { }
        var second = new StringWriter();
        using var evaluator = await SampleEvaluator.CreateAsync(fixture.Evaluator, second);
        Assert.DoesNotContain("evaluation floor", second.ToString());
        Assert.DoesNotContain("training a new one", second.ToString());

        var path = Path.Combine(fixture.DataDirectory, "mnist", $"feature-floor-{ClassifierCache.Version}.json");
        var cached = JsonSerializer.Deserialize<EvaluationFloor>(File.ReadAllText(path), ClassifierCard.Json);
        Assert.Equal(evaluator.Floor, cached);
        Assert.Equal(evaluator.Classifier.WeightsSha256, cached!.ClassifierSha256);
    }

    [Fact]
    public async Task WrongShapesAndLabelCountsAreRefused()
    {
        using var evaluator = await SampleEvaluator.CreateAsync(fixture.Evaluator, TextWriter.Null);
        var rgb = new ImageArray(new byte[4 * 3 * 32 * 32], 4, 3, 32, 32);
        Assert.Contains("(4, 3, 32, 32), expected (N, 1, 28, 28)", Assert.Throws<ArgumentException>(() => evaluator.Evaluate(rgb)).Message);
        var two = new ImageArray(new byte[2 * 784], 2, 1, 28, 28);
        Assert.Contains("3 labels for 2 images", Assert.Throws<ArgumentException>(() => evaluator.Evaluate(two, [1, 2, 3])).Message);
    }

    [Fact]
    public void ReportRendersJsonAndAlignedText()
    {
        var report = new EvaluationReport("mnist", 100, 10000, 12.5, 0.9, 12.5 / 0.9, 0.01, 0.001, 0.0001, 0.0002, 10, 100, 10000,
            [0.5, 0.5, 0, 0, 0, 0, 0, 0, 0, 0], 2, 0.75, 0.9863, "v1", "e75651697018d07a747690ecc2f3ef4e");

        using var json = JsonDocument.Parse(report.ToJson());
        Assert.Equal(12.5, json.RootElement.GetProperty("fid").GetDouble());
        Assert.Equal(0.9, json.RootElement.GetProperty("fid_floor").GetDouble());
        Assert.Equal(2, json.RootElement.GetProperty("classes_present").GetInt32());
        Assert.Equal(10, json.RootElement.GetProperty("class_shares").GetArrayLength());
        Assert.Equal(0.75, json.RootElement.GetProperty("label_accuracy").GetDouble());

        var lines = report.ToText().TrimEnd('\n').Split('\n');
        string[] names = ["samples", "FID", "KID", "floor", "classes present", "class shares", "label accuracy", "classifier"];
        Assert.Equal(names, lines.Select(line => line[..18].TrimEnd()));
        Assert.All(lines, line => Assert.False(string.IsNullOrWhiteSpace(line[18..])));
        Assert.Contains(lines, l => l.StartsWith("FID ", StringComparison.Ordinal) && l.Contains("floor 0.900") && l.Contains("ratio 13.89x"));
        Assert.Contains(lines, l => l.StartsWith("label accuracy", StringComparison.Ordinal) && l.Contains("75.00%"));
    }
}
