using System.Diagnostics.Metrics;
using GenCluster.Trainer.Tests.Support;
using GenCluster.Trainer.Training;
using Microsoft.Extensions.DependencyInjection;

namespace GenCluster.Trainer.Tests.Training;

public class TrainingSessionTests
{
    [Fact]
    public async Task CheckpointAndStopRequestOnOneRankStopsEveryRankAfterTheSameStep()
    {
        using var temp = RepoPaths.NewTemp();
        using var group = new InProcessGroup(2);
        var sessions = SessionHarness.Create(2, SessionHarness.TinySpec(4), temp.Path, SyntheticIdx.Dataset(64), _ => TinyGan.Create(1), group);
        sessions[1].StepCompleted += p =>
        {
            if (p.Step == 3) sessions[1].RequestCheckpointAndStop();
        };
        try
        {
            var results = await SessionHarness.RunAll(sessions, 100);

            Assert.All(results, r => Assert.Equal(SessionOutcome.Stopped, r.Outcome));
            Assert.All(results, r => Assert.Equal(4, r.Step));
            Assert.Equal(4, results[0].LastCheckpoint!.Step);
            Assert.Null(results[1].LastCheckpoint);
            Assert.Equal(4, sessions[0].Checkpoints.LoadLatestGood(out _)!.Manifest.Step);
        }
        finally
        {
            SessionHarness.DisposeAll(sessions);
        }
    }

    /// <remarks>With overlap, the poisoned rank's early buckets are already on the wire when it finds the NaN: the verdict still travels with the last bucket.</remarks>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task NonFiniteValuesOnOneRankMakeEveryRankSkipTogether(bool overlap)
    {
        using var temp = RepoPaths.NewTemp();
        using var group = new InProcessGroup(2);
        var sessions = SessionHarness.Create(2, SessionHarness.TinySpec(4), temp.Path, SyntheticIdx.Dataset(64), _ => TinyGan.Create(1), group,
            overlap: overlap, bucketBytes: overlap ? 1 : 8192);
        var d1 = SessionHarness.TinyD(sessions[1]);
        var skippedAt = new List<long>[] { [], [] };
        for (var r = 0; r < 2; r++)
        {
            var rank = r;
            sessions[rank].StepSkipped += (step, reason) =>
            {
                Assert.Contains("rank(s) 1", reason);
                skippedAt[rank].Add(step);
            };
        }
        sessions[1].StepCompleted += p => d1.Poison = p.Step == 2;
        try
        {
            var results = await SessionHarness.RunAll(sessions, 6);

            Assert.All(results, r => Assert.Equal(1, r.SkippedSteps));
            Assert.All(skippedAt, s => Assert.Equal([3L], s));
            Assert.Equal(SessionHarness.State(sessions[0].Recipe), SessionHarness.State(sessions[1].Recipe));
            Assert.All(SessionHarness.State(sessions[0].Recipe), v => Assert.True(float.IsFinite(v)));
        }
        finally
        {
            SessionHarness.DisposeAll(sessions);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ConsecutiveSkipsThrowOnEveryRankSoTheCallerRollsBack(bool overlap)
    {
        using var temp = RepoPaths.NewTemp();
        using var group = new InProcessGroup(2);
        var engine = new TrainingEngineOptions { Threads = 1, MaxConsecutiveSkips = 3 };
        var sessions = SessionHarness.Create(2, SessionHarness.TinySpec(4), temp.Path, SyntheticIdx.Dataset(64), _ => TinyGan.Create(1), group, engine: engine,
            overlap: overlap, bucketBytes: overlap ? 1 : 8192);
        SessionHarness.TinyD(sessions[0]).Poison = true;
        try
        {
            var runs = sessions.Select(s => s.RunAsync(10)).ToArray();
            foreach (var run in runs)
            {
                var ex = await Assert.ThrowsAsync<NumericalFaultException>(() => run.WaitAsync(TimeSpan.FromMinutes(2)));
                Assert.Equal(3, ex.Step);
                Assert.Equal(3, ex.ConsecutiveSkips);
            }
        }
        finally
        {
            SessionHarness.DisposeAll(sessions);
        }
    }

    [Fact]
    public async Task MismatchedModelsFailAtRoundStartNamingTheRank()
    {
        using var temp = RepoPaths.NewTemp();
        using var group = new InProcessGroup(3);
        var sessions = SessionHarness.Create(3, SessionHarness.TinySpec(4), temp.Path, SyntheticIdx.Dataset(64),
            rank => TinyGan.Create(1, hidden: rank == 2 ? 17 : 16), group);
        try
        {
            foreach (var run in sessions.Select(s => s.RunAsync(5)).ToArray())
            {
                var ex = await Assert.ThrowsAsync<ModelFingerprintMismatchException>(() => run.WaitAsync(TimeSpan.FromMinutes(2)));
                Assert.Contains("generator fingerprint of rank 2", ex.Message);
                Assert.Contains("expected rank 0's", ex.Message);
            }
        }
        finally
        {
            SessionHarness.DisposeAll(sessions);
        }
    }

    [Fact]
    public async Task ProgressCheckpointsSamplesAndMetricsFollowTheCadence()
    {
        using var temp = RepoPaths.NewTemp();
        using var group = new InProcessGroup(1);
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var instruments = new TrainerInstruments(services.GetRequiredService<IMeterFactory>());
        var stepSeconds = new List<double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == TrainerInstruments.MeterName) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) =>
        {
            if (instrument.Name == "gencluster_trainer_step_seconds") stepSeconds.Add(value);
        });
        var batch = new Dictionary<string, long>();
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (instrument.Name != "gencluster_trainer_batch_images") return;
            foreach (var tag in tags)
                if (tag.Key == "quantity") batch[(string)tag.Value!] = value;
        });
        listener.Start();
        var session = new TrainingSession(new SessionSetup
        {
            Spec = SessionHarness.TinySpec(4, checkpointEvery: 2, sampleEvery: 3),
            RunDirectory = temp.Path,
            Collectives = group.For(0),
            Dataset = SyntheticIdx.Dataset(64),
            Recipe = TinyGan.Recipe((GenCluster.Contracts.Models.GanOptions)SessionHarness.TinySpec(4).Model, TinyGan.Create(1), 1),
            Instruments = instruments,
            Engine = new TrainingEngineOptions { Threads = 1 },
        });
        var progress = new List<StepProgress>();
        var samples = new List<string>();
        session.StepCompleted += progress.Add;
        session.SampleWritten += samples.Add;
        using (session)
        {
            var result = await session.RunAsync(7);

            Assert.Equal(SessionOutcome.Completed, result.Outcome);
            Assert.Equal(Enumerable.Range(1, 7).Select(i => (long)i), progress.Select(p => p.Step));
            Assert.All(progress, p => Assert.True(p.ImagesPerSecond > 0 && double.IsFinite(p.Metric("loss_d")) && double.IsFinite(p.Metric("loss_g"))));
            Assert.Equal(["step-000007", "step-000006", "step-000004", "step-000002"], session.Checkpoints.StepDirectories().Select(Path.GetFileName));
            Assert.Equal(["step-000003.png", "step-000006.png", "step-000007.png"], samples.Select(Path.GetFileName));
            Assert.All(samples, s => Assert.True(File.Exists(s)));
            Assert.Equal(7, result.LastCheckpoint!.Step);
            Assert.Equal(7, stepSeconds.Count);
            Assert.Equal(new Dictionary<string, long> { ["global"] = 4, ["per_worker"] = 4, ["accumulation"] = 1 }, batch);
            // The recipe's two losses, step time, skipped steps, this rank's compute time and the round's step time so far.
            var reported = progress[^1].ToTrainingProgress().Metrics;
            Assert.Equal(6, reported.Count);
            Assert.InRange(reported["compute_seconds"], 1e-6, reported["round_step_seconds"]);
            Assert.Equal(progress.Sum(p => p.StepSeconds), reported["round_step_seconds"], 9);
        }
    }
}
