using System.Collections.Concurrent;
using GenCluster.Contracts.Workers;
using GenCluster.Trainer.Hosting;
using GenCluster.Trainer.Worker;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace GenCluster.Trainer.Tests.Worker;

public class WorkerLoopTests
{
    private sealed class FakeControlPlane : IControlPlane
    {
        public volatile Assignment? Desired;
        /// <summary>Reports fail (the silo is away) while this is above zero; each failed try counts it down.</summary>
        public int FailingReports;
        public readonly ConcurrentQueue<string> Reports = new();
        public readonly ConcurrentQueue<Heartbeat> Heartbeats = new();

        public Task<HeartbeatReply> RegisterAsync(WorkerInfo worker, CancellationToken cancellationToken) =>
            Task.FromResult(new HeartbeatReply(Desired, 10));

        public Task<HeartbeatReply> HeartbeatAsync(Heartbeat heartbeat, CancellationToken cancellationToken)
        {
            Heartbeats.Enqueue(heartbeat);
            return Task.FromResult(new HeartbeatReply(Desired, 10));
        }

        public Task ReportCheckpointAsync(RoundKey round, CheckpointRef checkpoint, CancellationToken cancellationToken) => Record($"checkpoint {round} {checkpoint.Step}");
        public Task ReportRoundFailureAsync(RoundKey round, int rank, string reason, CancellationToken cancellationToken) => Record($"failure {round} rank {rank}: {reason}");
        public Task ReportCompletedAsync(RoundKey round, int rank, long step, CancellationToken cancellationToken) => Record($"completed {round} rank {rank} step {step}");
        public Task ReportEvaluationAsync(RoundKey round, IReadOnlyDictionary<string, double> figures, CancellationToken cancellationToken) => Record($"evaluation {round} {figures.Count} figures");
        public Task ReportLeavingAsync(RoundKey round, int rank, long step, CancellationToken cancellationToken) => Record($"leaving {round} rank {rank} step {step}");

        private Task Record(string line)
        {
            if (Interlocked.Decrement(ref FailingReports) >= 0) return Task.FromException(new TimeoutException("silo away"));
            Reports.Enqueue(line);
            return Task.CompletedTask;
        }
    }

    /// <summary>Trains "steps" until told to stop or a target; reports progress like a real round.</summary>
    private sealed class FakeRunner(long target) : IRoundRunner
    {
        public readonly ConcurrentQueue<RoundKey> Started = new();

        public async Task<RoundOutcome> RunAsync(Assignment assignment, RoundControl control, CancellationToken cancellationToken)
        {
            Started.Enqueue(RoundKey.Of(assignment));
            for (long step = 1; ; step++)
            {
                await Task.Delay(5, cancellationToken);
                control.Progress = new TrainingProgress(step, 0, 100, new Dictionary<string, double>());
                if (step >= target) return new RoundOutcome(RoundEnd.Completed, step);
                if (control.StopAfterCheckpointRequested) return new RoundOutcome(RoundEnd.CheckpointedAndStopped, step);
            }
        }
    }

    private static WorkerLoop MakeLoop(FakeControlPlane controlPlane, IRoundRunner runner) =>
        new(controlPlane, runner, new WorkerInfo("w1", "host", "http://127.0.0.1:1", "http://127.0.0.1:2", "cpu"),
            Options.Create(new TrainerOptions { HeartbeatSeconds = 0.02, GraceSeconds = 5 }), TimeProvider.System,
            NullLogger<WorkerLoop>.Instance);

    private static async Task Eventually(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for: {what}");
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task RunsTheAssignedRoundAndReportsCompletionOnce()
    {
        var controlPlane = new FakeControlPlane { Desired = AssignmentDecisionTests.MakeAssignment(rank: 1) };
        var runner = new FakeRunner(target: 5);
        using var loop = MakeLoop(controlPlane, runner);
        await loop.StartAsync(CancellationToken.None);

        await Eventually(() => controlPlane.Reports.Any(r => r.StartsWith("completed", StringComparison.Ordinal)), "completion report");
        // The control plane still names the finished round for a while: it must not be started again.
        var heartbeatsSoFar = controlPlane.Heartbeats.Count;
        await Eventually(() => controlPlane.Heartbeats.Count > heartbeatsSoFar + 5, "more heartbeats");
        await loop.StopAsync(CancellationToken.None);

        Assert.Single(runner.Started);
        Assert.Equal(["completed job-1/round 1 rank 1 step 5"], controlPlane.Reports.ToArray());
        Assert.Contains(controlPlane.Heartbeats, h => h.Activity == WorkerActivity.Training && h.Progress is { Step: > 0 });
    }

    [Fact]
    public async Task ShutdownCheckpointsAndReportsLeaving()
    {
        var controlPlane = new FakeControlPlane { Desired = AssignmentDecisionTests.MakeAssignment() };
        var runner = new FakeRunner(target: long.MaxValue);
        using var loop = MakeLoop(controlPlane, runner);
        await loop.StartAsync(CancellationToken.None);
        await Eventually(() => controlPlane.Heartbeats.Any(h => h.Progress is { Step: > 3 }), "training progress");

        await loop.StopAsync(CancellationToken.None);

        var report = Assert.Single(controlPlane.Reports);
        Assert.StartsWith("leaving job-1/round 1 rank 0 step ", report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ANewRoundReplacesTheRunningOne()
    {
        var controlPlane = new FakeControlPlane { Desired = AssignmentDecisionTests.MakeAssignment() };
        var runner = new FakeRunner(target: long.MaxValue);
        using var loop = MakeLoop(controlPlane, runner);
        await loop.StartAsync(CancellationToken.None);
        await Eventually(() => loop.RunningRound == new RoundKey("job-1", 1), "round 1 running");

        controlPlane.Desired = AssignmentDecisionTests.MakeAssignment(round: 2);
        await Eventually(() => loop.RunningRound == new RoundKey("job-1", 2), "round 2 running");
        await loop.StopAsync(CancellationToken.None);

        Assert.Equal([new RoundKey("job-1", 1), new RoundKey("job-1", 2)], runner.Started.ToArray());
    }

    [Fact]
    public async Task ACompletionReportLostWhileTheSiloIsAwayIsRetriedUntilItLands()
    {
        var controlPlane = new FakeControlPlane { Desired = AssignmentDecisionTests.MakeAssignment(), FailingReports = 3 };
        var runner = new FakeRunner(target: 5);
        using var loop = MakeLoop(controlPlane, runner);
        await loop.StartAsync(CancellationToken.None);

        await Eventually(() => !controlPlane.Reports.IsEmpty, "the completion report after three failed tries");
        await loop.StopAsync(CancellationToken.None);

        Assert.Equal(["completed job-1/round 1 rank 0 step 5"], controlPlane.Reports.ToArray());
        Assert.Single(runner.Started);
    }

    [Fact]
    public async Task BeginLeavingStopsTheRoundBeforeTheHostStopsTheLoop()
    {
        var controlPlane = new FakeControlPlane { Desired = AssignmentDecisionTests.MakeAssignment() };
        var runner = new FakeRunner(target: long.MaxValue);
        using var loop = MakeLoop(controlPlane, runner);
        await loop.StartAsync(CancellationToken.None);
        await Eventually(() => loop.RunningRound is not null && controlPlane.Heartbeats.Any(h => h.Progress is { Step: > 2 }), "training");

        loop.BeginLeaving();
        await Eventually(() => controlPlane.Heartbeats.Any(h => h.Activity == WorkerActivity.Leaving), "a Leaving heartbeat");
        await loop.StopAsync(CancellationToken.None);

        Assert.StartsWith("leaving job-1/round 1 rank 0 step ", Assert.Single(controlPlane.Reports), StringComparison.Ordinal);
    }
}
