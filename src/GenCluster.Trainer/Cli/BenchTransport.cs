using GenCluster.Trainer.Distributed;

namespace GenCluster.Trainer.Cli;

/// <summary>How a bench's ranks exchanged, as one word at the end of its lines (each rank reports a code; rank 0 names them).</summary>
internal static class BenchTransport
{
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
