using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Models;
using GenCluster.Trainer.Cli;
using GenCluster.Trainer.Data;
using GenCluster.Trainer.Imaging;
using GenCluster.Trainer.Sampling;
using GenCluster.Trainer.Tests.Support;
using GenCluster.Trainer.Training;

namespace GenCluster.Trainer.Tests.Sampling;

/// <summary><c>sample</c> from a checkpoint directory alone: .npy read back with shape and dtype checked, labels for conditional kinds.</summary>
public class SampleCommandTests
{
    private static async Task<string> Train(string dir, GanOptions model)
    {
        using var group = new InProcessGroup(1);
        var labels = Enumerable.Range(0, 64).Select(i => i % 10).ToArray();
        var data = new ImageDataset(SyntheticIdx.Images(64, 28, 28), 64, 28, 28, 1, labels, 10);
        var spec = new JobSpec { PerWorkerBatch = 8, Seed = 3, Model = model };
        var session = new TrainingSession(new SessionSetup
        {
            Spec = spec, RunDirectory = dir, Collectives = group.For(0), Dataset = data,
            Engine = new TrainingEngineOptions { Threads = 1, SampleCount = 16 },
        });
        using (session) return (await session.RunAsync(2)).LastCheckpoint!.Path;
    }

    [Fact]
    public async Task ConditionalSamplesComeWithTheirLabelsAndAGridRowPerClass()
    {
        using var temp = RepoPaths.NewTemp();
        var checkpoint = await Train(temp.Path, new CganOptions { Width = 16, LatentDim = 8 });
        var output = Path.Combine(temp.Path, "x.npy");
        using var log = new StringWriter();
        using var error = new StringWriter();

        Assert.Equal(0, SampleCommand.Run(checkpoint, output, new SamplingRequest(30, BatchSize: 7), 1, log, error));

        var images = NpyFile.ReadImages(output);
        Assert.Equal((30, 1, 28, 28), (images.Count, images.Channels, images.Height, images.Width));
        var labels = NpyFile.ReadLabels(Path.Combine(temp.Path, "x.labels.npy"));
        Assert.Equal(30, labels.Length);
        Assert.Equal(10, labels.Distinct().Count());
        Assert.True(File.Exists(Path.Combine(temp.Path, "x.png")));

        Assert.Equal(0, SampleCommand.Run(checkpoint, output, new SamplingRequest(12, ClassLabel: 7, Ema: true), 1, log, error));
        Assert.All(NpyFile.ReadLabels(Path.Combine(temp.Path, "x.labels.npy")), l => Assert.Equal(7, l));
    }

    [Fact]
    public async Task TheSameRequestGivesTheSameImagesAndBadRequestsNameTheOption()
    {
        using var temp = RepoPaths.NewTemp();
        var checkpoint = await Train(temp.Path, new DcganOptions { Width = 4, LatentDim = 8, EmaDecay = 0 });
        var a = CheckpointSampler.Sample(checkpoint, new SamplingRequest(9, Seed: 4, BatchSize: 4));
        var b = CheckpointSampler.Sample(checkpoint, new SamplingRequest(9, Seed: 4, BatchSize: 4));
        Assert.Equal(a.Images.Pixels, b.Images.Pixels);
        Assert.Null(a.Labels);

        using var log = new StringWriter();
        using var error = new StringWriter();
        Assert.Equal(SampleCommand.UsageError, SampleCommand.Run(checkpoint, Path.Combine(temp.Path, "y.npy"), new SamplingRequest(4, Ema: true), 1, log, error));
        Assert.Contains("--ema", error.ToString());
        Assert.Contains("has no EMA generator", error.ToString());
        Assert.Equal(SampleCommand.UsageError, SampleCommand.Run(checkpoint, Path.Combine(temp.Path, "y.npy"), new SamplingRequest(4, ClassLabel: 3), 1, log, error));
        Assert.Contains("--class: model kind 'dcgan' is unconditional", error.ToString());
        Assert.Equal(SampleCommand.UsageError, SampleCommand.Run(Path.Combine(temp.Path, "nowhere"), Path.Combine(temp.Path, "y.npy"), new SamplingRequest(4), 1, log, error));
        Assert.Contains("manifest.json is missing", error.ToString());
    }
}
