using System.Diagnostics;
using GenCluster.Trainer.Distributed;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Training;

/// <summary>
/// DDP-style gradient buckets for one model: parameters in reverse registration order (the order backward produces
/// gradients) packed into flat float32 CPU buffers of about <c>bucketBytes</c>, each all-reduced as one message.
/// </summary>
/// <remarks>
/// The last bucket carries <c>flagSlots</c> extra floats after the gradients: rank r writes 1 into slot r when its
/// loss or gradients are not finite, so the all-reduce that averages the gradients also tells every rank, identically,
/// which ranks were bad — no separate collective for the NaN verdict. After the rank flags comes one more slot, set by a
/// rank that found a bucket all-reduced during backward (<see cref="BackwardOverlap"/>) stale, so every rank redoes the
/// average together.
/// </remarks>
public sealed class GradientBuckets : IDisposable
{
    private readonly List<Bucket> _buckets = [];
    private readonly int _rankSlots;
    private readonly int _flagSlots;
    private InFlight? _inFlight;

    /// <summary>
    /// Packs the gradients of <paramref name="parameters"/> that require them into buckets of about
    /// <paramref name="bucketBytes"/> (0 = <see cref="AutoBucketBytes"/> of their total).
    /// </summary>
    public GradientBuckets(IEnumerable<Parameter> parameters, long bucketBytes, int flagSlots = 0)
    {
        var trainable = parameters.Where(p => p.requires_grad).ToList();
        if (bucketBytes <= 0) bucketBytes = AutoBucketBytes(trainable.Sum(p => p.numel() * sizeof(float)));
        _rankSlots = flagSlots;
        flagSlots = flagSlots > 0 ? flagSlots + 1 : 0;
        _flagSlots = flagSlots;
        var current = new List<Parameter>();
        long currentBytes = 0;
        foreach (var p in Enumerable.Reverse(trainable))
        {
            var bytes = p.numel() * sizeof(float);
            if (current.Count > 0 && currentBytes + bytes > bucketBytes)
            {
                _buckets.Add(new Bucket(current, 0));
                current = [];
                currentBytes = 0;
            }
            current.Add(p);
            currentBytes += bytes;
        }
        if (current.Count > 0 || flagSlots > 0) _buckets.Add(new Bucket(current, flagSlots));
    }

    /// <summary>
    /// The automatic bucket size: a quarter of the gradients, so that three buckets can all-reduce while backward still
    /// runs, but at least 64 KiB (below that a collective's fixed cost dominates) and at most DDP's 25 MiB.
    /// </summary>
    public static long AutoBucketBytes(long totalBytes) => Math.Clamp(totalBytes / 4, 64L * 1024, 25L * 1024 * 1024);

    /// <summary>Number of buckets.</summary>
    public int Count => _buckets.Count;

    /// <summary>Total bytes per all-reduce (gradients and flags).</summary>
    public long TotalBytes => _buckets.Sum(b => b.Flat.numel() * sizeof(float));

    /// <summary>Sets this rank's flag (the slot of <paramref name="rank"/>) and clears the others before an all-reduce.</summary>
    public void SetFlag(int rank, bool bad)
    {
        if (_flagSlots == 0) throw new InvalidOperationException("these buckets were built without flag slots");
        var span = _buckets[^1].Memory.Span[^_flagSlots..];
        span.Clear();
        span[rank] = bad ? 1f : 0f;
    }

    /// <summary>Buckets all-reduced during backward so far (cumulative; <see cref="BackwardOverlap"/>).</summary>
    public long EarlyLaunches { get; private set; }

    /// <summary>Averages redone because a bucket all-reduced during backward turned out stale on some rank (cumulative).</summary>
    public long Redos { get; private set; }

    /// <summary>Which bucket holds <paramref name="parameter"/>'s gradient, or −1.</summary>
    public int IndexOf(Parameter parameter)
    {
        for (var i = 0; i < _buckets.Count; i++)
        {
            if (_buckets[i].Parameters.Any(p => ReferenceEquals(p, parameter))) return i;
        }
        return -1;
    }

    /// <summary>The ranks whose flag is set after the all-reduce (a flag averaged over n ranks is 1/n, still non-zero).</summary>
    public IReadOnlyList<int> FlaggedRanks()
    {
        var span = _buckets[^1].Memory.Span[^_flagSlots..^1];
        var ranks = new List<int>();
        for (var r = 0; r < span.Length; r++)
        {
            if (span[r] != 0) ranks.Add(r);
        }
        return ranks;
    }

    /// <summary>The buckets, in all-reduce order (for the sharded optimiser).</summary>
    internal IReadOnlyList<Bucket> Items => _buckets;

    /// <summary>
    /// SUM-all-reduces the flag slots alone (where the gradients travel by reduce-scatter, which would leave the
    /// verdict on one rank); then <see cref="FlaggedRanks"/> reads the same verdict on every rank.
    /// </summary>
    /// <returns>Seconds in the collective.</returns>
    public double AgreeOnFlags(ICollectives collectives, CancellationToken cancellationToken)
    {
        if (_flagSlots == 0) throw new InvalidOperationException("these buckets were built without flag slots");
        var started = Stopwatch.GetTimestamp();
        collectives.AllReduceAsync(_buckets[^1].Memory[^_flagSlots..], ReduceOp.Sum, cancellationToken).GetAwaiter().GetResult();
        return Stopwatch.GetElapsedTime(started).TotalSeconds;
    }

    /// <summary>Copies every gradient into its bucket (a missing gradient counts as zeros).</summary>
    public void Gather()
    {
        using var noGrad = torch.no_grad();
        foreach (var bucket in _buckets) bucket.Gather();
    }

    /// <summary>Whether every gathered gradient value is finite.</summary>
    public bool AllFinite() => _buckets.All(bucket => bucket.Finite());

    /// <summary>
    /// Starts all-reducing buckets during backward: from now on <see cref="MarkReady"/> launches each bucket, in bucket
    /// order, on <paramref name="ordered"/> as soon as it and every bucket before it are ready. The last bucket (it
    /// carries the flags) always waits for <see cref="Average"/>.
    /// </summary>
    internal void BeginInFlight(OrderedCollectives ordered, CancellationToken cancellationToken) =>
        _inFlight = new InFlight(ordered, cancellationToken, _buckets.Count);

    /// <summary>Whether buckets may be launching during backward now.</summary>
    internal bool InFlightActive => _inFlight is not null;

    /// <summary>Bucket <paramref name="index"/>'s gradients are final for this step (see <see cref="BeginInFlight"/>).</summary>
    internal void MarkReady(int index)
    {
        var run = _inFlight;
        if (run is null) return;
        run.Ready[index] = true;
        while (run.Next < _buckets.Count - 1 && run.Ready[run.Next])
        {
            var bucket = _buckets[run.Next];
            using (torch.no_grad())
            {
                bucket.Gather();
                bucket.TakeSnapshot();
            }
            run.Bad |= !bucket.Finite();
            run.Tasks[run.Next] = run.Collectives.AllReduceAsync(bucket.Memory, ReduceOp.Average, run.CancellationToken);
            run.Next++;
            EarlyLaunches++;
        }
    }

    /// <summary>
    /// Averages the gradients over the round and agrees on non-finite values in the same all-reduces: the buckets not yet
    /// launched during backward are gathered and all-reduced now, the flags with the last one. A bucket launched during
    /// backward whose gradients changed after its launch (a parameter used again after the hook said it was final) is
    /// stale; any rank finding one raises the stale flag, and every rank then averages all buckets again, synchronously,
    /// so the result never depends on the hooks being right. Writes the averages into the gradients.
    /// </summary>
    /// <param name="collectives">The round's collectives (for the buckets launched now; with buckets in flight, their ordered chain is used).</param>
    /// <param name="rank">This rank (its flag slot).</param>
    /// <param name="localBad">Whether this rank's loss was not finite.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public BucketAverage Average(ICollectives collectives, int rank, bool localBad, CancellationToken cancellationToken) =>
        BeginAverage(collectives, rank, localBad, cancellationToken).Complete();

    /// <summary>
    /// The first half of <see cref="Average"/>: gathers the buckets not launched during backward and launches them, the
    /// flags with the last. With buckets in flight (<see cref="BeginInFlight"/>) it returns at once, the all-reduces
    /// running on their ordered chain, so the caller may compute something that needs neither these gradients nor
    /// the parameters they will update (the next critic step's generator forward) before
    /// <see cref="PendingAverage.Complete"/>; without, it all-reduces here. Nothing else may touch these buckets or
    /// their parameters' gradients in between.
    /// </summary>
    public PendingAverage BeginAverage(ICollectives collectives, int rank, bool localBad, CancellationToken cancellationToken)
    {
        if (_flagSlots == 0) throw new InvalidOperationException("these buckets were built without flag slots");
        var run = _inFlight;
        _inFlight = null;
        var started = Stopwatch.GetTimestamp();
        var launched = run?.Next ?? 0;
        var bad = localBad || (run?.Bad ?? false);
        var stale = false;
        using (torch.no_grad())
        {
            for (var i = 0; i < launched; i++) stale |= !_buckets[i].MatchesSnapshot();
            for (var i = launched; i < _buckets.Count; i++)
            {
                _buckets[i].Gather();
                bad |= !_buckets[i].Finite();
            }
        }
        SetFlag(rank, bad);
        _buckets[^1].Memory.Span[^1] = stale ? 1f : 0f;
        var via = run?.Collectives ?? collectives;
        var tasks = run?.Tasks ?? new Task?[_buckets.Count];
        for (var i = launched; i < _buckets.Count; i++)
        {
            tasks[i] = via.AllReduceAsync(_buckets[i].Memory, ReduceOp.Average, cancellationToken);
            // Without buckets in flight each waits for the one before, as every rank issues them in this order anyway.
            if (run is null) tasks[i]!.GetAwaiter().GetResult();
        }
        return new PendingAverage(this, via, tasks, rank, localBad, launched, Stopwatch.GetElapsedTime(started).TotalSeconds, cancellationToken);
    }

    /// <summary>An average begun by <see cref="BeginAverage"/>; <see cref="Complete"/> it exactly once.</summary>
    public sealed class PendingAverage
    {
        private readonly GradientBuckets _owner;
        private readonly ICollectives _via;
        private readonly Task?[] _tasks;
        private readonly int _rank;
        private readonly bool _localBad;
        private readonly int _launched;
        private readonly double _launchSeconds;
        private readonly CancellationToken _cancellationToken;
        private bool _completed;

        internal PendingAverage(GradientBuckets owner, ICollectives via, Task?[] tasks, int rank, bool localBad, int launched,
            double launchSeconds, CancellationToken cancellationToken)
        {
            (_owner, _via, _tasks, _rank, _localBad, _launched, _launchSeconds, _cancellationToken) =
                (owner, via, tasks, rank, localBad, launched, launchSeconds, cancellationToken);
        }

        /// <summary>Waits for the all-reduces, redoes a stale average, and writes the averages into the gradients.</summary>
        /// <returns>The seconds counted are those spent launching and waiting, not those between.</returns>
        public BucketAverage Complete()
        {
            if (_completed) throw new InvalidOperationException("this average was already completed");
            _completed = true;
            var started = Stopwatch.GetTimestamp();
            var buckets = _owner._buckets;
            foreach (var task in _tasks) task?.GetAwaiter().GetResult();
            if (buckets[^1].Memory.Span[^1] != 0)
            {
                // Some rank's early bucket was stale: gather everything again and average it the plain way, on every rank.
                _owner.Redos++;
                _owner.Gather();
                var bad = _localBad || !_owner.AllFinite();
                _owner.SetFlag(_rank, bad);
                buckets[^1].Memory.Span[^1] = 0;
                foreach (var bucket in buckets)
                {
                    _via.AllReduceAsync(bucket.Memory, ReduceOp.Average, _cancellationToken).GetAwaiter().GetResult();
                }
            }
            var seconds = _launchSeconds + Stopwatch.GetElapsedTime(started).TotalSeconds;
            using (torch.no_grad())
            {
                foreach (var bucket in buckets) bucket.Scatter();
            }
            return new BucketAverage(seconds, _owner.TotalBytes, _owner.FlaggedRanks(), _launched);
        }
    }

    public void Dispose()
    {
        foreach (var bucket in _buckets)
        {
            bucket.Flat.Dispose();
            bucket.Snapshot?.Dispose();
        }
    }

    private sealed class InFlight(OrderedCollectives collectives, CancellationToken cancellationToken, int count)
    {
        public OrderedCollectives Collectives { get; } = collectives;
        public CancellationToken CancellationToken { get; } = cancellationToken;
        public bool[] Ready { get; } = new bool[count];
        public Task?[] Tasks { get; } = new Task?[count];
        public int Next { get; set; }
        public bool Bad { get; set; }
    }

    /// <summary>One flat buffer: its parameters' gradients back to back, then any flag slots.</summary>
    internal sealed class Bucket
    {
        private readonly List<Parameter> _parameters;
        private readonly long[] _offsets;

        public Bucket(List<Parameter> parameters, int flagSlots)
        {
            _parameters = parameters;
            _offsets = new long[parameters.Count + 1];
            for (var i = 0; i < parameters.Count; i++) _offsets[i + 1] = _offsets[i] + parameters[i].numel();
            using (NewDisposeScope())
            {
                Flat = torch.zeros(_offsets[^1] + flagSlots, ScalarType.Float32).DetachFromDisposeScope();
            }
            Memory = new TensorMemory(Flat).Memory;
        }

        public Tensor Flat { get; }

        /// <summary>A copy of the gradients as gathered for an all-reduce launched during backward (to check they stayed final).</summary>
        public Tensor? Snapshot { get; private set; }

        public Memory<float> Memory { get; }

        public Tensor Gradients() => Flat.narrow(0, 0, _offsets[^1]);

        public IReadOnlyList<Parameter> Parameters => _parameters;

        /// <summary>Elements of gradients (flag slots excluded).</summary>
        public int GradientLength => checked((int)_offsets[^1]);

        /// <summary>The gradient elements of <see cref="Flat"/>, flag slots excluded.</summary>
        public Memory<float> GradientMemory => Memory[..GradientLength];

        /// <summary>Where parameter <paramref name="index"/> lies in the flat buffer.</summary>
        public (long Offset, long Count) Range(int index) => (_offsets[index], _offsets[index + 1] - _offsets[index]);

        /// <summary>A new tensor, on the parameters' device, holding the current parameter values of elements [start, start + length).</summary>
        public Tensor ParameterValues(int start, int length)
        {
            var pieces = new List<Tensor>();
            for (var i = 0; i < _parameters.Count; i++)
            {
                var from = Math.Max(start, _offsets[i]);
                var to = Math.Min(start + length, _offsets[i + 1]);
                if (from >= to) continue;
                pieces.Add(_parameters[i].detach().reshape(-1).narrow(0, from - _offsets[i], to - from));
            }
            return pieces.Count == 0
                ? torch.zeros(0, ScalarType.Float32, _parameters.Count > 0 ? _parameters[0].device : torch.CPU)
                : torch.cat(pieces);
        }

        /// <summary>Copies the gradient elements of <see cref="Flat"/>, which hold parameter values after an all-gather, into the parameters.</summary>
        public void WriteParameters()
        {
            using var noGrad = torch.no_grad();
            for (var i = 0; i < _parameters.Count; i++)
            {
                var p = _parameters[i];
                using var slice = Flat.narrow(0, _offsets[i], _offsets[i + 1] - _offsets[i]);
                using var shaped = slice.view(p.shape);
                p.copy_(shaped);
            }
        }

        public void Gather()
        {
            for (var i = 0; i < _parameters.Count; i++)
            {
                using var slice = Flat.narrow(0, _offsets[i], _offsets[i + 1] - _offsets[i]);
                using var grad = _parameters[i].grad;
                if (grad is null)
                {
                    slice.zero_();
                }
                else
                {
                    using var flat = grad.reshape(-1);
                    slice.copy_(flat);
                }
            }
        }

        /// <summary>Whether every gathered value is finite.</summary>
        public bool Finite()
        {
            using var gradients = Gradients();
            using var finite = gradients.isfinite().all();
            return finite.item<bool>();
        }

        /// <summary>Copies the gathered gradients aside.</summary>
        public void TakeSnapshot()
        {
            if (Snapshot is null)
            {
                using (NewDisposeScope())
                {
                    Snapshot = torch.empty(_offsets[^1], ScalarType.Float32).DetachFromDisposeScope();
                }
            }
            using var gradients = Gradients();
            Snapshot.copy_(gradients);
        }

        /// <summary>Whether the parameters' gradients still equal the snapshot (a missing gradient counts as zeros).</summary>
        public bool MatchesSnapshot()
        {
            for (var i = 0; i < _parameters.Count; i++)
            {
                using var slice = Snapshot!.narrow(0, _offsets[i], _offsets[i + 1] - _offsets[i]);
                using var grad = _parameters[i].grad;
                if (grad is null)
                {
                    using var nonZero = slice.count_nonzero();
                    if (nonZero.item<long>() != 0) return false;
                    continue;
                }
                using var flat = grad.reshape(-1);
                using var onDevice = flat.to(slice.device);
                if (!slice.Equals(onDevice)) return false; // torch.equal: same shape and values (NaN never equals)
            }
            return true;
        }

        public void Scatter()
        {
            for (var i = 0; i < _parameters.Count; i++)
            {
                var p = _parameters[i];
                using var slice = Flat.narrow(0, _offsets[i], _offsets[i + 1] - _offsets[i]);
                using var shaped = slice.view(p.shape);
                using var grad = p.grad;
                if (grad is null)
                {
                    // A rank whose backward skipped this parameter still applies the averaged gradient like its peers.
                    using (NewDisposeScope())
                    {
                        p.grad = shaped.to(p.device).clone().DetachFromDisposeScope();
                    }
                }
                else
                {
                    grad.copy_(shaped);
                }
            }
        }
    }
}

/// <summary>Result of <see cref="GradientBuckets.Average"/>.</summary>
/// <param name="Seconds">Time the caller waited for the average (the exposed communication).</param>
/// <param name="Bytes">Bytes all-reduced (gradients and flags).</param>
/// <param name="FlaggedRanks">Ranks whose loss or gradients were not finite (empty: apply the update).</param>
/// <param name="LaunchedDuringBackward">Buckets that were all-reducing before backward ended.</param>
public sealed record BucketAverage(double Seconds, long Bytes, IReadOnlyList<int> FlaggedRanks, int LaunchedDuringBackward);
