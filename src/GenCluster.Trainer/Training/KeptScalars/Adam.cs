using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Training.KeptScalars;

/// <summary>
/// TorchSharp's Adam with every scalar operand held alive until its native call returns. The same operations in the same
/// order as <see cref="TorchSharp.Modules.Adam.step"/>, so the same bits and the same state. It keeps the simple name
/// <c>Adam</c> on purpose: TorchSharp writes the optimiser's type name into its state dict and checks it on load, so
/// checkpoints written before and after it load into either.
/// </summary>
/// <remarks>
/// TorchSharp's <see cref="Scalar"/> frees its native value in a finalizer, and its tensor methods pass the native handle
/// on without keeping the managed object reachable. <see cref="TorchSharp.Modules.Adam.step"/> converts doubles to temporary scalars on every
/// parameter (<c>mul_(beta1)</c>, <c>add_(eps)</c>, whose alpha is a temporary too, …): when a garbage collection lands
/// while such a call runs in native code, the finalizer thread can free the scalar before libtorch has read it. A main
/// job hit it once after about 6,000 steps (<c>ExternalException: Unknown scalar type</c> from <c>add_</c>); the round
/// failed and resumed from its checkpoint. Here the constant scalars live as long as the optimiser, and each step's
/// scalars in a <c>using</c> that ends after the call.
/// </remarks>
public sealed class Adam : TorchSharp.Modules.Adam
{
    private readonly AdamUpdate _update;

    /// <summary>As <see cref="optim.Adam(IEnumerable{Parameter}, double, double, double, double, double, bool, bool)"/>, without AMSGrad or maximize.</summary>
    public Adam(IEnumerable<Parameter> parameters, double lr, double beta1, double beta2, double eps = 1e-8, double weightDecay = 0)
        : base(parameters, lr, beta1, beta2, eps, weightDecay)
    {
        _update = new AdamUpdate(beta1, beta2, eps, weightDecay);
    }

    /// <inheritdoc />
    public override Tensor step(Func<Tensor>? closure = null) => _step<ParamGroup>(group =>
    {
        var options = (Options)group.Options;
        if (options.amsgrad == true || options.maximize == true)
            throw new NotSupportedException("This Adam covers plain Adam with L2 weight decay: no AMSGrad or maximize.");
        var expected = (Options)_defaults;
        if (options.beta1 != expected.beta1 || options.beta2 != expected.beta2 || options.eps != expected.eps || options.weight_decay != expected.weight_decay)
            throw new NotSupportedException("This Adam keeps the betas, ε and weight decay it was made with; a parameter group changed them.");
        foreach (var param in group.Parameters)
        {
            var grad = param.grad;
            if (grad is null) continue;
            var state = (State)_state[param.Handle];
            state.step += 1;
            _update.Apply(param, grad, state.exp_avg, state.exp_avg_sq, state.step, options.LearningRate!.Value);
        }
    }, closure);

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) _update.Dispose();
    }
}
