using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Workers;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace GenCluster.Contracts.Tests.Jobs;

/// <summary>Job status and assignments cross grain calls and storage through Orleans' serializer: nothing may be lost.</summary>
public class JobStatusSerializationTests
{
    [Fact]
    public void JobStatusRoundTripsWithRoundsCheckpointsAndHistory()
    {
        using var services = new ServiceCollection().AddSerializer().BuildServiceProvider();
        var serializer = services.GetRequiredService<Serializer>();
        var at = new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
        var checkpoint = new CheckpointRef(40, "/runs/j/checkpoints/40", "deadbeef");
        var status = new JobStatus
        {
            Id = "j", Spec = new JobSpec { Name = "n", MaxWorkers = 2, Model = new GenCluster.Contracts.Models.WganGpOptions { Width = 8, GradientPenalty = 5 } },
            State = JobState.Running, SubmittedAt = at,
            Rounds = new[] { new JobRound(1, new[] { new RoundMember(0, "a", "h", "http://a:1") }, 2, checkpoint, at, at, "lost") },
            Progress = new TrainingProgress(41, 2, 123.5, new Dictionary<string, double> { ["loss_g"] = 1.25 }),
            LatestCheckpoint = checkpoint, Checkpoints = new[] { checkpoint },
            History = new[] { new JobEvent(at, "submitted", 0, "hello") }, Restarts = 1, Preemptions = 2, RunDirectory = "/runs/j",
        };

        var copy = serializer.Deserialize<JobStatus>(serializer.SerializeToArray(status))!;

        Assert.Equal(status.Spec, copy.Spec);
        Assert.Equal((status.State, status.SubmittedAt, status.Restarts, status.Preemptions), (copy.State, copy.SubmittedAt, copy.Restarts, copy.Preemptions));
        Assert.Equal(status.Rounds[0] with { Members = [] }, copy.Rounds[0] with { Members = [] });
        Assert.Equal(status.Rounds[0].Members, copy.Rounds[0].Members);
        Assert.Equal(1.25, copy.Progress!.Metrics["loss_g"]);
        Assert.Equal(checkpoint, copy.LatestCheckpoint);
        Assert.Equal(status.History, copy.History);
        Assert.Equal(1, copy.CurrentRound);
    }
}
