using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using GenCluster.Trainer.Cli;

namespace GenCluster.Trainer.Tests.Cli;

public class BenchAllReduceCommandTests
{
    [Theory]
    [InlineData("shm")]
    [InlineData("unix")]
    [InlineData("tcp")]
    public async Task RunsRanksAsProcessesAndPrintsOneExactLinePerSize(string transport)
    {
        var exe = Path.Combine(AppContext.BaseDirectory, "gencluster-trainer");
        var info = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "bench", "allreduce", "--ranks", "3", "--sizes", "4KiB,1MiB", "--iters", "2", "--warmup", "1", "--transport", transport })
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
            var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
            await process.WaitForExitAsync(timeout.Token);
            var lines = (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries);

            Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}: {await stderr}");
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
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    [Fact]
    public async Task AnUnknownTransportIsRefusedNamingTheFlagAndTheValue()
    {
        var info = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "gencluster-trainer"))
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var arg in new[] { "bench", "allreduce", "--ranks", "2", "--transport", "pipes" })
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.StandardOutput.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);

        Assert.Equal(2, process.ExitCode);
        Assert.Contains("--transport: expected shm, unix or tcp, got 'pipes'", await stderr, StringComparison.Ordinal);
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
