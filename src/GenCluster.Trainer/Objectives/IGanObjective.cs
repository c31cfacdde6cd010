using static TorchSharp.torch;

namespace GenCluster.Trainer.Objectives;

/// <summary>A GAN loss: what D minimises given its logits on real and generated images, and what G minimises.</summary>
/// <remarks>Both return the mean over the batch, so gradient accumulation and data-parallel averaging compose exactly.</remarks>
public interface IGanObjective
{
    /// <summary>Name used in <c>ModelOptions.Objective</c>.</summary>
    string Name { get; }

    /// <summary>Discriminator loss from logits on real [N] and generated [M] images.</summary>
    Tensor DiscriminatorLoss(Tensor realLogits, Tensor fakeLogits);

    /// <summary>Generator loss from the discriminator's logits on generated images.</summary>
    Tensor GeneratorLoss(Tensor fakeLogits);
}

/// <summary>Chooses the objective named by <c>ModelOptions.Objective</c>.</summary>
public static class GanObjectives
{
    /// <summary>The objectives this trainer implements.</summary>
    public static IReadOnlyList<string> Supported { get; } = [NonSaturatingObjective.Key, WassersteinObjective.Key, HingeObjective.Key];

    /// <summary>Returns the objective called <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">Unknown name; the message lists the supported ones.</exception>
    public static IGanObjective Create(string name) => name switch
    {
        NonSaturatingObjective.Key => new NonSaturatingObjective(),
        WassersteinObjective.Key => new WassersteinObjective(),
        HingeObjective.Key => new HingeObjective(),
        _ => throw new ArgumentException(
            $"ModelOptions.Objective '{name}' is not supported by this trainer; expected one of {string.Join(", ", Supported)}", nameof(name)),
    };
}
