using System.CommandLine;
using GenCluster.Silo.Local;

namespace GenCluster.Silo.Cli;

/// <summary><c>gencluster local</c>: a whole cluster on this machine training one job, with a live progress display.</summary>
public static class LocalCommand
{
    /// <summary>Builds the verb.</summary>
    public static Command Build()
    {
        var d = new LocalRunOptions();
        var model = new Option<string>("--model") { Description = "Model kind", DefaultValueFactory = _ => d.Model };
        var dataset = new Option<string>("--dataset") { Description = "Data set", DefaultValueFactory = _ => d.Dataset };
        var workers = new Option<int>("--workers", "-n") { Description = "Trainer processes", DefaultValueFactory = _ => d.Workers };
        var steps = new Option<long>("--steps") { Description = "Optimizer steps", DefaultValueFactory = _ => d.Steps };
        var batch = new Option<int>("--batch") { Description = "Images per worker per step", DefaultValueFactory = _ => d.PerWorkerBatch };
        var width = new Option<int>("--width") { Description = "Base channel width of G and D", DefaultValueFactory = _ => d.Width };
        var limit = new Option<int>("--dataset-limit") { Description = "Use only the first N images (0 = all)", DefaultValueFactory = _ => d.DatasetLimit };
        var checkpointEvery = new Option<int>("--checkpoint-every") { Description = "Checkpoint every N steps", DefaultValueFactory = _ => d.CheckpointEvery };
        var sampleEvery = new Option<int>("--sample-every") { Description = "Sample grid every N steps", DefaultValueFactory = _ => d.SampleEvery };
        var seed = new Option<long>("--seed") { Description = "Seed", DefaultValueFactory = _ => d.Seed };
        var threads = new Option<int>("--threads") { Description = "TorchSharp threads per trainer (0 = share the cores)", DefaultValueFactory = _ => d.Threads };
        var runs = new Option<string>("--runs-dir") { Description = "Where runs (checkpoints, samples) go", DefaultValueFactory = _ => d.RunsDirectory };
        var data = new Option<string>("--data-dir") { Description = "Where data sets are kept (MNIST is fetched when missing)", DefaultValueFactory = _ => d.DataDirectory };
        var trainer = new Option<string>("--trainer") { Description = "Path of gencluster-trainer.dll (default: found beside this build)", DefaultValueFactory = _ => d.TrainerPath };
        var grace = new Option<double>("--grace-seconds") { Description = "Time trainers get to checkpoint on Ctrl+C", DefaultValueFactory = _ => d.GraceSeconds };

        var command = new Command("local", "Start a silo and N trainers on this machine and train one job, with live progress.")
        {
            model, dataset, workers, steps, batch, width, limit, checkpointEvery, sampleEvery, seed, threads, runs, data, trainer, grace,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var options = new LocalRunOptions
            {
                Model = result.GetValue(model)!,
                Dataset = result.GetValue(dataset)!,
                Workers = result.GetValue(workers),
                Steps = result.GetValue(steps),
                PerWorkerBatch = result.GetValue(batch),
                Width = result.GetValue(width),
                DatasetLimit = result.GetValue(limit),
                CheckpointEvery = result.GetValue(checkpointEvery),
                SampleEvery = result.GetValue(sampleEvery),
                Seed = result.GetValue(seed),
                Threads = result.GetValue(threads),
                RunsDirectory = result.GetValue(runs)!,
                DataDirectory = result.GetValue(data)!,
                TrainerPath = result.GetValue(trainer)!,
                GraceSeconds = result.GetValue(grace),
            };
            var error = result.InvocationConfiguration.Error;
            var problems = options.Validate();
            if (problems.Count > 0)
            {
                foreach (var p in problems) error.WriteLine(p);
                return 2;
            }
            try
            {
                var output = result.InvocationConfiguration.Output;
                return await new LocalRun(options, output, TimeProvider.System).RunAsync(!Console.IsOutputRedirected, cancellationToken);
            }
            catch (Exception ex) when (ex is FileNotFoundException or InvalidOperationException or TimeoutException or Api.GenClusterApiException)
            {
                error.WriteLine($"gencluster local: {ex.Message}");
                return 1;
            }
        });
        return command;
    }
}
