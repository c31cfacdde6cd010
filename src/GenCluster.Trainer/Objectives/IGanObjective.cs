using GenCluster.Contracts.Models;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Objectives;

/// <summary>What a discriminator loss may look at: the critic itself, the real and generated images and D's logits on them.</summary>
/// <param name="Critic">D with this batch's labels bound: images → logits [N] (a gradient penalty calls it on interpolates).</param>
/// <param name="Real">Real images.</param>
/// <param name="Fake">Generated images (detached from G).</param>
/// <param name="RealLogits">D(real).</param>
/// <param name="FakeLogits">D(fake).</param>
/// <param name="Epsilon">Draws per-image U(0, 1) values [N] (interpolation weights), the same whatever the world size.</param>
public sealed record CriticBatch(Func<Tensor, Tensor> Critic, Tensor Real, Tensor Fake, Tensor RealLogits, Tensor FakeLogits, Func<Tensor> Epsilon);

/// <summary>A GAN loss: what D minimises given a <see cref="CriticBatch"/>, and what G minimises given D's logits on its images.</summary>
/// <remarks>Both return the mean over the batch, so gradient accumulation and data-parallel averaging compose exactly.</remarks>
public interface IGanObjective
{
    /// <summary>Name used in <c>GanOptions.Objective</c>.</summary>
    string Name { get; }

    /// <summary>Discriminator loss; extra terms (a gradient penalty) are reported by name through <paramref name="report"/>.</summary>
    Tensor DiscriminatorLoss(CriticBatch batch, Action<string, Tensor>? report = null);

    /// <summary>Generator loss from the discriminator's logits on generated images.</summary>
    Tensor GeneratorLoss(Tensor fakeLogits);
}

/// <summary>Chooses the objective a kind's options name.</summary>
public static class GanObjectives
{
    /// <summary>The objectives this trainer implements (the catalogue says which a kind allows).</summary>
    public static IReadOnlyList<string> Supported => GanOptions.AllObjectives;

    /// <summary>Returns the objective of <paramref name="options"/>: its named loss, with one-sided label smoothing or a gradient penalty where the kind asks for them.</summary>
    public static IGanObjective For(GanOptions options) => options switch
    {
        WganGpOptions gp => new GradientPenaltyObjective(new WassersteinObjective(), gp.GradientPenalty),
        _ when options.Objective == NonSaturatingObjective.Key => new NonSaturatingObjective(options.LabelSmoothing),
        _ => Create(options.Objective),
    };

    /// <summary>Returns the objective called <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">Unknown name; the message lists the supported ones.</exception>
    public static IGanObjective Create(string name) => name switch
    {
        NonSaturatingObjective.Key => new NonSaturatingObjective(),
        WassersteinObjective.Key => new WassersteinObjective(),
        HingeObjective.Key => new HingeObjective(),
        _ => throw new ArgumentException(
            $"model.objective '{name}' is not supported by this trainer; expected one of {string.Join(", ", Supported)}", nameof(name)),
    };
}
