using System.Diagnostics;
using System.Runtime.InteropServices;

namespace GenCluster.Silo.Local;

/// <summary>
/// A child process of the local launcher (the silo or a trainer): output goes to a log file whose tail serves
/// error messages; disposal stops it (SIGTERM, then SIGKILL after a grace period).
/// </summary>
public sealed partial class ChildProcess : IAsyncDisposable
{
    private const int SigInt = 2;
    private const int SigTerm = 15;
    private const int SigKill = 9;
    private const int SigCont = 18;
    private const int SigStop = 19;
    private const int TailLines = 20;

    private const int TailBytes = 16 * 1024;

    private readonly Process _process;
    private readonly string _logFile;

    private ChildProcess(string name, Process process, string logFile)
    {
        Name = name;
        _process = process;
        _logFile = logFile;
    }

    /// <summary>Display name, e.g. <c>silo</c> or <c>trainer-1</c>.</summary>
    public string Name { get; }

    /// <summary>Operating-system process id.</summary>
    public int Pid => _process.Id;

    /// <summary>Whether it has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Exit code (only after exit).</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>Starts <c>dotnet <paramref name="assembly"/> args...</c>, appending its output to <paramref name="logFile"/>.</summary>
    /// <remarks>
    /// The child writes to the log file itself (through <c>sh -c exec</c>), not through a pipe to this process, so it
    /// keeps logging and can finish a checkpoint even when the launcher is gone.
    /// </remarks>
    public static ChildProcess Start(string name, string assembly, IEnumerable<string> arguments, string logFile) =>
        StartProgram(name, "dotnet", [assembly, .. arguments], logFile);

    /// <summary>
    /// Starts <paramref name="program"/> with its output appended to <paramref name="logFile"/>. A program that execs
    /// another (<c>ip netns exec ... dotnet ...</c>) keeps the process id, so signals still reach the last one.
    /// </summary>
    public static ChildProcess StartProgram(string name, string program, IEnumerable<string> arguments, string logFile)
    {
        var log = Path.GetFullPath(logFile);
        Directory.CreateDirectory(Path.GetDirectoryName(log)!);
        using (File.Open(log, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { }
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exec \"$0\" \"$@\" >>\"$GENCLUSTER_CHILD_LOG\" 2>&1");
        psi.ArgumentList.Add(program);
        foreach (var argument in arguments) psi.ArgumentList.Add(argument);
        psi.Environment["GENCLUSTER_CHILD_LOG"] = log;
        var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {name}: {program} {string.Join(' ', arguments)}");
        return new ChildProcess(name, process, log);
    }

    /// <summary>The last lines it printed (for error messages).</summary>
    public string Tail()
    {
        try
        {
            using var stream = new FileStream(_logFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            stream.Seek(Math.Max(0, stream.Length - TailBytes), SeekOrigin.Begin);
            var lines = new StreamReader(stream).ReadToEnd().Split('\n');
            return string.Join(Environment.NewLine, lines.TakeLast(TailLines));
        }
        catch (IOException ex)
        {
            return $"(cannot read {_logFile}: {ex.Message})";
        }
    }

    /// <summary>Sends SIGTERM (graceful: trainers checkpoint and leave).</summary>
    public void Terminate() => Signal(SigTerm);

    /// <summary>Sends SIGINT (what Ctrl+C sends).</summary>
    public void Interrupt() => Signal(SigInt);

    /// <summary>Sends SIGKILL.</summary>
    public void Kill() => Signal(SigKill);

    /// <summary>Sends SIGSTOP: the process freezes (a hung trainer).</summary>
    public void Freeze() => Signal(SigStop);

    /// <summary>Sends SIGCONT to a frozen process.</summary>
    public void Thaw() => Signal(SigCont);

    /// <summary>Waits for exit; false when it is still running after <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        try
        {
            await _process.WaitForExitAsync(cancellationToken).WaitAsync(timeout, cancellationToken);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>SIGTERM, up to 10 s grace, then SIGKILL.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Terminate();
            if (!await WaitForExitAsync(TimeSpan.FromSeconds(10))) _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    private void Signal(int signal)
    {
        if (_process.HasExited) return;
        if (kill(_process.Id, signal) != 0 && !_process.HasExited)
            throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed for {Name}: errno {Marshal.GetLastPInvokeError()}");
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int signal);
}
