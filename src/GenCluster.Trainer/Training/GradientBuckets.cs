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
/// which ranks were bad — no separate collective for the NaN verdict.
/// </remarks>
public sealed class GradientBuckets : IDisposable
{
    private readonly List<Bucket> _buckets = [];
    private readonly int _flagSlots;

    /// <summary>Packs the gradients of <paramref name="parameters"/> that require them into buckets of about <paramref name="bucketBytes"/>.</summary>
    public GradientBuckets(IEnumerable<Parameter> parameters, long bucketBytes, int flagSlots = 0)
    {
        _flagSlots = flagSlots;
        var current = new List<Parameter>();
        long currentBytes = 0;
        foreach (var p in parameters.Where(p => p.requires_grad).Reverse())
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

    /// <summary>The ranks whose flag is set after the all-reduce (a flag averaged over n ranks is 1/n, still non-zero).</summary>
    public IReadOnlyList<int> FlaggedRanks()
    {
        var span = _buckets[^1].Memory.Span[^_flagSlots..];
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
    public bool AllFinite()
    {
        foreach (var bucket in _buckets)
        {
            using var gradients = bucket.Gradients();
            using var finite = gradients.isfinite().all();
            if (!finite.item<bool>()) return false;
        }
        return true;
    }

    /// <summary>All-reduces (average) every gathered bucket and writes the result back into the gradients.</summary>
    /// <returns>Seconds spent in the collective and bytes reduced.</returns>
    public (double Seconds, long Bytes) AllReduceAndScatter(ICollectives collectives, CancellationToken cancellationToken)
    {
        double seconds = 0;
        long bytes = 0;
        foreach (var bucket in _buckets)
        {
            var started = Stopwatch.GetTimestamp();
            collectives.AllReduceAsync(bucket.Memory, ReduceOp.Average, cancellationToken).GetAwaiter().GetResult();
            seconds += Stopwatch.GetElapsedTime(started).TotalSeconds;
            bytes += bucket.Memory.Length * sizeof(float);
            using var noGrad = torch.no_grad();
            bucket.Scatter();
        }
        return (seconds, bytes);
    }

    public void Dispose()
    {
        foreach (var bucket in _buckets) bucket.Flat.Dispose();
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
