using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Tests.Layers;

/// <summary>One spectrally normalised layer under test, seen through delegates so that one set of checks serves all four.</summary>
/// <param name="Module">The layer.</param>
/// <param name="Weight">Reads the raw weight parameter (re-read after Module.to(), which replaces it).</param>
/// <param name="Sigma">The layer's σ estimate.</param>
/// <param name="Normalised">The layer's W/σ.</param>
/// <param name="RowDim">The weight axis PyTorch's spectral_norm uses as rows.</param>
/// <param name="Input">Makes an input of the given dtype (ignored for index inputs).</param>
/// <param name="Reference">The unnormalised operation applied with an explicit weight, written with torch's functional ops.</param>
internal sealed record SnCase(
    nn.Module<Tensor, Tensor> Module,
    Func<Parameter> Weight,
    Func<double> Sigma,
    Func<Tensor> Normalised,
    long RowDim,
    Func<ScalarType, Tensor> Input,
    Func<Tensor, Tensor, Tensor> Reference);

/// <summary>The checks every spectral-norm layer must pass, against the mathematics rather than the implementation.</summary>
internal static class SpectralNormKit
{
    private static readonly double[] Spectrum = [3.0, 1.8, 1.08, 0.648, 0.389, 0.233];

    /// <summary>The weight as the [rows, rest] matrix, written independently of the production reshape.</summary>
    public static Tensor Matrix(Tensor weight, long rowDim) =>
        rowDim == 0 ? weight.reshape(weight.shape[0], -1) : weight.transpose(0, 1).reshape(weight.shape[1], -1);

    /// <summary>Overwrites the weight with U·diag(3, 1.8, ...)·Vᵀ (in the row layout), so σ₁ = 3 exactly and σ₂/σ₁ = 0.6.</summary>
    public static void SetKnownSpectrum(SnCase c, long seed)
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator((ulong)seed);
        var weight = c.Weight();
        var shape = weight.shape;
        var permuted = c.RowDim == 0 ? shape : [shape[1], shape[0], .. shape[2..]];
        var rows = permuted[0];
        var cols = weight.numel() / rows;
        var k = Math.Min(rows, cols);
        Assert.True(k <= Spectrum.Length, "test layers must be small");
        var (q1, _) = torch.linalg.qr(torch.randn([rows, k], dtype: ScalarType.Float64, generator: g));
        var (q2, _) = torch.linalg.qr(torch.randn([cols, k], dtype: ScalarType.Float64, generator: g));
        var s = torch.tensor(Spectrum[..(int)k], dtype: ScalarType.Float64);
        var m = q1.mul(s).matmul(q2.t()).reshape(permuted);
        if (c.RowDim == 1) m = m.transpose(0, 1);
        using var noGrad = torch.no_grad();
        weight.copy_(m);
    }

    public static Tensor U(SnCase c) => c.Module.named_buffers().Single(b => b.name == "u").buffer;

    public static double LargestSingularValue(Tensor weight, long rowDim)
    {
        using var scope = torch.NewDisposeScope();
        return torch.linalg.svdvals(Matrix(weight.detach().to_type(ScalarType.Float64), rowDim))[0].item<double>();
    }

    /// <summary>After 50 training-mode forwards σ̂ = σ₁ (checked against the constructed spectrum and against svdvals).</summary>
    public static void SigmaConvergesToTheLargestSingularValue(SnCase c)
    {
        SetKnownSpectrum(c, 7);
        c.Module.train();
        using (var scope = torch.NewDisposeScope())
            for (var i = 0; i < 50; i++) c.Module.forward(c.Input(ScalarType.Float32));

        Assert.Equal(3.0, LargestSingularValue(c.Weight(), c.RowDim), 1e-5);
        Assert.Equal(3.0, c.Sigma(), 1e-4);

        using var s2 = torch.NewDisposeScope();
        var normalisedNorm = torch.linalg.svdvals(Matrix(c.Normalised().to_type(ScalarType.Float64), c.RowDim))[0].item<double>();
        Assert.Equal(1.0, normalisedNorm, 1e-4);
    }

    /// <summary>Eval-mode output equals the plain operation with W/σ₁ (σ₁ from svdvals), i.e. forward really uses W/σ.</summary>
    public static void ForwardUsesTheNormalisedWeight(SnCase c)
    {
        SetKnownSpectrum(c, 8);
        c.Module.train();
        using var scope = torch.NewDisposeScope();
        for (var i = 0; i < 50; i++) c.Module.forward(c.Input(ScalarType.Float32));
        c.Module.eval();
        var x = c.Input(ScalarType.Float32);
        var expected = c.Reference(x, c.Weight().detach().div(LargestSingularValue(c.Weight(), c.RowDim)));
        var actual = c.Module.forward(x);
        Assert.True(actual.allclose(expected, rtol: 1e-4, atol: 1e-5), $"max |Δ| = {actual.sub(expected).abs().max().item<float>()}");
    }

    /// <summary>
    /// The first training forward does exactly one PyTorch power iteration: v = normalize(Wᵀu₀), u₁ = normalize(Wv),
    /// and divides by u₁ᵀWv. Eval-mode forwards leave u unchanged.
    /// </summary>
    public static void OneIterationPerTrainingForwardAndNoneInEval(SnCase c)
    {
        using var scope = torch.NewDisposeScope();
        var w = Matrix(c.Weight().detach(), c.RowDim).to_type(ScalarType.Float64);
        var u0 = U(c).to_type(ScalarType.Float64);
        Assert.Equal(1.0, torch.linalg.vector_norm(u0).item<double>(), 1e-6);
        var v = w.t().mv(u0);
        v = v.div(torch.linalg.vector_norm(v));
        var u1 = w.mv(v);
        u1 = u1.div(torch.linalg.vector_norm(u1));
        var sigma = u1.dot(w.mv(v)).item<double>();

        c.Module.train();
        var x = c.Input(ScalarType.Float32);
        var actual = c.Module.forward(x);

        Assert.True(U(c).to_type(ScalarType.Float64).allclose(u1, rtol: 1e-5, atol: 1e-6), "u after one training forward");
        var expected = c.Reference(x, c.Weight().detach().div(sigma));
        Assert.True(actual.allclose(expected, rtol: 1e-4, atol: 1e-5), "training forward divides by u₁ᵀWv");

        c.Module.eval();
        var before = U(c).clone();
        for (var i = 0; i < 5; i++) c.Module.forward(c.Input(ScalarType.Float32));
        Assert.True(U(c).equal(before).all().item<bool>(), "eval mode must not update u");
    }

    /// <summary>With u frozen (eval mode), ∂Σ(R⊙y)/∂W from autograd equals central finite differences in float64.</summary>
    public static void WeightGradientMatchesFiniteDifferences(SnCase c)
    {
        c.Module.to(ScalarType.Float64);
        c.Module.train();
        using var scope = torch.NewDisposeScope();
        c.Module.forward(c.Input(ScalarType.Float64));
        c.Module.eval();
        using var g = new Generator(11);
        var x = c.Input(ScalarType.Float64);
        var weight = c.Weight();
        Assert.Equal(ScalarType.Float64, weight.dtype);
        var r = torch.randn(c.Module.forward(x).shape, dtype: ScalarType.Float64, generator: g);

        double Loss()
        {
            using var s = torch.NewDisposeScope();
            return c.Module.forward(x).mul(r).sum().item<double>();
        }

        var analytic = torch.autograd.grad([c.Module.forward(x).mul(r).sum()], [weight])[0].reshape(-1);
        const double h = 1e-6;
        var flat = weight.detach().view(-1);
        for (var i = 0; i < flat.numel(); i++)
        {
            double plus, minus;
            using (torch.no_grad()) flat[i].add_(h);
            plus = Loss();
            using (torch.no_grad()) flat[i].sub_(2 * h);
            minus = Loss();
            using (torch.no_grad()) flat[i].add_(h);
            var numeric = (plus - minus) / (2 * h);
            var a = analytic[i].item<double>();
            Assert.True(Math.Abs(numeric - a) <= 1e-6 * Math.Max(1.0, Math.Abs(a)), $"dL/dW[{i}]: autograd {a}, finite differences {numeric}");
        }
    }

    /// <summary>u stays a registered, persistent buffer after training forwards (re-assigning the field would unregister it).</summary>
    public static void UStaysARegisteredBuffer(SnCase c, string[] expectedKeys)
    {
        using var scope = torch.NewDisposeScope();
        var initial = U(c).clone();
        c.Module.train();
        for (var i = 0; i < 3; i++) c.Module.forward(c.Input(ScalarType.Float32));

        Assert.Equal(expectedKeys.Order(), c.Module.state_dict().Keys.Order());
        Assert.Equal(["u"], c.Module.named_buffers().Select(b => b.name));
        var saved = c.Module.state_dict()["u"];
        Assert.False(saved.equal(initial).all().item<bool>(), "the registered buffer must be the one the power iteration updates");
        Assert.Equal(1.0, torch.linalg.vector_norm(saved).item<float>(), 1e-5);
    }
}
