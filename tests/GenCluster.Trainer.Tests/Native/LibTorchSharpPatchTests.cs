using System.Diagnostics;

namespace GenCluster.Trainer.Tests.Native;

/// <summary>The build marks GLIBCXX_3.4.32 WEAK in every output copy and never touches the NuGet cache.</summary>
public class LibTorchSharpPatchTests
{
    private const string Requirement = "GLIBCXX_3.4.32";

    [Fact]
    public void TestOutputCopyHasWeakRequirement()
    {
        var copy = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(copy), $"expected the native library at {copy}");
        var flags = RequirementFlags(copy);
        Assert.True(flags is null || flags.Contains("WEAK"), $"{copy}: {Requirement} flags are '{flags}', expected WEAK");
    }

    [Fact]
    public void NuGetCacheCopyIsUntouched()
    {
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var cached = Directory.GetFiles(Path.Combine(packages, "torchsharp"), "libLibTorchSharp.so", SearchOption.AllDirectories)
            .Where(p => p.Contains("linux-x64", StringComparison.Ordinal))
            .ToList();
        Assert.NotEmpty(cached);
        foreach (var path in cached)
        {
            var flags = RequirementFlags(path);
            Assert.NotNull(flags);
            Assert.DoesNotContain("WEAK", flags);
        }
    }

    /// <summary>The flags readelf prints for the requirement, or null when the library does not need it.</summary>
    private static string? RequirementFlags(string library)
    {
        var psi = new ProcessStartInfo("readelf", ["-V", "-W", library]) { RedirectStandardOutput = true, RedirectStandardError = true };
        Process process;
        try
        {
            process = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("readelf (Debian package binutils) is required for this test and was not found", ex);
        }
        using (process)
        {
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, $"readelf -V {library} exited {process.ExitCode}: {process.StandardError.ReadToEnd()}");
            var line = output.Split('\n').FirstOrDefault(l => l.Contains("Name: " + Requirement, StringComparison.Ordinal));
            if (line is null) return null;
            var at = line.IndexOf("Flags:", StringComparison.Ordinal);
            return line[(at + "Flags:".Length)..].Trim();
        }
    }
}
