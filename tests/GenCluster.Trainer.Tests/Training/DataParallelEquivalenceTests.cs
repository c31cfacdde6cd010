using GenCluster.Trainer.Tests.Support;

namespace GenCluster.Trainer.Tests.Training;

/// <summary>n workers with batch B follow the parameters of 1 worker with batch n·B (no batch-coupled layers).</summary>
public class DataParallelEquivalenceTests
{
    private const int Steps = 10;
    private const int GlobalBatch = 12;

    private static async Task<float[]> Train(int world, int accumulation = 1)
    {
        using var temp = RepoPaths.NewTemp();
        using var group = new InProcessGroup(world);
        var data = SyntheticIdx.Dataset(240);
        // Each rank starts from different weights: the round-start broadcast must make them rank 0's.
        var sessions = SessionHarness.Create(world, SessionHarness.TinySpec(GlobalBatch / world / accumulation), temp.Path, data,
            rank => TinyGan.Create(seed: 11 + 100 * rank), group, accumulation: accumulation);
        try
        {
            var results = await SessionHarness.RunAll(sessions, Steps);
            Assert.All(results, r => Assert.Equal(Steps, r.Step));
            var states = sessions.Select(s => SessionHarness.State(s.Models)).ToList();
            foreach (var other in states.Skip(1))
                Assert.Equal(states[0], other);
            return states[0];
        }
        finally
        {
            SessionHarness.DisposeAll(sessions);
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task NWorkersMatchOneWorkerWithNTimesTheBatch(int world)
    {
        var single = await Train(1);
        var parallel = await Train(world);

        using var initial = TinyGan.Create(seed: 11);
        var start = SessionHarness.State(initial);
        var moved = single.Zip(start).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(moved > 1e-3, $"parameters should move in {Steps} steps; max change {moved}");

        var maxDiff = single.Zip(parallel).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(maxDiff <= 1e-5, $"max |1 worker - {world} workers| after {Steps} steps is {maxDiff}, expected ≤ 1e-5");
    }

    [Theory]
    [InlineData(1, 3)]
    [InlineData(2, 2)]
    public async Task GradientAccumulationWithTheSameGlobalBatchMatchesOneWorker(int world, int accumulation)
    {
        var single = await Train(1);
        var accumulated = await Train(world, accumulation);

        var maxDiff = single.Zip(accumulated).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(maxDiff <= 1e-5, $"max |1 worker - {world} workers × {accumulation} micro-batches| is {maxDiff}, expected ≤ 1e-5");
    }
}
