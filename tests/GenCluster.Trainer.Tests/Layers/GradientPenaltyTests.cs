using GenCluster.Trainer.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Tests.Layers;

public class GradientPenaltyTests
{
    [Fact]
    public void ForALinearCriticThePenaltyIsTheSquaredDistanceOfItsNormFromOne()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(1);
        var w = torch.randn([1, 2, 3], dtype: ScalarType.Float64, generator: g).mul(0.8);
        var real = torch.randn([4, 1, 2, 3], dtype: ScalarType.Float64, generator: g);
        var fake = torch.randn([4, 1, 2, 3], dtype: ScalarType.Float64, generator: g);
        var eps = torch.rand([4, 1, 1, 1], dtype: ScalarType.Float64, generator: g);
        Tensor Critic(Tensor x) => x.mul(w).sum([1, 2, 3]);

        var penalty = GradientPenalty.Compute(Critic, real, fake, eps);
        var norms = GradientPenalty.GradientNorms(Critic, real, fake, eps);

        var wNorm = Math.Sqrt(w.square().sum().item<double>());
        Assert.Empty(penalty.shape);
        Assert.Equal((wNorm - 1) * (wNorm - 1), penalty.item<double>(), 1e-12);
        Assert.True(norms.allclose(torch.full([4], wNorm, dtype: ScalarType.Float64)));
    }

    [Fact]
    public void FlatInputsTakeEpsilonAsNOrNByOne()
    {
        using var scope = torch.NewDisposeScope();
        var w = torch.tensor(new[] { 3.0, 4.0 });
        var real = torch.ones(3, 2, dtype: ScalarType.Float64);
        var fake = torch.zeros(3, 2, dtype: ScalarType.Float64);
        Tensor Critic(Tensor x) => x.matmul(w);

        Assert.Equal(16.0, GradientPenalty.Compute(Critic, real, fake, torch.rand(3, 1, dtype: ScalarType.Float64)).item<double>(), 1e-12);
        Assert.Equal(16.0, GradientPenalty.Compute(Critic, real, fake, torch.rand(3, dtype: ScalarType.Float64)).item<double>(), 1e-12);
        Assert.Throws<ArgumentException>(() => GradientPenalty.Compute(Critic, real, fake, torch.rand(3, 2, dtype: ScalarType.Float64)));
        Assert.Throws<ArgumentException>(() => GradientPenalty.Compute(Critic, real, fake, torch.rand(2, 1, dtype: ScalarType.Float64)));
    }

    [Fact]
    public void ThePenaltyDependsOnWhereItInterpolates()
    {
        // D(x) = Σ x², ∇D = 2x̂: with ε = 1 the norm is 2‖real‖, with ε = 0 it is 2‖fake‖.
        using var scope = torch.NewDisposeScope();
        var real = torch.tensor(new[] { 3.0, 0.0, 0.0, 4.0 }).reshape(2, 2);
        var fake = torch.tensor(new[] { 0.0, 1.0, 0.0, 0.5 }).reshape(2, 2);
        Tensor Critic(Tensor x) => x.square().sum(1);

        var atReal = GradientPenalty.GradientNorms(Critic, real, fake, torch.ones(2, 1, dtype: ScalarType.Float64));
        var atFake = GradientPenalty.GradientNorms(Critic, real, fake, torch.zeros(2, 1, dtype: ScalarType.Float64));
        var mixed = GradientPenalty.GradientNorms(Critic, real, fake, torch.tensor(new[] { 1.0, 0.0 }).reshape(2, 1));

        Assert.Equal(new[] { 6.0, 8.0 }, atReal.data<double>().ToArray());
        Assert.Equal(new[] { 2.0, 1.0 }, atFake.data<double>().ToArray());
        Assert.Equal(new[] { 6.0, 1.0 }, mixed.data<double>().ToArray());
    }

    [Fact]
    public void ParameterGradientMatchesFiniteDifferencesOfThePenalty()
    {
        using var g = new Generator(3);
        var critic = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 1));
        critic.to(ScalarType.Float64);
        foreach (var p in critic.parameters()) SeededInit.Normal(p, 0, 0.8, g);
        using var scope = torch.NewDisposeScope();
        var real = torch.randn([3, 4], dtype: ScalarType.Float64, generator: g);
        var fake = torch.randn([3, 4], dtype: ScalarType.Float64, generator: g).requires_grad_(true);
        var eps = torch.rand([3, 1], dtype: ScalarType.Float64, generator: g);

        double Penalty()
        {
            using var s = torch.NewDisposeScope();
            return GradientPenalty.Compute(critic.forward, real, fake, eps).item<double>();
        }

        var penalty = GradientPenalty.Compute(critic.forward, real, fake, eps);
        Assert.True(penalty.item<double>() > 1e-3, "the test critic should be far from 1-Lipschitz");
        penalty.backward();
        Assert.Null(fake.grad);

        const double h = 1e-5;
        var checkedCount = 0;
        foreach (var (name, parameter) in critic.named_parameters())
        {
            using var grad = parameter.grad;
            // ∇ₓD does not depend on the output bias, so it is not in the penalty's graph: its gradient is 0.
            Assert.True(grad is not null || name == "2.bias", $"{name} got no gradient from the penalty");
            var analytic = grad?.reshape(-1) ?? torch.zeros_like(parameter).reshape(-1);
            var flat = parameter.detach().view(-1);
            for (var i = 0; i < flat.numel(); i++)
            {
                using (torch.no_grad()) flat[i].add_(h);
                var plus = Penalty();
                using (torch.no_grad()) flat[i].sub_(2 * h);
                var minus = Penalty();
                using (torch.no_grad()) flat[i].add_(h);
                var numeric = (plus - minus) / (2 * h);
                var a = analytic[i].item<double>();
                Assert.True(Math.Abs(numeric - a) <= 1e-6 * Math.Abs(a) + 1e-9, $"∂GP/∂{name}[{i}]: autograd {a}, finite differences {numeric}");
                checkedCount++;
            }
        }
        Assert.Equal(4 * 5 + 5 + 5 + 1, checkedCount);
    }

    [Fact]
    public void RepeatedPenaltiesLeaveNoLiveTensors()
    {
        using var g = new Generator(4);
        var critic = nn.Sequential(nn.Linear(6, 4), nn.Tanh(), nn.Linear(4, 1));
        var real = torch.randn([8, 6], generator: g);
        var fake = torch.randn([8, 6], generator: g);
        void Step()
        {
            using var scope = torch.NewDisposeScope();
            var eps = torch.rand([8, 1], generator: g);
            GradientPenalty.Compute(critic.forward, real, fake, eps).backward();
            GradientPenalty.GradientNorms(critic.forward, real, fake, eps).detach().mean().item<float>();
        }

        for (var i = 0; i < 3; i++) Step();
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (var i = 0; i < 30; i++) Step();
        var after = DisposeScopeManager.Statistics.ThreadTotalLiveCount;

        Assert.True(before > 0, "the statistics should see the critic's tensors created on this thread");
        Assert.True(after == before, $"live tensors grew from {before} to {after} over 30 penalties");
    }
}
