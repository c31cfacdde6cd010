using GenCluster.Trainer.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenCluster.Trainer.Recipes.Gan;

/// <summary>
/// BigGAN's discriminator (Brock et al. 2018, figure 15(a); the reference's <c>Discriminator</c>): residual
/// <see cref="ResBlockDown"/> blocks (the first without pre-activation), optional self-attention, ReLU, global sum
/// pooling and the projection head (Miyato &amp; Koyama 2018): logit = ψ(φ) + ⟨embed(y), φ⟩. Spectral norm everywhere,
/// no normalisation layers.
/// </summary>
/// <remarks>Checkpoint keys: <c>blocks.&lt;i&gt;.*</c>, <c>attention.*</c> (when on), <c>head.*</c>.</remarks>
public sealed class BigGanDiscriminator : Module<Tensor, Tensor, Tensor>
{
    private readonly ModuleList<ResBlockDown> blocks;
    private readonly SelfAttention? attention;
    private readonly ProjectionHead head;
    private readonly int _attentionAfter;

    /// <summary>Creates D.</summary>
    /// <param name="architecture">Layout for the data shape.</param>
    /// <param name="classes">Classes (rows of the projection embedding).</param>
    /// <param name="attentionResolution">Side of the block output followed by self-attention; 0 = none.</param>
    /// <param name="generator">Random source of the layers' initial weights and spectral-norm u vectors; null = torch's default.</param>
    public BigGanDiscriminator(BigGanArchitecture architecture, int classes, int attentionResolution, torch.Generator? generator = null)
        : base(nameof(BigGanDiscriminator))
    {
        blocks = new ModuleList<ResBlockDown>([.. architecture.DBlocks.Select((b, i) =>
            new ResBlockDown(b.In, b.Out, preactivation: i > 0, downsample: b.Downsample, generator: generator))]);
        // The first block with that output side: attention sits before the lowest-resolution blocks.
        _attentionAfter = BigGanArchitecture.AttentionAfter([.. architecture.DBlocks.Select(b => b.Side)], attentionResolution, "D");
        if (_attentionAfter >= 0) attention = new SelfAttention(architecture.DBlocks[_attentionAfter].Out, generator: generator);
        head = new ProjectionHead(architecture.DFeatures, classes, generator);
        RegisterComponents();
    }

    /// <summary>Maps images [N, C, H, W] and labels [N] (int64) to logits [N].</summary>
    public override Tensor forward(Tensor images, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var h = images;
        for (var i = 0; i < blocks.Count; i++)
        {
            h = blocks[i].call(h);
            if (i == _attentionAfter) h = attention!.call(h);
        }
        var features = functional.relu(h).sum([2, 3]);
        return scope.MoveToOuter(head.call(features, labels));
    }
}
