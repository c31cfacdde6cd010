namespace GenCluster.Trainer.Distributed;

/// <summary>
/// The two-level all-reduce of a round whose hosts hold several ranks each (<see cref="HostGroups.Hierarchical"/>), as
/// NCCL and Horovod do it between the GPUs of a node and across nodes: the ranks of each host reduce in shared memory,
/// rings across the hosts all-reduce those host sums, and the result comes back to every rank of the host through shared
/// memory. A host's link carries 2(H−1)/H of the buffer each way per all-reduce, for H hosts, instead of the flat ring's
/// 2(n−1)/n over n ranks (1 instead of 1.5 buffers for 2 hosts × 2 ranks; 1 instead of 1.875 for 2 × 8), and a ring
/// across hosts has H steps of latency instead of n.
/// </summary>
/// <remarks>
/// <para>When every host holds L ranks, each of them carries a share: the host reduce-scatters the buffer, the i-th rank
/// of every host all-reduces shard i over lane i's ring (<see cref="HostGroups.Lane"/>), and the host all-gathers the
/// shards. The links carry the same bytes as with one leader, but the work of the rings is spread over every rank, as the
/// flat ring spreads it. Hosts of unequal size use one ring, of the leaders: the host sums into every rank, the leaders
/// all-reduce, each leader broadcasts to its host.</para>
/// <para>Every rank ends with the same bits. Sums run in rank order within a host and in ring order across hosts, so
/// they differ from the flat ring's in the last bits, as any change of order does.</para>
/// <para>Failures keep the ring's contract. The rings across hosts name round ranks; a rank whose ring fails raises its
/// host's abort flag with the reason, so its host's ranks fail naming the rank that failed on the other host; a rank
/// that fails within a host makes the others there fail, and each tells the next host over its ring. Waits within a
/// host get <see cref="HostGrace"/> more than the rings, so the ring's verdict, which names the right rank, comes first.</para>
/// </remarks>
internal sealed class HierarchicalAllReduce : IAsyncDisposable
{
    /// <summary>How much longer than the rings across hosts a collective waits within a host.</summary>
    public static readonly TimeSpan HostGrace = TimeSpan.FromSeconds(2);

    private readonly SharedMemoryCollectives? _host;
    private readonly RingCollectives? _across;
    private readonly int _worldSize;
    private readonly int _hostRanks;
    private readonly int _localIndex;

    /// <param name="groups">The round's ranks by host.</param>
    /// <param name="rank">This rank.</param>
    /// <param name="host">Shared memory with the other ranks of this host; null when this rank is alone on its host.</param>
    /// <param name="across">This rank's ring across hosts (<see cref="CarriesAcross"/>); null when it has none.</param>
    public HierarchicalAllReduce(HostGroups groups, int rank, SharedMemoryCollectives? host, RingCollectives? across)
    {
        if (groups.HostOf(rank).Count > 1 != host is not null)
        {
            throw new ArgumentException($"rank {rank}: shared memory is for ranks that share their host ({groups.HostOf(rank).Count} on it here).", nameof(host));
        }

        if (CarriesAcross(groups, rank) != across is not null)
        {
            throw new ArgumentException($"rank {rank}: a ring across hosts is for every rank of hosts of equal size, else for host leaders only.", nameof(across));
        }

        Groups = groups;
        _host = host;
        _across = across;
        _worldSize = groups.Groups.Sum(g => g.Count);
        _hostRanks = groups.HostOf(rank).Count;
        _localIndex = groups.LocalIndexOf(rank);
    }

    /// <summary>The round's ranks by host.</summary>
    public HostGroups Groups { get; }

    /// <summary>This rank's ring across hosts, if it has one.</summary>
    public RingCollectives? Across => _across;

    /// <summary>Whether <paramref name="rank"/> has a ring across hosts: every rank when hosts are of equal size (its lane's), else the leaders.</summary>
    public static bool CarriesAcross(HostGroups groups, int rank) => groups.Uniform || groups.IsLeader(rank);

    /// <summary>The ranks of <paramref name="rank"/>'s ring across hosts (see <see cref="CarriesAcross"/>).</summary>
    public static IReadOnlyList<int> AcrossRing(HostGroups groups, int rank) => groups.Lane(groups.Uniform ? groups.LocalIndexOf(rank) : 0);

    /// <summary>Sums (or averages) <paramref name="buffer"/> over every rank of the round, in place.</summary>
    /// <remarks>
    /// In segments, pipelined: while the rings carry segment k across hosts, the host reduces segment k+1 and hands back
    /// segment k−1, so the work within a host hides behind the links. Every rank of a host runs the same sequence of
    /// shared-memory collectives; each segment is one collective on each ring across hosts.
    /// </remarks>
    public async Task AllReduceAsync(Memory<float> buffer, ReduceOp op, SharedWait wait, CancellationToken cancellationToken)
    {
        var segment = SegmentFloats(buffer.Length);
        var count = Math.Max(1, (buffer.Length + segment - 1) / segment);
        Memory<float> Segment(int k) => buffer.Slice(k * segment, Math.Min(segment, buffer.Length - k * segment));
        var lanes = Groups.Uniform;

        // What this rank carries across hosts: its shard of the host's reduce-scatter (lanes), or the host's whole sum (leaders).
        Memory<float> Carried(int k)
        {
            var piece = Segment(k);
            if (!lanes || _host is null)
            {
                return piece;
            }

            var (start, length) = new ShardLayout(piece.Length, _hostRanks).Shard(_localIndex);
            return piece.Slice(start, length);
        }

        void Reduce(int k)
        {
            if (lanes)
            {
                _host?.ReduceScatter(Segment(k).Span, ReduceOp.Sum, wait);
            }
            else
            {
                _host?.AllReduce(Segment(k).Span, ReduceOp.Sum, wait);
            }
        }

        void HandBack(int k)
        {
            if (lanes)
            {
                _host?.AllGather(Segment(k).Span, wait);
            }
            else
            {
                _host?.Broadcast(Segment(k).Span, 0, wait);
            }
        }

        Reduce(0);
        for (var k = 0; k < count; k++)
        {
            var across = _across is null ? Task.CompletedTask : _across.AllReduceAcrossHostsAsync(Carried(k), cancellationToken);
            try
            {
                if (k + 1 < count)
                {
                    Reduce(k + 1);
                }

                if (k > 0)
                {
                    HandBack(k - 1);
                }
            }
            catch
            {
                // The ring's failure, if it failed too, is the one worth reporting; it is observed either way.
                await Task.WhenAny(across).ConfigureAwait(false);
                if (across.IsFaulted)
                {
                    await across.ConfigureAwait(false);
                }

                throw;
            }

            await across.ConfigureAwait(false);
            if (_across is not null && op == ReduceOp.Average)
            {
                FloatKernels.Scale(Carried(k).Span, 1f / _worldSize);
            }
        }

        HandBack(count - 1);
    }

    /// <summary>Floats per pipelined segment of a <paramref name="length"/>-float all-reduce: at least 1 Mi (4 MiB), at most 16 segments.</summary>
    internal static int SegmentFloats(int length) => Math.Max(MinSegmentFloats, (length + MaxSegments - 1) / MaxSegments);

    private const int MinSegmentFloats = 1024 * 1024;
    private const int MaxSegments = 16;

    /// <summary>
    /// After a failure of this rank's collective: its host's ranks fail naming <paramref name="failedRank"/> (a round rank),
    /// and so does the next rank of its ring across hosts.
    /// </summary>
    public async Task AbortAsync(int failedRank, string reason)
    {
        _host?.Abort(failedRank, reason);
        if (_across is not null)
        {
            await _across.AbortAcrossHostsAsync(failedRank, reason).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _host?.Dispose();
        if (_across is not null)
        {
            await _across.DisposeAsync().ConfigureAwait(false);
        }
    }
}
