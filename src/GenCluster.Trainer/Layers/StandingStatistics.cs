using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Layers;

/// <summary>
/// "Standing statistics" (Brock et al. 2018, §3.1 / appendix): BatchNorm running statistics recomputed for a
/// generator's current weights by averaging the batch statistics of many forward passes, instead of the momentum
/// average collected while the weights moved. Needed before sampling an EMA generator in eval mode: its averaged
/// weights never produced the running statistics it inherited.
/// </summary>
public static class StandingStatistics
{
    /// <summary>True when <paramref name="module"/> has BatchNorm layers (whose statistics this recomputes).</summary>
    public static bool Applies(nn.Module module) => BatchNorms(module).Count > 0;

    /// <summary>
    /// Resets every BatchNorm's running statistics in <paramref name="module"/> and sets them to the exact average of the
    /// batch statistics over <paramref name="batches"/> training-mode forward passes (<paramref name="forward"/>(k) runs
    /// pass k); leaves the module in eval mode. A pure function of the weights and what <paramref name="forward"/> draws.
    /// </summary>
    public static void Recompute(nn.Module module, int batches, Action<int> forward)
    {
        var norms = BatchNorms(module);
        if (norms.Count == 0 || batches < 1) return;
        var saved = norms.Select(n => n.momentum).ToList();
        module.train();
        try
        {
            using var noGrad = torch.no_grad();
            foreach (var bn in norms) bn.reset_running_stats();
            for (var k = 0; k < batches; k++)
            {
                // momentum 1/(k+1) makes running = mean of the k+1 batch statistics seen so far.
                foreach (var bn in norms) bn.momentum = 1.0 / (k + 1);
                using var scope = NewDisposeScope();
                forward(k);
            }
        }
        finally
        {
            for (var i = 0; i < norms.Count; i++) norms[i].momentum = saved[i];
            module.eval();
        }
    }

    private static List<BatchNorm> BatchNorms(nn.Module module) =>
        new[] { module }.Concat(module.modules()).OfType<BatchNorm>().Distinct().ToList();
}
