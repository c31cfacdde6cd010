using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Workers;
using GenCluster.Trainer.Worker;

namespace GenCluster.Trainer.Tests.Worker;

public class AssignmentDecisionTests
{
    internal static Assignment MakeAssignment(string job = "job-1", long round = 1, int rank = 0) =>
        new(job, round, rank, ["http://127.0.0.1:1", "http://127.0.0.1:2"], "secret", new JobSpec(), 1, null, "/tmp/runs/" + job);

    [Fact]
    public void IdleStaysIdle() =>
        Assert.Equal(AssignmentAction.Keep, AssignmentDecision.Decide(null, null, null));

    [Fact]
    public void NewAssignmentStarts() =>
        Assert.Equal(AssignmentAction.Start, AssignmentDecision.Decide(null, null, MakeAssignment()));

    [Fact]
    public void SameRoundKeepsRunning() =>
        Assert.Equal(AssignmentAction.Keep, AssignmentDecision.Decide(new RoundKey("job-1", 1), null, MakeAssignment()));

    [Fact]
    public void NoAssignmentStopsTheRunningRound() =>
        Assert.Equal(AssignmentAction.Stop, AssignmentDecision.Decide(new RoundKey("job-1", 1), null, null));

    [Fact]
    public void NewerRoundReplacesTheRunningOne() =>
        Assert.Equal(AssignmentAction.Replace, AssignmentDecision.Decide(new RoundKey("job-1", 1), null, MakeAssignment(round: 2)));

    [Fact]
    public void AFinishedRoundIsNeverRestarted() =>
        Assert.Equal(AssignmentAction.Keep, AssignmentDecision.Decide(null, new RoundKey("job-1", 1), MakeAssignment()));

    [Fact]
    public void TheNextRoundOfTheSameJobStartsAfterAFinishedOne() =>
        Assert.Equal(AssignmentAction.Start, AssignmentDecision.Decide(null, new RoundKey("job-1", 1), MakeAssignment(round: 2)));
}
