using System.Globalization;

namespace GenCluster.Trainer.Distributed;

/// <summary>
/// A process on this host, named by its pid and its start time (from <c>/proc/&lt;pid&gt;/stat</c>), so that a pid reused by
/// another process is not mistaken for the one that exited. Ranks sharing memory use it to tell a peer that died from
/// one that is merely slow, without waiting out the collective's deadline.
/// </summary>
internal readonly record struct PeerProcess(int Pid, long StartTime)
{
    /// <summary>This process; its start time is 0 where <c>/proc</c> cannot be read.</summary>
    public static PeerProcess Self { get; } = new(Environment.ProcessId, StartTimeOf(Environment.ProcessId) ?? 0);

    /// <summary>Whether liveness can be checked: a start time was read.</summary>
    public bool Checkable => StartTime > 0;

    /// <summary>False once the process has exited (or its pid belongs to another process now); true while it runs.</summary>
    public bool IsAlive() => !Checkable || StartTimeOf(Pid) == StartTime;

    /// <summary>The start time (clock ticks since boot, field 22 of <c>/proc/&lt;pid&gt;/stat</c>), or null if there is no such process.</summary>
    public static long? StartTimeOf(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        // The command name (field 2) is in parentheses and may itself hold spaces or ')': fields restart after the last ')'.
        var close = stat.LastIndexOf(')');
        if (close < 0)
        {
            return null;
        }

        var fields = stat[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // fields[0] is field 3 (state), so field 22 is fields[19]. A zombie (Z) or dead (X) process has exited.
        if (fields.Length > 0 && fields[0] is "Z" or "X")
        {
            return null;
        }

        return fields.Length > 19 && long.TryParse(fields[19], NumberStyles.Integer, CultureInfo.InvariantCulture, out var start) ? start : null;
    }
}
