using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Workers;

namespace GenCluster.Contracts.Tests.Jobs;

public class JobGoodputTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static JobRound Round(long number, double formed, long? resume, double? ended = null, long? reached = null, double? stepSeconds = null) =>
        new(number, [new RoundMember(0, "a", "h", "http://h:1")], 1, resume is { } r ? new CheckpointRef(r, $"/ck/{r}", "sha") : null,
            T0.AddSeconds(formed), ended is { } e ? T0.AddSeconds(e) : null, ended is null ? null : "ended", reached, StepSeconds: stepSeconds);

    private static JobStatus Status(IReadOnlyList<JobRound> rounds, double? progressAt, long step = 0, double roundSeconds = 0, double? finished = null) => new()
    {
        Id = "j",
        Spec = new JobSpec { Steps = 1000 },
        Rounds = rounds,
        Progress = progressAt is null ? null : new TrainingProgress(step, 0, 0, new Dictionary<string, double> { [JobGoodput.RoundStepSecondsMetric] = roundSeconds }),
        ProgressAt = progressAt is { } p ? T0.AddSeconds(p) : null,
        FinishedAt = finished is { } f ? T0.AddSeconds(f) : null,
    };

    [Fact]
    public void OneRoundIsItsStepTimeOverTheWallTime()
    {
        // Formed at 10 s, 100 steps in 80 s of step time by 110 s: 80 / 100.
        Assert.Equal(0.8, Status([Round(1, 10, null)], 110, step: 100, roundSeconds: 80).Goodput!.Value, 12);
    }

    [Fact]
    public void StepsTrainedAgainAfterAFailureDoNotCount()
    {
        // Round 1: steps 0..100 in 100 s, then fails at 120 s; round 2 resumes from step 60 at 150 s and trains 60..160
        // in 100 s by 260 s. Steps 60..100 of round 1 are trained again: they cost 40 s that count for nothing.
        var status = Status([Round(1, 0, null, ended: 120, reached: 100, stepSeconds: 100), Round(2, 150, 60)], 260, step: 160, roundSeconds: 100);
        Assert.Equal((60 + 100) / 260.0, status.Goodput!.Value, 12);
    }

    [Fact]
    public void AFinishedJobCountsUpToItsEndAndNothingIsKnownBeforeATimedStep()
    {
        var done = Status([Round(1, 0, null, ended: 100, reached: 50, stepSeconds: 40)], 95, finished: 200);
        Assert.Equal(40 / 200.0, done.Goodput!.Value, 12);
        Assert.Null(Status([], null).Goodput);
        Assert.Null(Status([Round(1, 0, null)], null).Goodput);
        // A round that ended before any step reported (no step seconds) adds nothing.
        Assert.Null(Status([Round(1, 0, null, ended: 30)], 20, step: 0).Goodput);
    }
}
