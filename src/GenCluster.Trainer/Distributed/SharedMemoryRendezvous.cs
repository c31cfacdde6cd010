using System.Security.Cryptography;
using Microsoft.Extensions.Logging;

namespace GenCluster.Trainer.Distributed;

/// <summary>
/// How the ranks of a round agree to share memory: only when every rank advertises the same IP address, and only once
/// each has proven it maps the segment rank 0 made. Two all-gathers over the ring carry the agreement: rank 0 offers the
/// segment (its pid and a random 64-bit token name it; the token in its header proves it), every rank says whether it
/// is willing (<see cref="RingOptions.SameHostTransport"/> is <c>shm</c>); then every rank reports whether it opened the
/// segment. All ranks see the same answers, so they all decide the same way; any refusal leaves the round on its sockets.
/// </summary>
/// <remarks>
/// Ranks that advertise one address yet do not share a <c>/dev/shm</c> (containers on one host with private mounts) fail
/// to open the segment and stay on the ring. Ranks in separate network namespaces advertise different addresses and are
/// never offered one, so a test bed's "hosts" really talk over their links.
/// </remarks>
internal static class SharedMemoryRendezvous
{
    /// <summary>The round as the rendezvous needs it.</summary>
    public sealed record Round(string JobId, long Number, int Rank, IReadOnlyList<string> Peers, byte[] KeyId);

    /// <summary>Whether every peer advertises the same IP address (so sharing memory is worth trying).</summary>
    public static bool OneHost(IReadOnlyList<string> peers) => RingPeerAddress.SharingAddressWith(peers, 0) == peers.Count;

    /// <summary>Bytes of each rank's slot: four ring frames, between 4 KiB and 16 MiB.</summary>
    public static int SlotBytesFor(RingOptions options) => Math.Clamp(options.FrameBytes * 4, 4096, 16 * 1024 * 1024);

    /// <summary>The segment's path for rank 0's pid and token.</summary>
    public static string PathOf(Round round, int pid, ulong token) => Path.Combine(
        SharedMemorySegment.Directory,
        $"gencluster-ring-{Convert.ToHexString(round.KeyId, 0, Math.Min(6, round.KeyId.Length)).ToLowerInvariant()}-{round.Number}-{pid}-{token:x16}");

    /// <summary>Runs the agreement; returns the shared-memory collectives, or null to stay on the ring.</summary>
    public static async Task<SharedMemoryCollectives?> TryAsync(
        Func<double[], Task<double[][]>> allGather, Round round, RingOptions options, ILogger logger)
    {
        var n = round.Peers.Count;
        var willing = options.PrefersSharedMemory;
        string? reason = willing ? null : $"Ring:SameHostTransport is '{options.SameHostTransport}' on rank {round.Rank}";
        SharedMemorySegment? segment = null;
        string? path = null;
        ulong token = 0;
        if (round.Rank == 0 && willing)
        {
            token = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(sizeof(ulong)));
            path = PathOf(round, Environment.ProcessId, token);
            try
            {
                segment = SharedMemorySegment.Create(path, n, SlotBytesFor(options), token);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                (willing, reason) = (false, $"rank 0 cannot make {path}: {ex.Message}");
            }
        }

        SharedMemoryCollectives? local = null;
        try
        {
            var offers = await allGather([willing ? 1 : 0, Environment.ProcessId, token >> 32, token & uint.MaxValue]).ConfigureAwait(false);
            var unwilling = Enumerable.Range(0, n).FirstOrDefault(k => offers[k][0] == 0, -1);
            if (unwilling >= 0)
            {
                // A rank that could not make the segment is worth a warning; one configured for sockets is a choice.
                if (offers[0][0] == 0 && options.PrefersSharedMemory && round.Rank == 0)
                {
                    RingLog.SharedMemoryDeclined(logger, round.Rank, round.JobId, round.Number, reason ?? "rank 0 declined");
                }
                else
                {
                    RingLog.SharedMemoryNotConfigured(logger, round.Rank, round.JobId, round.Number, reason ?? $"rank {unwilling} ({round.Peers[unwilling]}) is not set to shm");
                }

                return null;
            }

            if (round.Rank != 0)
            {
                token = ((ulong)offers[0][2] << 32) | (ulong)offers[0][3];
                path = PathOf(round, (int)offers[0][1], token);
                segment = SharedMemorySegment.TryOpen(path, n, token, out reason);
            }

            if (segment is not null)
            {
                local = new SharedMemoryCollectives(segment, round.Rank, round.Peers, round.JobId, round.Number);
                segment = null;
            }

            var opened = await allGather([local is null ? 0 : 1]).ConfigureAwait(false);
            var failed = Enumerable.Range(0, n).FirstOrDefault(k => opened[k][0] == 0, -1);
            if (failed >= 0)
            {
                RingLog.SharedMemoryDeclined(logger, round.Rank, round.JobId, round.Number,
                    reason ?? $"rank {failed} ({round.Peers[failed]}) could not open the segment");
                local?.Dispose();
                local = null;
                return null;
            }

            local!.LearnPeers();
            RingLog.SharedMemory(logger, round.Rank, round.JobId, round.Number, n, SlotBytesFor(options), local.WatchedPeers);
            var agreed = local;
            local = null;
            return agreed;
        }
        finally
        {
            local?.Dispose();
            segment?.Dispose();
            if (round.Rank == 0 && path is not null)
            {
                // Every rank has mapped it (or given up): the name is no longer needed, and nothing is left in /dev/shm.
                SharedMemorySegment.TryDelete(path);
            }
        }
    }
}
