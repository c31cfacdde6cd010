using GenCluster.Trainer.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Tests.Layers;

public class ProjectionHeadTests
{
    private const long Features = 6;
    private const long Classes = 4;

    public ProjectionHeadTests() => torch.set_num_threads(1);

    private static Tensor Randn(long[] shape, Generator g) => torch.randn(shape, dtype: ScalarType.Float64, generator: g);

    /// <summary>ψ(φ) written independently: a 1-row weight's largest singular value is its Euclidean norm.</summary>
    private static Tensor LinearTerm(ProjectionHead head, Tensor phi)
    {
        var w = head.Linear.Weight.detach();
        return phi.matmul(w.div(torch.linalg.vector_norm(w)).t()).squeeze(1).add(head.Linear.Bias!.detach());
    }

    /// <summary>A head in float64 whose embedding has singular values 3, 1.5, 0.9, 0.5, so σ₁ = 3 and power iteration converges fast.</summary>
    private static ProjectionHead KnownSpectrumHead(Generator g)
    {
        var head = new ProjectionHead(Features, Classes, generator: g);
        head.to(ScalarType.Float64);
        using var scope = torch.NewDisposeScope();
        var (q1, _) = torch.linalg.qr(Randn([Classes, Classes], g));
        var (q2, _) = torch.linalg.qr(Randn([Features, Classes], g));
        var s = torch.tensor(new[] { 3.0, 1.5, 0.9, 0.5 }, dtype: ScalarType.Float64);
        using (torch.no_grad()) head.Embedding.Weight.copy_(q1.mul(s).matmul(q2.t()));
        return head;
    }

    private static void ConvergePowerIteration(ProjectionHead head, Generator g)
    {
        using var scope = torch.NewDisposeScope();
        var phi = Randn([2, Features], g);
        var labels = torch.tensor(new long[] { 0, 1 });
        for (var i = 0; i < 60; i++) head.forward(phi, labels);
        head.eval();
    }

    [Fact]
    public void ClassTermIsTheInnerProductOfTheNormalisedEmbeddingRowAndPhi()
    {
        using var g = new Generator(1);
        using var head = KnownSpectrumHead(g);
        ConvergePowerIteration(head, g);
        using var scope = torch.NewDisposeScope();
        var phi = Randn([5, Features], g);
        var labels = torch.tensor(new long[] { 3, 0, 1, 3, 2 });

        var logits = head.forward(phi, labels);

        var w = head.Embedding.Weight.detach();
        var sigma = torch.linalg.svdvals(w)[0];
        Assert.Equal(3.0, sigma.item<double>(), 1e-12);
        var expectedClassTerm = new double[5];
        var labelValues = labels.data<long>().ToArray();
        for (var i = 0; i < 5; i++)
            expectedClassTerm[i] = w[labelValues[i]].div(sigma).dot(phi[i]).item<double>();
        var classTerm = logits.sub(LinearTerm(head, phi));
        Assert.Equal([5L], logits.shape);
        for (var i = 0; i < 5; i++) Assert.Equal(expectedClassTerm[i], classTerm[i].item<double>(), 1e-10);
    }

    [Fact]
    public void AZeroEmbeddingRowLeavesOnlyTheLinearTerm()
    {
        using var g = new Generator(2);
        using var head = KnownSpectrumHead(g);
        using (torch.no_grad()) head.Embedding.Weight[2].zero_();
        ConvergePowerIteration(head, g);
        using var scope = torch.NewDisposeScope();
        var phi = Randn([3, Features], g);

        var logits = head.forward(phi, torch.tensor(new long[] { 2, 2, 0 }));

        var linear = LinearTerm(head, phi);
        Assert.True(logits[..2].allclose(linear[..2], rtol: 1e-12, atol: 1e-12));
        Assert.True(Math.Abs(logits[2].item<double>() - linear[2].item<double>()) > 1e-3, "a non-zero row must contribute");
    }

    [Fact]
    public void DifferentLabelsOnTheSameFeaturesGiveDifferentLogits()
    {
        using var g = new Generator(3);
        using var head = new ProjectionHead(Features, Classes, generator: g);
        using var scope = torch.NewDisposeScope();
        var phi = torch.randn([1, Features], generator: g).expand(Classes, Features);

        var logits = head.forward(phi, torch.arange(Classes, dtype: ScalarType.Int64)).data<float>().ToArray();

        Assert.Equal(Classes, logits.Distinct().Count());
    }

    [Fact]
    public void CheckpointKeysAreTheReferences()
    {
        using var head = new ProjectionHead(Features, Classes);
        Assert.Equal(["embed.u", "embed.weight", "linear.bias", "linear.u", "linear.weight"], head.state_dict().Keys.Order(StringComparer.Ordinal));
    }
}
