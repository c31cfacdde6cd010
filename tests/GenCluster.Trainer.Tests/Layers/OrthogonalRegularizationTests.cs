using GenCluster.Trainer.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Tests.Layers;

public class OrthogonalRegularizationTests
{
    public OrthogonalRegularizationTests() => torch.set_num_threads(1);

    private static Parameter Param(long[] shape, Generator g) =>
        new(torch.randn(shape, dtype: ScalarType.Float64, generator: g));

    [Fact]
    public void PenaltyOfASmallMatrixMatchesTheHandComputation()
    {
        // W = [[1, 2], [3, 4], [0, 1]]: row products 1·2 → 11, 1·3 → 2, 2·3 → 4; each appears twice off the diagonal,
        // so ‖W Wᵀ ⊙ (1 − I)‖²_F = 2·(121 + 4 + 16) = 282 and (β/2)·282 = 14.1 for β = 0.1.
        using var w = new Parameter(torch.tensor(new double[] { 1, 2, 3, 4, 0, 1 }, [3, 2], ScalarType.Float64));
        using var penalty = OrthogonalRegularization.Penalty([w], 0.1);
        Assert.Equal(14.1, penalty.item<double>(), 1e-12);
    }

    [Fact]
    public void OrthogonalRowsHaveZeroPenaltyWhateverTheirNorms()
    {
        using var g = new Generator(1);
        using var w = Param([3, 5], g);
        SeededInit.Orthogonal(w, generator: g);
        using var scaled = new Parameter(w.detach().mul(torch.tensor(new[] { 2.0, 3.0, 0.5 }, dtype: ScalarType.Float64).view(3, 1)));
        using var penalty = OrthogonalRegularization.Penalty([w, scaled], 1.0);
        Assert.Equal(0.0, penalty.item<double>(), 1e-20);
    }

    [Fact]
    public void ConvolutionKernelsAreViewedAsOutByRest()
    {
        using var g = new Generator(2);
        using var kernel = Param([4, 3, 2, 2], g);
        using var scope = torch.NewDisposeScope();
        var w = kernel.detach().reshape(4, 12);
        var gram = w.matmul(w.t());
        var offDiagonal = gram.sub(torch.diag(torch.diagonal(gram)));
        var expected = offDiagonal.square().sum().item<double>() * 0.3 / 2;

        Assert.Equal(expected, OrthogonalRegularization.Penalty([kernel], 0.3).item<double>(), 1e-10);
    }

    [Fact]
    public void OneDimensionalParametersAreSkipped()
    {
        using var g = new Generator(3);
        using var w = Param([4, 6], g);
        using var bias = Param([4], g);
        using var embedding = Param([5, 4], g);
        using var scope = torch.NewDisposeScope();

        var alone = OrthogonalRegularization.Penalty([w], 0.5).item<double>();
        var all = OrthogonalRegularization.Penalty([w, bias], 0.5).item<double>();
        var withEmbedding = OrthogonalRegularization.Penalty([w, bias, embedding], 0.5).item<double>();

        Assert.Equal(alone, all, 1e-12);
        Assert.True(withEmbedding > alone + 1e-6, "a two-axis embedding passed in is regularised");
        Assert.Equal(0.0, OrthogonalRegularization.Penalty([bias], 0.5).item<double>());
    }

    [Fact]
    public void ApplyAddsExactlyTheAutogradGradientOfPenalty()
    {
        using var g = new Generator(4);
        using var kernel = Param([4, 3, 2, 2], g);
        using var linear = Param([5, 7], g);
        using var fresh = Param([3, 6], g);
        using var bias = Param([5], g);
        using var excluded = Param([3, 4], g);
        // "excluded" is left out of the list, as BigGAN's G leaves out its shared embedding.
        Parameter[] all = [kernel, linear, fresh, bias];
        const double beta = 0.01;
        using var scope = torch.NewDisposeScope();

        var penalty = OrthogonalRegularization.Penalty(all, beta);
        var expected = torch.autograd.grad([penalty], [kernel, linear, fresh]);

        // Closed form of the reference: 2β (W Wᵀ ⊙ (1 − I)) W, checked independently for the linear weight.
        var wl = linear.detach();
        var gl = wl.matmul(wl.t());
        var closedForm = gl.sub(torch.diag(torch.diagonal(gl))).matmul(wl).mul(2 * beta);
        Assert.True(expected[1].allclose(closedForm, rtol: 1e-12, atol: 1e-14));

        var previous = new Dictionary<Parameter, Tensor>();
        foreach (var p in new[] { kernel, linear, bias, excluded })
        {
            var existing = torch.randn(p.shape, dtype: ScalarType.Float64, generator: g);
            p.grad = existing;
            previous[p] = existing.clone();
        }

        OrthogonalRegularization.Apply(all, beta);

        void AssertGrad(Parameter p, Tensor want)
        {
            using var grad = p.grad;
            Assert.NotNull(grad);
            Assert.True(grad.allclose(want, rtol: 1e-12, atol: 1e-14), $"max |Δ| = {grad.sub(want).abs().max().item<double>()}");
        }
        AssertGrad(kernel, previous[kernel].add(expected[0]));
        AssertGrad(linear, previous[linear].add(expected[1]));
        AssertGrad(fresh, expected[2]);
        AssertGrad(bias, previous[bias]);
        AssertGrad(excluded, previous[excluded]);
    }
}
