using GenCluster.Trainer.Distributed;
using GenCluster.Trainer.Tests.Support;
using GenCluster.Trainer.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Tests.Training;

public class ShardedAdamTests
{
    private const double Lr = 1e-2;
    private const double Beta1 = 0.5;
    private const double Beta2 = 0.999;
    private static readonly long[][] Shapes = [[3, 4], [5], [2, 2, 3], [1]];

    /// <summary>Parameters with fixed values (the same for every call with the same seed).</summary>
    private static Parameter[] NewParameters(long seed)
    {
        using var random = new torch.Generator((ulong)seed);
        return Shapes.Select(shape =>
        {
            using var values = torch.randn(shape, generator: random);
            return new Parameter(values.clone(), requires_grad: true);
        }).ToArray();
    }

    /// <summary>Rank <paramref name="rank"/>'s gradients of step <paramref name="step"/> (zeros for the last parameter at odd steps, as a skipped branch would leave).</summary>
    private static void SetGradients(Parameter[] parameters, int step, int rank)
    {
        using var random = new torch.Generator((ulong)(1000 + (step * 10) + rank));
        for (var i = 0; i < parameters.Length; i++)
        {
            using var grad = torch.randn(parameters[i].shape, generator: random);
            using (torch.NewDisposeScope())
                parameters[i].grad = (i == parameters.Length - 1 && step % 2 == 1 ? torch.zeros_like(grad) : grad.clone()).DetachFromDisposeScope();
        }
    }

    private static float[] Flatten(IEnumerable<Tensor> tensors)
    {
        using var scope = torch.NewDisposeScope();
        return torch.cat(tensors.Select(t => t.detach().reshape(-1)).ToArray()).data<float>().ToArray();
    }

    private static double MaxDiff(float[] a, float[] b) => a.Zip(b).Max(p => Math.Abs((double)p.First - p.Second));

    /// <summary>Small buckets so the parameters spread over several, and shards split parameters.</summary>
    private static GradientBuckets Buckets(Parameter[] parameters, int world) => new(parameters, bucketBytes: 40, flagSlots: world);

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.05)]
    public void OnOneRankItFollowsTorchAdamBitForBit(double weightDecay)
    {
        var mine = NewParameters(3);
        var theirs = NewParameters(3);
        using var buckets = Buckets(mine, 1);
        using var sharded = new ShardedAdam(mine, buckets, 0, 1, Lr, Beta1, Beta2, weightDecay: weightDecay);
        using var adam = optim.Adam(theirs, Lr, Beta1, Beta2, weight_decay: weightDecay);

        for (var step = 0; step < 5; step++)
        {
            SetGradients(mine, step, 0);
            SetGradients(theirs, step, 0);
            buckets.Gather();
            sharded.Step(new SingleRankCollectives(), default);
            adam.step();
        }

        Assert.True(buckets.Count > 1, "the test wants several buckets");
        Assert.Equal(Flatten(theirs), Flatten(mine));
        Assert.Equal(5, sharded.Steps);
    }

    /// <summary>Adam's update in float64 from its formula (Kingma and Ba 2015, with torch's placement of ε) on one parameter.</summary>
    [Fact]
    public void ThreeStepsMatchAdamsFormulaInFloat64()
    {
        double[] start = [0.5, -1.0, 2.0];
        double[][] grads = [[0.1, -0.2, 0.3], [-0.4, 0.5, 0.0], [1.0, 1.0, -2.0]];
        var parameter = new Parameter(torch.tensor(start.Select(x => (float)x).ToArray()), requires_grad: true);
        using var buckets = new GradientBuckets([parameter], 1024, flagSlots: 1);
        using var sharded = new ShardedAdam([parameter], buckets, 0, 1, Lr, Beta1, Beta2, eps: 1e-8);

        var expected = (double[])start.Clone();
        var m = new double[3];
        var v = new double[3];
        for (var t = 1; t <= grads.Length; t++)
        {
            using (torch.NewDisposeScope())
                parameter.grad = torch.tensor(grads[t - 1].Select(x => (float)x).ToArray()).DetachFromDisposeScope();
            buckets.Gather();
            sharded.Step(new SingleRankCollectives(), default);
            for (var i = 0; i < 3; i++)
            {
                var g = (double)(float)grads[t - 1][i];
                m[i] = (Beta1 * m[i]) + ((1 - Beta1) * g);
                v[i] = (Beta2 * v[i]) + ((1 - Beta2) * g * g);
                var denominator = (Math.Sqrt(v[i]) / Math.Sqrt(1 - Math.Pow(Beta2, t))) + 1e-8;
                expected[i] -= Lr / (1 - Math.Pow(Beta1, t)) * m[i] / denominator;
            }
        }

        var actual = parameter.data<float>().ToArray();
        for (var i = 0; i < 3; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= 1e-6, $"element {i}: formula {expected[i]}, sharded Adam {actual[i]}");
    }

    /// <summary>Runs <paramref name="body"/> on one thread per rank and rethrows the first failure.</summary>
    private static void OnRanks(int world, Action<int> body)
    {
        var failures = new Exception?[world];
        var threads = Enumerable.Range(0, world).Select(rank => new Thread(() =>
        {
            try
            {
                torch.set_num_threads(1);
                body(rank);
            }
            catch (Exception ex)
            {
                failures[rank] = ex;
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        foreach (var failure in failures)
        {
            if (failure is not null) throw new AggregateException(failure);
        }
    }

    /// <summary>The parameters torch's Adam reaches on the ranks' averaged gradients (summed in rank order, as the in-process all-reduce does).</summary>
    private static (Parameter[] Parameters, Adam Optimizer) Reference(int world, int steps)
    {
        var parameters = NewParameters(3);
        var adam = optim.Adam(parameters, Lr, Beta1, Beta2);
        for (var step = 0; step < steps; step++)
        {
            var sums = parameters.Select(p => torch.zeros_like(p)).ToArray();
            for (var rank = 0; rank < world; rank++)
            {
                var local = NewParameters(3);
                SetGradients(local, step, rank);
                for (var i = 0; i < sums.Length; i++)
                {
                    using var grad = local[i].grad!;
                    sums[i].add_(grad);
                }
                foreach (var p in local) p.Dispose();
            }
            for (var i = 0; i < sums.Length; i++)
            {
                using (torch.NewDisposeScope())
                    parameters[i].grad = sums[i].div(world).DetachFromDisposeScope();
                sums[i].Dispose();
            }
            adam.step();
        }
        return (parameters, adam);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void ShardsOverNRanksFollowTorchAdamOnTheAveragedGradients(int world)
    {
        const int steps = 4;
        var (expected, reference) = Reference(world, steps);
        using var _ = reference;
        var results = new float[world][];
        var bytes = new long[world];
        using var group = new InProcessGroup(world);
        OnRanks(world, rank =>
        {
            var parameters = NewParameters(3);
            using var buckets = Buckets(parameters, world);
            using var sharded = new ShardedAdam(parameters, buckets, rank, world, Lr, Beta1, Beta2);
            for (var step = 0; step < steps; step++)
            {
                SetGradients(parameters, step, rank);
                buckets.Gather();
                sharded.Step(group.For(rank), default);
            }
            results[rank] = Flatten(parameters);
            bytes[rank] = sharded.StateBytes;
        });

        Assert.All(results, r => Assert.Equal(results[0], r));
        var diff = MaxDiff(Flatten(expected), results[0]);
        Assert.True(diff <= 1e-6, $"{world} ranks: max |torch Adam - sharded Adam| = {diff}");

        // Together the shards hold exactly the whole state; each rank about 1/world of it (one element per bucket of rounding).
        var whole = ReplicatedOptimizerState.BytesOf(reference);
        Assert.Equal(whole, bytes.Sum());
        using var buckets = Buckets(NewParameters(3), world);
        Assert.All(bytes, b => Assert.InRange(b, (whole / world) - (8 * buckets.Count), (whole / world) + (8 * buckets.Count)));
    }

    [Fact]
    public void ASkippedBranchLeavesNoGradientAndTheParameterStillStepsOnZeros()
    {
        var mine = NewParameters(5);
        var theirs = NewParameters(5);
        using var buckets = Buckets(mine, 1);
        using var sharded = new ShardedAdam(mine, buckets, 0, 1, Lr, Beta1, Beta2);
        using var adam = optim.Adam(theirs, Lr, Beta1, Beta2);
        SetGradients(mine, 0, 0);
        SetGradients(theirs, 0, 0);
        buckets.Gather();
        sharded.Step(new SingleRankCollectives(), default);
        adam.step();
        // Second step: no gradient for the first parameter on the sharded side; the bucket counts it as zeros, as the
        // all-reduce path gives every parameter the averaged (zero) gradient before torch's Adam steps.
        SetGradients(mine, 2, 0);
        SetGradients(theirs, 2, 0);
        mine[0].grad = null;
        theirs[0].grad!.zero_();
        buckets.Gather();
        sharded.Step(new SingleRankCollectives(), default);
        adam.step();

        Assert.Equal(Flatten(theirs), Flatten(mine));
    }

    /// <summary>A sharded state saved at one world size loads into torch's Adam, and torch's Adam's state loads sharded at another.</summary>
    [Fact]
    public void CheckpointsHoldTheWholeStateInTorchSharpsAdamFormatAtAnyWorldSize()
    {
        const int steps = 3;
        var (expected, reference) = Reference(2, steps);
        using var _ = reference;
        var saved = new byte[2][];
        using (var group = new InProcessGroup(2))
        {
            OnRanks(2, rank =>
            {
                var parameters = NewParameters(3);
                using var buckets = Buckets(parameters, 2);
                using var sharded = new ShardedAdam(parameters, buckets, rank, 2, Lr, Beta1, Beta2);
                for (var step = 0; step < steps; step++)
                {
                    SetGradients(parameters, step, rank);
                    buckets.Gather();
                    sharded.Step(group.For(rank), default);
                }
                sharded.GatherForCheckpoint(group.For(rank), default);
                if (rank != 0)
                {
                    Assert.Throws<InvalidOperationException>(() => sharded.Save(new BinaryWriter(new MemoryStream())));
                    return;
                }
                using var stream = new MemoryStream();
                using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true)) sharded.Save(writer);
                saved[0] = stream.ToArray();
            });
        }
        using (var stream = new MemoryStream())
        {
            using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true)) reference.save_state_dict(writer);
            saved[1] = stream.ToArray();
        }

        // The sharded checkpoint is the replicated one, byte for byte up to float rounding of the moments.
        Assert.Equal(saved[1].Length, saved[0].Length);
        var loaded = optim.Adam(NewParameters(3), 0.5);
        loaded.load_state_dict(new BinaryReader(new MemoryStream(saved[0])));
        var theirs = reference.state_dict().State.Cast<Adam.State>().ToList();
        var ours = loaded.state_dict().State.Cast<Adam.State>().ToList();
        Assert.Equal(theirs.Select(s => s.step), ours.Select(s => s.step));
        Assert.True(MaxDiff(Flatten(theirs.Select(s => s.exp_avg)), Flatten(ours.Select(s => s.exp_avg))) <= 1e-7);
        Assert.True(MaxDiff(Flatten(theirs.Select(s => s.exp_avg_sq)), Flatten(ours.Select(s => s.exp_avg_sq))) <= 1e-7);
        Assert.Equal(Lr, loaded.ParamGroups.Single().LearningRate);
        loaded.Dispose();

        // torch's state, resumed sharded over 3 ranks, steps on as torch's Adam does.
        var continued = new float[3][];
        using (var group = new InProcessGroup(3))
        {
            OnRanks(3, rank =>
            {
                var parameters = NewParameters(3);
                using (torch.no_grad())
                {
                    for (var i = 0; i < parameters.Length; i++) parameters[i].copy_(expected[i]);
                }
                using var buckets = Buckets(parameters, 3);
                using var sharded = new ShardedAdam(parameters, buckets, rank, 3, 0.5, 0.9, 0.9);
                sharded.Load(new BinaryReader(new MemoryStream(saved[1])));
                Assert.Equal((steps, Lr, Beta1, Beta2), (sharded.Steps, sharded.LearningRate, sharded.Beta1, sharded.Beta2));
                SetGradients(parameters, steps, 0);
                buckets.Gather();
                sharded.Step(group.For(rank), default);
                continued[rank] = Flatten(parameters);
            });
        }
        SetGradients(expected, steps, 0);
        reference.step();
        Assert.All(continued, c => Assert.True(MaxDiff(Flatten(expected), c) <= 1e-6));
    }
}
