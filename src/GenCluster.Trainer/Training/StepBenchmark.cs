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
    public static StepBenchmarkResult Run(JobSpec spec, int threads, int steps, int warmup, ICollectives collectives)
    {
        torch.set_num_threads(threads);
        var count = Math.Max(spec.PerWorkerBatch * 4 * collectives.WorldSize, 256);
        var pixels = new byte[count * 28 * 28];
        new Random(1).NextBytes(pixels);
        var labels = Enumerable.Range(0, count).Select(i => i % 10).ToArray();
        var data = new ImageDataset(pixels, count, 28, 28, 1, labels, 10);
        var options = spec.Model;
        using var recipe = RecipeRegistry.Create(options, new RecipeSetup
        {
            Seed = spec.Seed, Classes = 10, WorldSize = collectives.WorldSize,
        });
        using var noise = new NoiseStreams(spec.Seed);
        var sampler = new DistributedSampler(count, collectives.WorldSize, collectives.Rank, spec.PerWorkerBatch, spec.Seed);
        long step = 0;
        // The first stage (all of a single-stage model; a VQ-VAE-2's autoencoder).
        var stage = options.Stages(long.MaxValue)[0];
        double RunStep()
        {
            using var scope = torch.NewDisposeScope();
            var context = new StepContext(collectives, data, sampler, noise, spec.PerWorkerBatch, 1, torch.CPU, step++, default, stage);
            recipe.Step(context);
            return context.AllReduceSeconds;
        }
        for (var i = 0; i < warmup; i++) RunStep();
        var times = new double[steps];
        var waits = new double[steps];
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        for (var i = 0; i < steps; i++)
        {
            var started = Stopwatch.GetTimestamp();
            waits[i] = RunStep();
            times[i] = Stopwatch.GetElapsedTime(started).TotalSeconds;
        }
        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds / steps;
        Array.Sort(times);
        Array.Sort(waits);
        var median = times[steps / 2];
        var wait = waits[steps / 2];
        if (options is not DcganOptions dcgan) return new StepBenchmarkResult(median, double.NaN, double.NaN, wait, cpu);
        var flops = DcganFlops.TrainingFlopsPerImage(dcgan.LatentDim, dcgan.Width) * spec.PerWorkerBatch / median;
        return new StepBenchmarkResult(median, flops, MatmulFlops(), wait, cpu);
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
