using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Workers;
using GenCluster.Silo.Local;

namespace GenCluster.Silo.Tests.Local;

public sealed class ChaosReportTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly string _dir = Directory.CreateTempSubdirectory("gencluster-chaos-report-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Journal(params string[] lines)
    {
        var path = Path.Combine(_dir, StepJournalReader.FileName);
        File.WriteAllText(path, string.Join("\n", ["round,step,epoch,skipped,loss_d,loss_g", .. lines]));
        return path;
    }

    private static string[] Steps(long round, long first, long last) =>
        Enumerable.Range((int)first, (int)(last - first + 1)).Select(s => $"{round},{s},0,0.69,0.7,0").ToArray();

    private static JobStatus Status(JobState state, params JobRound[] rounds) => new()
    {
        Id = "j", Spec = new JobSpec { Steps = 30, CheckpointEvery = 10 }, State = state, Rounds = rounds,
    };

    private static JobRound Round(long number, long? resume) =>
        new(number, [], 1, resume is { } r ? new CheckpointRef(r, $"/c/{r}", "h") : null, T0);

    [Fact]
    public void JournalReaderGroupsRoundsAndIgnoresATornLastLine()
    {
        var path = Journal([.. Steps(1, 1, 14), .. Steps(2, 11, 30), "3,31,0,0.6"]);
        var rounds = StepJournalReader.Read(path);
        Assert.Equal([new JournalRound(1, 1, 14), new JournalRound(2, 11, 30)], rounds);
        Assert.Equal(10, rounds[1].ResumedFrom);
    }

    [Fact]
    public void JournalReaderNamesFileAndLineOfAStepRunTwiceInARound()
    {
        var path = Journal("1,1,0,0,0,0", "1,2,0,0,0,0", "1,2,0,0,0,0", "1,3,0,0,0,0");
        var ex = Assert.Throws<InvalidDataException>(() => StepJournalReader.Read(path));
        Assert.Contains($"{path}:4: round 1 ran step 2 after step 2", ex.Message);
    }

    [Fact]
    public void ReportCountsRerunStepsLostCheckpointsGapsAndChecksTheGoals()
    {
        var journal = StepJournalReader.Read(Journal([.. Steps(1, 1, 14), .. Steps(2, 11, 30)]));
        var status = Status(JobState.Succeeded, Round(1, null), Round(2, 10)) with
        {
            Recoveries = [new JobRecovery(1, "round-failed", T0, T0.AddSeconds(2.5), 4)],
        };
        var report = ChaosReport.From(status, journal, [new ChaosFault(20, "SIGKILL trainer", "trainer-1 (local-1)")]);

        Assert.Equal((30L, 30L, 0, 0), (report.TargetStep, report.ReachedStep, report.LostCheckpoints, report.Gaps));
        Assert.Equal([(1L, 2L, 4L)], report.RerunSteps);
        Assert.True(report.MeetsGoals);
        Assert.Contains(report.Lines(), l => l.Contains("round 1 -> round 2: 4 steps"));
        Assert.Contains(report.Lines(), l => l.Contains("recovered in   2.5 s"));
    }

    [Fact]
    public void ResumingBeforeTheRecordedCheckpointOrSkippingStepsMissesTheGoals()
    {
        // Round 2 resumed from step 5 although the control plane had recorded step 10: a lost checkpoint.
        var lost = ChaosReport.From(Status(JobState.Succeeded, Round(1, null), Round(2, 10)),
            StepJournalReader.Read(Journal([.. Steps(1, 1, 12), .. Steps(2, 6, 30)])), []);
        Assert.Equal(1, lost.LostCheckpoints);
        Assert.False(lost.MeetsGoals);

        var gap = ChaosReport.From(Status(JobState.Succeeded, Round(1, null), Round(2, null)),
            StepJournalReader.Read(Journal([.. Steps(1, 1, 12), .. Steps(2, 15, 30)])), []);
        Assert.Equal(1, gap.Gaps);
        Assert.False(gap.MeetsGoals);

        var slow = ChaosReport.From(Status(JobState.Succeeded, Round(1, null)) with
        {
            Recoveries = [new JobRecovery(1, "round-failed", T0, T0.AddSeconds(12), 0)],
        }, StepJournalReader.Read(Journal(Steps(1, 1, 30))), []);
        Assert.False(slow.MeetsGoals);
    }
}
