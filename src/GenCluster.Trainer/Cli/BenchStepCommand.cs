using System.CommandLine;
using System.Globalization;
using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Models;
using GenCluster.Trainer.Training;

namespace GenCluster.Trainer.Cli;

/// <summary><c>gencluster-trainer bench-step</c>: times DCGAN training steps on this machine without communication.</summary>
public static class BenchStepCommand
{
    public static Command Create()
    {
        var steps = new Option<int>("--steps") { Description = "Timed steps", DefaultValueFactory = _ => 30 };
        var threads = new Option<int>("--threads") { Description = "TorchSharp intra-op threads", DefaultValueFactory = _ => 2 };
        var batch = new Option<int>("--batch") { Description = "Images per step", DefaultValueFactory = _ => 64 };
        var width = new Option<int>("--width") { Description = "DCGAN base width", DefaultValueFactory = _ => 64 };
        var command = new Command("bench-step", "Time DCGAN steps (G and D, 28x28) on one process and compare their FLOP/s with libtorch matmul")
        {
            steps, threads, batch, width,
        };
        command.SetAction(parse =>
        {
            var spec = new JobSpec
            {
                PerWorkerBatch = parse.GetValue(batch),
                Model = new DcganOptions { Width = parse.GetValue(width) },
            };
            var result = StepBenchmark.Run(spec, parse.GetValue(threads), parse.GetValue(steps));
            var c = CultureInfo.InvariantCulture;
            Console.WriteLine(string.Create(c,
                $"dcgan width {((DcganOptions)spec.Model).Width}, batch {spec.PerWorkerBatch}, {parse.GetValue(threads)} threads: " +
                $"median step {result.MedianStepSeconds * 1000:F1} ms, training {result.TrainingFlops / 1e9:F1} GFLOP/s, " +
                $"matmul {result.MatmulFlops / 1e9:F1} GFLOP/s, efficiency {result.Efficiency:P0}"));
            return 0;
        });
        return command;
    }
}
