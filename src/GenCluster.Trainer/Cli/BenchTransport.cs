using System.CommandLine;
using GenCluster.Trainer.Distributed;

namespace GenCluster.Trainer.Cli;

/// <summary>How a bench's ranks exchanged, as one word at the end of its lines (each rank reports a code; rank 0 names them).</summary>
internal static class BenchTransport
{
    /// <summary>The benches' <c>--transport</c> option (<see cref="RingOptions.SameHostTransport"/>), <c>shm</c> by default.</summary>
    public static Option<string> NewOption() => new("--transport")
    {
        Description = "How ranks on the same host exchange (Ring:SameHostTransport): shm (shared memory, and two levels across hosts; the default), unix (their Unix domain sockets) or tcp. Each line ends with the transport the collectives used.",
        DefaultValueFactory = _ => "shm",
    };

    /// <summary>The transport <paramref name="text"/> names, or null after telling stderr what was expected.</summary>
    public static async Task<RingTransport?> ParseAsync(string? text)
    {
        if (RingTransports.TryParse(text, out var transport)) return transport;
        await Console.Error.WriteLineAsync($"--transport: expected shm, unix or tcp, got '{text}'.").ConfigureAwait(false);
        return null;
    }

    /// <summary>This rank's code: 3 two levels (shared memory within hosts, rings across), 2 shared memory, 1 Unix socket to the successor, 0 TCP.</summary>
    public static double CodeOf(RingCollectives ring) =>
        ring.UsesHostHierarchy ? 3 : ring.UsesSharedMemory ? 2 : ring.SuccessorTransport == RingTransport.Unix ? 1 : 0;

    /// <summary>
    /// The word for every rank's code: <c>hosts+shm</c>, <c>shm</c>, <c>unix</c> or <c>tcp</c> when all agree, <c>mixed</c>
    /// when they differ (Unix sockets within hosts, TCP between them), <c>none</c> for one rank.
    /// </summary>
    public static string Label(IReadOnlyList<double> codes) => codes.Count == 1 ? "none"
        : codes.All(c => c == 3) ? "hosts+shm"
        : codes.All(c => c == 2) ? "shm"
        : codes.All(c => c == 1) ? "unix"
        : codes.All(c => c == 0) ? "tcp"
        : "mixed";
}
