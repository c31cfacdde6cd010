using System.CommandLine;
using System.Diagnostics;
using GenCluster.Silo.Local;

namespace GenCluster.Silo.Cli;

/// <summary>
/// <c>gencluster sample</c> and <c>gencluster evaluate</c>: verbs that need TorchSharp run in the trainer executable
/// (the silo stays free of libtorch); this forwards the arguments to <c>gencluster-trainer &lt;verb&gt;</c> with the
/// same standard streams and returns its exit code.
/// </summary>
public static class TrainerVerbCommand
{
    /// <summary>Builds the forwarding verb <paramref name="verb"/>.</summary>
    public static Command Build(string verb, string description)
    {
        var command = new Command(verb, $"{description} (runs gencluster-trainer {verb}; see gencluster-trainer {verb} --help)")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        var trainer = new Option<string>("--trainer") { Description = "Path of gencluster-trainer.dll (default: found beside this build)", DefaultValueFactory = _ => "" };
        command.Options.Add(trainer);
        command.SetAction(async (result, cancellationToken) =>
        {
            string assembly;
            try
            {
                assembly = TrainerExecutable.Locate(result.GetValue(trainer), AppContext.BaseDirectory);
            }
            catch (FileNotFoundException ex)
            {
                await result.InvocationConfiguration.Error.WriteLineAsync($"gencluster {verb}: {ex.Message}");
                return 1;
            }
            var start = new ProcessStartInfo("dotnet") { UseShellExecute = false };
            start.ArgumentList.Add(assembly);
            start.ArgumentList.Add(verb);
            foreach (var token in result.UnmatchedTokens) start.ArgumentList.Add(token);
            using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start dotnet {assembly} {verb}");
            try
            {
                await process.WaitForExitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw;
            }
            return process.ExitCode;
        });
        return command;
    }
}
