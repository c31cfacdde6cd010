using System.Diagnostics;

namespace GenCluster.Trainer.Tests.Support;

/// <summary>Runs the built <c>gencluster-trainer</c> as a process, as a user would.</summary>
internal static class TrainerProcess
{
    /// <summary>What a run printed and how it ended.</summary>
    internal sealed record Result(int ExitCode, string Stdout, string Stderr);

    /// <summary>Runs it with <paramref name="arguments"/>, within <paramref name="limit"/> (the process tree is killed past it).</summary>
    public static async Task<Result> RunAsync(TimeSpan limit, params string[] arguments)
    {
        var info = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "gencluster-trainer"))
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var arg in arguments) info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        try
        {
            using var timeout = new CancellationTokenSource(limit);
            var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
            var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
            await process.WaitForExitAsync(timeout.Token);
            return new Result(process.ExitCode, await stdout, await stderr);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }
}
