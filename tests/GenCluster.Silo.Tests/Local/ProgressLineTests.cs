using GenCluster.Contracts.Jobs;
using GenCluster.Silo.Local;

namespace GenCluster.Silo.Tests.Local;

public class ProgressLineTests
{
    [Fact]
    public void RendersBarStepThroughputLossesAndEta()
    {
        var line = ProgressLine.Render(new ProgressSnapshot(500, 2000, 812.4, 1.2346, 0.9876, "Running", 2), stepsPerSecond: 10, barWidth: 20);
        Assert.Equal("[#####---------------]    500/2000  25.0% |     812 img/s | D  1.235 G  0.988 | ETA 02:30 | Running x2", line);
    }

    [Fact]
    public void UnknownRateAndLossesShowDashes()
    {
        var line = ProgressLine.Render(new ProgressSnapshot(0, 100, 0, null, null, "Forming", 0), stepsPerSecond: null);
        Assert.Contains("ETA --:--", line);
        Assert.Contains("D -     G -", line);
    }

    [Fact]
    public void FinishedRunHasFullBarAndZeroEta()
    {
        var line = ProgressLine.Render(new ProgressSnapshot(100, 100, 1, 0, 0, "Succeeded", 2), stepsPerSecond: 3, barWidth: 10);
        Assert.StartsWith("[##########]", line);
        Assert.Contains("100.0%", line);
        Assert.Contains("ETA 00:00", line);
    }

    [Theory]
    [InlineData(JobState.Running, 100, true, false, "Evaluating")]
    [InlineData(JobState.Running, 99, true, false, "Running")]
    [InlineData(JobState.Running, 100, false, false, "Running")]
    [InlineData(JobState.Running, 100, true, true, "Running")]
    [InlineData(JobState.Succeeded, 100, true, false, "Succeeded")]
    [InlineData(JobState.Restarting, 100, true, false, "Restarting")]
    public void AfterTheLastStepARunningJobThatScoresItsModelShowsEvaluating(JobState state, long step, bool evaluates, bool evaluated, string expected) =>
        Assert.Equal(expected, ProgressLine.StateName(state, step, 100, evaluates, evaluated));

    [Fact]
    public void LongRunsShowHours()
    {
        var line = ProgressLine.Render(new ProgressSnapshot(0, 36000, 1, null, null, "Running", 1), stepsPerSecond: 5);
        Assert.Contains("ETA 2:00:00", line);
    }
}

public class StepRateTests
{
    [Fact]
    public void MeasuresOverTheWindow()
    {
        var rate = new StepRate(TimeSpan.FromSeconds(10));
        Assert.Null(rate.StepsPerSecond);
        rate.Observe(TimeSpan.FromSeconds(0), 0);
        rate.Observe(TimeSpan.FromSeconds(2), 20);
        Assert.Equal(10, rate.StepsPerSecond!.Value, 6);
        rate.Observe(TimeSpan.FromSeconds(20), 40);
        rate.Observe(TimeSpan.FromSeconds(22), 80);
        Assert.Equal(20, rate.StepsPerSecond!.Value, 6);
    }

    [Fact]
    public void AStepGoingBackwardsRestartsTheWindow()
    {
        var rate = new StepRate(TimeSpan.FromSeconds(10));
        rate.Observe(TimeSpan.FromSeconds(0), 100);
        rate.Observe(TimeSpan.FromSeconds(1), 110);
        rate.Observe(TimeSpan.FromSeconds(2), 50);
        Assert.Null(rate.StepsPerSecond);
    }

    [Fact]
    public void AutoencodersShowTheirStagesFiguresInsteadOfGanLosses()
    {
        var stage1 = new Dictionary<string, double> { ["mse"] = 0.00123, ["usage_top"] = 0.99, ["usage_bottom"] = 0.775, ["nll_top_bits"] = double.NaN };
        var prior = new Dictionary<string, double> { ["mse"] = double.NaN, ["nll_top_bits"] = 3.9467, ["nll_bottom_bits"] = 0.9002 };
        var vae = new Dictionary<string, double> { ["neg_elbo"] = 101.25, ["reconstruction"] = 76.5, ["kl"] = 24.75 };

        Assert.Equal("MSE 0.00123 | codes used top 99% bottom 78%", ProgressLine.AutoencoderFigures(stage1));
        Assert.Equal("prior: top 3.947 bottom 0.900 bits/code", ProgressLine.AutoencoderFigures(prior));
        Assert.Equal("-ELBO  101.25 nats (rec 76.50, KL 24.75)", ProgressLine.AutoencoderFigures(vae));
        Assert.Null(ProgressLine.AutoencoderFigures(new Dictionary<string, double> { ["loss_d"] = 1, ["loss_g"] = 2 }));
        var line = ProgressLine.Render(new ProgressSnapshot(10, 100, 50, null, null, "Running", 2, ProgressLine.AutoencoderFigures(prior)), 1);
        Assert.Contains("| prior: top 3.947 bottom 0.900 bits/code |", line);
        Assert.DoesNotContain("D -", line);
    }
}
