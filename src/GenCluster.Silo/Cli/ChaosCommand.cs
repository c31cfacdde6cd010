using System.CommandLine;
using GenCluster.Silo.Local;

namespace GenCluster.Silo.Cli;

/// <summary><c>gencluster chaos</c>: a local run under SIGKILLs, a SIGTERM and a silo restart, with the recovery figures.</summary>
public static class ChaosCommand
{
    /// <summary>Builds the verb.</summary>
    public static Command Build()
    {
        var d = new LocalRunOptions { Workers = 3, Steps = 3000, PerWorkerBatch = 16, Width = 16, DatasetLimit = 4096, CheckpointEvery = 10, SampleEvery = 0 };
        var c = new ChaosOptions();
        var workers = new Option<int>("--workers", "-n") { Description = "Trainer processes", DefaultValueFactory = _ => d.Workers };
        var steps = new Option<long>("--steps") { Description = "Optimizer steps", DefaultValueFactory = _ => d.Steps };
        var batch = new Option<int>("--batch") { Description = "Images per worker per step", DefaultValueFactory = _ => d.PerWorkerBatch };
        var width = new Option<int>("--width") { Description = "Base channel width of G and D", DefaultValueFactory = _ => d.Width };
        var limit = new Option<int>("--dataset-limit") { Description = "Use only the first N images (0 = all)", DefaultValueFactory = _ => d.DatasetLimit };
        var checkpointEvery = new Option<int>("--checkpoint-every") { Description = "Checkpoint every N steps", DefaultValueFactory = _ => d.CheckpointEvery };
        var threads = new Option<int>("--threads") { Description = "TorchSharp threads per trainer (0 = share the cores)", DefaultValueFactory = _ => d.Threads };
        var runs = new Option<string>("--runs-dir") { Description = "Where runs go", DefaultValueFactory = _ => d.RunsDirectory };
        var data = new Option<string>("--data-dir") { Description = "Where data sets are kept", DefaultValueFactory = _ => d.DataDirectory };
        var killEvery = new Option<double>("--kill-every") { Description = "SIGKILL a random round member every N seconds", DefaultValueFactory = _ => c.KillEverySeconds };
        var sigtermAt = new Option<double>("--sigterm-at") { Description = "SIGTERM another member once at this second", DefaultValueFactory = _ => c.SigtermAtSeconds };
        var siloAt = new Option<double>("--silo-restart-at") { Description = "SIGKILL and restart the silo once at this second", DefaultValueFactory = _ => c.SiloRestartAtSeconds };
        var seed = new Option<int>("--chaos-seed") { Description = "Seed of the victim choice", DefaultValueFactory = _ => c.Seed };
        var lease = new Option<double>("--lease-seconds") { Description = "Worker lease of the silo", DefaultValueFactory = _ => c.LeaseSeconds };

        var command = new Command("chaos", "Train one job on a local cluster while killing trainers and the silo; print steps lost and recovery times.")
        {
            workers, steps, batch, width, limit, checkpointEvery, threads, runs, data, killEvery, sigtermAt, siloAt, seed, lease,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var local = d with
            {
                Workers = result.GetValue(workers),
                Steps = result.GetValue(steps),
                PerWorkerBatch = result.GetValue(batch),
                Width = result.GetValue(width),
                DatasetLimit = result.GetValue(limit),
                CheckpointEvery = result.GetValue(checkpointEvery),
                Threads = result.GetValue(threads),
                RunsDirectory = result.GetValue(runs)!,
                DataDirectory = result.GetValue(data)!,
            };
            var chaos = c with
            {
                KillEverySeconds = result.GetValue(killEvery),
                SigtermAtSeconds = result.GetValue(sigtermAt),
                SiloRestartAtSeconds = result.GetValue(siloAt),
                Seed = result.GetValue(seed),
                LeaseSeconds = result.GetValue(lease),
            };
            var error = result.InvocationConfiguration.Error;
            var problems = local.Validate().Concat(chaos.Validate()).ToList();
            if (local.Workers < 2) problems.Add($"--workers must be >= 2 for chaos (got {local.Workers})");
            if (problems.Count > 0)
            {
                foreach (var p in problems) error.WriteLine(p);
                return 2;
            }
            try
            {
                return await new ChaosRun(local, chaos, result.InvocationConfiguration.Output, TimeProvider.System).RunAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is FileNotFoundException or InvalidOperationException or TimeoutException or InvalidDataException or Api.GenClusterApiException)
            {
                error.WriteLine($"gencluster chaos: {ex.Message}");
                return 1;
            }
        });
        return command;
    }
}
