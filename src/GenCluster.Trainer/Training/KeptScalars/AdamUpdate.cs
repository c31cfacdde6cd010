using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Training.KeptScalars;

/// <summary>
/// Adam's update of one parameter (Kingma and Ba 2015, with torch's placement of ε and L2 weight decay), the operations
/// and their order as TorchSharp's <c>Adam.step</c>, with every scalar operand alive until its native call has returned
/// (see <see cref="Adam"/> for why). Shared by the replicated optimiser and the sharded one (<see cref="ShardedAdam"/>).
/// </summary>
internal sealed class AdamUpdate : IDisposable
{
    private readonly Scalar _beta1, _oneMinusBeta1, _beta2, _oneMinusBeta2, _eps, _one, _weightDecay;
    private readonly double _beta1Value, _beta2Value, _weightDecayValue;

    public AdamUpdate(double beta1, double beta2, double eps, double weightDecay)
    {
        (_beta1Value, _beta2Value, _weightDecayValue) = (beta1, beta2, weightDecay);
        _beta1 = beta1.ToScalar();
        _oneMinusBeta1 = (1 - beta1).ToScalar();
        _beta2 = beta2.ToScalar();
        _oneMinusBeta2 = (1 - beta2).ToScalar();
        _eps = eps.ToScalar();
        _one = 1.0.ToScalar();
        _weightDecay = weightDecay.ToScalar();
    }

    /// <summary>Step number <paramref name="step"/> (from 1) of <paramref name="param"/>, in place, with its moments.</summary>
    public void Apply(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, long step, double learningRate)
    {
        var biasCorrection1 = 1 - Math.Pow(_beta1Value, step);
        var biasCorrection2 = 1 - Math.Pow(_beta2Value, step);
        using var decayed = _weightDecayValue != 0 ? grad.add(param, alpha: _weightDecay) : null;
        var g = decayed ?? grad;
        expAvg.mul_(_beta1).add_(g, alpha: _oneMinusBeta1);
        expAvgSq.mul_(_beta2).addcmul_(g, g, value: _oneMinusBeta2);
        using var root = Math.Sqrt(biasCorrection2).ToScalar();
        using var denom = expAvgSq.sqrt().div_(root).add_(_eps, _one);
        using var stepSize = (-(learningRate / biasCorrection1)).ToScalar();
        param.addcdiv_(expAvg, denom, value: stepSize);
    }

    public void Dispose()
    {
        foreach (var scalar in new[] { _beta1, _oneMinusBeta1, _beta2, _oneMinusBeta2, _eps, _one, _weightDecay }) scalar.Dispose();
    }
}
