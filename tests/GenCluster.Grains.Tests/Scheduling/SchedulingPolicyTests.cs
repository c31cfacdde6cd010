using GenCluster.Grains.Scheduling;

namespace GenCluster.Grains.Tests.Scheduling;

public class SchedulingPolicyTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static QueuedJob Q(string id, int priority, int seconds, int min, int max, params string[] preferred) =>
        new(id, priority, T0.AddSeconds(seconds), Enumerable.Range(min, max - min + 1).ToArray(), preferred);

    [Fact]
    public void QueueIsOrderedByPriorityThenSubmitTime()
    {
        var order = SchedulingPolicy.Order([Q("late-low", 0, 2, 1, 1), Q("high", 5, 3, 1, 1), Q("early-low", 0, 1, 1, 1)]);
        Assert.Equal(["high", "early-low", "late-low"], order.Select(j => j.JobId));
    }

    [Fact]
    public void GangPlacementTakesTheLargestSizeThatFitsAndSkipsJobsThatDoNotFit()
    {
        var d = SchedulingPolicy.Decide(
            [Q("big", 1, 0, 4, 4), Q("flex", 0, 1, 1, 3), Q("one", 0, 2, 1, 1)], [], ["w1", "w2", "w3"]);
        Assert.Empty(d.Preemptions);
        var flex = Assert.Single(d.Placements, p => p.JobId == "flex");
        Assert.Equal(["w1", "w2", "w3"], flex.Workers);
        Assert.DoesNotContain(d.Placements, p => p.JobId is "big" or "one");
    }

    [Fact]
    public void SurvivorsOfThePreviousRoundArePreferred()
    {
        var d = SchedulingPolicy.Decide([Q("j", 0, 0, 1, 2, "w3", "gone")], [], ["w1", "w2", "w3"]);
        Assert.Equal(["w3", "w1"], Assert.Single(d.Placements).Workers);
    }

    [Fact]
    public void HigherPriorityPreemptsTheLowestPriorityRunningJobWhenThatIsEnough()
    {
        var running = new[]
        {
            new RunningJob("mid", 5, T0, ["w1", "w2"]),
            new RunningJob("low", 1, T0, ["w3", "w4"]),
        };
        var d = SchedulingPolicy.Decide([Q("urgent", 9, 10, 2, 2)], running, []);
        var p = Assert.Single(d.Preemptions);
        Assert.Equal(("low", "urgent"), (p.JobId, p.ForJobId));
        Assert.Equal(["w3", "w4"], Assert.Single(d.Placements).Workers);
    }

    [Fact]
    public void EqualOrLowerPriorityNeverPreempts()
    {
        var d = SchedulingPolicy.Decide([Q("same", 1, 10, 1, 1)], [new RunningJob("r", 1, T0, ["w1"])], []);
        Assert.True(d.IsEmpty);
    }

    [Fact]
    public void NoPreemptionWhenEvenAllVictimsAreNotEnough()
    {
        var d = SchedulingPolicy.Decide([Q("huge", 9, 10, 4, 4)], [new RunningJob("low", 0, T0, ["w1"])], ["w2"]);
        Assert.True(d.IsEmpty);
    }

    [Fact]
    public void FreedWorkersBeyondTheNeedStayFree()
    {
        var d = SchedulingPolicy.Decide(
            [Q("urgent", 9, 10, 1, 1), Q("other", 0, 11, 1, 1)], [new RunningJob("low", 0, T0, ["w1", "w2"])], []);
        Assert.Equal("low", Assert.Single(d.Preemptions).JobId);
        Assert.Equal(2, d.Placements.Count);
        Assert.Equal(["w1"], d.Placements.Single(p => p.JobId == "urgent").Workers);
        Assert.Equal(["w2"], d.Placements.Single(p => p.JobId == "other").Workers);
    }
}
