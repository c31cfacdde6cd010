using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Models;
using GenCluster.Trainer.Cli;
using GenCluster.Trainer.Data;
using GenCluster.Trainer.Imaging;
using GenCluster.Trainer.Sampling;
using GenCluster.Trainer.Tests.Support;
using GenCluster.Trainer.Training;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;

namespace GenCluster.Trainer.Tests.Training;

/// <summary>BigGAN at 32×32 on a small RGB image folder: a few steps with two D steps, accumulation and EMA, then <c>sample --class K --truncation T --ema</c>.</summary>
public class ImageFolderBigGanSmokeTests
{
    [Fact]
    public async Task TrainsAt32By32InColourAndSamplesOneClassTruncatedFromTheEma()
    {
        using var temp = RepoPaths.NewTemp();
        var engine = new TrainingEngineOptions { Threads = 1, DataDirectory = Path.Combine(temp.Path, "data"), SampleCount = 9 };
        var spec = new JobSpec
        {
            Dataset = TestImages.SolidFolder(temp.Path),
            PerWorkerBatch = 3,
            Steps = 3,
            CheckpointEvery = 0,
            SampleEvery = 0,
            Evaluate = false,
            Model = new BigGanOptions { LatentDim = 12, Width = 8, SharedDim = 8, EmaStart = 1, EmaDecay = 0.9, DSteps = 2 },
        };
        var data = await TrainingData.LoadAsync(spec, engine);
        Assert.Equal((3, 32, 32), (data.Channels, data.Height, data.Width));

        using var group = new InProcessGroup(1);
        var runDir = Path.Combine(temp.Path, "runs", "job");
        using var session = new TrainingSession(new SessionSetup
        {
            Spec = spec, RunDirectory = runDir, Collectives = group.For(0), Dataset = data, Engine = engine, GradientAccumulation = 2,
        });
        var result = Assert.Single(await SessionHarness.RunAll([session], spec.Steps));
        Assert.Equal(SessionOutcome.Completed, result.Outcome);
        Assert.Equal(0, result.SkippedSteps);
        var grid = Path.Combine(runDir, "samples", "step-000003.png");
        Assert.Equal(PngColorType.Rgb, Image.Identify(grid).Metadata.GetPngMetadata().ColorType);

        var drawn = Path.Combine(temp.Path, "two.npy");
        var request = new SamplingRequest(12, ClassLabel: 2, Ema: true, Truncation: 0.5);
        Assert.Equal(0, SampleCommand.Run(result.LastCheckpoint!.Path, drawn, request, 1, TextWriter.Null, TextWriter.Null));
        Assert.Equal("(12, 3, 32, 32)", NpyFile.ReadImages(drawn).ShapeText);
        Assert.All(NpyFile.ReadLabels(Path.Combine(temp.Path, "two.labels.npy")), l => Assert.Equal(2L, l));
    }
}
