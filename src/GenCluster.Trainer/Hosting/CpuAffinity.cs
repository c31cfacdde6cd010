using System.ComponentModel;
using System.Globalization;
using System.Runtime.InteropServices;

namespace GenCluster.Trainer.Hosting;

/// <summary>
/// Linux CPU affinity of this whole process: every thread it has now (libtorch's, the runtime's, the thread pool's)
/// and, by inheritance, every thread they start later.
/// </summary>
/// <remarks>
/// <c>sched_setaffinity</c> applies to one thread, and a new thread inherits its creator's mask, so a process is pinned by
/// setting the mask of each entry of <c>/proc/self/task</c>. .NET's <c>Process.ProcessorAffinity</c> sets only the main
/// thread's. A thread that exits between listing and setting is skipped.
/// </remarks>
public static partial class CpuAffinity
{
    /// <summary>Whether this platform has per-thread affinity masks this class can set.</summary>
    public static bool Supported => OperatingSystem.IsLinux();

    /// <summary>The cores this (calling) thread may run on.</summary>
    public static IReadOnlyList<int> Current()
    {
        RequireLinux();
        var mask = new ulong[MaskWords];
        if (SchedGetAffinity(0, (nint)(mask.Length * sizeof(ulong)), mask) != 0)
        {
            throw new Win32Exception(Marshal.GetLastPInvokeError(), "sched_getaffinity failed");
        }
        return [.. Enumerable.Range(0, mask.Length * 64).Where(c => (mask[c / 64] & (1UL << (c % 64))) != 0)];
    }

    /// <summary>Restricts every thread of this process to <paramref name="cores"/>; returns how many threads it set.</summary>
    public static int SetProcess(IReadOnlyCollection<int> cores)
    {
        RequireLinux();
        if (cores.Count == 0) throw new ArgumentException("cores: expected at least one core, got none", nameof(cores));
        var mask = new ulong[MaskWords];
        foreach (var core in cores)
        {
            if (core < 0 || core >= mask.Length * 64)
            {
                throw new ArgumentOutOfRangeException(nameof(cores), core, $"cores: expected 0..{mask.Length * 64 - 1}, got {core}");
            }
            mask[core / 64] |= 1UL << (core % 64);
        }
        var set = 0;
        foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            var tid = int.Parse(Path.GetFileName(task), CultureInfo.InvariantCulture);
            if (SchedSetAffinity(tid, (nint)(mask.Length * sizeof(ulong)), mask) == 0)
            {
                set++;
                continue;
            }
            var error = Marshal.GetLastPInvokeError();
            if (error == Esrch) continue; // the thread exited meanwhile
            throw new Win32Exception(error, $"sched_setaffinity of thread {tid} to cores {string.Join(",", cores)} failed");
        }
        return set;
    }

    private static void RequireLinux()
    {
        if (!Supported) throw new PlatformNotSupportedException("CPU affinity is set through sched_setaffinity, which needs Linux");
    }

    private const int MaskWords = 16; // 1024 cores, glibc's cpu_set_t
    private const int Esrch = 3;

    [LibraryImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static partial int SchedSetAffinity(int pid, nint size, ulong[] mask);

    [LibraryImport("libc", EntryPoint = "sched_getaffinity", SetLastError = true)]
    private static partial int SchedGetAffinity(int pid, nint size, [Out] ulong[] mask);
}
