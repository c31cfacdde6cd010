using System.Security.Cryptography;
using Microsoft.Extensions.Logging;

namespace GenCluster.Trainer.Distributed;

/// <summary>
/// How the ranks of a round agree to share memory: the ranks of each host (those advertising one IP address,
/// <see cref="HostGroups"/>), once each has proven it maps the segment its host's leader (lowest rank) made. Two
/// all-gathers over the ring carry the agreement: each leader offers its segment (its pid and a random 64-bit token name
/// it; the token in its header proves it), every rank says whether it is willing (<see cref="RingOptions.SameHostTransport"/>
/// is <c>shm</c>); then every rank reports whether it opened its host's segment. All ranks see the same answers, so they
/// all decide the same way; any refusal leaves the round on its sockets. When the round spans hosts, the ranks of a host
/// share memory for the first and last level of <see cref="HierarchicalAllReduce"/>.
/// </summary>
/// <remarks>
/// Ranks that advertise one address yet do not share a <c>/dev/shm</c> (containers on one host with private mounts) fail
/// to open the segment and stay on the ring. Ranks in separate network namespaces advertise different addresses and are
/// never offered one, so a test bed's "hosts" really talk over their links.
/// </remarks>
internal static class SharedMemoryRendezvous
{
    /// <summary>The round as the rendezvous needs it, its ranks grouped by host.</summary>
    public sealed record Round(string JobId, long Number, int Rank, IReadOnlyList<string> Peers, byte[] KeyId, HostGroups Groups);

    /// <summary>Bytes of each rank's slot: four ring frames, between 4 KiB and 16 MiB.</summary>
    public static int SlotBytesFor(RingOptions options) => Math.Clamp(options.FrameBytes * 4, 4096, 16 * 1024 * 1024);

    /// <summary>The segment's path for rank 0's pid and token.</summary>
    public static string PathOf(Round round, int pid, ulong token) => Path.Combine(
        SharedMemorySegment.Directory,
        $"gencluster-ring-{Convert.ToHexString(round.KeyId, 0, Math.Min(6, round.KeyId.Length)).ToLowerInvariant()}-{round.Number}-{pid}-{token:x16}");

    /// <summary>What the ranks agreed: this rank's shared-memory collectives, null for a rank alone on its host.</summary>
    public sealed record Agreement(SharedMemoryCollectives? Local);

    /// <summary>
    /// Runs the agreement for the ranks of each host (<see cref="HostGroups"/>): each host's leader offers a segment for its
    /// host's ranks, the others open their leader's. Returns the agreement, or null to leave every collective on the ring:
    /// any rank's refusal, on any host, refuses for all, so all ranks decide alike.
    /// </summary>
    public static async Task<Agreement?> TryAsync(
        Func<double[], Task<double[][]>> allGather, Round round, RingOptions options, ILogger logger)
    {
        var n = round.Peers.Count;
        var groups = round.Groups;
        var host = groups.HostOf(round.Rank);
        var leader = host[0];
        var shares = host.Count > 1;
        var willing = options.PrefersSharedMemory;
        string? reason = willing ? null : $"Ring:SameHostTransport is '{options.SameHostTransport}' on rank {round.Rank}";
        SharedMemorySegment? segment = null;
        string? path = null;
        ulong token = 0;
        if (round.Rank == leader && shares && willing)
        {
            token = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(sizeof(ulong)));
            path = PathOf(round, Environment.ProcessId, token);
            try
            {
                segment = SharedMemorySegment.Create(path, host.Count, SlotBytesFor(options), token);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                (willing, reason) = (false, $"rank {round.Rank} cannot make {path}: {ex.Message}");
            }
        }

        SharedMemoryCollectives? local = null;
        try
        {
            var offers = await allGather([willing ? 1 : 0, Environment.ProcessId, token >> 32, token & uint.MaxValue]).ConfigureAwait(false);
            var unwilling = Enumerable.Range(0, n).FirstOrDefault(k => offers[k][0] == 0, -1);
            if (unwilling >= 0)
            {
                // A leader that could not make the segment is worth a warning; a rank configured for sockets is a choice.
                if (!willing && options.PrefersSharedMemory)
                {
                    RingLog.SharedMemoryDeclined(logger, round.Rank, round.JobId, round.Number, reason ?? "this rank could not make its host's segment");
                }
                else
                {
                    RingLog.SharedMemoryNotConfigured(logger, round.Rank, round.JobId, round.Number, reason ?? $"rank {unwilling} ({round.Peers[unwilling]}) is not set to shm or cannot share memory");
                }

                return null;
            }

            if (shares && round.Rank != leader)
            {
                token = ((ulong)offers[leader][2] << 32) | (ulong)offers[leader][3];
                path = PathOf(round, (int)offers[leader][1], token);
                segment = SharedMemorySegment.TryOpen(path, host.Count, token, out reason);
            }

            if (segment is not null)
            {
                local = new SharedMemoryCollectives(segment, groups.LocalIndexOf(round.Rank), round.Peers, round.JobId, round.Number,
                    roundRanks: groups.OneHost ? null : host);
                segment = null;
            }

            var opened = await allGather([local is not null || !shares ? 1 : 0]).ConfigureAwait(false);
            var failed = Enumerable.Range(0, n).FirstOrDefault(k => opened[k][0] == 0, -1);
            if (failed >= 0)
            {
                RingLog.SharedMemoryDeclined(logger, round.Rank, round.JobId, round.Number,
                    reason ?? $"rank {failed} ({round.Peers[failed]}) could not open its host's segment");
                local?.Dispose();
                local = null;
                return null;
            }

            if (local is not null)
            {
                local.LearnPeers();
                RingLog.SharedMemory(logger, round.Rank, round.JobId, round.Number, host.Count, SlotBytesFor(options), local.WatchedPeers);
            }

            var agreed = new Agreement(local);
            local = null;
            return agreed;
        }
        finally
        {
            local?.Dispose();
            segment?.Dispose();
            if (round.Rank == leader && path is not null)
            {
                // Every rank of the host has mapped it (or given up): the name is no longer needed, and nothing is left in /dev/shm.
                SharedMemorySegment.TryDelete(path);
            }
        }
    }
}
