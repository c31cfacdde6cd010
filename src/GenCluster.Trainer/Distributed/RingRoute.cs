using System.Collections.Concurrent;

namespace GenCluster.Trainer.Distributed;

/// <summary>
/// Which transport a rank tries first for its successor. The Unix socket only when this trainer prefers it
/// (<see cref="RingOptions.SameHostTransport"/>), the successor advertises one, and both advertise the same IP
/// address: a path names a file, and network namespaces with their own addresses may share one file system, so
/// the path alone does not say the successor is on this host. The connection itself then falls back to TCP when the
/// socket does not connect.
/// </summary>
internal static class RingRoute
{
    private static readonly ConcurrentDictionary<string, byte> ReportedFallbacks = new(StringComparer.Ordinal);

    /// <summary>The successor's Unix socket path to try first, or null to go straight to TCP.</summary>
    /// <param name="self">This rank's advertised endpoint.</param>
    /// <param name="successor">The successor's advertised endpoint.</param>
    /// <param name="options">This trainer's ring options.</param>
    public static string? UnixSocketPathTo(string self, string successor, RingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.PrefersUnix)
        {
            return null;
        }

        var next = RingPeerAddress.Parse(successor);
        return next.UnixSocketPath is not null && RingPeerAddress.Parse(self).HasSameAddressAs(next) ? next.UnixSocketPath : null;
    }

    /// <summary>True the first time in this process a fallback from <paramref name="unixSocketPath"/> is reported.</summary>
    public static bool FirstFallbackFrom(string unixSocketPath) => ReportedFallbacks.TryAdd(unixSocketPath, 0);
}
