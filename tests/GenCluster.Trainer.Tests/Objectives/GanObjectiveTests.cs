using GenCluster.Trainer.Objectives;
using TorchSharp;

namespace GenCluster.Trainer.Tests.Objectives;

public class GanObjectiveTests
{
    private static double D(IGanObjective o, float[] real, float[] fake)
    {
        using var r = torch.tensor(real);
        using var f = torch.tensor(fake);
        using var loss = o.DiscriminatorLoss(new CriticBatch(x => x, r, f, r, f, () => torch.zeros(1)));
        return loss.item<float>();
    }

    private static double G(IGanObjective o, float[] fake)
    {
        using var f = torch.tensor(fake);
        using var loss = o.GeneratorLoss(f);
        return loss.item<float>();
    }

    private static double Softplus(double x) => Math.Log(1 + Math.Exp(x));

    [Fact]
    public void NonSaturatingMatchesClosedForm()
    {
        var o = GanObjectives.Create("non-saturating");
        Assert.Equal(2 * Math.Log(2), D(o, [0f], [0f]), 5);
        var expectedD = (Softplus(-2) + Softplus(1)) / 2 + (Softplus(0.5) + Softplus(-3)) / 2;
        Assert.Equal(expectedD, D(o, [2f, -1f], [0.5f, -3f]), 5);
        Assert.Equal((Softplus(-0.5) + Softplus(3)) / 2, G(o, [0.5f, -3f]), 5);
    }

    [Fact]
    public void WassersteinMatchesClosedForm()
    {
        var o = GanObjectives.Create("wasserstein");
        Assert.Equal(-1.0 - 2.0, D(o, [1f, 3f], [-2f, 0f]), 5);
        Assert.Equal(1.0, G(o, [-2f, 0f]), 5);
    }

    [Fact]
    public void HingeMatchesClosedForm()
    {
        var o = GanObjectives.Create("hinge");
        // real: max(0, 1-2)=0, max(0, 1-0.5)=0.5 -> 0.25; fake: max(0, 1-3)=0, max(0, 1+0.5)=1.5 -> 0.75
        Assert.Equal(1.0, D(o, [2f, 0.5f], [-3f, 0.5f]), 5);
        Assert.Equal(1.25, G(o, [-3f, 0.5f]), 5);
    }

    [Fact]
    public void UnknownObjectiveNamesTheField()
    {
        var ex = Assert.Throws<ArgumentException>(() => GanObjectives.Create("wgan-gp"));
        Assert.Contains("model.objective 'wgan-gp'", ex.Message);
        Assert.Contains("hinge", ex.Message);
    }

    [Fact]
    public void OneSidedLabelSmoothingTargetsOneMinusSForRealImagesOnly()
    {
        var o = new NonSaturatingObjective(labelSmoothing: 0.1);
        // real term: BCE with target 0.9 = 0.9·softplus(−x) + 0.1·softplus(x); fake term unchanged.
        var expected = 0.9 * Softplus(-2) + 0.1 * Softplus(2) + Softplus(0.5);
        Assert.Equal(expected, D(o, [2f], [0.5f]), 4);
        Assert.Equal(Softplus(-0.5), G(o, [0.5f]), 5);
    }

    [Fact]
    public void EachKindGetsItsObjective()
    {
        Assert.IsType<NonSaturatingObjective>(GanObjectives.For(new GenCluster.Contracts.Models.DcganOptions()));
        Assert.IsType<HingeObjective>(GanObjectives.For(new GenCluster.Contracts.Models.SnganOptions()));
        Assert.IsType<WassersteinObjective>(GanObjectives.For(new GenCluster.Contracts.Models.WganOptions()));
        var gp = Assert.IsType<GradientPenaltyObjective>(GanObjectives.For(new GenCluster.Contracts.Models.WganGpOptions()));
        Assert.Equal(10, gp.Lambda);
    }
}
