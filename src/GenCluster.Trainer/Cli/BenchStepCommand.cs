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
        var width = new Option<int>("--width") { Description = "Base width of G and D", DefaultValueFactory = _ => 64 };
        var model = new Option<string>("--model") { Description = "Model kind (FLOP/s are counted for dcgan only)", DefaultValueFactory = _ => DcganOptions.KindName };
        var dSteps = new Option<int>("--d-steps") { Description = "D steps per G step (0 = the kind's default)" };
        var command = new Command("bench-step", "Time GAN training steps (G and D, 28x28 grey, 10 classes) on one process; for DCGAN compare their FLOP/s with libtorch matmul")
        {
            steps, threads, batch, width, model, dSteps,
        };
        command.SetAction(parse =>
        {
            if (ModelCatalog.Defaults(parse.GetValue(model)!) is not GanOptions defaults)
            {
                Console.Error.WriteLine($"bench-step: --model must be a GAN kind, got '{parse.GetValue(model)}'");
                return 2;
            }
            var spec = new JobSpec
            {
                PerWorkerBatch = parse.GetValue(batch),
                Model = defaults with { Width = parse.GetValue(width), DSteps = parse.GetValue(dSteps) is > 0 and var n ? n : defaults.DSteps },
            };
            var result = StepBenchmark.Run(spec, parse.GetValue(threads), parse.GetValue(steps));
            var c = CultureInfo.InvariantCulture;
            var line = string.Create(c,
                $"{spec.Model.Kind} width {((GanOptions)spec.Model).Width}, batch {spec.PerWorkerBatch}, {parse.GetValue(threads)} threads: " +
                $"median step {result.MedianStepSeconds * 1000:F1} ms, {spec.PerWorkerBatch / result.MedianStepSeconds:F0} images/s");
            if (spec.Model is DcganOptions)
                line += string.Create(c,
                    $", training {result.TrainingFlops / 1e9:F1} GFLOP/s, matmul {result.MatmulFlops / 1e9:F1} GFLOP/s, efficiency {result.Efficiency:P0}");
            Console.WriteLine(line);
            return 0;
        });
        return command;
    }
}
