using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace GenCluster.Trainer.Training;

/// <summary>
/// The identity, as an autograd function whose backward calls back when the gradient reaches it: placed on a module's
/// input, it tells that backward has finished with the module (the autograd engine runs every node a module's forward
/// created after it, and the accumulation of its parameters' gradients, before it). TorchSharp has no tensor gradient
/// hooks; this is the custom-function route to the same signal.
/// </summary>
internal sealed class GradientArrival : SingleTensorFunction<GradientArrival>
{
    private const string CallbackKey = "arrived";

    public override string Name => "GradientArrival";

    /// <summary>Passes <c>vars[0]</c> (a tensor) through; <c>vars[1]</c> is the <see cref="Action"/> backward calls.</summary>
    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        ctx.save_data(CallbackKey, (Action)vars[1]);
        return ((Tensor)vars[0]).alias();
    }

    public override List<Tensor> backward(AutogradContext ctx, Tensor grad_output)
    {
        ((Action)ctx.get_data(CallbackKey))();
        return [grad_output.alias(), null!];
    }
}
