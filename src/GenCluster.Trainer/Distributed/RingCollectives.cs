using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using GenCluster.Contracts.Ring;
using Google.Protobuf;
using Grpc.Core;
using GenCluster.Trainer.Distributed.Http2;
using Microsoft.Extensions.Logging;

namespace GenCluster.Trainer.Distributed;

/// <summary>
/// One round's ring collectives over gRPC: rank r streams frames to rank r+1 mod n over one long-lived stream and
/// receives its predecessor's frames through the ring server it is registered with. All-reduce is reduce-scatter
/// (n-1 steps) followed by all-gather (n-1 steps) with chunk = length/n; chunks travel as frames that are reduced
/// and forwarded as they arrive, so receiving, reducing and sending overlap. Every collective has a deadline; any
/// failure or cancellation breaks the ring for the rest of the round (the control plane forms a new round).
/// </summary>
public sealed class RingCollectives : ICollectives, IAsyncDisposable
{
    internal const string JobHeader = "gencluster-job";
    internal const string RoundHeader = "gencluster-round";
    internal const string RankHeader = "gencluster-rank";
    private static readonly string StreamMethod = $"/{RingService.Descriptor.FullName}/Stream";

    private readonly IReadOnlyList<string> _peers;
    private readonly RingOptions _options;
    private readonly RingInstruments _instruments;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly RingSessionRegistry? _registry;
    private readonly Channel<InboundFrame> _inbox;
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);
    private readonly CancellationTokenSource _lifetime = new();
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(2);
    private readonly int _frameElements;
    private int _inboundAttached;
    private long _sequence;
    private Exception? _broken;
    private GrpcStreamClient? _outbound;
    private readonly byte[] _head = new byte[RingFrameHead.MaxBytes];
    private byte[]? _bf16Staging;
    private volatile Exception? _outboundFailure;
    private CollectiveState? _current;
    private SharedMemoryCollectives? _local;
    private HierarchicalAllReduce? _hierarchy;
    private readonly IReadOnlyList<int>? _roundRanks;
    private readonly IReadOnlyList<string> _roundPeers;
    private bool _negotiated;
    private bool _disposed;

    /// <summary>Creates the collectives of one round. Register it with the ring server before peers connect.</summary>
    /// <param name="jobId">Job the round belongs to.</param>
    /// <param name="round">Round number; frames from other rounds are rejected.</param>
    /// <param name="rank">This process's rank, 0..peers.Count-1.</param>
    /// <param name="peers">Ring endpoints indexed by rank, e.g. <c>http://10.0.0.5:7201</c>.</param>
    /// <param name="jobSecret">Secret every peer proves it holds in the handshake that opens each ring connection (<see cref="RingHandshake"/>).</param>
    /// <param name="options">Deadline, frame size, windows.</param>
    /// <param name="instruments">Metrics.</param>
    /// <param name="logger">Logger.</param>
    /// <param name="timeProvider">Clock for deadlines.</param>
    /// <param name="registry">Registry this session removes itself from on dispose.</param>
    public RingCollectives(
        string jobId, long round, int rank, IReadOnlyList<string> peers, string jobSecret, RingOptions options,
        RingInstruments instruments, ILogger logger, TimeProvider? timeProvider = null, RingSessionRegistry? registry = null)
        : this(jobId, round, rank, peers, jobSecret, options, instruments, logger, timeProvider, registry, null, null)
    {
    }

    /// <summary>As the public constructor; for a ring across hosts, <paramref name="roundRanks"/> names each of its ranks' round rank and <paramref name="roundPeers"/> every round rank's endpoint, for failures.</summary>
    private RingCollectives(
        string jobId, long round, int rank, IReadOnlyList<string> peers, string jobSecret, RingOptions options,
        RingInstruments instruments, ILogger logger, TimeProvider? timeProvider, RingSessionRegistry? registry,
        IReadOnlyList<int>? roundRanks, IReadOnlyList<string>? roundPeers)
    {
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        ArgumentNullException.ThrowIfNull(peers);
        ArgumentException.ThrowIfNullOrEmpty(jobSecret);
        if (peers.Count is < 1)
        {
            throw new ArgumentException($"peers: expected at least 1 endpoint, got {peers.Count}.", nameof(peers));
        }

        if (rank < 0 || rank >= peers.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(rank), rank, $"rank must be in 0..{peers.Count - 1} for {peers.Count} peers.");
        }

        ArgumentNullException.ThrowIfNull(options);
        var invalid = new RingOptionsValidator().Validate(null, options);
        if (invalid.Failed)
        {
            throw new ArgumentException(invalid.FailureMessage, nameof(options));
        }

        JobId = jobId;
        Round = round;
        Rank = rank;
        _peers = peers;
        _roundRanks = roundRanks;
        _roundPeers = roundPeers ?? peers;
        JobSecret = jobSecret;
        KeyId = RingHandshake.KeyIdOf(jobId);
        _options = options;
        _instruments = instruments;
        _logger = logger;
        _time = timeProvider ?? TimeProvider.System;
        _registry = registry;
        _frameElements = options.FrameBytes / sizeof(float);
        _inbox = Channel.CreateBounded<InboundFrame>(new BoundedChannelOptions(options.InboxFrames)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>The job.</summary>
    public string JobId { get; }

    /// <summary>The round.</summary>
    public long Round { get; }

    /// <inheritdoc />
    public int Rank { get; }

    /// <inheritdoc />
    public int WorldSize => _peers.Count;

    /// <summary>
    /// The transport of the stream to the successor: <see cref="RingTransport.Unix"/> when it went over the successor's
    /// Unix socket on this host; null until the stream is up (the first collective opens it).
    /// </summary>
    public RingTransport? SuccessorTransport => _outbound is { Ready.IsCompletedSuccessfully: true } outbound ? outbound.Transport : null;

    /// <summary>
    /// Whether this round's collectives go through shared memory (every rank on this host agreed to, in the round's first
    /// collective); false until then, and for rounds that span hosts.
    /// </summary>
    public bool UsesSharedMemory => _local is not null;

    /// <summary>
    /// Whether this round's all-reduces run in two levels (<see cref="HierarchicalAllReduce"/>): within each host in shared
    /// memory, across hosts over rings of one rank per host. Decided in the round's first collective, for rounds that span
    /// hosts some of which hold several ranks; the other collectives stay on the ring.
    /// </summary>
    public bool UsesHostHierarchy => _hierarchy is not null;

    /// <summary>The two-level all-reduce, once agreed (see <see cref="UsesHostHierarchy"/>).</summary>
    internal HierarchicalAllReduce? Hierarchy => _hierarchy;

    /// <summary>Collectives started so far in this round (the next one gets this sequence number).</summary>
    public long Sequence => Interlocked.Read(ref _sequence);

    internal string JobSecret { get; }

    /// <summary>The job's handshake key id (<see cref="RingHandshake.KeyIdOf"/>).</summary>
    internal byte[] KeyId { get; }

    private int Successor => (Rank + 1) % WorldSize;

    private int Predecessor => (Rank + WorldSize - 1) % WorldSize;

    /// <summary>In a round of several hosts with ranks sharing them: whether this rank's ring predecessor is on its host.</summary>
    private bool _predecessorOnThisHost;

    /// <summary>The round rank of this ring's rank <paramref name="rank"/> (the same, except on a ring across hosts).</summary>
    private int Named(int rank) => _roundRanks?[rank] ?? rank;

    /// <inheritdoc />
    public Task AllReduceAsync(Memory<float> buffer, ReduceOp op, CancellationToken cancellationToken = default) =>
        AllReduceAsync(buffer, op, bucket: 0, cancellationToken);

    /// <summary>All-reduce of one gradient bucket; the bucket index travels in every frame.</summary>
    public async Task AllReduceAsync(Memory<float> buffer, ReduceOp op, int bucket, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        await RunAsync("all-reduce", (seq, ct) => _local is { } local
            ? Locally(() => local.AllReduce(buffer.Span, op, WaitOf(seq)))
            : _hierarchy is { } hierarchy ? hierarchy.AllReduceAsync(buffer, op, WaitOf(seq), ct)
            : RingPassAsync(buffer, op, bucket, BothPhases, seq, ct), cancellationToken).ConfigureAwait(false);
        _instruments.AllReduceSeconds.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
    }

    /// <inheritdoc />
    public Task ReduceScatterAsync(Memory<float> buffer, ReduceOp op, CancellationToken cancellationToken = default) =>
        ShardCollectiveAsync("reduce-scatter", buffer, op, ReducePhase, cancellationToken);

    /// <inheritdoc />
    public Task AllGatherAsync(Memory<float> buffer, CancellationToken cancellationToken = default) =>
        ShardCollectiveAsync("all-gather", buffer, ReduceOp.Sum, GatherPhase, cancellationToken);

    /// <inheritdoc />
    public Task BroadcastAsync(Memory<float> buffer, int root, CancellationToken cancellationToken = default)
    {
        if (root < 0 || root >= WorldSize)
        {
            throw new ArgumentOutOfRangeException(nameof(root), root, $"root must be in 0..{WorldSize - 1}.");
        }

        return RunAsync("broadcast", (seq, ct) => _local is { } local
            ? Locally(() => local.Broadcast(buffer.Span, root, WaitOf(seq)))
            : BroadcastCoreAsync(buffer, root, seq, ct), cancellationToken);
    }

    /// <inheritdoc />
    public Task BarrierAsync(CancellationToken cancellationToken = default)
    {
        var token = new float[1];
        return RunAsync("barrier", (seq, ct) => _local is { } local
            ? Locally(() => local.Barrier(WaitOf(seq)))
            : RingPassAsync(token, ReduceOp.Sum, 0, BothPhases, seq, ct), cancellationToken);
    }

    /// <inheritdoc />
    public async Task<double[][]> AllGatherAsync(ReadOnlyMemory<double> values, CancellationToken cancellationToken = default)
    {
        var result = new double[WorldSize][];
        await RunAsync("all-gather", (seq, ct) => _local is { } local
            ? Locally(() => local.GatherValues(values.Span, WaitOf(seq)).CopyTo(result, 0))
            : AllGatherCoreAsync(values, result, seq, ct), cancellationToken).ConfigureAwait(false);
        return result;
    }

    /// <summary>Ends the outbound stream and removes the session from its registry.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _registry?.Unregister(this);
        _local?.Dispose();
        if (_hierarchy is not null)
        {
            await _hierarchy.DisposeAsync().ConfigureAwait(false);
        }

        _inbox.Writer.TryComplete(new ObjectDisposedException(nameof(RingCollectives)));
        await _oneAtATime.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        if (_outbound is not null)
        {
            try
            {
                if (_broken is null)
                {
                    using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                    await _outbound.CompleteAsync(cts.Token).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is RpcException or OperationCanceledException or InvalidOperationException or IOException)
            {
                // The successor may already be gone at the end of a round; nothing is left to deliver.
            }

            await _outbound.DisposeAsync().ConfigureAwait(false);
        }

        await _lifetime.CancelAsync().ConfigureAwait(false);
        _lifetime.Dispose();
    }

    internal bool TryAttachInbound(int senderRank) =>
        senderRank == Predecessor && !_disposed && Interlocked.CompareExchange(ref _inboundAttached, 1, 0) == 0;

    internal void DetachInbound() => Volatile.Write(ref _inboundAttached, 0);

    internal ValueTask DeliverAsync(InboundFrame frame, CancellationToken cancellationToken) =>
        _inbox.Writer.WriteAsync(frame, cancellationToken);

    internal void InboundEnded(Exception? error) =>
        _inbox.Writer.TryComplete(error ?? new IOException($"rank {Named(Predecessor)} closed its ring stream"));

    private async Task RunAsync(string collective, Func<long, CancellationToken, Task> body, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _oneAtATime.WaitAsync(cancellationToken).ConfigureAwait(false);
        var seq = Interlocked.Increment(ref _sequence) - 1;
        try
        {
            if (_broken is not null)
            {
                throw new CollectiveException(
                    $"{collective} #{seq} on rank {Named(Rank)} of job {JobId} round {Round}: the ring broke in an earlier collective ({_broken.Message}); a new round is needed.",
                    collective, seq, null, null, _broken);
            }

            if (WorldSize == 1)
            {
                await body(seq, cancellationToken).ConfigureAwait(false);
                return;
            }

            // Within a host, a two-level all-reduce waits a little longer than its rings across hosts, whose verdict names the
            // right rank (the round's other collectives, on the flat ring, get the same allowance). On that flat ring, a rank
            // whose predecessor shares its host waits one allowance more: when a link goes dark, the rank receiving across it
            // fails first, and its abort names the rank beyond the link to this one, instead of this one blaming its own
            // host's peer, which was only waiting too.
            var timeout = _options.DeadlineOf(seq) + (_hierarchy is null ? TimeSpan.Zero
                : _predecessorOnThisHost ? 2 * HierarchicalAllReduce.HostGrace : HierarchicalAllReduce.HostGrace);
            using var deadline = new CancellationTokenSource(timeout, _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token, _lifetime.Token);
            var state = new CollectiveState(collective, seq, linked, _lifetime.Token) { Timeout = timeout, Caller = cancellationToken, Deadline = deadline.Token };
            _current = state;
            try
            {
                if (!_negotiated)
                {
                    _negotiated = true;
                    await NegotiateSharedMemoryAsync(seq, linked.Token).ConfigureAwait(false);
                }

                await body(seq, linked.Token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                var failure = ex is CollectiveException || cancellationToken.IsCancellationRequested
                    ? ex
                    : Translate(ex, state, deadline.IsCancellationRequested);
                if (_local is { } local)
                {
                    local.Abort(failure is CollectiveException { PeerRank: { } peer } ? peer : Rank, AbortReason(state, failure));
                }
                else
                {
                    if (_hierarchy is { } hierarchy)
                    {
                        await hierarchy.AbortAsync(failure is CollectiveException { PeerRank: { } peer } ? peer : Rank, AbortReason(state, failure)).ConfigureAwait(false);
                    }

                    await TrySendAbortAsync(state, failure).ConfigureAwait(false);
                }
                if (ReferenceEquals(failure, ex))
                {
                    throw;
                }

                throw failure;
            }
            finally
            {
                _current = null;
                state.SenderStop.Dispose();
            }
        }
        catch (Exception ex)
        {
            _broken ??= ex;
            RingLog.CollectiveFailed(_logger, collective, seq, Rank, JobId, Round, ex.Message);
            throw;
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    private sealed class CollectiveState(string collective, long sequence, CancellationTokenSource linked, CancellationToken lifetime)
    {
        public CancellationTokenSource SenderStop { get; } = CancellationTokenSource.CreateLinkedTokenSource(lifetime);

        public volatile bool StopRequested;

        public volatile bool StreamCut;

        public string Collective { get; } = collective;

        /// <summary>This collective's deadline.</summary>
        public TimeSpan Timeout { get; init; }

        public long Sequence { get; } = sequence;

        public CancellationTokenSource Linked { get; } = linked;

        /// <summary>The peer the collective is blocked on right now: the predecessor while receiving, else the successor.</summary>
        public volatile bool WaitingOnPredecessor;

        public Exception? SendFailure;

        /// <summary>The caller's token (cancellation) and the deadline's, told apart for a collective in shared memory.</summary>
        public CancellationToken Caller { get; init; }

        public CancellationToken Deadline { get; init; }
    }

    private string AbortReason(CollectiveState state, Exception failure) =>
        failure is OperationCanceledException ? $"rank {Named(Rank)} cancelled {state.Collective} #{state.Sequence}" : failure.Message;

    /// <summary>
    /// In the round's first collective, before its own work: when ranks share hosts, agree over the ring to use shared
    /// memory (<see cref="SharedMemoryRendezvous"/>): for every collective when the whole round is on this host, for the
    /// two-level all-reduce (<see cref="HierarchicalAllReduce"/>) when the round spans hosts that hold several ranks each.
    /// The agreement rides on the first collective's sequence number and deadline, so a missing peer fails that collective
    /// just as before.
    /// </summary>
    private async Task NegotiateSharedMemoryAsync(long seq, CancellationToken ct)
    {
        // bf16 saves link bandwidth: on one host there is no link to save, so such a round stays on its sockets as asked;
        // across hosts, the rings across hosts send bf16 and the sums within each host stay fp32.
        var groups = HostGroups.Of(_peers);
        if (_roundRanks is not null || !groups.SharingWorthwhile || (_options.UseBf16 && groups.OneHost))
        {
            return;
        }

        var agreement = await SharedMemoryRendezvous.TryAsync(
            async values =>
            {
                var result = new double[WorldSize][];
                await AllGatherCoreAsync(values, result, seq, ct).ConfigureAwait(false);
                return result;
            },
            new SharedMemoryRendezvous.Round(JobId, Round, Rank, _peers, KeyId, groups),
            _options, _logger).ConfigureAwait(false);
        if (agreement is null)
        {
            return;
        }

        if (agreement.Local is not null)
        {
            _instruments.Connections.Add(1, new KeyValuePair<string, object?>("transport", RingTransport.SharedMemory.Label()));
        }

        if (groups.OneHost)
        {
            _local = agreement.Local;
            return;
        }

        RingCollectives? across = null;
        if (HierarchicalAllReduce.CarriesAcross(groups, Rank))
        {
            // Its own session on the same ring port, under a job id no job has; the same secret opens its connections. A ring
            // across hosts holds one rank of each host in group order, so this rank's place in it is its host's.
            var ring = HierarchicalAllReduce.AcrossRing(groups, Rank);
            across = new RingCollectives(AcrossHostsJobId(JobId, groups.LocalIndexOf(Rank)), Round, groups.GroupOf(Rank), [.. ring.Select(r => _peers[r])], JobSecret,
                _options, _instruments, _logger, _time, _registry, ring, _peers);
            _registry?.Register(across);
        }

        _hierarchy = new HierarchicalAllReduce(groups, Rank, agreement.Local, across);
        _predecessorOnThisHost = groups.GroupOf(Predecessor) == groups.GroupOf(Rank);
        RingLog.HostHierarchy(_logger, Rank, JobId, Round, groups.Groups.Count, groups.HostOf(Rank).Count,
            groups.Uniform ? groups.HostOf(Rank).Count : 1, string.Join(", ", HierarchicalAllReduce.AcrossRing(groups, Rank).Select(r => $"rank {r}")));
    }

    /// <summary>The job id of lane <paramref name="lane"/>'s ring across hosts in job <paramref name="jobId"/>'s rounds ('#' is not allowed in job ids).</summary>
    internal static string AcrossHostsJobId(string jobId, int lane) => $"{jobId}#hosts{lane}";

    /// <summary>On a ring across hosts (<see cref="HierarchicalAllReduce"/>): sums <paramref name="buffer"/> over the hosts.</summary>
    internal Task AllReduceAcrossHostsAsync(Memory<float> buffer, CancellationToken cancellationToken) =>
        RunAsync("all-reduce", (seq, ct) => RingPassAsync(buffer, ReduceOp.Sum, 0, BothPhases, seq, ct), cancellationToken);

    /// <summary>
    /// On a ring across hosts, outside its collectives: the round failed at <paramref name="failedRank"/> (a round rank)
    /// on this rank's host, so this ring is broken, and the next rank of the ring is told, so that its host fails at once
    /// naming that rank. Best effort, as <see cref="TrySendAbortAsync"/>.
    /// </summary>
    internal async Task AbortAcrossHostsAsync(int failedRank, string reason)
    {
        if (_broken is not null || _disposed || !await _oneAtATime.WaitAsync(StopGrace).ConfigureAwait(false))
        {
            return;
        }

        try
        {
            var seq = Interlocked.Read(ref _sequence);
            var endpoint = failedRank >= 0 && failedRank < _roundPeers.Count ? _roundPeers[failedRank] : null;
            _broken = new CollectiveException($"rank {failedRank} ({endpoint}) failed on its host: {reason}", "all-reduce", seq, failedRank, endpoint);
            if (failedRank != Named(Successor))
            {
                await SendAbortAsync(seq, failedRank, reason).ConfigureAwait(false);
            }
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    private SharedWait WaitOf(long seq)
    {
        var state = _current!;
        return new SharedWait(state.Collective, seq, state.Timeout, state.Caller, state.Deadline);
    }

    /// <summary>Runs a shared-memory collective on the caller's thread (it blocks in the kernel while it waits).</summary>
    private static Task Locally(Action collective)
    {
        collective();
        return Task.CompletedTask;
    }

    /// <summary>
    /// Tells the successor why this rank stopped, so the failure travels around the ring naming the rank that
    /// actually failed instead of each rank timing out on its own neighbour. Best effort, bounded by
    /// <see cref="StopGrace"/>; skipped when the successor is the one that failed.
    /// </summary>
    private async Task TrySendAbortAsync(CollectiveState state, Exception failure)
    {
        var failedRank = failure is CollectiveException { PeerRank: { } peer } ? peer : Named(Rank);
        if (state.StreamCut || failedRank == Named(Successor))
        {
            return;
        }

        await SendAbortAsync(state.Sequence, failedRank, AbortReason(state, failure)).ConfigureAwait(false);
    }

    /// <summary>Sends the successor an abort frame naming <paramref name="failedRank"/> (a round rank), within <see cref="StopGrace"/>.</summary>
    private async Task SendAbortAsync(long seq, int failedRank, string reason)
    {
        if (_outbound is null || _outboundFailure is not null)
        {
            return;
        }

        var abort = new RingFrame
        {
            JobId = JobId,
            Round = Round,
            Sequence = seq,
            SenderRank = Rank,
            Abort = true,
            FailedRank = failedRank,
            Reason = reason,
        };
        using var timeout = new CancellationTokenSource(StopGrace, _time);
        try
        {
            await _outbound.WriteAsync(_head.AsMemory(0, RingFrameHead.Write(abort, 0, _head)), ReadOnlyMemory<byte>.Empty, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RpcException or OperationCanceledException or InvalidOperationException or IOException)
        {
            // The successor cannot be told; it will fail on its own deadline or stream error.
        }
    }

    private CollectiveException Translate(Exception ex, CollectiveState state, bool deadlinePassed)
    {
        // A failed write (RpcException, or InvalidOperationException once the call has completed) is the successor's.
        var sendFailed = state.SendFailure is not null && ex is not CollectiveException;
        if (sendFailed)
        {
            ex = state.SendFailure!;
        }

        if (ex is CollectiveException collectiveException)
        {
            return collectiveException;
        }

        var blamed = ex switch
        {
            _ when sendFailed => Successor,
            RpcException => Successor,
            _ when deadlinePassed => state.WaitingOnPredecessor ? Predecessor : Successor,
            _ => Predecessor,
        };
        var endpoint = _peers[blamed];
        var where = $"{state.Collective} #{state.Sequence} on rank {Named(Rank)} of job {JobId} round {Round}";
        if (deadlinePassed && ex is OperationCanceledException)
        {
            var waiting = blamed == Predecessor ? "receiving from" : "sending to";
            return new CollectiveTimeoutException(
                $"{where}: no progress from rank {Named(blamed)} ({endpoint}) within {state.Timeout.TotalSeconds:0.###} s while {waiting} it.",
                state.Collective, state.Sequence, Named(blamed), endpoint, state.Timeout);
        }

        var detail = ex is RpcException rpc ? $"{rpc.StatusCode}: {rpc.Status.Detail}" : ex.Message;
        return new PeerFailedException(
            $"{where}: rank {Named(blamed)} ({endpoint}) failed: {detail}",
            state.Collective, state.Sequence, Named(blamed), endpoint, ex);
    }

    private async Task ShardCollectiveAsync(string collective, Memory<float> buffer, ReduceOp op, RingPhases phases, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        await RunAsync(collective, (seq, ct) => _local is not { } local ? RingPassAsync(buffer, op, 0, phases, seq, ct)
            : phases.Reduce ? Locally(() => local.ReduceScatter(buffer.Span, op, WaitOf(seq)))
            : Locally(() => local.AllGather(buffer.Span, WaitOf(seq))), cancellationToken).ConfigureAwait(false);
        _instruments.ShardCollectiveSeconds.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, new KeyValuePair<string, object?>("collective", collective));
    }

    /// <summary>Which steps of the ring's 2(n-1) a collective runs: the reduce phase, the gather phase, or both (all-reduce).</summary>
    private readonly record struct RingPhases(bool Reduce, bool Gather);

    private static readonly RingPhases BothPhases = new(true, true);
    private static readonly RingPhases ReducePhase = new(true, false);
    private static readonly RingPhases GatherPhase = new(false, true);

    /// <summary>
    /// Steps 0..n-2 reduce (at step s a rank sends chunk r-s and receives, adds and forwards chunk r-s-1; after them rank r
    /// holds the reduced chunk r+1, its <see cref="ShardLayout"/> shard) and steps n-1..2n-3 gather (the same schedule,
    /// copying instead of adding). The gather phase always travels in fp32: it carries parameters, not gradients, when it
    /// runs alone.
    /// </summary>
    private async Task RingPassAsync(Memory<float> buffer, ReduceOp op, int bucket, RingPhases phases, long seq, CancellationToken ct)
    {
        var n = WorldSize;
        if (n == 1)
        {
            return;
        }

        var chunking = new RingChunking(buffer.Length, n, _frameElements);
        var bytes = new FloatBytesMemoryManager(buffer).Memory;
        var dtype = _options.UseBf16 && phases.Reduce ? RingDtype.Bf16 : RingDtype.Fp32;
        var firstStep = phases.Reduce ? 0 : n - 1;
        var lastStep = phases.Gather ? (2 * n) - 3 : n - 2;
        var sends = Channel.CreateUnbounded<SendItem>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var sender = SendLoopAsync(sends.Reader, buffer, bytes, seq, bucket, dtype);
        try
        {
            var first = RingChunking.Mod(Rank - firstStep, n);
            for (var f = 0; f < chunking.Frames(first); f++)
            {
                var (offset, count) = chunking.Frame(first, f);
                sends.Writer.TryWrite(new SendItem(first, firstStep, offset, chunking.Start(first) + offset, count));
            }

            for (var step = firstStep; step <= lastStep; step++)
            {
                var reducing = step < n - 1;
                var chunk = RingChunking.Mod(Rank - step - 1, n);
                for (var f = 0; f < chunking.Frames(chunk); f++)
                {
                    var (offset, count) = chunking.Frame(chunk, f);
                    var frame = await ReceiveAsync(sender, ct).ConfigureAwait(false);
                    Expect(frame, seq, step, chunk, offset, count, dtype);
                    var target = buffer.Span.Slice(chunking.Start(chunk) + offset, count);
                    Absorb(frame, target, accumulate: reducing);
                    frame.Release();
                    if (step == n - 2)
                    {
                        if (op == ReduceOp.Average)
                        {
                            FloatKernels.Scale(target, 1f / n);
                        }

                        if (dtype == RingDtype.Bf16)
                        {
                            RoundToBf16(target);
                        }
                    }

                    if (step < lastStep)
                    {
                        sends.Writer.TryWrite(new SendItem(chunk, step + 1, offset, chunking.Start(chunk) + offset, count));
                    }
                }
            }

            sends.Writer.TryComplete();
            await sender.ConfigureAwait(false);
        }
        finally
        {
            sends.Writer.TryComplete();
            await ObserveAsync(sender).ConfigureAwait(false);
        }
    }

    private async Task BroadcastCoreAsync(Memory<float> buffer, int root, long seq, CancellationToken ct)
    {
        if (WorldSize == 1)
        {
            return;
        }

        var chunking = new RingChunking(buffer.Length, 1, _frameElements);
        var bytes = new FloatBytesMemoryManager(buffer).Memory;
        var sends = Channel.CreateUnbounded<SendItem>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var forwards = Successor != root;
        var sender = Rank == root || forwards
            ? SendLoopAsync(sends.Reader, buffer, bytes, seq, 0, RingDtype.Fp32)
            : Task.CompletedTask;
        try
        {
            for (var f = 0; f < chunking.Frames(0); f++)
            {
                var (offset, count) = chunking.Frame(0, f);
                if (Rank != root)
                {
                    var frame = await ReceiveAsync(sender, ct).ConfigureAwait(false);
                    Expect(frame, seq, 0, 0, offset, count, RingDtype.Fp32);
                    Absorb(frame, buffer.Span.Slice(offset, count), accumulate: false);
                    frame.Release();
                }

                if (Rank == root || forwards)
                {
                    sends.Writer.TryWrite(new SendItem(0, 0, offset, offset, count));
                }
            }

            sends.Writer.TryComplete();
            await sender.ConfigureAwait(false);
        }
        finally
        {
            sends.Writer.TryComplete();
            await ObserveAsync(sender).ConfigureAwait(false);
        }
    }

    private async Task AllGatherCoreAsync(ReadOnlyMemory<double> values, double[][] result, long seq, CancellationToken ct)
    {
        var n = WorldSize;
        result[Rank] = values.ToArray();
        if (n == 1)
        {
            return;
        }

        var sends = Channel.CreateUnbounded<SendItem>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var sender = SendLoopAsync(sends.Reader, Memory<float>.Empty, Memory<byte>.Empty, seq, 0, RingDtype.Fp64);
        try
        {
            sends.Writer.TryWrite(new SendItem(Rank, 0, 0, 0, 0, MemoryMarshal.AsBytes(result[Rank].AsSpan()).ToArray()));
            for (var step = 0; step < n - 1; step++)
            {
                var origin = RingChunking.Mod(Rank - step - 1, n);
                var frame = await ReceiveAsync(sender, ct).ConfigureAwait(false);
                Expect(frame, seq, step, origin, 0, frame.PayloadLength / sizeof(double), RingDtype.Fp64);
                result[origin] = MemoryMarshal.Cast<byte, double>(frame.Payload).ToArray();
                var forward = frame.Payload.ToArray();
                frame.Release();
                if (step < n - 2)
                {
                    sends.Writer.TryWrite(new SendItem(origin, step + 1, 0, 0, 0, forward));
                }
            }

            sends.Writer.TryComplete();
            await sender.ConfigureAwait(false);
        }
        finally
        {
            sends.Writer.TryComplete();
            await ObserveAsync(sender).ConfigureAwait(false);
        }
    }

    private async Task ObserveAsync(Task task)
    {
        if (!task.IsCompleted && _current is { } state)
        {
            // The collective failed while frames were still queued: stop the sender between frames, and cut the stream
            // only if a write stays blocked on flow control (a frozen successor).
            state.StopRequested = true;
            await Task.WhenAny(task, Task.Delay(StopGrace, _time)).ConfigureAwait(false);
            if (!task.IsCompleted)
            {
                state.StreamCut = true;
                await state.SenderStop.CancelAsync().ConfigureAwait(false);
            }
        }

        try
        {
            await task.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or RpcException or IOException or InvalidOperationException or CollectiveException
            or TimeoutException or System.Net.Sockets.SocketException)
        {
            // Already reported through the collective's own failure; the sender must simply not outlive it.
        }
    }

    private async ValueTask<InboundFrame> ReceiveAsync(Task sender, CancellationToken ct)
    {
        var state = _current!;
        if (_inbox.Reader.TryRead(out var ready))
        {
            return CheckAbort(ready, state);
        }

        // Cleared only once a frame arrives: a deadline that passes in the read must blame the predecessor.
        state.WaitingOnPredecessor = true;
        try
        {
            var frame = await _inbox.Reader.ReadAsync(ct).ConfigureAwait(false);
            state.WaitingOnPredecessor = false;
            return CheckAbort(frame, state);
        }
        catch (ChannelClosedException closed)
        {
            var endpoint = _peers[Predecessor];
            throw new PeerFailedException(
                $"{state.Collective} #{state.Sequence} on rank {Named(Rank)} of job {JobId} round {Round}: stream from rank {Named(Predecessor)} ({endpoint}) ended: {closed.InnerException?.Message ?? closed.Message}",
                state.Collective, state.Sequence, Named(Predecessor), endpoint, closed.InnerException ?? closed);
        }
        catch (OperationCanceledException) when (sender.IsFaulted)
        {
            state.SendFailure = sender.Exception!.InnerException;
            throw;
        }
    }

    private InboundFrame CheckAbort(InboundFrame frame, CollectiveState state)
    {
        if (!frame.Abort)
        {
            return frame;
        }

        frame.Release();
        // Abort frames name round ranks (a ring across hosts passes on failures of ranks that are not in it).
        var failed = frame.FailedRank >= 0 && frame.FailedRank < _roundPeers.Count ? frame.FailedRank : Named(Predecessor);
        var endpoint = _roundPeers[failed];
        var sender = frame.SenderRank >= 0 && frame.SenderRank < WorldSize ? Named(frame.SenderRank) : frame.SenderRank;
        throw new PeerFailedException(
            $"{state.Collective} #{state.Sequence} on rank {Named(Rank)} of job {JobId} round {Round}: rank {failed} ({endpoint}) failed, " +
            $"reported by rank {sender}: {frame.Reason}",
            state.Collective, state.Sequence, failed, endpoint, null);
    }

    private void Expect(InboundFrame frame, long seq, int step, int chunk, int offset, int count, RingDtype dtype)
    {
        var elementBytes = dtype switch { RingDtype.Bf16 => 2, RingDtype.Fp64 => 8, _ => 4 };
        if (frame.Sequence == seq && frame.Step == step && frame.Chunk == chunk && frame.Offset == offset
            && frame.Dtype == dtype && frame.PayloadLength == count * elementBytes)
        {
            return;
        }

        frame.Release();
        var state = _current!;
        var endpoint = _peers[Predecessor];
        throw new PeerFailedException(
            $"{state.Collective} #{seq} on rank {Named(Rank)} of job {JobId} round {Round}: rank {Named(Predecessor)} ({endpoint}) sent " +
            $"sequence {frame.Sequence} step {frame.Step} chunk {frame.Chunk} offset {frame.Offset} {frame.Dtype} {frame.PayloadLength} bytes, " +
            $"expected sequence {seq} step {step} chunk {chunk} offset {offset} {dtype} {count * elementBytes} bytes (ranks called different collectives or lengths).",
            state.Collective, seq, Named(Predecessor), endpoint, null);
    }

    private static void Absorb(InboundFrame frame, Span<float> target, bool accumulate)
    {
        if (frame.Dtype == RingDtype.Bf16)
        {
            FloatKernels.FromBf16(MemoryMarshal.Cast<byte, ushort>(frame.Payload), target, accumulate);
        }
        else if (accumulate)
        {
            FloatKernels.AddInPlace(target, MemoryMarshal.Cast<byte, float>(frame.Payload));
        }
        else
        {
            MemoryMarshal.Cast<byte, float>(frame.Payload).CopyTo(target);
        }
    }

    private static void RoundToBf16(Span<float> values)
    {
        Span<ushort> scratch = stackalloc ushort[256];
        for (var i = 0; i < values.Length; i += scratch.Length)
        {
            var part = values.Slice(i, Math.Min(scratch.Length, values.Length - i));
            FloatKernels.ToBf16(part, scratch);
            FloatKernels.FromBf16(scratch[..part.Length], part, accumulate: false);
        }
    }

    private readonly record struct SendItem(int Chunk, int Step, int Offset, int Start, int Count, byte[]? Raw = null);

    private async Task SendLoopAsync(
        ChannelReader<SendItem> items, Memory<float> floats, Memory<byte> bytes, long seq, int bucket, RingDtype dtype)
    {
        // The sender is not bound to the collective's deadline: cancelling a gRPC write resets the whole stream, and a
        // failing rank still wants to tell its successor why (see TrySendAbortAsync). ObserveAsync stops it instead.
        var state = _current!;
        var ct = state.SenderStop.Token;
        var stream = EnsureOutbound();
        if (_outboundFailure is { } refused)
        {
            throw refused;
        }

        var frame = new RingFrame { JobId = JobId, Round = Round, Sequence = seq, Bucket = bucket, Dtype = dtype, SenderRank = Rank };
        long sent = 0;
        try
        {
            await foreach (var item in items.ReadAllAsync(ct).ConfigureAwait(false))
            {
                if (state.StopRequested)
                {
                    break;
                }

                frame.Chunk = item.Chunk;
                frame.Step = item.Step;
                frame.Offset = item.Offset;
                ReadOnlyMemory<byte> payload;
                if (item.Raw is not null)
                {
                    payload = item.Raw;
                }
                else if (dtype == RingDtype.Bf16)
                {
                    var staging = _bf16Staging ??= new byte[_options.FrameBytes / 2];
                    var halves = MemoryMarshal.Cast<byte, ushort>(staging.AsSpan(0, item.Count * 2));
                    FloatKernels.ToBf16(floats.Span.Slice(item.Start, item.Count), halves);
                    payload = staging.AsMemory(0, item.Count * 2);
                }
                else
                {
                    payload = bytes.Slice(item.Start * sizeof(float), item.Count * sizeof(float));
                }

                var head = RingFrameHead.Write(frame, payload.Length, _head);
                await stream.WriteAsync(_head.AsMemory(0, head), payload, ct).ConfigureAwait(false);
                sent += payload.Length;
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Wake the receiving side so the collective fails now, naming the successor, instead of at its deadline.
            // A failure that lands after the collective already stopped (its deadline, a cancel) is not its cause.
            if (!state.Linked.IsCancellationRequested)
            {
                state.SendFailure ??= ex;
                await state.Linked.CancelAsync().ConfigureAwait(false);
            }

            throw;
        }
        finally
        {
            _instruments.SentBytes.Add(sent);
        }
    }

    private GrpcStreamClient EnsureOutbound()
    {
        if (_outbound is not null)
        {
            return _outbound;
        }

        KeyValuePair<string, string>[] headers =
        [
            new(JobHeader, JobId),
            new(RoundHeader, Round.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new(RankHeader, Rank.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ];
        var successor = _peers[Successor];
        var handshake = new RingHandshake.Client(JobId, Round, Rank, JobSecret);
        // The successor answers the handshake only once it hosts this round's session, which may take the join timeout:
        // the collective's own deadline reports a successor that never does; this one only bounds the attempt.
        var unixSocketPath = RingRoute.UnixSocketPathTo(_peers[Rank], successor, _options);
        _outbound = GrpcStreamClient.Start(
            successor, StreamMethod, headers, _options.DeadlineOf(0) + StopGrace, _lifetime.Token,
            (socket, ct) => RingHandshakeSocket.ConnectAsync(socket, handshake, successor, ct), unixSocketPath);
        _ = WatchOutboundAsync(_outbound);
        _ = ReportTransportAsync(_outbound, unixSocketPath);
        return _outbound;
    }

    /// <summary>Logs and counts the transport the successor stream uses once it is up, and a fallback from the Unix socket once per socket.</summary>
    private async Task ReportTransportAsync(GrpcStreamClient call, string? unixSocketPath)
    {
        var opened = true;
        try
        {
            await call.Ready.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The collective reports a stream that never opened; a fallback before that is still worth a line.
            opened = false;
        }

        var endpoint = _peers[Successor];
        if (call.UnixFallbackReason is { } reason && unixSocketPath is not null && RingRoute.FirstFallbackFrom(unixSocketPath))
        {
            RingLog.UnixFallback(_logger, Rank, Successor, endpoint, reason);
        }

        if (!opened)
        {
            return;
        }

        var transport = call.Transport.Label();
        _instruments.Connections.Add(1, new KeyValuePair<string, object?>("transport", transport));
        RingLog.Connected(_logger, Rank, JobId, Round, Successor, endpoint, transport);
    }

    /// <summary>
    /// The successor answers only when it refuses or drops the stream (a refused handshake, a stale round, a crash). Small writes
    /// still succeed into the HTTP/2 window then, so the refusal is watched for here and fails the collective at once.
    /// </summary>
    private async Task WatchOutboundAsync(GrpcStreamClient call)
    {
        try
        {
            await call.ResponseAsync.ConfigureAwait(false);
        }
        catch (Exception ex) when (!_disposed)
        {
            _outboundFailure = ex;
            if (_current is { } state && !state.Linked.IsCancellationRequested)
            {
                state.SendFailure ??= ex;
                await state.Linked.CancelAsync().ConfigureAwait(false);
            }
        }
        catch (Exception) when (_disposed)
        {
            // The round is over; the call was cancelled by our own disposal.
        }
    }
}
