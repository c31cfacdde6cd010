using System.Diagnostics;
using GenCluster.Trainer.Distributed;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using AdamUpdate = GenCluster.Trainer.Training.KeptScalars.AdamUpdate;

namespace GenCluster.Trainer.Training;

/// <summary>
/// Adam with its state sharded over the round (ZeRO stage 1, Rajbhandari et al. 2020): each rank keeps the first and
/// second moments only for its shard (<see cref="ShardLayout"/>) of every gradient bucket, so optimiser memory per rank
/// falls by the world size. A step reduce-scatters each bucket's gradients (the first half of an all-reduce, the same
/// bytes on the wire), updates its shard of the parameters exactly as <c>torch.optim.Adam</c> does, and all-gathers
/// the updated parameters into every rank's model.
/// </summary>
/// <remarks>
/// <para>Every parameter of the buckets steps together, as after <see cref="GradientBuckets.Average"/>
/// (which gives a parameter without a gradient a zero one), so one step count serves them all.</para>
/// <para>Checkpoints hold the state whole in TorchSharp's <c>Adam</c> format (<see cref="IOptimizerState"/>): a sharded
/// run resumes unsharded and the other way round, at any world size. Saving and loading build a full-size
/// <c>optim.Adam</c> for a moment, on rank 0 to save and on every rank to load.</para>
/// </remarks>
public sealed class ShardedAdam : IOptimizerState, IDisposable
{
    private readonly Parameter[] _parameters;
    private readonly GradientBuckets _buckets;
    private readonly Shard[] _shards;
    private readonly Device _device;
    private Tensor[]? _gathered;
    private double _initialLearningRate;

    /// <summary>The update itself, its scalars kept alive (<see cref="KeptScalars.Adam"/>); rebuilt when a checkpoint brings other hyper-parameters.</summary>
    private AdamUpdate _update;

    /// <summary>Shards the moments of <paramref name="parameters"/> (in the order <c>optim.Adam</c> would get them) over the buckets' layout.</summary>
    /// <param name="parameters">The parameters, as a replicated <c>optim.Adam</c> would take them (its checkpoint order).</param>
    /// <param name="buckets">The gradient buckets of the same parameters.</param>
    /// <param name="rank">This rank.</param>
    /// <param name="worldSize">Ranks in the round.</param>
    /// <param name="learningRate">Learning rate.</param>
    /// <param name="beta1">First-moment decay.</param>
    /// <param name="beta2">Second-moment decay.</param>
    /// <param name="eps">Added to the denominator.</param>
    /// <param name="weightDecay">L2 penalty added to the gradient (torch's <c>weight_decay</c>).</param>
    public ShardedAdam(IEnumerable<Parameter> parameters, GradientBuckets buckets, int rank, int worldSize,
        double learningRate, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(worldSize, 1);
        if (rank < 0 || rank >= worldSize)
            throw new ArgumentOutOfRangeException(nameof(rank), rank, $"rank must be in 0..{worldSize - 1}");
        _parameters = [.. parameters];
        _buckets = buckets;
        Rank = rank;
        WorldSize = worldSize;
        _device = _parameters.Length > 0 ? _parameters[0].device : CPU;
        LearningRate = _initialLearningRate = learningRate;
        (Beta1, Beta2, Eps, WeightDecay) = (beta1, beta2, eps, weightDecay);
        _update = new AdamUpdate(beta1, beta2, eps, weightDecay);
        using var scope = NewDisposeScope();
        _shards = buckets.Items.Select(bucket =>
        {
            var (start, length) = new ShardLayout(bucket.GradientLength, worldSize).Shard(rank);
            return new Shard(bucket, start, length,
                zeros(length, ScalarType.Float32, _device).DetachFromDisposeScope(),
                zeros(length, ScalarType.Float32, _device).DetachFromDisposeScope());
        }).ToArray();
    }

    /// <summary>This rank.</summary>
    public int Rank { get; }

    /// <summary>Ranks the state is sharded over.</summary>
    public int WorldSize { get; }

    /// <summary>Learning rate of the next step.</summary>
    public double LearningRate { get; set; }

    /// <summary>First-moment decay.</summary>
    public double Beta1 { get; private set; }

    /// <summary>Second-moment decay.</summary>
    public double Beta2 { get; private set; }

    /// <summary>Denominator term.</summary>
    public double Eps { get; private set; }

    /// <summary>L2 penalty.</summary>
    public double WeightDecay { get; private set; }

    /// <summary>Steps taken (Adam's bias-correction count).</summary>
    public long Steps { get; private set; }

    /// <inheritdoc />
    public long StateBytes => _shards.Sum(s => 2L * s.Length * sizeof(float));

    /// <summary>Zeroes the parameters' gradients.</summary>
    public void ZeroGrad()
    {
        foreach (var p in _parameters)
        {
            using var grad = p.grad;
            grad?.zero_();
        }
    }

    /// <summary>
    /// One update on the gradients gathered into the buckets (<see cref="GradientBuckets.Gather"/>): reduce-scatter
    /// (average), Adam on this rank's shard, all-gather of the parameters into every parameter.
    /// </summary>
    /// <returns>Seconds in the collectives and gradient bytes moved (as an all-reduce of the same buckets would count them).</returns>
    public (double Seconds, long Bytes) Step(ICollectives collectives, CancellationToken cancellationToken)
    {
        Steps++;
        double seconds = 0;
        long bytes = 0;
        foreach (var shard in _shards)
        {
            var bucket = shard.Bucket;
            var started = Stopwatch.GetTimestamp();
            collectives.ReduceScatterAsync(bucket.GradientMemory, ReduceOp.Average, cancellationToken).GetAwaiter().GetResult();
            seconds += Stopwatch.GetElapsedTime(started).TotalSeconds;
            using (NewDisposeScope())
            using (no_grad())
            {
                // The same operations, in the same order, as TorchSharp's Adam.step on one parameter.
                var slice = bucket.Flat.narrow(0, shard.Start, shard.Length);
                var grad = slice.to(_device);
                var param = bucket.ParameterValues(shard.Start, shard.Length);
                _update.Apply(param, grad, shard.ExpAvg, shard.ExpAvgSq, Steps, LearningRate);
                slice.copy_(param);
            }
            started = Stopwatch.GetTimestamp();
            collectives.AllGatherAsync(bucket.GradientMemory, cancellationToken).GetAwaiter().GetResult();
            seconds += Stopwatch.GetElapsedTime(started).TotalSeconds;
            bucket.WriteParameters();
            bytes += (long)bucket.GradientLength * sizeof(float);
        }
        return (seconds, bytes);
    }

    /// <inheritdoc />
    public void GatherForCheckpoint(ICollectives collectives, CancellationToken cancellationToken)
    {
        ReleaseGathered();
        var gathered = new Tensor[_shards.Length * 2];
        using (NewDisposeScope())
        {
            for (var i = 0; i < _shards.Length; i++)
            {
                var shard = _shards[i];
                for (var moment = 0; moment < 2; moment++)
                {
                    var whole = zeros(shard.Bucket.GradientLength, ScalarType.Float32);
                    whole.narrow(0, shard.Start, shard.Length).copy_(moment == 0 ? shard.ExpAvg : shard.ExpAvgSq);
                    collectives.AllGatherAsync(new TensorMemory(whole).Memory, cancellationToken).GetAwaiter().GetResult();
                    gathered[(2 * i) + moment] = whole.DetachFromDisposeScope();
                }
            }
        }
        // Only the writer needs the whole state; the others drop it at once.
        _gathered = gathered;
        if (collectives.Rank != 0) ReleaseGathered();
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException"><see cref="GatherForCheckpoint"/> did not run on this rank first.</exception>
    public void Save(BinaryWriter writer)
    {
        var gathered = _gathered ?? throw new InvalidOperationException(
            $"rank {Rank}: the sharded optimiser state must be gathered (GatherForCheckpoint on every rank) before rank 0 saves it");
        try
        {
            using var scope = NewDisposeScope();
            using var whole = optim.Adam(_parameters, _initialLearningRate, Beta1, Beta2, Eps, WeightDecay);
            whole.ParamGroups.Single().LearningRate = LearningRate;
            var states = whole.state_dict().State;
            using (no_grad())
            {
                for (var i = 0; i < _shards.Length; i++)
                {
                    var bucket = _shards[i].Bucket;
                    for (var k = 0; k < bucket.Parameters.Count; k++)
                    {
                        var state = (Adam.State)states[IndexOf(bucket.Parameters[k])];
                        state.step = Steps;
                        var (offset, count) = bucket.Range(k);
                        state.exp_avg.copy_(gathered[2 * i].narrow(0, offset, count).view(state.exp_avg.shape));
                        state.exp_avg_sq.copy_(gathered[(2 * i) + 1].narrow(0, offset, count).view(state.exp_avg_sq.shape));
                    }
                }
            }
            whole.save_state_dict(writer);
        }
        finally
        {
            ReleaseGathered();
        }
    }

    /// <inheritdoc />
    /// <exception cref="InvalidDataException">Not an Adam state, a variant this optimiser does not run (AMSGrad, maximise), or parameters at different step counts.</exception>
    public void Load(BinaryReader reader)
    {
        using var scope = NewDisposeScope();
        using var whole = optim.Adam(_parameters, _initialLearningRate, Beta1, Beta2, Eps, WeightDecay);
        whole.load_state_dict(reader);
        var options = (Adam.Options)whole.state_dict().Options.Single();
        if (options.amsgrad == true || options.maximize == true)
            throw new InvalidDataException($"the saved Adam state uses amsgrad={options.amsgrad} maximize={options.maximize}; the sharded Adam runs neither");
        var states = whole.state_dict().State;
        long? steps = null;
        using (no_grad())
        {
            foreach (var shard in _shards)
            {
                var bucket = shard.Bucket;
                var averages = new Tensor[bucket.Parameters.Count];
                var squares = new Tensor[bucket.Parameters.Count];
                for (var k = 0; k < bucket.Parameters.Count; k++)
                {
                    var index = IndexOf(bucket.Parameters[k]);
                    var state = (Adam.State)states[index];
                    steps ??= state.step;
                    if (state.step != steps)
                        throw new InvalidDataException(
                            $"the saved Adam state has parameter {index} at step {state.step} and others at step {steps}; the sharded Adam steps every parameter together");
                    averages[k] = state.exp_avg.reshape(-1);
                    squares[k] = state.exp_avg_sq.reshape(-1);
                }
                if (averages.Length == 0) continue;
                shard.ExpAvg.copy_(cat(averages).narrow(0, shard.Start, shard.Length));
                shard.ExpAvgSq.copy_(cat(squares).narrow(0, shard.Start, shard.Length));
            }
        }
        Steps = steps ?? 0;
        LearningRate = options.LearningRate!.Value;
        _initialLearningRate = options.InitialLearningRate;
        (Beta1, Beta2, Eps, WeightDecay) = (options.beta1!.Value, options.beta2!.Value, options.eps!.Value, options.weight_decay!.Value);
        _update.Dispose();
        _update = new AdamUpdate(Beta1, Beta2, Eps, WeightDecay);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _update.Dispose();
        ReleaseGathered();
        foreach (var shard in _shards)
        {
            shard.ExpAvg.Dispose();
            shard.ExpAvgSq.Dispose();
        }
    }

    private int IndexOf(Parameter parameter)
    {
        for (var i = 0; i < _parameters.Length; i++)
        {
            if (_parameters[i].Handle == parameter.Handle) return i;
        }
        throw new InvalidOperationException($"a bucketed parameter of shape [{string.Join(",", parameter.shape)}] is not among the optimiser's parameters");
    }

    private void ReleaseGathered()
    {
        if (_gathered is null) return;
        foreach (var t in _gathered) t.Dispose();
        _gathered = null;
    }

    /// <summary>This rank's part of one bucket: elements [Start, Start + Length) of its gradients and their moments.</summary>
    private sealed record Shard(GradientBuckets.Bucket Bucket, int Start, int Length, Tensor ExpAvg, Tensor ExpAvgSq);
}
