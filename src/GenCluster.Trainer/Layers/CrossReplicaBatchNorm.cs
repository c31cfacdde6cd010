using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace GenCluster.Trainer.Layers;

/// <summary>
/// Cross-replica (synchronised) batch normalisation, as BigGAN trains with over all TPU cores (Brock et al. 2018) and
/// PyTorch's <c>SyncBatchNorm</c> does: in training mode the batch statistics are those of the whole round's batch,
/// so n ranks with B images each normalise exactly as one rank with n·B. Every network calls <see cref="Forward"/>
/// instead of <c>bn.forward(x)</c>; whether statistics are synchronised is decided by an ambient hook that the recipe
/// (through <c>StepContext.SyncBatchNorm()</c>) enables around its forward and backward passes — a model never calls
/// a collective itself.
/// </summary>
/// <remarks>
/// <para>Per channel, the local Σx, Σx² and the element count are packed into one vector [2C + 1] and summed over the
/// ranks by a differentiable all-reduce (forward: SUM over ranks; backward: SUM of the incoming gradients over ranks,
/// the semantics of <c>torch.distributed.nn.all_reduce</c>). The round's objective is the sum of the ranks' losses, so
/// autograd through that all-reduce gives every rank its share of the whole-batch gradient: one collective per layer
/// in the forward pass and one in the backward pass.</para>
/// <para>Running statistics follow PyTorch: running_mean ← (1 − m)·running_mean + m·μ and running_var ← (1 − m)·running_var
/// + m·σ²·N/(N − 1) with the global μ, biased σ² and count N; <c>num_batches_tracked</c> += 1; a null or zero momentum
/// gives the cumulative average 1/num_batches_tracked, as TorchSharp's BatchNorm does. Since every rank gets the same
/// sums, the running statistics stay identical on every rank.</para>
/// <para>The variance is E[x²] − μ² (clamped at 0). In float32 this loses about (μ/σ)²·6e-8 relative precision —
/// negligible for activations whose mean is not orders of magnitude above their spread.</para>
/// <para>Every rank must reach the same synchronised layers in the same order: true of a recipe's deterministic
/// forward/backward sequence (a <c>no_grad</c> forward synchronises its forward statistics only, on every rank alike).</para>
/// </remarks>
public static class CrossReplicaBatchNorm
{
    // Ambient per logical call flow (like an activity): one hook per rank's training thread, restored on dispose.
    private static readonly AsyncLocal<Action<Tensor>?> Hook = new();

    /// <summary>True when a synchronisation hook is enabled on this call flow.</summary>
    public static bool IsSynchronised => Hook.Value is not null;

    /// <summary>
    /// Enables synchronised statistics on this call flow until the returned handle is disposed (which restores whatever
    /// was enabled before, so handles nest). <paramref name="sumAllReduceInPlace"/> must replace a tensor's values by
    /// their SUM over the round's ranks, in place; it is called with contiguous tensors of the BatchNorm input's dtype and
    /// device and may be called from the autograd engine's thread during backward.
    /// </summary>
    public static IDisposable Enable(Action<Tensor> sumAllReduceInPlace)
    {
        ArgumentNullException.ThrowIfNull(sumAllReduceInPlace);
        var previous = Hook.Value;
        Hook.Value = sumAllReduceInPlace;
        return new Restore(previous);
    }

    /// <summary>
    /// BatchNorm of x [N, C, ...] (1-d: [N, C] or [N, C, L]; 2-d: [N, C, H, W]) by <paramref name="bn"/>. Exactly
    /// <c>bn.forward(x)</c> when no hook is enabled or <paramref name="bn"/> is in eval mode; otherwise with batch
    /// statistics summed over the round's ranks (see the class remarks).
    /// </summary>
    public static Tensor Forward(BatchNorm bn, Tensor x)
    {
        var reduce = Hook.Value;
        if (reduce is null || !bn.training) return bn.call(x);
        return Synchronised(bn, x, reduce);
    }

    /// <summary>
    /// <see cref="Forward(BatchNorm, Tensor)"/> when <paramref name="norm"/> is a BatchNorm; any other layer (an optional
    /// normalisation left out as <c>Identity</c>) runs as is.
    /// </summary>
    public static Tensor Forward(nn.Module<Tensor, Tensor> norm, Tensor x) =>
        norm is BatchNorm bn ? Forward(bn, x) : norm.call(x);

    private static Tensor Synchronised(BatchNorm bn, Tensor x, Action<Tensor> reduce)
    {
        if (x.dim() < 2 || x.shape[1] != bn.num_features)
            throw new ArgumentException(
                $"BatchNorm over {bn.num_features} channels expects input [N, {bn.num_features}, ...]; got [{string.Join(", ", x.shape)}].", nameof(x));
        using var scope = NewDisposeScope();
        var channels = x.shape[1];
        var dims = Enumerable.Range(0, (int)x.dim()).Where(d => d != 1).Select(d => (long)d).ToArray();
        var shape = Enumerable.Repeat(1L, (int)x.dim()).ToArray();
        shape[1] = channels;
        var localCount = torch.full([1], (double)(x.numel() / channels), dtype: x.dtype, device: x.device);
        var local = torch.cat([x.sum(dims), x.square().sum(dims), localCount]);
        var global = AllReduceSum.apply(local, reduce);

        var count = global[2 * channels].ToDouble();
        if (count <= 1)
            throw new InvalidOperationException($"BatchNorm expects more than 1 value per channel when training over the round; got {count}.");
        var mean = global.narrow(0, 0, channels).div(count);
        var variance = global.narrow(0, channels, channels).div(count).sub(mean.square()).clamp_min(0);
        var y = x.sub(mean.view(shape)).mul(variance.add(bn.eps).rsqrt().view(shape));
        if (bn.weight is not null) y = y.mul(bn.weight.view(shape));
        if (bn.bias is not null) y = y.add(bn.bias.view(shape));

        if (bn.track_running_stats && bn.running_mean is not null && bn.running_var is not null)
        {
            using var noGrad = torch.no_grad();
            var factor = bn.momentum ?? 0.0;
            if (bn.num_batches_tracked is not null)
            {
                bn.num_batches_tracked.add_(1);
                if (factor == 0) factor = 1.0 / bn.num_batches_tracked.item<long>();
            }
            bn.running_mean.mul_(1 - factor).add_(mean.detach().to_type(bn.running_mean.dtype), alpha: factor);
            bn.running_var.mul_(1 - factor).add_(variance.detach().mul(count / (count - 1)).to_type(bn.running_var.dtype), alpha: factor);
        }
        return scope.MoveToOuter(y);
    }

    private sealed class Restore(Action<Tensor>? previous) : IDisposable
    {
        private bool _disposed;

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            Hook.Value = previous;
        }
    }

    /// <summary>
    /// SUM over ranks in the forward pass; SUM of the incoming gradients over ranks in the backward pass. The reduce
    /// action travels in the autograd context: backward may run on another thread, where the ambient hook is not set.
    /// </summary>
    internal sealed class AllReduceSum : SingleTensorFunction<AllReduceSum>
    {
        private const string ReduceKey = "reduce";

        public override string Name => "CrossReplicaAllReduceSum";

        public override Tensor forward(AutogradContext ctx, params object[] vars)
        {
            var reduce = (Action<Tensor>)vars[1];
            ctx.save_data(ReduceKey, reduce);
            var total = ((Tensor)vars[0]).contiguous().clone();
            reduce(total);
            return total;
        }

        public override List<Tensor> backward(AutogradContext ctx, Tensor grad_output)
        {
            var reduce = (Action<Tensor>)ctx.get_data(ReduceKey);
            var total = grad_output.contiguous().clone();
            reduce(total);
            return [total, null!];
        }
    }
}
