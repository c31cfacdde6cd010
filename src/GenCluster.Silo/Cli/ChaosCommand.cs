using System.CommandLine;
using GenCluster.Silo.Local;

namespace GenCluster.Silo.Cli;

/// <summary><c>gencluster chaos</c>: a local run under SIGKILLs, a SIGTERM and a silo restart, with the recovery figures.</summary>
public static class ChaosCommand
{
    /// <summary>Builds the verb.</summary>
    public static Command Build()
    {
        var d = new LocalRunOptions { Workers = 3, Steps = 3000, PerWorkerBatch = 16, Width = 16, DatasetLimit = 4096, CheckpointEvery = 10, SampleEvery = 0, Evaluate = false };
        var c = new ChaosOptions();
        var flags = new LocalRunFlags(d);
        var killEvery = new Option<double>("--kill-every") { Description = "SIGKILL a random round member every N seconds", DefaultValueFactory = _ => c.KillEverySeconds };
        var sigtermAt = new Option<double>("--sigterm-at") { Description = "SIGTERM another member once at this second", DefaultValueFactory = _ => c.SigtermAtSeconds };
        var siloAt = new Option<double>("--silo-restart-at") { Description = "SIGKILL and restart the silo once at this second", DefaultValueFactory = _ => c.SiloRestartAtSeconds };
        var seed = new Option<int>("--chaos-seed") { Description = "Seed of the victim choice", DefaultValueFactory = _ => c.Seed };
        var lease = new Option<double>("--lease-seconds") { Description = "Worker lease of the silo", DefaultValueFactory = _ => c.LeaseSeconds };

        var command = new Command("chaos", "Train one job on a local cluster while killing trainers and the silo; print steps lost and recovery times.")
        {
            killEvery, sigtermAt, siloAt, seed, lease,
        };
        flags.AddTo(command);
        command.SetAction((result, cancellationToken) =>
        {
            var local = flags.Bind(result);
            var chaos = c with
            {
                KillEverySeconds = result.GetValue(killEvery),
                SigtermAtSeconds = result.GetValue(sigtermAt),
                SiloRestartAtSeconds = result.GetValue(siloAt),
                Seed = result.GetValue(seed),
                LeaseSeconds = result.GetValue(lease),
            };
            var problems = local.Validate().Concat(chaos.Validate()).ToList();
            if (local.Workers < 2) problems.Add($"--workers must be >= 2 for chaos (got {local.Workers})");
            return LocalRunFlags.RunAsync(result, "chaos", problems, output =>
                new ChaosRun(local, chaos, output, TimeProvider.System).RunAsync(cancellationToken));
        });
        return command;
    }
}
