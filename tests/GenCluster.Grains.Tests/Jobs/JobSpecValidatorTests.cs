using GenCluster.Contracts.Jobs;
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
            Steps = 0, MinWorkers = 3, MaxWorkers = 2, PerWorkerBatch = -1, Model = "vit",
            ModelOptions = new ModelOptions { Beta1 = 1.5, LearningRateG = double.NaN },
        });
        Assert.Equal(["maxWorkers", "model", "modelOptions.beta1", "modelOptions.learningRateG", "perWorkerBatch", "steps"],
            errors.Keys.Order(StringComparer.Ordinal));
        Assert.Contains("steps: must be >= 1, got 0", errors["steps"]);
        Assert.Contains("maxWorkers: must be >= minWorkers (3), got 2", errors["maxWorkers"]);
        Assert.Contains("'vit'", errors["model"][0]);
        Assert.Contains("dcgan", errors["model"][0]);
    }

    [Fact]
    public void AGlobalBatchNoWorldSizeCanKeepIsRejected()
    {
        var errors = JobSpecValidator.Validate(new JobSpec { PerWorkerBatch = 64, GlobalBatch = 100, MinWorkers = 1, MaxWorkers = 2 });
        var message = Assert.Single(errors["globalBatch"]);
        Assert.Contains("got 100", message);
        Assert.Contains("1..2", message);
    }

    [Theory]
    [InlineData("wgan-gp")]
    [InlineData("wasserstein")]
    public void ObjectivesTheTrainerCannotRunAreRejected(string objective)
    {
        var errors = JobSpecValidator.Validate(new JobSpec { ModelOptions = new ModelOptions { Objective = objective } });
        var message = Assert.Single(errors["modelOptions.objective"]);
        Assert.Contains($"'{objective}'", message);
        Assert.Contains("non-saturating", message);
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
    public void NullSpecIsRejected() => Assert.Contains("$", JobSpecValidator.Validate(null).Keys);
}
