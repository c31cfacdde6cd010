using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Workers;
using GenCluster.Grains.Telemetry;

namespace GenCluster.Grains.Tests.Telemetry;

public class JobFiguresTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void FiguresComeFromTheStatusAndSpec()
    {
        var status = new JobStatus
        {
            Id = "j1",
            Spec = new JobSpec { Steps = 500, RestartBudget = 4, CheckpointEvery = 50 },
            State = JobState.Running,
            Restarts = 1,
            Progress = new TrainingProgress(130, 0, 1, new Dictionary<string, double>()),
            LatestCheckpoint = new CheckpointRef(100, "/ck/100", "sha"),
        };
        var f = JobFigures.From(status, [new RankTiming(0, "a", "h", 0.1, 1)]);
        Assert.Equal(("j1", 130L, 500L, true, 1, 4, 30L, 50), (f.JobId, f.Step, f.TargetSteps, f.Running, f.Restarts, f.RestartBudget, f.StepsSinceCheckpoint, f.CheckpointEvery));
        Assert.True(double.IsNaN(f.Goodput));
        Assert.Single(f.Ranks);
        Assert.Equal(130, JobFigures.From(status with { LatestCheckpoint = null }, []).StepsSinceCheckpoint);
    }

    [Fact]
    public void FinishedJobsStayExportedForAWhile()
    {
        var status = new JobStatus { Id = "j", Spec = new JobSpec(), State = JobState.Succeeded, FinishedAt = T0 };
        Assert.True(JobFigures.Exported(status, T0.AddMinutes(9)));
        Assert.False(JobFigures.Exported(status, T0.AddMinutes(11)));
        Assert.True(JobFigures.Exported(status with { State = JobState.Queued, FinishedAt = null }, T0.AddDays(1)));
    }
}
