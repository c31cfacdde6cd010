using GenCluster.Trainer.Data;
using GenCluster.Trainer.Layers;
using GenCluster.Trainer.Tests.Support;
using GenCluster.Trainer.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Tests.Layers;

/// <summary>
/// Synchronised BatchNorm against plain BatchNorm on the whole batch: shards of one batch run on threads of an
/// in-process "world" whose all-reduce sums float64 tensors exactly, so the comparison is to ~1e-12.
/// </summary>
public class CrossReplicaBatchNormTests
{
    private const double Tolerance = 1e-10;

    public CrossReplicaBatchNormTests() => torch.set_num_threads(1);

    /// <summary>What one rank (or the whole batch) produced, copied out of torch.</summary>
    private sealed record Outcome(double[] Output, double[] InputGrad, Dictionary<string, double[]> ParameterGrads, Dictionary<string, double[]> Buffers, double[]? ConditionGrad = null);

    private static double[] Values(Tensor t)
    {
        using var flat = t.detach().to_type(ScalarType.Float64).contiguous().reshape(-1);
        return flat.data<double>().ToArray();
    }

    private static Outcome Run(nn.Module module, Func<Tensor, Tensor?, Tensor> forward, Tensor x, Tensor upstream, Tensor? condition = null)
    {
        using var scope = torch.NewDisposeScope();
        var input = x.clone().requires_grad_(true);
        var cond = condition?.clone().requires_grad_(true);
        var y = forward(input, cond);
        y.mul(upstream).sum().backward();
        var grads = new Dictionary<string, double[]>();
        foreach (var (name, p) in module.named_parameters())
        {
            using var grad = p.grad;
            grads[name] = grad is null ? [] : Values(grad);
        }
        var buffers = module.named_buffers().ToDictionary(b => b.name, b => Values(b.buffer));
        return new Outcome(Values(y), Values(input.grad!), grads, buffers, cond is null ? null : Values(cond.grad!));
    }

    private static void Close(double[] expected, double[] actual, string what, double tolerance = Tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        var max = expected.Zip(actual).Select(p => Math.Abs(p.First - p.Second)).DefaultIfEmpty(0).Max();
        Assert.True(max <= tolerance, $"{what}: max |Δ| = {max}, expected ≤ {tolerance}");
    }

    /// <summary>Runs <paramref name="rankBody"/> for every rank on its own thread with the synchronisation hook enabled.</summary>
    private static T[] InWorld<T>(int world, Func<int, T> rankBody)
    {
        using var group = new TensorWorld(world);
        var results = new T[world];
        OnThreads(world, rank =>
        {
            using var sync = CrossReplicaBatchNorm.Enable(group.Reducer(rank));
            results[rank] = rankBody(rank);
        });
        return results;
    }

    /// <summary>Runs <paramref name="body"/>(rank) on one thread per rank; rethrows the first failure.</summary>
    private static void OnThreads(int world, Action<int> body)
    {
        var failures = new Exception?[world];
        var threads = Enumerable.Range(0, world).Select(rank => new Thread(() =>
        {
            try
            {
                body(rank);
            }
            catch (Exception ex)
            {
                failures[rank] = ex;
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        var failure = failures.FirstOrDefault(f => f is not null);
        if (failure is not null) throw new InvalidOperationException($"rank {Array.IndexOf(failures, failure)} failed: {failure.Message}", failure);
    }

    private static BatchNorm NewBatchNorm(int dims, long channels, ulong seed)
    {
        BatchNorm bn = dims == 1 ? nn.BatchNorm1d(channels, momentum: 0.3) : nn.BatchNorm2d(channels, momentum: 0.3);
        bn.to(ScalarType.Float64);
        using var g = new torch.Generator(seed);
        using var noGrad = torch.no_grad();
        using var w = torch.randn([channels], dtype: ScalarType.Float64, generator: g);
        using var b = torch.randn([channels], dtype: ScalarType.Float64, generator: g);
        using var m = torch.randn([channels], dtype: ScalarType.Float64, generator: g);
        using var v = torch.rand([channels], dtype: ScalarType.Float64, generator: g);
        bn.weight.copy_(w.mul(0.5).add(1));
        bn.bias!.copy_(b);
        bn.running_mean!.copy_(m);
        bn.running_var!.copy_(v.add(0.5));
        return bn;
    }

    private static Tensor[] Shards(Tensor whole, int[] sizes) => [.. whole.split(sizes.Select(s => (long)s).ToArray())];

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void WithoutAHookItIsBatchNormForwardBitForBit(bool training)
    {
        using var g = new torch.Generator(3);
        using var x = torch.randn([5, 3, 4, 4], generator: g).mul(3).add(2);
        using var plain = NewBatchNorm(2, 3, 9);
        using var viaForward = NewBatchNorm(2, 3, 9);
        plain.to(ScalarType.Float32);
        viaForward.to(ScalarType.Float32);
        plain.train(training);
        viaForward.train(training);

        using var expected = plain.forward(x);
        using var actual = CrossReplicaBatchNorm.Forward(viaForward, x);

        Assert.False(CrossReplicaBatchNorm.IsSynchronised);
        Assert.Equal(Values(expected), Values(actual));
        Assert.Equal(Values(plain.running_mean!), Values(viaForward.running_mean!));
        Assert.Equal(Values(plain.running_var!), Values(viaForward.running_var!));
        Assert.Equal(Values(plain.num_batches_tracked!), Values(viaForward.num_batches_tracked!));
    }

    [Fact]
    public void InEvalModeAnEnabledHookIsNotCalledAndTheOutputIsBatchNormForward()
    {
        using var g = new torch.Generator(4);
        using var x = torch.randn([6, 3, 2, 2], dtype: ScalarType.Float64, generator: g);
        using var plain = NewBatchNorm(2, 3, 5);
        using var viaForward = NewBatchNorm(2, 3, 5);
        plain.eval();
        viaForward.eval();
        var calls = 0;
        using (CrossReplicaBatchNorm.Enable(_ => calls++))
        {
            using var expected = plain.forward(x);
            using var actual = CrossReplicaBatchNorm.Forward(viaForward, x);
            Assert.Equal(Values(expected), Values(actual));
        }
        Assert.Equal(0, calls);
    }

    [Fact]
    public void HooksNestAndDisposingRestoresThePreviousOne()
    {
        var seen = new List<string>();
        using var bn = NewBatchNorm(1, 2, 1);
        using var x = torch.randn([4, 2], dtype: ScalarType.Float64);
        void ForwardOnce()
        {
            using var y = CrossReplicaBatchNorm.Forward(bn, x);
        }

        using (CrossReplicaBatchNorm.Enable(_ => seen.Add("outer")))
        {
            using (CrossReplicaBatchNorm.Enable(_ => seen.Add("inner"))) ForwardOnce();
            ForwardOnce();
        }
        Assert.False(CrossReplicaBatchNorm.IsSynchronised);
        ForwardOnce();
        Assert.Equal(["inner", "outer"], seen);
    }

    [Theory]
    [InlineData(2, 2, new[] { 4, 4 })]
    [InlineData(2, 3, new[] { 3, 2, 3 })]
    [InlineData(1, 2, new[] { 5, 3 })]
    [InlineData(1, 3, new[] { 2, 4, 3 })]
    public void ShardsOnRanksMatchBatchNormOfTheWholeBatch(int dims, int world, int[] sizes)
    {
        var n = sizes.Sum();
        const long channels = 3;
        long[] shape = dims == 1 ? [n, channels] : [n, channels, 3, 2];
        using var g = new torch.Generator(17);
        using var x = torch.randn(shape, dtype: ScalarType.Float64, generator: g).mul(2).add(0.7);
        using var upstream = torch.randn(shape, dtype: ScalarType.Float64, generator: g);

        Outcome whole;
        using (var bn = NewBatchNorm(dims, channels, 23)) whole = Run(bn, (t, _) => bn.forward(t), x, upstream);

        var xs = Shards(x, sizes);
        var us = Shards(upstream, sizes);
        var ranks = InWorld(world, rank =>
        {
            using var bn = NewBatchNorm(dims, channels, 23);
            return Run(bn, (t, _) => CrossReplicaBatchNorm.Forward(bn, t), xs[rank], us[rank]);
        });

        Close(whole.Output, [.. ranks.SelectMany(r => r.Output)], "outputs");
        Close(whole.InputGrad, [.. ranks.SelectMany(r => r.InputGrad)], "input gradients");
        foreach (var name in new[] { "weight", "bias" })
            Close(whole.ParameterGrads[name], Sum(ranks.Select(r => r.ParameterGrads[name])), $"{name} gradient summed over ranks");
        foreach (var rank in ranks)
        {
            // Running statistics use the unbiased variance of the whole batch, as PyTorch's SyncBatchNorm.
            Close(whole.Buffers["running_mean"], rank.Buffers["running_mean"], "running_mean");
            Close(whole.Buffers["running_var"], rank.Buffers["running_var"], "running_var");
            Assert.Equal(whole.Buffers["num_batches_tracked"], rank.Buffers["num_batches_tracked"]);
        }
    }

    [Fact]
    public void ConditionalBatchNormShardsMatchTheWholeBatch()
    {
        var sizes = new[] { 3, 2, 4 };
        var n = sizes.Sum();
        using var g = new torch.Generator(29);
        using var x = torch.randn([n, 4, 3, 3], dtype: ScalarType.Float64, generator: g).mul(1.5).sub(0.4);
        using var condition = torch.randn([n, 6], dtype: ScalarType.Float64, generator: g);
        using var upstream = torch.randn([n, 4, 3, 3], dtype: ScalarType.Float64, generator: g);
        ConditionalBatchNorm2d NewLayer()
        {
            using var init = new torch.Generator(31);
            var layer = new ConditionalBatchNorm2d(4, 6, spectralNorm: false, generator: init);
            layer.to(ScalarType.Float64);
            return layer;
        }

        Outcome whole;
        using (var cbn = NewLayer()) whole = Run(cbn, (t, c) => cbn.forward(t, c!), x, upstream, condition);

        var xs = Shards(x, sizes);
        var cs = Shards(condition, sizes);
        var us = Shards(upstream, sizes);
        var ranks = InWorld(3, rank =>
        {
            using var cbn = NewLayer();
            return Run(cbn, (t, c) => cbn.forward(t, c!), xs[rank], us[rank], cs[rank]);
        });

        Close(whole.Output, [.. ranks.SelectMany(r => r.Output)], "outputs");
        Close(whole.InputGrad, [.. ranks.SelectMany(r => r.InputGrad)], "input gradients");
        Close(whole.ConditionGrad!, [.. ranks.SelectMany(r => r.ConditionGrad!)], "condition gradients");
        foreach (var name in new[] { "gain.weight", "bias.weight" })
            Close(whole.ParameterGrads[name], Sum(ranks.Select(r => r.ParameterGrads[name])), $"{name} gradient summed over ranks");
        foreach (var rank in ranks)
        {
            Close(whole.Buffers["bn.running_mean"], rank.Buffers["bn.running_mean"], "bn.running_mean");
            Close(whole.Buffers["bn.running_var"], rank.Buffers["bn.running_var"], "bn.running_var");
        }
    }

    [Fact]
    public void SynchronisedGradientsMatchFiniteDifferences()
    {
        using var g = new torch.Generator(41);
        using var x = torch.randn([4, 2, 2, 2], dtype: ScalarType.Float64, generator: g).mul(2).add(1);
        using var upstream = torch.randn([4, 2, 2, 2], dtype: ScalarType.Float64, generator: g);
        using var bn = NewBatchNorm(2, 2, 43);
        // A world of one rank: the sum over ranks is the tensor itself, but every value goes through the synchronised path.
        using var sync = CrossReplicaBatchNorm.Enable(_ => { });
        var analytic = Run(bn, (t, _) => CrossReplicaBatchNorm.Forward(bn, t), x, upstream);

        double Loss(Tensor input)
        {
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            return CrossReplicaBatchNorm.Forward(bn, input).mul(upstream).sum().item<double>();
        }

        const double h = 1e-6;
        var flat = Values(x);
        var numeric = new double[flat.Length];
        for (var i = 0; i < flat.Length; i++)
        {
            var plus = (double[])flat.Clone();
            var minus = (double[])flat.Clone();
            plus[i] += h;
            minus[i] -= h;
            using var xp = torch.tensor(plus, x.shape, ScalarType.Float64);
            using var xm = torch.tensor(minus, x.shape, ScalarType.Float64);
            numeric[i] = (Loss(xp) - Loss(xm)) / (2 * h);
        }
        Close(numeric, analytic.InputGrad, "d loss / d x: autograd vs central differences", 1e-7);
        Assert.Contains(analytic.InputGrad, v => Math.Abs(v) > 1e-3);
    }

    [Fact]
    public void StepContextHookSumsFloat64StatisticsOverRanksAndCountsTheBytes()
    {
        var sizes = new[] { 3, 5 };
        using var g = new torch.Generator(53);
        using var x = torch.randn([8, 2, 2, 2], dtype: ScalarType.Float64, generator: g).add(0.5);
        using var upstream = torch.randn([8, 2, 2, 2], dtype: ScalarType.Float64, generator: g);
        Outcome whole;
        using (var bn = NewBatchNorm(2, 2, 59)) whole = Run(bn, (t, _) => bn.forward(t), x, upstream);

        var xs = Shards(x, sizes);
        var us = Shards(upstream, sizes);
        using var group = new InProcessGroup(2);
        var data = SyntheticIdx.Dataset(16);
        var results = new (Outcome Outcome, long Bytes)[2];
        OnThreads(2, rank =>
        {
            using var noise = new NoiseStreams(1);
            var context = new StepContext(group.For(rank), data, new DistributedSampler(16, 2, rank, 4, seed: 1), noise, 4, 1, torch.CPU, 0, default);
            using var bn = NewBatchNorm(2, 2, 59);
            using (context.SyncBatchNorm())
                results[rank] = (Run(bn, (t, _) => CrossReplicaBatchNorm.Forward(bn, t), xs[rank], us[rank]), context.SyncBatchNormBytes);
        });

        // The wire is float32: the statistics are rounded once, so agreement is to float32 precision.
        Close(whole.Output, [.. results.SelectMany(r => r.Outcome.Output)], "outputs", 1e-5);
        Close(whole.InputGrad, [.. results.SelectMany(r => r.Outcome.InputGrad)], "input gradients", 1e-5);
        // One forward and one backward all-reduce of [Σx (2), Σx² (2), count (1)].
        Assert.All(results, r => Assert.Equal(2 * 5 * sizeof(float), r.Bytes));
    }

    [Fact]
    public void OneRankStepContextEnablesNothing()
    {
        using var group = new InProcessGroup(1);
        using var noise = new NoiseStreams(1);
        var context = new StepContext(group.For(0), SyntheticIdx.Dataset(8), new DistributedSampler(8, 1, 0, 4, seed: 1), noise, 4, 1, torch.CPU, 0, default);
        using (context.SyncBatchNorm()) Assert.False(CrossReplicaBatchNorm.IsSynchronised);
    }

    private static double[] Sum(IEnumerable<double[]> parts) =>
        parts.Aggregate((a, b) => [.. a.Zip(b, (p, q) => p + q)]);

    /// <summary>An in-process world for any dtype: each rank's reducer meets the others at a barrier and adds the ranks' tensors in rank order.</summary>
    private sealed class TensorWorld(int world) : IDisposable
    {
        private readonly Barrier _barrier = new(world);
        private readonly Tensor?[] _inputs = new Tensor?[world];

        public Action<Tensor> Reducer(int rank) => values =>
        {
            _inputs[rank] = values;
            Meet();
            using var sum = _inputs[0]!.clone();
            for (var r = 1; r < world; r++) sum.add_(_inputs[r]!);
            Meet();
            values.copy_(sum);
            Meet();
        };

        public void Dispose() => _barrier.Dispose();

        private void Meet()
        {
            if (!_barrier.SignalAndWait(TimeSpan.FromSeconds(60))) throw new TimeoutException("a rank did not reach the all-reduce");
        }
    }
}
