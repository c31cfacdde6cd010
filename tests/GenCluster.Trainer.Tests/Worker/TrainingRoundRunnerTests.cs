using GenCluster.Contracts.Jobs;
using GenCluster.Trainer.Distributed;
using GenCluster.Trainer.Worker;

namespace GenCluster.Trainer.Tests.Worker;

public class TrainingRoundRunnerTests
{
    [Theory]
    [InlineData("bf16", false, true)]
    [InlineData("fp32", true, false)]
    [InlineData("fp32", false, false)]
    public void TheJobsGradientTransferDecidesTheRingEncoding(string transfer, bool processDefault, bool expected)
    {
        var options = new RingOptions { UseBf16 = processDefault };

        TrainingRoundRunner.RingSettingsOf(new JobSpec { GradientTransfer = transfer })(options);

        Assert.Equal(expected, options.UseBf16);
    }
}
