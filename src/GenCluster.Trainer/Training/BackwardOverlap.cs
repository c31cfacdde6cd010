using GenCluster.Trainer.Distributed;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenCluster.Trainer.Training;

/// <summary>
/// Overlaps the gradient all-reduce with backward, after DDP's reducer (Li et al. 2020): buckets hold parameters in
/// reverse registration order, roughly the order backward finishes them, and each bucket starts all-reducing as soon as
/// its gradients are final while backward goes on computing the earlier layers' gradients.
/// </summary>
/// <remarks>
/// <para>Readiness is tracked per module that owns parameters: while armed, every forward of such a module (called
/// through <c>call</c>, which runs hooks) passes its input through <see cref="GradientArrival"/>; when backward has
/// reached the inputs of all of a module's uses, its parameters' gradients are final. A bucket launches when all its
/// modules are final and every bucket before it has launched, so every rank issues the same all-reduces in the same
/// order. Modules whose input carries no gradient (the first layer, an embedding), modules called without hooks, and the
/// last bucket (it carries the NaN flags) wait for the end of backward.</para>
/// <para>Nothing here decides correctness: <see cref="GradientBuckets.Average"/> checks every early bucket against the
/// final gradients and redoes the average on every rank if any changed after its launch (a parameter used again outside
/// its module, say).</para>
/// </remarks>
public sealed class BackwardOverlap
{
    private readonly GradientBuckets _buckets;
    private readonly List<Owner> _owners = [];
    private readonly List<Owner>[] _ownersOfBucket;

    /// <summary>Hooks every module under <paramref name="root"/> (and itself) that owns trainable parameters of <paramref name="buckets"/>.</summary>
    public BackwardOverlap(Module root, GradientBuckets buckets)
    {
        _buckets = buckets;
        _ownersOfBucket = [.. Enumerable.Range(0, buckets.Count).Select(_ => new List<Owner>())];
        foreach (var module in root.modules().Prepend(root))
        {
            var indices = module.named_parameters(recurse: false)
                .Where(n => n.parameter.requires_grad)
                .Select(n => buckets.IndexOf(n.parameter))
                .Where(i => i >= 0).Distinct().ToArray();
            if (indices.Length == 0) continue;
            var owner = new Owner(indices);
            _owners.Add(owner);
            foreach (var i in indices) _ownersOfBucket[i].Add(owner);
            switch (module)
            {
                case Module<Tensor, Tensor> single:
                    single.register_forward_pre_hook((_, x) => Mark(owner, x)!); // null leaves the input as it is
                    break;
                case Module<Tensor, Tensor, Tensor> pair:
                    pair.register_forward_pre_hook((_, x, y) => Mark(owner, x) is { } marked ? (marked, y) : null);
                    break;
                default:
                    owner.Hookable = false;
                    break;
            }
        }
    }

    /// <summary>
    /// Why overlap is off for a configuration, or null when it may run: a gradient penalty differentiates through the
    /// critic's inputs inside the loss (its hooks would fire before the gradients are final, and every step would be
    /// redone); cross-replica BatchNorm already issues collectives from backward; the sharded optimiser reduce-scatters
    /// instead of all-reducing.
    /// </summary>
    public static string? Refusal(bool gradientPenalty, bool syncBatchNorm, bool shardOptimizer) =>
        gradientPenalty ? "the gradient penalty differentiates through the critic inside the loss"
        : syncBatchNorm ? "cross-replica BatchNorm runs collectives inside backward"
        : shardOptimizer ? "the sharded optimiser reduce-scatters after backward"
        : null;

    /// <summary>Modules that own parameters (and so may mark a bucket ready).</summary>
    public int TrackedModules => _owners.Count;

    /// <summary>
    /// Arms the hooks for one backward: the forwards from now on mark their inputs, and buckets launch on
    /// <paramref name="ordered"/> as they become final, until <see cref="GradientBuckets.Average"/>.
    /// </summary>
    public void Arm(OrderedCollectives ordered, CancellationToken cancellationToken)
    {
        foreach (var owner in _owners) owner.Reset();
        _buckets.BeginInFlight(ordered, cancellationToken);
    }

    private Tensor? Mark(Owner owner, Tensor input)
    {
        if (!_buckets.InFlightActive || !torch.is_grad_enabled()) return null;
        if (!input.requires_grad || !input.is_floating_point())
        {
            owner.Unmarked = true;
            return null;
        }
        owner.Uses++;
        owner.Pending++;
        return GradientArrival.apply(input, (Action)(() => Arrived(owner)));
    }

    private void Arrived(Owner owner)
    {
        owner.Pending--;
        if (!owner.Final) return;
        foreach (var i in owner.Buckets)
        {
            if (_ownersOfBucket[i].All(o => o.Final)) _buckets.MarkReady(i);
        }
    }

    private sealed class Owner(int[] buckets)
    {
        public int[] Buckets { get; } = buckets;
        public bool Hookable { get; set; } = true;
        public bool Unmarked { get; set; }
        public int Uses { get; set; }
        public int Pending { get; set; }
        public bool Final => Hookable && !Unmarked && Uses > 0 && Pending == 0;

        public void Reset()
        {
            Unmarked = false;
            Uses = 0;
            Pending = 0;
        }
    }
}
