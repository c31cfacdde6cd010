using GenCluster.Trainer.Layers;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenCluster.Trainer.Tests.Layers;

public class StandingStatisticsTests
{
    [Fact]
    public void RunningStatisticsBecomeTheExactMeanOfTheBatchStatistics()
    {
        using var bn = BatchNorm1d(3);
        using var generator = new torch.Generator(4);
        var batches = Enumerable.Range(0, 5).Select(k => torch.randn([20, 3], generator: generator) * (k + 1) + k).ToArray();
        // Poison the running statistics first: the recomputation must not depend on them.
        using (torch.no_grad()) bn.running_mean!.fill_(100);

        StandingStatistics.Recompute(bn, batches.Length, k => bn.forward(batches[k]));

        var expectedMean = torch.stack(batches.Select(b => b.mean([0])).ToArray()).mean([0]);
        var expectedVar = torch.stack(batches.Select(b => b.var(0, unbiased: true)).ToArray()).mean([0]);
        Assert.True(bn.running_mean!.allclose(expectedMean, rtol: 1e-5, atol: 1e-5),
            $"running mean {string.Join(",", bn.running_mean!.data<float>().ToArray())} vs {string.Join(",", expectedMean.data<float>().ToArray())}");
        Assert.True(bn.running_var!.allclose(expectedVar, rtol: 1e-4, atol: 1e-4),
            $"running var {string.Join(",", bn.running_var!.data<float>().ToArray())} vs {string.Join(",", expectedVar.data<float>().ToArray())}");
        Assert.False(bn.training);
        Assert.Equal(0.1, bn.momentum);
    }

    [Fact]
    public void EvalModeOutputsMatchTrainModeOnTheBatchTheStatisticsCameFrom()
    {
        using var net = Sequential(Linear(4, 6), BatchNorm1d(6), ReLU());
        using var x = torch.randn(64, 4);
        using var trainOut = net.forward(x);

        StandingStatistics.Recompute(net, 1, _ => net.forward(x));
        using var evalOut = net.forward(x);

        // Eval uses the unbiased variance where training uses the biased one: equal up to n/(n−1).
        Assert.True(evalOut.allclose(trainOut, rtol: 2e-2, atol: 2e-2), "standing statistics restore the batch-statistics outputs");
    }
}
