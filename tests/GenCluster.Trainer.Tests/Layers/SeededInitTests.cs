using GenCluster.Trainer.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Tests.Layers;

public class SeededInitTests
{
    public static TheoryData<string> Initialisers => ["normal", "uniform", "xavier", "orthogonal"];

    private static Tensor Draw(string kind, long[] shape, ulong seed)
    {
        using var g = new Generator(seed);
        var t = torch.empty(shape);
        return kind switch
        {
            "normal" => SeededInit.Normal(t, 0, 1, g),
            "uniform" => SeededInit.Uniform(t, -1, 1, g),
            "xavier" => SeededInit.XavierUniform(t, 1.0, g),
            _ => SeededInit.Orthogonal(t, 1.0, g),
        };
    }

    [Theory]
    [MemberData(nameof(Initialisers))]
    public void TheSameSeedGivesTheSameValuesAndAnotherSeedOthers(string kind)
    {
        using var scope = torch.NewDisposeScope();
        var a = Draw(kind, [6, 4], 1);
        torch.manual_seed(999);
        var b = Draw(kind, [6, 4], 1);
        var c = Draw(kind, [6, 4], 2);
        Assert.True(a.equal(b).all().item<bool>(), $"{kind}: the same seed gave different values");
        Assert.False(a.equal(c).all().item<bool>(), $"{kind}: different seeds gave the same values");
    }

    [Fact]
    public void WritesInPlaceAndKeepsTheParameterALeaf()
    {
        using var p = new TorchSharp.Modules.Parameter(torch.zeros(3, 5));
        using var g = new Generator(3);
        var returned = SeededInit.Normal(p, 0, 1, g);
        Assert.Same(p, returned);
        Assert.True(p.requires_grad);
        Assert.True(p.is_leaf);
        Assert.True(p.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void NormalAndUniformHaveTheirMomentsAndBounds()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(4);
        var n = SeededInit.Normal(torch.empty(200_000), 1.5, 0.25, g);
        Assert.Equal(1.5, n.mean().item<float>(), 0.005);
        Assert.Equal(0.25, n.std().item<float>(), 0.005);
        var u = SeededInit.Uniform(torch.empty(200_000), -0.5, 2.0, g);
        Assert.True(u.min().item<float>() >= -0.5f && u.max().item<float>() <= 2.0f);
        Assert.Equal(0.75, u.mean().item<float>(), 0.01);
    }

    [Fact]
    public void XavierUniformStaysWithinGainTimesRootSixOverFans()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(5);
        var t = SeededInit.XavierUniform(torch.empty(64, 32, 3, 3), 2.0, g);
        var bound = 2.0 * Math.Sqrt(6.0 / (32 * 9 + 64 * 9));
        var max = t.abs().max().item<float>();
        Assert.True(max <= bound, $"max |w| = {max} exceeds {bound}");
        Assert.True(max > 0.99 * bound, $"max |w| = {max} is far below {bound}: wrong fans?");
    }

    [Theory]
    [InlineData(new long[] { 6, 4 }, 1.0)]
    [InlineData(new long[] { 3, 2, 2, 2 }, 1.0)]
    [InlineData(new long[] { 5, 5 }, 1.5)]
    public void OrthogonalGivesOrthonormalColumnsOrRows(long[] shape, double gain)
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(6);
        var t = SeededInit.Orthogonal(torch.empty(shape), gain, g);
        var rows = shape[0];
        var m = t.reshape(rows, -1).to_type(ScalarType.Float64);
        var cols = m.shape[1];
        var gram = rows >= cols ? m.t().matmul(m) : m.matmul(m.t());
        var eye = torch.eye(Math.Min(rows, cols), dtype: ScalarType.Float64).mul(gain * gain);
        Assert.True(gram.allclose(eye, rtol: 0, atol: 1e-5), $"max |Q'Q - g²I| = {gram.sub(eye).abs().max().item<double>()}");
    }

    [Fact]
    public void OrthogonalNeedsAMatrix() =>
        Assert.Throws<ArgumentException>(() => SeededInit.Orthogonal(torch.empty(4), 1.0));
}
