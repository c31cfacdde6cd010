using System.Diagnostics;
using System.Runtime.InteropServices;

namespace GenCluster.Silo.Local;

/// <summary>
/// A child process of the local launcher (the silo or a trainer): output goes to a log file and a short tail is
/// kept for error messages; disposal stops it (SIGTERM, then SIGKILL after a grace period).
/// </summary>
public sealed partial class ChildProcess : IAsyncDisposable
{
    private const int SigTerm = 15;
    private const int SigKill = 9;
    private const int SigCont = 18;
    private const int SigStop = 19;
    private const int TailLines = 20;

    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Queue<string> _tail = new();
    private readonly Lock _tailLock = new();

    private ChildProcess(string name, Process process, StreamWriter log)
    {
        Name = name;
        _process = process;
        _log = log;
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
    public static ChildProcess Start(string name, string assembly, IEnumerable<string> arguments, string logFile)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(logFile))!);
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(assembly);
        foreach (var argument in arguments) psi.ArgumentList.Add(argument);
        var log = new StreamWriter(new FileStream(logFile, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var child = new ChildProcess(name, process, log);
        process.OutputDataReceived += (_, e) => child.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => child.OnLine(e.Data);
        if (!process.Start()) throw new InvalidOperationException($"could not start {name}: dotnet {assembly}");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>The last lines it printed (for error messages).</summary>
    public string Tail()
    {
        lock (_tailLock) return string.Join(Environment.NewLine, _tail);
    }

    /// <summary>Sends SIGTERM (graceful: trainers checkpoint and leave).</summary>
    public void Terminate() => Signal(SigTerm);

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
        await _log.DisposeAsync();
    }

    private void Signal(int signal)
    {
        if (_process.HasExited) return;
        if (kill(_process.Id, signal) != 0 && !_process.HasExited)
            throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed for {Name}: errno {Marshal.GetLastPInvokeError()}");
    }

    private void OnLine(string? line)
    {
        if (line is null) return;
        _log.WriteLine(line);
        lock (_tailLock)
        {
            _tail.Enqueue(line);
            while (_tail.Count > TailLines) _tail.Dequeue();
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int signal);
}
