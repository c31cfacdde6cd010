using System.Diagnostics;

namespace GenCluster.Silo.Tests.Cli;

/// <summary>Runs the real <c>gencluster</c> executable the way a user would.</summary>
public class GenClusterCliTests
{
    internal static (int ExitCode, string Output) RunCli(params string[] args) => RunCliIn(Environment.CurrentDirectory, args);

    internal static (int ExitCode, string Output) RunCliIn(string workingDirectory, params string[] args) =>
        Run(workingDirectory, new Dictionary<string, string?>(), args);

    /// <summary>Runs with <paramref name="environment"/> set (and no token variables inherited from the test's own environment).</summary>
    internal static (int ExitCode, string Output) RunCliWith(IReadOnlyDictionary<string, string?> environment, params string[] args) =>
        Run(Environment.CurrentDirectory, environment, args);

    private static (int ExitCode, string Output) Run(string workingDirectory, IReadOnlyDictionary<string, string?> environment, string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "gencluster.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory };
        psi.Environment.Remove("GENCLUSTER_TOKEN");
        psi.Environment.Remove("GENCLUSTER_ADMIN_TOKEN");
        foreach (var (name, value) in environment) psi.Environment[name] = value;
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(60_000), "gencluster did not exit within 60 s");
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    [Fact]
    public void HelpDescribesTheProduct()
    {
        var (code, output) = RunCli("--help");
        Assert.Equal(0, code);
        Assert.Contains("GenCluster", output);
        Assert.Contains("--version", output);
    }

    [Fact]
    public void VersionPrintsTheAssemblyVersion()
    {
        var (code, output) = RunCli("--version");
        Assert.Equal(0, code);
        Assert.StartsWith("0.1.0", output.Trim());
    }

    [Fact]
    public void UnknownVerbFailsWithMessage()
    {
        var (code, output) = RunCli("no-such-verb");
        Assert.NotEqual(0, code);
        Assert.Contains("no-such-verb", output);
    }
}
