namespace GenCluster.IntegrationTests.Deploy;

/// <summary>deploy/prometheus/prometheus.yml is a valid configuration whose jobs find the silo's target files.</summary>
public sealed class PrometheusConfigTests : IDisposable
{
    private static readonly string PrometheusDirectory = RepoPaths.Of("deploy", "prometheus");

    private readonly string _temp = Directory.CreateTempSubdirectory("gencluster-prometheus-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    /// <summary>
    /// A copy of the config and rules with the silo token file it sends (which the repository does not hold), so
    /// target files and tokens written here never land in the repository's deploy/prometheus.
    /// </summary>
    private void CopyConfig()
    {
        foreach (var file in new[] { "prometheus.yml", "alerts.yml" })
        {
            File.Copy(Path.Combine(PrometheusDirectory, file), Path.Combine(_temp, file));
        }
        File.WriteAllText(Path.Combine(_temp, "silo.token"), new string('0', 64));
    }

    [Fact]
    public async Task ConfigPassesPromtoolCheckConfig()
    {
        CopyConfig();
        var result = await Promtool.AssertSucceedsAsync(_temp, "check", "config", "prometheus.yml");
        Assert.True(result.Output.Contains("SUCCESS: 1 rule files found", StringComparison.Ordinal), result.ToString());
    }

    [Fact]
    public void TheSiloJobSendsTheTokenBesideTheConfig()
    {
        var config = File.ReadAllText(Path.Combine(PrometheusDirectory, "prometheus.yml"));
        var silo = config[config.IndexOf("job_name: gencluster-silo", StringComparison.Ordinal)..config.IndexOf("job_name: gencluster-trainers", StringComparison.Ordinal)];
        Assert.Contains("authorization:\n      credentials_file: silo.token\n", silo.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Equal("silo.token", File.ReadAllText(Path.Combine(PrometheusDirectory, ".gitignore")).Trim());
    }

    [Theory]
    [InlineData("gencluster-silo", "127.0.0.1:5080", "silo-0", "127.0.0.1:7001")]
    [InlineData("gencluster-trainers", "127.0.0.1:7001", "node-a", "127.0.0.1:5080")]
    public async Task EachJobReadsItsOwnTargetFilesBesideTheConfig(string job, string target, string host, string otherTarget)
    {
        CopyConfig();
        var targets = Directory.CreateDirectory(Path.Combine(_temp, "targets")).FullName;
        File.WriteAllText(Path.Combine(targets, "silo.json"),
            """[{"targets": ["127.0.0.1:5080"], "labels": {"host": "silo-0"}}]""");
        File.WriteAllText(Path.Combine(targets, "trainers-node-a.json"),
            """[{"targets": ["127.0.0.1:7001", "127.0.0.1:7101"], "labels": {"host": "node-a"}}]""");

        // Run from elsewhere: the file_sd globs are relative to the configuration file, not to the working directory.
        var result = await Promtool.AssertSucceedsAsync(RepoPaths.Root,
            "check", "service-discovery", "--timeout=2s", Path.Combine(_temp, "prometheus.yml"), job);

        foreach (var expected in new[]
                 {
                     $"\"instance\": \"{target}\"", $"\"host\": \"{host}\"", $"\"job\": \"{job}\"",
                     "\"__metrics_path__\": \"/metrics\"", "\"__scrape_interval__\": \"5s\"",
                 })
        {
            Assert.True(result.Output.Contains(expected, StringComparison.Ordinal), $"expected {expected} in {result}");
        }
        Assert.False(result.Output.Contains(otherTarget, StringComparison.Ordinal), $"{job} must not scrape {otherTarget}: {result}");
    }
}
