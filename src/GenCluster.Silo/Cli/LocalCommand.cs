using System.CommandLine;
using GenCluster.Silo.Local;

namespace GenCluster.Silo.Cli;

/// <summary><c>gencluster local</c>: a whole cluster on this machine training one job, with a live progress display.</summary>
public static class LocalCommand
{
    /// <summary>Builds the verb.</summary>
    public static Command Build()
    {
        var flags = new LocalRunFlags(new LocalRunOptions(), presets: true);
        var command = new Command("local",
            "Start a silo and N trainers on this machine and train one job, with live progress. Each model kind has a preset " +
            "(steps, batch, width, options) sized for about ten minutes on 2 cores; any flag given overrides it.");
        flags.AddTo(command);
        command.SetAction((result, cancellationToken) =>
        {
            var options = flags.Bind(result);
            return LocalRunFlags.RunAsync(result, "local", options.Validate(), output =>
                new LocalRun(options, output, TimeProvider.System).RunAsync(!Console.IsOutputRedirected, cancellationToken));
        });
        return command;
    }
}
