using System.Runtime.InteropServices;
using System.Text;

namespace GenCluster.Trainer.Distributed;

/// <summary>
/// Where a ring listener's Unix domain socket lives: <c>ring-PORT-PID.sock</c> (its TCP port and process id, so several
/// trainers on one host, or in network namespaces sharing one file system, never collide) in a per-user directory
/// only its owner may enter: <c>$XDG_RUNTIME_DIR/gencluster</c>, else <c>/tmp/gencluster-UID</c>.
/// </summary>
internal static partial class RingUnixSocket
{
    /// <summary>Longest path a Unix socket address holds on Linux (108 bytes with the terminating NUL).</summary>
    public const int MaxPathBytes = 107;

    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>The per-user directory.</summary>
    public static string DirectoryPath()
    {
        var runtime = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
        return !string.IsNullOrEmpty(runtime) && Path.IsPathRooted(runtime) && Directory.Exists(runtime)
            ? Path.Combine(runtime, "gencluster")
            : Path.Combine(Path.GetTempPath(), $"gencluster-{UserId()}");
    }

    /// <summary>
    /// The socket path of this process's listener on TCP port <paramref name="port"/>; null where there are no such
    /// sockets (Windows) or the path would be too long for a socket address.
    /// </summary>
    public static string? PathFor(int port)
    {
        if (OperatingSystem.IsWindows())
        {
            return null;
        }

        var path = Path.Combine(DirectoryPath(), $"ring-{port}-{Environment.ProcessId}.sock");
        return Encoding.UTF8.GetByteCount(path) <= MaxPathBytes ? path : null;
    }

    /// <summary>
    /// Creates the directory of <paramref name="socketPath"/> with mode 0700, or checks an existing one: it must not be
    /// a symbolic link, and this user must own it (only the owner may change its mode back to 0700).
    /// </summary>
    /// <exception cref="IOException">The directory cannot be made this user's own.</exception>
    public static void PrepareDirectory(string socketPath)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("the ring's Unix sockets need a Unix file system");
        }

        var directory = Path.GetDirectoryName(socketPath) ?? throw new IOException($"{socketPath} has no directory.");
        try
        {
            Directory.CreateDirectory(directory, OwnerOnly);
            if (new DirectoryInfo(directory).LinkTarget is not null)
            {
                throw new IOException($"{directory} is a symbolic link, not a directory of this user's own.");
            }

            File.SetUnixFileMode(directory, OwnerOnly);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new IOException($"{directory} belongs to another user ({ex.Message}).", ex);
        }
    }

    private static uint UserId() => OperatingSystem.IsWindows() ? 0 : GetEffectiveUserId();

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEffectiveUserId();
}
