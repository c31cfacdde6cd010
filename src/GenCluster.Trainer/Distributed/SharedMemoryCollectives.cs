using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace GenCluster.Trainer.Distributed;

/// <summary>What a collective waiting in shared memory needs to fail well: its name and number, and why it may stop.</summary>
internal readonly record struct SharedWait(string Collective, long Sequence, TimeSpan Timeout, CancellationToken Caller, CancellationToken Deadline);

/// <summary>
/// A round's collectives when every rank runs on this host: the ranks exchange through a <see cref="SharedMemorySegment"/>
/// instead of sockets, so an all-reduce costs a few memory copies instead of a trip through HTTP/2 and the kernel's socket
/// buffers. Each collective moves in pieces of one slot: every rank copies its piece into its own slot and says so; each
/// rank reduces its share of the piece from every slot (in rank order, so every rank gets the same bits) into the result
/// slot; every rank copies the result out. Ranks sleep on a <see cref="Futex"/> while they wait.
/// </summary>
/// <remarks>
/// <para>Every rank's block holds three counters, written only by that rank: the last piece it posted, reduced and
/// finished. A rank writes its slot or the result slot for piece p only after every rank finished piece p-1, so no one
/// overwrites what another is still reading.</para>
/// <para>Failures keep the ring's contract: a wait has the collective's deadline and names the rank it waits for; a rank
/// that fails raises its abort flag with the reason, and the others fail naming the rank that actually failed; a peer
/// whose process exited, or that left the round, fails the collective at once rather than at the deadline. Ranks that
/// called different collectives or lengths fail naming each other.</para>
/// </remarks>
internal sealed unsafe class SharedMemoryCollectives : IDisposable
{
    /// <summary>Below this many bytes a piece is reduced whole by every rank, which saves one wait.</summary>
    internal const int WholeReduceBytes = 256 * 1024;

    private static readonly TimeSpan Slice = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan LivenessEvery = TimeSpan.FromMilliseconds(250);

    // Offsets in a rank's block.
    private const int Posted = 0, Reduced = 8, Done = 16, CallSequence = 24, CallLength = 32, CallKind = 40, CallRoot = 44;
    private const int Pid = 48, StartTime = 56, Departed = 64, Aborted = 68, FailedRank = 72, ReasonLength = 76;

    private enum Kind
    {
        AllReduceSum = 1,
        AllReduceAverage,
        ReduceScatterSum,
        ReduceScatterAverage,
        AllGather,
        Broadcast,
        Barrier,
        GatherValues,
    }

    private readonly SharedMemorySegment _segment;
    private readonly IReadOnlyList<string> _peers;
    private readonly IReadOnlyList<int>? _roundRanks;
    private readonly string _where;
    private readonly PeerProcess[] _processes;
    private readonly int _slotFloats;
    private long _piece;
    private int _disposed;
    private int _active;
    private int _unmapped;

    /// <summary>Takes over a segment every rank has mapped; publishes this process for the peers' liveness checks.</summary>
    /// <param name="segment">The segment, one block and slot per rank sharing it.</param>
    /// <param name="rank">This rank's index among those sharing the segment.</param>
    /// <param name="peers">The round's endpoints, by round rank (for naming peers in failures).</param>
    /// <param name="jobId">The job (for failures).</param>
    /// <param name="round">The round (for failures).</param>
    /// <param name="self">The process peers watch for this rank: this one (tests name another).</param>
    /// <param name="roundRanks">
    /// The round rank of each index sharing the segment, when only the ranks of one host of a round that spans hosts share
    /// it (<see cref="HostGroups"/>); null when the whole round shares it (index = round rank). Failures name round ranks.
    /// </param>
    public SharedMemoryCollectives(SharedMemorySegment segment, int rank, IReadOnlyList<string> peers, string jobId, long round, PeerProcess? self = null,
        IReadOnlyList<int>? roundRanks = null)
    {
        if (roundRanks is not null && roundRanks.Count != segment.WorldSize)
        {
            throw new ArgumentException($"roundRanks: expected {segment.WorldSize} ranks (one per slot of the segment), got {roundRanks.Count}.", nameof(roundRanks));
        }

        _segment = segment;
        Rank = rank;
        _peers = peers;
        _roundRanks = roundRanks;
        _where = $"of job {jobId} round {round}";
        _slotFloats = segment.SlotBytes / sizeof(float);
        _processes = new PeerProcess[segment.WorldSize];
        var process = self ?? PeerProcess.Self;
        *(int*)(Mine + Pid) = process.Pid;
        *(long*)(Mine + StartTime) = process.StartTime;
    }

    public int Rank { get; }

    public int WorldSize => _segment.WorldSize;

    private byte* Mine => _segment.Block(Rank);

    /// <summary>
    /// Reads every peer's pid and start time (published before the round agreed to share memory) and keeps those this
    /// process can see, so that a dead peer fails a wait at once; peers in another pid namespace are left to the deadline.
    /// </summary>
    public void LearnPeers()
    {
        for (var k = 0; k < WorldSize; k++)
        {
            var block = _segment.Block(k);
            var peer = new PeerProcess(*(int*)(block + Pid), *(long*)(block + StartTime));
            _processes[k] = k != Rank && peer.Checkable && PeerProcess.StartTimeOf(peer.Pid) == peer.StartTime ? peer : default;
        }
    }

    /// <summary>Peers (other ranks) whose liveness this rank checks while it waits.</summary>
    public int WatchedPeers => _processes.Count(p => p.Checkable);

    /// <summary>In place: every rank ends with the element-wise sum (or mean) of all ranks' buffers.</summary>
    public void AllReduce(Span<float> buffer, ReduceOp op, in SharedWait wait)
    {
        using var active = Enter();
        var kind = op == ReduceOp.Average ? Kind.AllReduceAverage : Kind.AllReduceSum;
        var scale = op == ReduceOp.Average ? 1f / WorldSize : 1f;
        for (var offset = 0; offset < Math.Max(1, buffer.Length); offset += _slotFloats)
        {
            var piece = buffer.Slice(offset, Math.Min(_slotFloats, buffer.Length - offset));
            var p = Begin(kind, buffer.Length, 0, wait);
            piece.CopyTo(_segment.Slot(Rank));
            Mark(Posted, p);
            WaitForAll(Posted, p, "post its part", wait);
            if (piece.Length * sizeof(float) <= WholeReduceBytes)
            {
                ReduceInto(piece, 0, piece.Length, scale);
            }
            else
            {
                var share = new ShardLayout(piece.Length, WorldSize);
                var (start, count) = (share.Start(Rank), share.Size(Rank));
                ReduceInto(_segment.Result.Slice(start, count), start, count, scale);
                Mark(Reduced, p);
                WaitForAll(Reduced, p, "reduce its share", wait);
                _segment.Result[..piece.Length].CopyTo(piece);
            }

            Mark(Done, p);
        }
    }

    /// <summary>In place: this rank's <see cref="ShardLayout"/> shard ends with the reduction; the rest is left as it was.</summary>
    public void ReduceScatter(Span<float> buffer, ReduceOp op, in SharedWait wait)
    {
        using var active = Enter();
        var kind = op == ReduceOp.Average ? Kind.ReduceScatterAverage : Kind.ReduceScatterSum;
        var scale = op == ReduceOp.Average ? 1f / WorldSize : 1f;
        var (shardStart, shardLength) = new ShardLayout(buffer.Length, WorldSize).Shard(Rank);
        for (var offset = 0; offset < Math.Max(1, buffer.Length); offset += _slotFloats)
        {
            var length = Math.Min(_slotFloats, buffer.Length - offset);
            var p = Begin(kind, buffer.Length, 0, wait);
            buffer.Slice(offset, length).CopyTo(_segment.Slot(Rank));
            Mark(Posted, p);
            WaitForAll(Posted, p, "post its part", wait);
            var from = Math.Max(offset, shardStart);
            var to = Math.Min(offset + length, shardStart + shardLength);
            if (to > from)
            {
                ReduceInto(buffer.Slice(from, to - from), from - offset, to - from, scale);
            }

            Mark(Done, p);
        }
    }

    /// <summary>In place: every rank contributes its shard and ends with every rank's.</summary>
    public void AllGather(Span<float> buffer, in SharedWait wait)
    {
        using var active = Enter();
        var (shardStart, shardLength) = new ShardLayout(buffer.Length, WorldSize).Shard(Rank);
        for (var offset = 0; offset < Math.Max(1, buffer.Length); offset += _slotFloats)
        {
            var length = Math.Min(_slotFloats, buffer.Length - offset);
            var p = Begin(Kind.AllGather, buffer.Length, 0, wait);
            var from = Math.Max(offset, shardStart);
            var to = Math.Min(offset + length, shardStart + shardLength);
            if (to > from)
            {
                buffer[from..to].CopyTo(_segment.Result[(from - offset)..]);
            }

            Mark(Posted, p);
            WaitForAll(Posted, p, "post its shard", wait);
            _segment.Result[..length].CopyTo(buffer.Slice(offset, length));
            Mark(Done, p);
        }
    }

    /// <summary>In place: every rank ends with <paramref name="root"/>'s buffer.</summary>
    public void Broadcast(Span<float> buffer, int root, in SharedWait wait)
    {
        using var active = Enter();
        for (var offset = 0; offset < Math.Max(1, buffer.Length); offset += _slotFloats)
        {
            var length = Math.Min(_slotFloats, buffer.Length - offset);
            var p = Begin(Kind.Broadcast, buffer.Length, root, wait);
            if (Rank == root)
            {
                buffer.Slice(offset, length).CopyTo(_segment.Result);
            }

            Mark(Posted, p);
            WaitForAll(Posted, p, Rank == root ? "arrive" : "post the broadcast", wait);
            if (Rank != root)
            {
                _segment.Result[..length].CopyTo(buffer.Slice(offset, length));
            }

            Mark(Done, p);
        }
    }

    /// <summary>Returns once every rank has arrived.</summary>
    public void Barrier(in SharedWait wait)
    {
        using var active = Enter();
        var p = Begin(Kind.Barrier, 0, 0, wait);
        Mark(Posted, p);
        WaitForAll(Posted, p, "arrive", wait);
        Mark(Done, p);
    }

    /// <summary>Small values from every rank, indexed by rank.</summary>
    public double[][] GatherValues(ReadOnlySpan<double> values, in SharedWait wait)
    {
        using var active = Enter();
        var slot = MemoryMarshal.Cast<float, double>(_segment.Slot(Rank));
        if (values.Length > slot.Length)
        {
            throw new ArgumentException(
                $"values: {values.Length} doubles do not fit the shared slot of {slot.Length}; gather small values only.", nameof(values));
        }

        var p = Begin(Kind.GatherValues, -1, 0, wait);
        values.CopyTo(slot);
        *(long*)(Mine + CallLength) = values.Length;
        Mark(Posted, p);
        WaitForAll(Posted, p, "post its values", wait);
        var result = new double[WorldSize][];
        for (var k = 0; k < WorldSize; k++)
        {
            var count = (int)Volatile.Read(ref *(long*)(_segment.Block(k) + CallLength));
            result[k] = MemoryMarshal.Cast<float, double>(_segment.Slot(k))[..count].ToArray();
        }

        Mark(Done, p);
        return result;
    }

    /// <summary>
    /// Raises this rank's abort flag: the peers' waits fail naming <paramref name="failedRank"/> (a round rank), with the reason. Once
    /// raised it stays up for the rest of the round, as a broken ring stays broken.
    /// </summary>
    public void Abort(int failedRank, string reason)
    {
        if (!TryEnter())
        {
            return;
        }

        using var active = new Active(this);
        if (Volatile.Read(ref *(int*)(Mine + Aborted)) != 0)
        {
            return;
        }

        var bytes = Encoding.UTF8.GetBytes(reason);
        var length = Math.Min(bytes.Length, SharedMemorySegment.ReasonBytes);
        bytes.AsSpan(0, length).CopyTo(new Span<byte>(Mine + SharedMemorySegment.ReasonOffset, SharedMemorySegment.ReasonBytes));
        *(int*)(Mine + ReasonLength) = length;
        *(int*)(Mine + FailedRank) = failedRank;
        Volatile.Write(ref *(int*)(Mine + Aborted), 1);
        Ring();
    }

    /// <summary>
    /// Leaves the round: peers still waiting on this rank fail at once, naming it, and a collective of this rank still
    /// waiting (on another thread) fails too. The memory is unmapped when the last collective in progress has let go of it.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Interlocked.Increment(ref _active);
        Volatile.Write(ref *(int*)(Mine + Departed), 1);
        Ring();
        Exit();
    }

    private bool TryEnter()
    {
        Interlocked.Increment(ref _active);
        if (Volatile.Read(ref _disposed) == 0)
        {
            return true;
        }

        Exit();
        return false;
    }

    private Active Enter() => TryEnter()
        ? new Active(this)
        : throw new ObjectDisposedException(nameof(SharedMemoryCollectives), "this rank has left the round");

    /// <summary>Keeps the segment mapped while a collective of this rank uses it; disposing it lets go (<see cref="Exit"/>).</summary>
    private readonly ref struct Active(SharedMemoryCollectives owner)
    {
        public void Dispose() => owner.Exit();
    }

    private void Exit()
    {
        if (Interlocked.Decrement(ref _active) == 0 && Volatile.Read(ref _disposed) != 0 && Interlocked.Exchange(ref _unmapped, 1) == 0)
        {
            _segment.Dispose();
        }
    }

    /// <summary>Starts the next piece: waits until every rank finished the previous one, then records what this rank calls.</summary>
    private long Begin(Kind kind, long length, int root, in SharedWait wait)
    {
        var p = ++_piece;
        WaitForAll(Done, p - 1, "finish the previous collective", wait);
        var mine = Mine;
        *(long*)(mine + CallSequence) = wait.Sequence;
        *(long*)(mine + CallLength) = length;
        *(int*)(mine + CallKind) = (int)kind;
        *(int*)(mine + CallRoot) = root;
        return p;
    }

    /// <summary>Sums piece elements [<paramref name="from"/>, +<paramref name="count"/>) of every slot, in rank order, into <paramref name="target"/>.</summary>
    private void ReduceInto(Span<float> target, int from, int count, float scale)
    {
        _segment.Slot(0).Slice(from, count).CopyTo(target);
        for (var k = 1; k < WorldSize; k++)
        {
            FloatKernels.AddInPlace(target, _segment.Slot(k).Slice(from, count));
        }

        if (scale != 1f)
        {
            FloatKernels.Scale(target, scale);
        }
    }

    private void Mark(int counter, long p)
    {
        Volatile.Write(ref *(long*)(Mine + counter), p);
        Ring();
    }

    private void Ring()
    {
        Interlocked.Increment(ref *_segment.Bell);
        Futex.WakeAll(_segment.Bell);
    }

    private long Read(int rank, int counter) => Volatile.Read(ref *(long*)(_segment.Block(rank) + counter));

    /// <summary>Waits until every other rank's <paramref name="counter"/> reached <paramref name="p"/>, failing as the ring would.</summary>
    private void WaitForAll(int counter, long p, string what, in SharedWait wait)
    {
        for (var k = 0; k < WorldSize; k++)
        {
            if (k != Rank && Read(k, counter) < p)
            {
                WaitFor(k, counter, p, what, wait);
            }
        }

        if (counter == Posted)
        {
            CheckSameCall(wait);
        }
    }

    private void WaitFor(int rank, int counter, long p, string what, in SharedWait wait)
    {
        // A short spin first: the peer is often a few microseconds away, and a sleep costs more than that.
        for (var spin = 0; spin < 64; spin++)
        {
            if (Read(rank, counter) >= p)
            {
                return;
            }

            Thread.SpinWait(20);
        }

        var lastLiveness = Stopwatch.GetTimestamp();
        var bell = _segment.Bell;
        using var onCancel = wait.Caller.UnsafeRegister(static state => ((SharedMemoryCollectives)state!).Ring(), this);
        using var onDeadline = wait.Deadline.UnsafeRegister(static state => ((SharedMemoryCollectives)state!).Ring(), this);
        while (true)
        {
            var before = Volatile.Read(ref *bell);
            if (Read(rank, counter) >= p)
            {
                return;
            }

            var failure = Failure(rank, what, wait);
            if (failure is null && Stopwatch.GetElapsedTime(lastLiveness) >= LivenessEvery)
            {
                lastLiveness = Stopwatch.GetTimestamp();
                if (!_processes[rank].IsAlive())
                {
                    failure = Failed(rank, $"its process {_processes[rank].Pid} exited", wait);
                }
            }

            if (failure is not null)
            {
                // The peer may have done its part just before it left, aborted or exited: that part still counts.
                if (Read(rank, counter) >= p)
                {
                    return;
                }

                throw failure;
            }

            Futex.Wait(bell, before, Slice);
        }
    }

    /// <summary>Why waiting on <paramref name="waitingOn"/> must stop (a peer's abort, its departure, cancellation, the deadline), or null.</summary>
    private Exception? Failure(int waitingOn, string what, in SharedWait wait)
    {
        for (var k = 0; k < WorldSize; k++)
        {
            var block = _segment.Block(k);
            if (k != Rank && Volatile.Read(ref *(int*)(block + Aborted)) != 0)
            {
                // The failed rank is the round's: it may be on another host, reported across the hosts' ring.
                var failed = *(int*)(block + FailedRank);
                failed = failed >= 0 && failed < _peers.Count ? failed : Name(k);
                var reason = Encoding.UTF8.GetString(new ReadOnlySpan<byte>(block + SharedMemorySegment.ReasonOffset, Math.Clamp(*(int*)(block + ReasonLength), 0, SharedMemorySegment.ReasonBytes)));
                return new PeerFailedException(
                    $"{Where(wait)}: rank {failed} ({_peers[failed]}) failed, reported by rank {Name(k)}: {reason}",
                    wait.Collective, wait.Sequence, failed, _peers[failed], null);
            }
        }

        if (Volatile.Read(ref *(int*)(_segment.Block(waitingOn) + Departed)) != 0)
        {
            return Failed(waitingOn, "it left the round", wait);
        }

        if (Volatile.Read(ref _disposed) != 0)
        {
            return new ObjectDisposedException(nameof(SharedMemoryCollectives), $"{Where(wait)}: this rank left the round while waiting for rank {Name(waitingOn)}");
        }

        if (wait.Caller.IsCancellationRequested)
        {
            return new OperationCanceledException(wait.Caller);
        }

        return wait.Deadline.IsCancellationRequested
            ? new CollectiveTimeoutException(
                $"{Where(wait)}: no progress from rank {Name(waitingOn)} ({_peers[Name(waitingOn)]}) within {wait.Timeout.TotalSeconds:0.###} s while waiting for it to {what} in shared memory.",
                wait.Collective, wait.Sequence, Name(waitingOn), _peers[Name(waitingOn)], wait.Timeout)
            : null;
    }

    private void CheckSameCall(in SharedWait wait)
    {
        var mine = Mine;
        for (var k = 0; k < WorldSize; k++)
        {
            var block = _segment.Block(k);
            var (sequence, length, kind, root) = (*(long*)(block + CallSequence), *(long*)(block + CallLength), *(int*)(block + CallKind), *(int*)(block + CallRoot));
            var (mySequence, myLength, myKind, myRoot) = (*(long*)(mine + CallSequence), *(long*)(mine + CallLength), *(int*)(mine + CallKind), *(int*)(mine + CallRoot));
            if (sequence != mySequence || kind != myKind || root != myRoot || (kind != (int)Kind.GatherValues && length != myLength))
            {
                throw new PeerFailedException(
                    $"{Where(wait)}: rank {Name(k)} ({_peers[Name(k)]}) called {Describe(kind, sequence, length, root)}, this rank called " +
                    $"{Describe(myKind, mySequence, myLength, myRoot)} (ranks called different collectives or lengths).",
                    wait.Collective, wait.Sequence, Name(k), _peers[Name(k)], null);
            }
        }
    }

    private static string Describe(int kind, long sequence, long length, int root) => (Kind)kind switch
    {
        Kind.Barrier => $"barrier #{sequence}",
        Kind.GatherValues => $"all-gather of values #{sequence}",
        Kind.Broadcast => $"broadcast #{sequence} of {length} floats from rank {root}",
        Kind.AllGather => $"all-gather #{sequence} of {length} floats",
        Kind.AllReduceSum => $"all-reduce (sum) #{sequence} of {length} floats",
        Kind.AllReduceAverage => $"all-reduce (mean) #{sequence} of {length} floats",
        Kind.ReduceScatterSum => $"reduce-scatter (sum) #{sequence} of {length} floats",
        Kind.ReduceScatterAverage => $"reduce-scatter (mean) #{sequence} of {length} floats",
        _ => $"collective {kind} #{sequence}",
    };

    private PeerFailedException Failed(int index, string why, in SharedWait wait) => new(
        $"{Where(wait)}: rank {Name(index)} ({_peers[Name(index)]}) failed: {why}", wait.Collective, wait.Sequence, Name(index), _peers[Name(index)], null);

    private string Where(in SharedWait wait) => $"{wait.Collective} #{wait.Sequence} on rank {Name(Rank)} {_where}";

    /// <summary>The round rank of the rank at <paramref name="index"/> in the segment.</summary>
    private int Name(int index) => _roundRanks?[index] ?? index;
}
