using System.CommandLine;
using System.Globalization;

namespace GenCluster.Silo.Cli;

/// <summary><c>gencluster workers</c>: registered trainers, their leases and assignments.</summary>
public static class WorkersCommand
{
    /// <summary>Builds the verb.</summary>
    public static Command Build()
    {
        var verb = new ApiVerb();
        var command = new Command("workers", "List registered trainers with their leases and assignments.");
        verb.AddTo(command);
        command.SetAction((result, ct) => verb.RunAsync(result, async (client, output) =>
        {
            var workers = await client.ListWorkersAsync(ct);
            if (result.GetValue(verb.Json))
            {
                ApiVerb.WriteJson(output, workers);
                return;
            }
            var table = new Table("WORKER", "HOST", "DEVICE", "ALIVE", "JOB", "ROUND", "RANK", "LAST HEARTBEAT", "RING");
            foreach (var w in workers)
            {
                table.Add(w.Info.WorkerId, w.Info.Host, w.Info.Device, w.Alive ? "yes" : "no", w.JobId ?? "-",
                    w.JobId is null ? "-" : w.Round, w.JobId is null ? "-" : w.Rank,
                    w.LastHeartbeatAt.ToString("HH:mm:ss", CultureInfo.InvariantCulture), w.Info.RingEndpoint);
            }
            table.Write(output);
        }));
        return command;
    }
}
