using System.Runtime.InteropServices;

namespace GenCluster.Trainer.Hosting;

/// <summary>
/// Environment variables that native libraries (oneDNN, MKL) read with <c>getenv</c>: .NET's own setter changes only
/// the managed copy, so these go through <c>setenv</c> too (and the managed copy, for child processes).
/// </summary>
internal static partial class NativeEnvironment
{
    /// <summary>Sets <paramref name="name"/> unless it is set already; true when this call set it.</summary>
    public static bool SetIfUnset(string name, string value)
    {
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable(name))) return false;
        if (OperatingSystem.IsLinux()) _ = SetNative(name, value, 0);
        Environment.SetEnvironmentVariable(name, value);
        return true;
    }

    /// <summary>The text of <c>/proc/cpuinfo</c>, or null where there is none; read once per process.</summary>
    public static string? CpuInfo() => LazyCpuInfo.Value;

    private static readonly Lazy<string?> LazyCpuInfo = new(() =>
    {
        try
        {
            return OperatingSystem.IsLinux() ? File.ReadAllText("/proc/cpuinfo") : null;
        }
        catch (IOException)
        {
            return null;
        }
    });

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetNative(string name, string value, int overwrite);
}
