using GenCluster.Trainer.Imaging;
using GenCluster.Trainer.Worker;

namespace GenCluster.Trainer.Tests.Imaging;

public sealed class LossChartTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "gencluster-chart-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void DrawsBothCurvesInTheirColours()
    {
        var points = Enumerable.Range(1, 200).Select(s => new MetricPoint(s, [1.0 / s, 2 + Math.Sin(s / 10.0)])).ToList();
        var (width, height, pixels) = LossChart.Render(new MetricHistory(["loss_d", "loss_g"], points), 320, 160);

        Assert.Equal(320 * 160 * 3, pixels.Length);
        Assert.True(Count(pixels, 31, 119, 180) > 100, "the D curve (blue) is drawn");
        Assert.True(Count(pixels, 255, 127, 14) > 100, "the G curve (orange) is drawn");
        Assert.Equal((320, 160), (width, height));
    }

    [Fact]
    public void SkippedStepsAreLeftOutAndAnEmptyHistoryStillRenders()
    {
        var legendOnly = Count(LossChart.Render(new MetricHistory(["loss_d", "loss_g"], [])).Pixels, 31, 119, 180);
        Assert.InRange(legendOnly, 1, 400);

        var (_, _, withNaN) = LossChart.Render(Two([new(1, [1, 2]), new(2, [double.NaN, 2]), new(3, [0.5, 1.5])]));
        Assert.True(Count(withNaN, 31, 119, 180) > legendOnly + 100, "the finite points are joined across the skipped step");
    }

    [Fact]
    public void JournalLossesKeepTheLatestValueOfAReRunStep()
    {
        Directory.CreateDirectory(_dir);
        File.WriteAllLines(Path.Combine(_dir, StepJournal.FileName),
        [
            StepJournal.Header(["loss_d", "loss_g", "gp"]),
            "1,1,0,0,0.9,1.1,0.1",
            "1,2,0,0,0.8,1.2,0.1",
            "2,2,0,0,0.7,1.3,0.2",
            "2,3,0,0,0.6,1.4,0.3",
            "2,4,0,0,0.5",
        ]);

        var history = StepJournal.ReadMetrics(_dir);

        Assert.Equal(["loss_d", "loss_g", "gp"], history.Names);
        Assert.Equal([1L, 2, 3], history.Points.Select(p => p.Step));
        Assert.Equal([[0.9, 1.1, 0.1], [0.7, 1.3, 0.2], [0.6, 1.4, 0.3]], history.Points.Select(p => p.Values));
    }

    [Fact]
    public void RgbPngHasTruecolourHeader()
    {
        var path = Path.Combine(_dir, "chart.png");
        var (width, height, pixels) = LossChart.Render(Two([new(1, [1, 2]), new(2, [0.5, 1])]), 64, 32);
        PngWriter.WriteRgb(path, width, height, pixels);

        var bytes = File.ReadAllBytes(path);
        Assert.True(bytes.AsSpan(0, 8).SequenceEqual(PngWriter.Signature));
        Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(bytes, 12, 4));
        Assert.Equal(8, bytes[24]);
        Assert.Equal(2, bytes[25]);
    }

    private static MetricHistory Two(MetricPoint[] points) => new(["loss_d", "loss_g"], points);

    private static int Count(byte[] rgb, byte r, byte g, byte b)
    {
        var n = 0;
        for (var i = 0; i < rgb.Length; i += 3)
            if (rgb[i] == r && rgb[i + 1] == g && rgb[i + 2] == b) n++;
        return n;
    }
}
