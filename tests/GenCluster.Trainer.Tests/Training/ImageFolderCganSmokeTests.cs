using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Models;
using GenCluster.Trainer.Cli;
using GenCluster.Trainer.Data;
using GenCluster.Trainer.Evaluation;
using GenCluster.Trainer.Imaging;
using GenCluster.Trainer.Sampling;
using GenCluster.Trainer.Tests.Support;
using GenCluster.Trainer.Training;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace GenCluster.Trainer.Tests.Training;

/// <summary>A few conditional MLP GAN steps on a small RGB image folder, end to end through data, checkpoint, colour grids (training and <c>sample</c>) and the evaluation gate.</summary>
public class ImageFolderCganSmokeTests
{
    [Fact]
    public async Task TrainsOnAnRgbImageFolderWritesAColourGridAndSkipsTheMnistEvaluationLoudly()
    {
        using var temp = RepoPaths.NewTemp();
        var engine = new TrainingEngineOptions { Threads = 1, DataDirectory = Path.Combine(temp.Path, "data"), SampleCount = 9 };
        var spec = new JobSpec
        {
            Dataset = TestImages.SolidFolder(temp.Path),
            ImageSize = 16,
            PerWorkerBatch = 6,
            Steps = 3,
            CheckpointEvery = 0,
            SampleEvery = 0,
            Evaluate = true,
            Model = new CganOptions { LatentDim = 8, Width = 16, EmaStart = 1 },
        };
        var data = await TrainingData.LoadAsync(spec, engine);
        Assert.Equal((6, 3, 16, 16, 3), (data.Count, data.Channels, data.Height, data.Width, data.Classes));

        using var group = new InProcessGroup(1);
        var runDir = Path.Combine(temp.Path, "runs", "job");
        using var session = new TrainingSession(new SessionSetup { Spec = spec, RunDirectory = runDir, Collectives = group.For(0), Dataset = data, Engine = engine });
        var result = Assert.Single(await SessionHarness.RunAll([session], spec.Steps));

        Assert.Equal(SessionOutcome.Completed, result.Outcome);
        var grid = Path.Combine(runDir, "samples", "step-000003.png");
        using (var image = Image.Load<Rgb24>(grid))
        {
            var colour = false;
            for (var y = 0; y < image.Height && !colour; y++)
            {
                for (var x = 0; x < image.Width && !colour; x++)
                {
                    var p = image[x, y];
                    colour = p.R != p.G || p.B != p.G;
                }
            }
            Assert.True(colour, $"{grid} has only grey pixels");
        }
        Assert.Equal(PngColorType.Rgb, Image.Identify(grid).Metadata.GetPngMetadata().ColorType);

        var drawn = Path.Combine(temp.Path, "drawn.npy");
        Assert.Equal(0, SampleCommand.Run(result.LastCheckpoint!.Path, drawn, new SamplingRequest(30), 1, TextWriter.Null, TextWriter.Null));
        Assert.Equal("(30, 3, 16, 16)", NpyFile.ReadImages(drawn).ShapeText);
        Assert.Equal(PngColorType.Rgb, Image.Identify(Path.Combine(temp.Path, "drawn.png")).Metadata.GetPngMetadata().ColorType);

        var log = new StringWriter();
        Assert.Null(await FinalEvaluation.RunAsync(result.LastCheckpoint!.Path, runDir, new SampleEvaluatorOptions(), log, CancellationToken.None));
        Assert.Contains($"needs dataset 'mnist'; skipped for dataset '{spec.Dataset}'", log.ToString());

        var error = new StringWriter();
        var request = new EvaluateCommand.EvaluateRequest(null, null, null, 100, "mnist", false, engine.DataDirectory, 1, Checkpoint: result.LastCheckpoint!.Path);
        Assert.Equal(EvaluateCommand.UsageError, await EvaluateCommand.RunAsync(request, new SampleEvaluatorOptions(), TextWriter.Null, error));
        Assert.Contains($"{result.LastCheckpoint.Path}: the FID/KID and label-accuracy evaluation", error.ToString());
    }
}
