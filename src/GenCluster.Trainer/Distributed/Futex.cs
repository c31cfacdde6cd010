using System.Runtime.InteropServices;

namespace GenCluster.Trainer.Distributed;

/// <summary>
/// Linux futexes on a word in shared memory: a process sleeps in the kernel until another process changes the word and
/// wakes it, with no polling and a wake-up in microseconds. Shared (not <c>FUTEX_PRIVATE</c>) so that it works across
/// processes mapping the same file. Where the system call is not available (another OS or architecture) waits fall back
/// to short sleeps, which are correct but slower.
/// </summary>
internal static unsafe partial class Futex
{
    private const int FutexWait = 0;
    private const int FutexWake = 1;

    private static readonly long SysFutex = RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 202,
        Architecture.Arm64 => 98,
        _ => -1,
    };

    /// <summary>Whether waits sleep in the kernel (Linux on x64 or arm64) rather than in short sleeps.</summary>
    public static bool Supported { get; } = OperatingSystem.IsLinux() && SysFutex > 0;

    /// <summary>Sleeps while <c>*word == expected</c>, for at most <paramref name="timeout"/>; returns early on a wake, a change or a signal.</summary>
    public static void Wait(int* word, int expected, TimeSpan timeout)
    {
        if (!Supported)
        {
            if (Volatile.Read(ref *word) == expected)
            {
                Thread.Sleep(1);
            }

            return;
        }

        var ticks = Math.Max(0, timeout.Ticks);
        var spec = new Timespec { Seconds = ticks / TimeSpan.TicksPerSecond, Nanoseconds = ticks % TimeSpan.TicksPerSecond * 100 };
        _ = Syscall(SysFutex, word, FutexWait, expected, &spec, null, 0);
    }

    /// <summary>Wakes every process sleeping on <paramref name="word"/>.</summary>
    public static void WakeAll(int* word)
    {
        if (Supported)
        {
            _ = Syscall(SysFutex, word, FutexWake, int.MaxValue, null, null, 0);
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, int* word, int operation, int value, Timespec* timeout, int* word2, int value3);
}
