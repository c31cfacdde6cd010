using System.CommandLine;
using System.Globalization;
using GenCluster.Contracts.Security;
using GenCluster.Silo.Security;

namespace GenCluster.Silo.Cli;

/// <summary><c>gencluster certs</c>: a new CA for one cluster and the silo's and trainers' certificates it signs.</summary>
public static class CertsCommand
{
    /// <summary>Builds the verb.</summary>
    public static Command Build()
    {
        var outDir = new Option<string>("--out") { Description = "Directory to write ca.crt, ca.key, silo.crt, silo.key, trainer.crt and trainer.key into", Required = true };
        var hosts = new Option<string>("--hosts") { Description = "Comma-separated DNS names or IP addresses the silos are reached at (besides localhost, 127.0.0.1), put in the silo certificate", DefaultValueFactory = _ => "" };
        var days = new Option<int>("--days") { Description = "Days the CA and the certificates are valid", DefaultValueFactory = _ => 365 };
        var force = new Option<bool>("--force") { Description = "Replace a CA the directory already holds (certificates it signed stop being accepted)" };

        var command = new Command("certs", "Make a CA for one cluster and the silo and trainer certificates it signs (PEM; keys readable by their owner only).")
        {
            outDir, hosts, days, force,
        };
        command.SetAction(async (result, _) =>
        {
            var error = result.InvocationConfiguration.Error;
            var lifetime = result.GetValue(days);
            if (lifetime < 1)
            {
                await error.WriteLineAsync($"gencluster certs: --days must be at least 1, got {lifetime}");
                return 2;
            }
            var names = result.GetValue(hosts)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var now = DateTimeOffset.UtcNow;
            DevCertificateSet set;
            try
            {
                set = DevCertificateSet.Write(result.GetValue(outDir)!, names, TimeSpan.FromDays(lifetime), now, result.GetValue(force));
            }
            catch (ClusterTlsException e)
            {
                await error.WriteLineAsync($"gencluster certs: {e.Message}");
                return 2;
            }
            var output = result.InvocationConfiguration.Output;
            var until = now.AddDays(lifetime).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            await output.WriteLineAsync($"gencluster certs: a new CA and its certificates in {set.Directory}, valid until {until}");
            await output.WriteLineAsync($"  ca.crt       the cluster's CA certificate: every silo and trainer gets it ({ClusterTlsOptions.CaFlag})");
            await output.WriteLineAsync("  ca.key       the CA's private key (0600): keep it away from the cluster; it signs certificates");
            await output.WriteLineAsync($"  silo.crt     the silos' certificate (server and client authentication), names localhost, 127.0.0.1{string.Concat(names.Select(n => $", {n}"))}");
            await output.WriteLineAsync("  silo.key     its private key (0600)");
            await output.WriteLineAsync("  trainer.crt  the trainers' certificate (client authentication only: it cannot serve as a silo's)");
            await output.WriteLineAsync("  trainer.key  its private key (0600)");
            await output.WriteLineAsync($"silo:     gencluster silo {string.Join(' ', set.Arguments(CertificateRole.Silo))} ...");
            await output.WriteLineAsync($"trainer:  gencluster-trainer run {string.Join(' ', set.Arguments(CertificateRole.Trainer))} ...");
            return 0;
        });
        return command;
    }
}
