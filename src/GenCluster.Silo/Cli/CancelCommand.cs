using System.CommandLine;

namespace GenCluster.Silo.Cli;

/// <summary><c>gencluster cancel id</c>.</summary>
public static class CancelCommand
{
    /// <summary>Builds the verb.</summary>
    public static Command Build()
    {
        var verb = new ApiVerb();
        var id = new Argument<string>("id") { Description = "Job id" };
        var command = new Command("cancel", "Cancel a job.") { id };
        verb.AddTo(command);
        command.SetAction((result, ct) => verb.RunAsync(result, async (client, output) =>
        {
            var status = await client.CancelAsync(result.GetValue(id)!, ct);
            if (result.GetValue(verb.Json)) ApiVerb.WriteJson(output, status);
            else output.WriteLine($"job {status.Id}: {status.State}");
        }));
        return command;
    }
}
