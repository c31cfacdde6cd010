using System.Diagnostics;
using GenCluster.Contracts.Jobs;
using GenCluster.Trainer.Data;
using GenCluster.Trainer.Distributed;
using GenCluster.Contracts.Models;
using GenCluster.Trainer.Recipes;
using GenCluster.Trainer.Recipes.Gan;
using TorchSharp;

namespace GenCluster.Trainer.Training;

/// <summary>Result of <see cref="StepBenchmark.Run"/>.</summary>
/// <param name="MedianStepSeconds">Median wall time of a DCGAN step (one rank, no communication).</param>
/// <param name="TrainingFlops">Achieved training FLOP/s (analytic FLOPs of the step over its median time).</param>
/// <param name="MatmulFlops">libtorch's fp32 matmul FLOP/s (1024×1024) on the same threads.</param>
/// <param name="MedianCollectiveSeconds">Median time per step spent blocked in gradient collectives.</param>
/// <param name="CpuSecondsPerStep">This process's CPU time (all threads) per timed step.</param>
public sealed record StepBenchmarkResult(double MedianStepSeconds, double TrainingFlops, double MatmulFlops,
    double MedianCollectiveSeconds = 0, double CpuSecondsPerStep = double.NaN)
{
    /// <summary>Training FLOP/s as a fraction of matmul FLOP/s.</summary>
    public double Efficiency => TrainingFlops / MatmulFlops;
}

/// <summary>
/// Times training steps of any model kind on one rank with synthetic 28×28 data (a VQ-VAE-2 in its autoencoder stage);
/// for DCGAN, compares their FLOP/s with libtorch's matmul.
/// </summary>
public static class StepBenchmark
{
    /// <summary>Runs <paramref name="warmup"/> + <paramref name="steps"/> steps with <paramref name="threads"/> intra-op threads.</summary>
    public static StepBenchmarkResult Run(JobSpec spec, int threads, int steps, int warmup = 3) =>
        Run(spec, threads, steps, warmup, new SingleRankCollectives());

    /// <summary>As <see cref="Run(JobSpec, int, int, int)"/>, all-reducing gradients over <paramref name="collectives"/>.</summary>
    public static StepBenchmarkResult Run(JobSpec spec, int threads, int steps, int warmup, ICollectives collectives, bool overlap = true)
    {
        using var session = Open(spec, threads, collectives.WorldSize, collectives.Rank, overlap);
        session.Time(collectives, warmup);
        return session.Result(session.Time(collectives, steps));
    }

    /// <summary>
    /// A model, data and randomness for timing steps of <paramref name="spec"/> as rank <paramref name="rank"/> of
    /// <paramref name="worldSize"/>, over any collectives (the ring, or none to time the same work alone).
    /// </summary>
    public static Session Open(JobSpec spec, int threads, int worldSize, int rank, bool overlap = true) =>
        new(spec, threads, worldSize, rank, overlap);

    /// <summary>Step times, time blocked in collectives and CPU time, accumulated over calls of <see cref="Session.Time"/>.</summary>
    public sealed class Timing
    {
        internal List<double> Steps { get; } = [];
        internal List<double> Waits { get; } = [];
        internal double CpuSeconds { get; set; }

        /// <summary>Adds another block's figures.</summary>
        public void Add(Timing other)
        {
            Steps.AddRange(other.Steps);
            Waits.AddRange(other.Waits);
            CpuSeconds += other.CpuSeconds;
        }
    }

    /// <summary>See <see cref="Open"/>.</summary>
    public sealed class Session : IDisposable
    {
        private readonly JobSpec _spec;
        private readonly ImageDataset _data;
        private readonly ITrainingRecipe _recipe;
        private readonly NoiseStreams _noise;
        private readonly DistributedSampler _sampler;
        private readonly TrainingStage _stage;
        private readonly int _threads;
        private long _step;

        internal Session(JobSpec spec, int threads, int worldSize, int rank, bool overlap)
        {
            torch.set_num_threads(threads);
            _threads = threads;
            _spec = spec;
            var count = Math.Max(spec.PerWorkerBatch * 4 * worldSize, 256);
            var pixels = new byte[count * 28 * 28];
            new Random(1).NextBytes(pixels);
            var labels = Enumerable.Range(0, count).Select(i => i % 10).ToArray();
            _data = new ImageDataset(pixels, count, 28, 28, 1, labels, 10);
            _recipe = RecipeRegistry.Create(spec.Model, new RecipeSetup
            {
                Seed = spec.Seed, Classes = 10, WorldSize = worldSize, Rank = rank, OverlapBackward = overlap,
            });
            _noise = new NoiseStreams(spec.Seed);
            _sampler = new DistributedSampler(count, worldSize, rank, spec.PerWorkerBatch, spec.Seed);
            // The first stage (all of a single-stage model; a VQ-VAE-2's autoencoder).
            _stage = spec.Model.Stages(long.MaxValue)[0];
        }

        /// <summary>Gradient buckets all-reduced during backward so far, and averages redone.</summary>
        public (long EarlyLaunches, long Redos) OverlapCounts => _recipe.OverlapCounts;

        /// <summary>Runs <paramref name="steps"/> steps over <paramref name="collectives"/> and returns their figures.</summary>
        public Timing Time(ICollectives collectives, int steps)
        {
            // Sessions with different thread counts may take turns in one process; each runs on its own.
            if (torch.get_num_threads() != _threads) torch.set_num_threads(_threads);
            var timing = new Timing();
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            for (var i = 0; i < steps; i++)
            {
                var started = Stopwatch.GetTimestamp();
                using (torch.NewDisposeScope())
                {
                    var context = new StepContext(collectives, _data, _sampler, _noise, _spec.PerWorkerBatch, 1, torch.CPU, _step++, default, _stage);
                    _recipe.Step(context);
                    timing.Waits.Add(context.AllReduceSeconds);
                }
                timing.Steps.Add(Stopwatch.GetElapsedTime(started).TotalSeconds);
            }
            timing.CpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
            return timing;
        }

        /// <summary>Medians of <paramref name="timing"/>; for DCGAN, its FLOP/s against matmul's.</summary>
        public StepBenchmarkResult Result(Timing timing)
        {
            var median = UpperMedian(timing.Steps);
            var wait = UpperMedian(timing.Waits);
            var cpu = timing.CpuSeconds / Math.Max(1, timing.Steps.Count);
            if (_spec.Model is not DcganOptions dcgan) return new StepBenchmarkResult(median, double.NaN, double.NaN, wait, cpu);
            var flops = DcganFlops.TrainingFlopsPerImage(dcgan.LatentDim, dcgan.Width) * _spec.PerWorkerBatch / median;
            return new StepBenchmarkResult(median, flops, MatmulFlops(), wait, cpu);
        }

        public void Dispose()
        {
            _recipe.Dispose();
            _noise.Dispose();
        }
    }

    /// <summary>
    /// The middle value, the upper one of an even count, as every figure of the step benches takes it (NaN for none). Of
    /// pointwise larger values it is never smaller: the slowest rank's steps never have a lower median than any rank's.
    /// </summary>
    internal static double UpperMedian(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted[sorted.Length / 2];
    }

    /// <summary>fp32 FLOP/s of a 1024×1024 matmul (median of 20).</summary>
    public static double MatmulFlops(int n = 1024)
    {
        using var scope = torch.NewDisposeScope();
        var a = torch.randn(n, n);
        var b = torch.randn(n, n);
        for (var i = 0; i < 3; i++) torch.mm(a, b).Dispose();
        var times = new double[20];
        for (var i = 0; i < times.Length; i++)
        {
            var started = Stopwatch.GetTimestamp();
            torch.mm(a, b).Dispose();
            times[i] = Stopwatch.GetElapsedTime(started).TotalSeconds;
        }
        Array.Sort(times);
        return 2.0 * n * n * n / times[times.Length / 2];
    }
}
