using System.ComponentModel;
using System.Diagnostics;

namespace GenCluster.IntegrationTests.Deploy;

/// <summary>Runs <c>promtool</c> (Debian package <c>prometheus</c>); a machine without it fails the test, saying so.</summary>
internal static class Promtool
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>One promtool run: its command line, directory, exit code, and stdout followed by stderr.</summary>
    public sealed record Result(string Command, string Directory, int ExitCode, string Output)
    {
        public override string ToString() => $"{Command} (in {Directory}) exited {ExitCode}:\n{Output}";
    }

    public static async Task<Result> RunAsync(string workingDirectory, params string[] args)
    {
        var psi = new ProcessStartInfo("promtool")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        var command = "promtool " + string.Join(' ', args);

        Process process;
        try
        {
            process = Process.Start(psi)!;
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException(
                $"promtool is not installed, so '{command}' cannot run: install the Debian package 'prometheus' " +
                "(scripts/prereqs.sh does, as root).", e);
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var cts = new CancellationTokenSource(Timeout);
            try
            {
                await process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"{command} (in {workingDirectory}) did not finish within {Timeout.TotalSeconds} s");
            }
            return new Result(command, workingDirectory, process.ExitCode, await stdout + await stderr);
        }
    }

    /// <summary>Runs promtool and asserts exit code 0, with its output in the failure message.</summary>
    public static async Task<Result> AssertSucceedsAsync(string workingDirectory, params string[] args)
    {
        var result = await RunAsync(workingDirectory, args);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result;
    }
}
