using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Models;
using GenCluster.Grains.Jobs;

namespace GenCluster.Grains.Tests.Jobs;

public class JobSpecValidatorTests
{
    [Fact]
    public void DefaultsAreValid() => Assert.Empty(JobSpecValidator.Validate(new JobSpec()));

    [Fact]
    public void ImpossibleValuesAreNamedWithExpectedAndActual()
    {
        var errors = JobSpecValidator.Validate(new JobSpec
        {
            Steps = 0, MinWorkers = 3, MaxWorkers = 2, PerWorkerBatch = -1,
            Model = new DcganOptions { Beta1 = 1.5, LearningRateG = double.NaN, DSteps = 0 },
        });
        Assert.Equal(["maxWorkers", "model.beta1", "model.dSteps", "model.learningRateG", "perWorkerBatch", "steps"],
            errors.Keys.Order(StringComparer.Ordinal));
        Assert.Contains("steps: must be >= 1, got 0", errors["steps"]);
        Assert.Contains("maxWorkers: must be >= minWorkers (3), got 2", errors["maxWorkers"]);
        Assert.Contains("model.beta1: must be in [0, 1), got 1.5", errors["model.beta1"]);
    }

    [Fact]
    public void EveryKindsDefaultsAreValid()
    {
        foreach (var kind in ModelCatalog.Kinds)
            Assert.Empty(JobSpecValidator.Validate(new JobSpec { Model = ModelCatalog.Defaults(kind) }));
    }

    [Fact]
    public void AStageWithoutStepsIsRefused()
    {
        var errors = JobSpecValidator.Validate(new JobSpec { Steps = 500, Model = new VqVae2Options { PriorSteps = 500 } });
        Assert.Contains("model.priorSteps: must be < steps (500) so the autoencoder stage has steps, got 500", errors["model.priorSteps"]);
        Assert.Empty(JobSpecValidator.Validate(new JobSpec { Steps = 500, Model = new VqVae2Options { PriorSteps = 300 } }));
    }

    [Fact]
    public void KindSpecificOptionsAreChecked()
    {
        var errors = JobSpecValidator.Validate(new JobSpec { Model = new WganGpOptions { GradientPenalty = 0 } });
        Assert.Contains("model.gradientPenalty: must be a finite number > 0, got 0", errors["model.gradientPenalty"]);
        errors = JobSpecValidator.Validate(new JobSpec { Model = new SnganOptions { LabelSmoothing = 0.1 } });
        Assert.Contains("applies to the non-saturating objective only", errors["model.labelSmoothing"][0]);
    }

    [Fact]
    public void AGlobalBatchNoWorldSizeCanKeepIsRejected()
    {
        var errors = JobSpecValidator.Validate(new JobSpec { PerWorkerBatch = 64, GlobalBatch = 100, MinWorkers = 1, MaxWorkers = 2 });
        var message = Assert.Single(errors["globalBatch"]);
        Assert.Contains("got 100", message);
        Assert.Contains("1..2", message);
    }

    [Fact]
    public async Task AGlobalBatchWithTooManyWorkersIsRefusedWithoutTryingEveryWorldSize()
    {
        // Fuzzing regression (corpus/job-spec/hang-10c0d9bdb32c): validating this spec never returned.
        var spec = new JobSpec { PerWorkerBatch = 2, GlobalBatch = 3, MaxWorkers = int.MaxValue };

        var errors = await Task.Run(() => JobSpecValidator.Validate(spec)).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(["maxWorkers"], errors.Keys);
        Assert.Contains($"must be <= {JobSpecValidator.MaxWorkersLimit}, got {int.MaxValue}", Assert.Single(errors["maxWorkers"]));
    }

    [Theory]
    [InlineData("wgan-gp")]
    [InlineData("wasserstein")]
    public void ObjectivesTheKindCannotRunAreRejected(string objective)
    {
        var errors = JobSpecValidator.Validate(new JobSpec { Model = new DcganOptions { Objective = objective } });
        var message = Assert.Single(errors["model.objective"]);
        Assert.Contains($"'{objective}'", message);
        Assert.Contains("non-saturating", message);
    }

    [Fact]
    public void TheWassersteinObjectiveBelongsToTheWassersteinKinds()
    {
        Assert.Empty(JobSpecValidator.Validate(new JobSpec { Model = new WganOptions() }));
        var errors = JobSpecValidator.Validate(new JobSpec { Model = new WganOptions { Objective = "hinge" } });
        Assert.Contains("must be one of wasserstein, got 'hinge'", errors["model.objective"][0]);
    }

    [Theory]
    [InlineData("fp16")]
    [InlineData("BF16")]
    [InlineData("")]
    public void GradientTransferIsFp32OrBf16(string transfer)
    {
        Assert.Empty(JobSpecValidator.Validate(new JobSpec { GradientTransfer = "bf16" }));
        var errors = JobSpecValidator.Validate(new JobSpec { GradientTransfer = transfer });
        var message = Assert.Single(errors["gradientTransfer"]);
        Assert.Contains($"'{transfer}'", message);
        Assert.Contains("fp32", message);
    }

    [Fact]
    public void ShardedOptimizerStateIsForGanKindsWithAdam()
    {
        Assert.Empty(JobSpecValidator.Validate(new JobSpec { ShardOptimizer = true }));
        Assert.Empty(JobSpecValidator.Validate(new JobSpec { ShardOptimizer = true, Model = new BigGanOptions() }));

        var vae = Assert.Single(JobSpecValidator.Validate(new JobSpec { ShardOptimizer = true, Model = new VaeOptions() })["shardOptimizer"]);
        Assert.StartsWith("shardOptimizer: ", vae);
        Assert.Contains("got 'vae'", vae);
        Assert.Contains("dcgan", vae);

        var rmsprop = Assert.Single(JobSpecValidator.Validate(new JobSpec { ShardOptimizer = true, Model = new WganOptions() })["shardOptimizer"]);
        Assert.Contains("model.optimizer 'adam'", rmsprop);
        Assert.Contains("got 'rmsprop'", rmsprop);
    }

    [Fact]
    public void NullSpecIsRejected() => Assert.Contains("$", JobSpecValidator.Validate(null).Keys);

    [Theory]
    [InlineData("/data/cifar-10-batches-bin")]
    [InlineData("relative/images")]
    [InlineData("/data/train/data_batch_1.bin")]
    public void ADatasetPathIsAccepted(string path) =>
        Assert.Empty(JobSpecValidator.Validate(new JobSpec { Dataset = path, ImageSize = 64, Channels = 1 }));

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData("bad\0path")]
    public void ADatasetThatIsNeitherMnistNorAPathIsNamed(string dataset)
    {
        var errors = JobSpecValidator.Validate(new JobSpec { Dataset = dataset });
        Assert.Contains("must be 'mnist' or the path of an image folder or CIFAR-10 binary batches", Assert.Single(errors["dataset"]));
    }

    [Fact]
    public void ImageSizeAndChannelsAreCheckedWithExpectedAndActual()
    {
        var errors = JobSpecValidator.Validate(new JobSpec { Dataset = "/data/images", ImageSize = 4, Channels = 2 });
        Assert.Equal(["channels", "imageSize"], errors.Keys.Order(StringComparer.Ordinal));
        Assert.Contains("imageSize: must be 0 (the data's own size) or 8..1024, got 4", errors["imageSize"]);
        Assert.Contains("channels: must be 0 (the data's own), 1 (grey) or 3 (RGB), got 2", errors["channels"]);
        Assert.Contains("got 2000", Assert.Single(JobSpecValidator.Validate(new JobSpec { Dataset = "/d", ImageSize = 2000 })["imageSize"]));
    }

    [Fact]
    public void MnistKeepsItsOwnSizeAndGrey()
    {
        Assert.Empty(JobSpecValidator.Validate(new JobSpec { ImageSize = 28, Channels = 1 }));
        var errors = JobSpecValidator.Validate(new JobSpec { ImageSize = 32, Channels = 3 });
        Assert.Contains("imageSize: must be 0 or 28 for mnist (its images are 28×28), got 32", errors["imageSize"]);
        Assert.Contains("channels: must be 0 or 1 for mnist (its images are grey), got 3", errors["channels"]);
    }
}
