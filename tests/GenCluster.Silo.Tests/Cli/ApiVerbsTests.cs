using System.Text.Json;
using GenCluster.Contracts.Jobs;
using GenCluster.Silo.Api;
using GenCluster.Silo.Tests.Api;

namespace GenCluster.Silo.Tests.Cli;

/// <summary>The submit/status/cancel/workers verbs of the real executable against an in-process silo.</summary>
public class ApiVerbsTests(InProcessSilo silo) : IClassFixture<InProcessSilo>
{
    /// <summary>The CLI with the silo's admin token in <c>GENCLUSTER_TOKEN</c>.</summary>
    private (int ExitCode, string Output) Cli(params string[] args) =>
        GenClusterCliTests.RunCliWith(new Dictionary<string, string?> { ["GENCLUSTER_TOKEN"] = silo.AdminToken }, args);

    [Fact]
    public void SubmitFromFileAndFlagsThenStatusAndCancel()
    {
        var file = Path.Combine(silo.DataDirectory, "spec.json");
        File.WriteAllText(file, """{ "name": "from-file", "steps": 30, "priority": 2 }""");
        var (code, output) = Cli("submit", "--api", silo.Address, "-f", file, "--steps", "40", "--max-workers", "2", "--json");
        Assert.True(code == 0, output);
        var job = JsonSerializer.Deserialize<JobStatus>(output, ApiJson.Options)!;
        Assert.Equal(("from-file", 40L, 2, 2), (job.Spec.Name, job.Spec.Steps, job.Spec.Priority, job.Spec.MaxWorkers));

        (code, output) = Cli("status", "--api", silo.Address);
        Assert.Equal(0, code);
        Assert.Contains("STATE", output);
        Assert.Contains(job.Id, output);
        Assert.Contains("0/40", output);

        (code, output) = Cli("status", job.Id, "--api", silo.Address);
        Assert.Equal(0, code);
        Assert.Contains("submitted 'from-file' with priority 2", output);

        (code, output) = Cli("cancel", job.Id, "--api", silo.Address);
        Assert.Equal(0, code);
        Assert.Contains($"job {job.Id}: Cancelled", output);
    }

    [Fact]
    public void ARelativeDatasetPathIsSubmittedAbsoluteWithSizeAndChannels()
    {
        var workingDirectory = Directory.CreateDirectory(Path.Combine(silo.DataDirectory, "cwd")).FullName;
        var (code, output) = GenClusterCliTests.RunCliIn(workingDirectory,
            "submit", "--api", silo.Address, "--token", silo.AdminToken, "--dataset", "pets/train", "--image-size", "48", "--channels", "1", "--json");
        Assert.True(code == 0, output);
        var job = JsonSerializer.Deserialize<JobStatus>(output, ApiJson.Options)!;
        Assert.Equal((Path.Combine(workingDirectory, "pets", "train"), 48, 1), (job.Spec.Dataset, job.Spec.ImageSize, job.Spec.Channels));
        Assert.Equal(0, Cli("cancel", job.Id, "--api", silo.Address).ExitCode);
    }

    [Fact]
    public void InvalidFlagsPrintTheFieldErrors()
    {
        var (code, output) = Cli("submit", "--api", silo.Address, "--steps", "0", "--min-workers", "3", "--max-workers", "1");
        Assert.Equal(1, code);
        Assert.Contains("steps: must be >= 1, got 0", output);
        Assert.Contains("maxWorkers: must be >= minWorkers (3), got 1", output);
    }

    [Fact]
    public void WorkersPrintsATableAndUnreachableApiIsReported()
    {
        var (code, output) = Cli("workers", "--api", silo.Address);
        Assert.Equal(0, code);
        Assert.Contains("WORKER", output);

        (code, output) = Cli("workers", "--api", $"http://127.0.0.1:{InProcessSilo.FreePort()}");
        Assert.Equal(1, code);
        Assert.Contains("cannot reach the GenCluster API", output);
    }
}
