using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenCluster.Trainer.Tests.Native;

/// <summary>Fails when libLibTorchSharp.so cannot be loaded (e.g. the GLIBCXX_3.4.32 requirement is not weakened).</summary>
public class TorchSharpLoadTests
{
    [Fact]
    public void SmallConvNetTrainsOnCpu()
    {
        torch.set_num_threads(1);
        torch.manual_seed(7);
        using var scope = torch.NewDisposeScope();
        var net = Sequential(
            ("conv", Conv2d(1, 4, 3, padding: 1)),
            ("act", ReLU()),
            ("pool", AdaptiveAvgPool2d(1)),
            ("flat", Flatten()),
            ("fc", Linear(4, 1)));
        var optimizer = optim.Adam(net.parameters(), lr: 0.05);
        var x = torch.randn(8, 1, 6, 6);
        var y = torch.ones(8, 1);
        var before = net.parameters().Select(p => p.detach().clone()).ToList();

        var firstLoss = double.NaN;
        var lastLoss = double.NaN;
        for (var step = 0; step < 20; step++)
        {
            optimizer.zero_grad();
            var loss = functional.mse_loss(net.forward(x), y);
            loss.backward();
            optimizer.step();
            lastLoss = loss.item<float>();
            if (step == 0) firstLoss = lastLoss;
        }

        Assert.Equal(DeviceType.CPU, x.device_type);
        Assert.True(lastLoss < firstLoss * 0.5, $"loss should fall: first {firstLoss}, last {lastLoss}");
        var after = net.parameters().ToList();
        Assert.All(before.Zip(after), pair => Assert.False(pair.First.allclose(pair.Second), "every parameter should move"));
    }
}
