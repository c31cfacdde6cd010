using System.Globalization;
using System.Text.RegularExpressions;
using GenCluster.Trainer.Cli;
using GenCluster.Trainer.Tests.Support;

namespace GenCluster.Trainer.Tests.Cli;

public class BenchAllReduceCommandTests
{
    [Theory]
    [InlineData("shm")]
    [InlineData("unix")]
    [InlineData("tcp")]
    public async Task RunsRanksAsProcessesAndPrintsOneExactLinePerSize(string transport)
    {
        var run = await TrainerProcess.RunAsync(TimeSpan.FromSeconds(90),
            "bench", "allreduce", "--ranks", "3", "--sizes", "4KiB,1MiB", "--iters", "2", "--warmup", "1", "--transport", transport);
        var lines = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}: {run.Stderr}");
        Assert.Equal(2, lines.Length);
        var pattern = new Regex($@"^ranks=3 bytes=(\d+) time_ms=([\d.]+) algbw_GBs=([\d.]+) busbw_GBs=([\d.]+) wrong=0 cpu_ms=([\d.]+) transport={transport}$");
        var sizes = new List<long>();
        foreach (var line in lines)
        {
            var match = pattern.Match(line.Trim());
            Assert.True(match.Success, $"unexpected line: {line}");
            sizes.Add(long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture));
            var algbw = double.Parse(match.Groups[3].Value, CultureInfo.InvariantCulture);
            var busbw = double.Parse(match.Groups[4].Value, CultureInfo.InvariantCulture);
            Assert.InRange(busbw, algbw * 4 / 3 - 0.002, algbw * 4 / 3 + 0.002);
            Assert.True(double.Parse(match.Groups[5].Value, CultureInfo.InvariantCulture) > 0, $"cpu_ms should be positive: {line}");
        }

        Assert.Equal([4096L, 1_048_576L], sizes);
    }

    [Fact]
    public async Task AnUnknownTransportIsRefusedNamingTheFlagAndTheValue()
    {
        var run = await TrainerProcess.RunAsync(TimeSpan.FromSeconds(60), "bench", "allreduce", "--ranks", "2", "--transport", "pipes");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--transport: expected shm, unix or tcp, got 'pipes'", run.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("64MiB", 67_108_864)]
    [InlineData("1KiB", 1024)]
    [InlineData("1MB", 1_000_000)]
    [InlineData("4096", 4096)]
    public void ParsesSizes(string text, long bytes) => Assert.Equal(bytes, ByteSize.Parse(text, "--size"));

    [Fact]
    public void SizeErrorNamesTheOptionAndValue()
    {
        var error = Assert.Throws<FormatException>(() => ByteSize.Parse("lots", "--sizes"));

        Assert.Contains("--sizes", error.Message, StringComparison.Ordinal);
        Assert.Contains("'lots'", error.Message, StringComparison.Ordinal);
    }
}
