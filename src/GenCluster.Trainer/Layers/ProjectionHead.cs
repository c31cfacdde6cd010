using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenCluster.Trainer.Layers;

/// <summary>
/// The projection discriminator's output layer (Miyato &amp; Koyama 2018, "cGANs with Projection Discriminator", eq. 3),
/// as BigGAN's D ends: for pooled features φ [N, F] and labels y, logit = ψ(φ) + ⟨e(y), φ⟩ with ψ a spectrally
/// normalised linear map F → 1 (with bias) and e a spectrally normalised class embedding [classes, F].
/// </summary>
/// <remarks>
/// φ is what the caller gets after the last block's ReLU and global sum pooling (BigGAN: <c>torch.sum(relu(h), [2, 3])</c>).
/// The output is [N], where the reference keeps [N, 1]. Checkpoint keys: <c>linear.*</c>, <c>embed.*</c> (the
/// reference's names).
/// </remarks>
public sealed class ProjectionHead : Module<Tensor, Tensor, Tensor>
{
    private readonly SNLinear linear;
    private readonly SNEmbedding embed;

    /// <summary>Creates the head.</summary>
    /// <param name="features">F, the length of φ.</param>
    /// <param name="classes">Number of classes (rows of the embedding).</param>
    /// <param name="generator">Random source for the weights (and u); null = torch's default generator.</param>
    public ProjectionHead(long features, long classes, Generator? generator = null) : base(nameof(ProjectionHead))
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(features, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 1);
        Features = features;
        Classes = classes;
        linear = new SNLinear(features, 1, generator: generator);
        embed = new SNEmbedding(classes, features, generator: generator);
        RegisterComponents();
    }

    /// <summary>F, the length of φ.</summary>
    public long Features { get; }

    /// <summary>Number of classes.</summary>
    public long Classes { get; }

    /// <summary>ψ, the unconditional linear term.</summary>
    public SNLinear Linear => linear;

    /// <summary>e, the class embedding projected onto φ.</summary>
    public SNEmbedding Embedding => embed;

    /// <summary>Maps φ [N, F] and labels [N] (int64) to logits [N] = ψ(φ) + ⟨e(y), φ⟩.</summary>
    public override Tensor forward(Tensor features, Tensor labels)
    {
        if (features.dim() != 2 || features.shape[1] != Features)
            throw new ArgumentException($"ProjectionHead expects features of shape [N, {Features}]; got [{string.Join(", ", features.shape)}].", nameof(features));
        if (labels.dim() != 1 || labels.shape[0] != features.shape[0])
            throw new ArgumentException($"ProjectionHead expects labels of shape [{features.shape[0]}]; got [{string.Join(", ", labels.shape)}].", nameof(labels));
        using var scope = NewDisposeScope();
        var unconditional = linear.call(features).squeeze(1);
        var projection = embed.call(labels).mul(features).sum(1);
        return scope.MoveToOuter(unconditional.add(projection));
    }
}
