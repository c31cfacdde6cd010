using GenCluster.Trainer.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Tests.Layers;

public class ExponentialMovingAverageTests
{
    private static Sequential Net(long hidden = 2) => nn.Sequential(("fc", nn.Linear(3, hidden)), ("bn", nn.BatchNorm1d(hidden)));

    private static void Fill(nn.Module module, double value)
    {
        using var noGrad = torch.no_grad();
        foreach (var p in module.parameters()) p.fill_(value);
    }

    [Fact]
    public void AfterKUpdatesTheAverageFollowsTheClosedForm()
    {
        using var target = Net();
        using var source = Net();
        Fill(target, -1.0);
        Fill(source, 2.0);
        const double decay = 0.9;
        const int k = 7;

        for (var i = 0; i < k; i++) ExponentialMovingAverage.Update(target, source, decay);

        var expected = 2.0 + (-1.0 - 2.0) * Math.Pow(decay, k);
        foreach (var (name, p) in target.named_parameters())
            Assert.True(p.allclose(torch.full_like(p, expected), rtol: 1e-6, atol: 1e-6), $"{name}: expected {expected}, got {p.mean().item<float>()}");
        foreach (var (name, p) in source.named_parameters())
            Assert.True(p.equal(torch.full_like(p, 2.0)).all().item<bool>(), $"source {name} must not change");
    }

    [Fact]
    public void AnAverageOfAMovingSourceWeighsRecentValuesByOneMinusDecay()
    {
        using var target = Net();
        using var source = Net();
        Fill(target, 0.0);
        const double decay = 0.5;
        // Sources 1, 2, 4: t = 0.5·(0.5·(0.5·0 + 0.5·1) + 0.5·2) + 0.5·4 = 2.625.
        foreach (var value in new[] { 1.0, 2.0, 4.0 })
        {
            Fill(source, value);
            ExponentialMovingAverage.Update(target, source, decay);
        }
        Assert.Equal(2.625f, target.parameters().First().mean().item<float>(), 1e-6f);
    }

    [Fact]
    public void BuffersAreCopiedNotAveraged()
    {
        using var target = Net();
        using var source = Net();
        using (torch.no_grad())
        {
            source.named_buffers().Single(b => b.name == "bn.running_mean").buffer.fill_(7.0);
            source.named_buffers().Single(b => b.name == "bn.num_batches_tracked").buffer.fill_(42);
        }

        ExponentialMovingAverage.Update(target, source, 0.999);

        var buffers = target.named_buffers().ToDictionary(b => b.name, b => b.buffer);
        Assert.True(buffers["bn.running_mean"].equal(torch.full(2, 7.0f)).all().item<bool>());
        Assert.Equal(42L, buffers["bn.num_batches_tracked"].item<long>());
    }

    [Fact]
    public void CopyFromCopiesParametersAndBuffers()
    {
        using var target = Net();
        using var source = Net();
        using (torch.no_grad()) source.named_buffers().Single(b => b.name == "bn.running_var").buffer.fill_(3.0);
        var targetWeight = target.parameters().First();

        ExponentialMovingAverage.CopyFrom(target, source);

        foreach (var ((name, t), (_, s)) in target.state_dict().Zip(source.state_dict()))
            Assert.True(t.equal(s).all().item<bool>(), $"{name} not copied");
        Assert.Same(targetWeight, target.parameters().First());
    }

    [Fact]
    public void AMismatchNamesTheFirstKeyAndBothShapesAndWritesNothing()
    {
        using var target = Net(hidden: 2);
        using var source = Net(hidden: 4);
        Fill(target, 1.0);

        var ex = Assert.Throws<ArgumentException>(() => ExponentialMovingAverage.Update(target, source, 0.9));
        Assert.Contains("'fc.weight'", ex.Message);
        Assert.Contains("[2, 3]", ex.Message);
        Assert.Contains("[4, 3]", ex.Message);
        Assert.True(target.parameters().All(p => p.equal(torch.ones_like(p)).all().item<bool>()), "nothing may be written on a mismatch");

        using var other = nn.Sequential(("fc", nn.Linear(3, 2)));
        var missing = Assert.Throws<ArgumentException>(() => ExponentialMovingAverage.CopyFrom(target, other));
        Assert.Contains("'bn.weight'", missing.Message);
        Assert.Contains("missing", missing.Message);
    }

    [Fact]
    public void DecayOutsideTheUnitIntervalIsRejected()
    {
        using var a = Net();
        using var b = Net();
        Assert.Throws<ArgumentOutOfRangeException>(() => ExponentialMovingAverage.Update(a, b, 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => ExponentialMovingAverage.Update(a, b, double.NaN));
    }
}
