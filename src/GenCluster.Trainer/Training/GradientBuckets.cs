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
internal sealed class GradientBuckets : IDisposable
{
    private readonly List<Bucket> _buckets = [];

    public GradientBuckets(IEnumerable<Parameter> parameters, long bucketBytes)
    {
        var current = new List<Parameter>();
        long currentBytes = 0;
        foreach (var p in parameters.Where(p => p.requires_grad).Reverse())
        {
            var bytes = p.numel() * sizeof(float);
            if (current.Count > 0 && currentBytes + bytes > bucketBytes)
            {
                _buckets.Add(new Bucket(current));
                current = [];
                currentBytes = 0;
            }
            current.Add(p);
            currentBytes += bytes;
        }
        if (current.Count > 0) _buckets.Add(new Bucket(current));
    }

    /// <summary>Number of buckets.</summary>
    public int Count => _buckets.Count;

    /// <summary>Total gradient bytes per all-reduce.</summary>
    public long TotalBytes => _buckets.Sum(b => b.Flat.numel() * sizeof(float));

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
            using var finite = bucket.Flat.isfinite().all();
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

    private sealed class Bucket
    {
        private readonly List<Parameter> _parameters;
        private readonly long[] _offsets;

        public Bucket(List<Parameter> parameters)
        {
            _parameters = parameters;
            _offsets = new long[parameters.Count + 1];
            for (var i = 0; i < parameters.Count; i++) _offsets[i + 1] = _offsets[i] + parameters[i].numel();
            using (NewDisposeScope())
            {
                Flat = torch.zeros(_offsets[^1], ScalarType.Float32).DetachFromDisposeScope();
            }
            Memory = new TensorMemory(Flat).Memory;
        }

        public Tensor Flat { get; }

        public Memory<float> Memory { get; }

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
