using GenCluster.Trainer.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenCluster.Trainer.Recipes.Gan;

/// <summary>
/// BigGAN's generator (Brock et al. 2018, figure 15(a); the reference's <c>Generator</c>): a shared class embedding;
/// z split into chunks (hierarchical latents), the first through a spectrally normalised linear layer to the bottom
/// feature map, each other concatenated with the embedding to condition one <see cref="ResBlockUp"/>'s BatchNorms;
/// optional self-attention; then BatchNorm, ReLU, a 3×3 spectrally normalised convolution and tanh.
/// </summary>
/// <remarks>
/// The input layer and the blocks' convolutions have no biases, unlike the reference's: each feeds a BatchNorm, which
/// removes them, so their gradients vanish and Adam would only walk them on rounding noise.
/// Checkpoint keys: <c>shared.weight</c>, <c>linear.*</c>, <c>blocks.&lt;i&gt;.*</c>, <c>attention.*</c> (when on),
/// <c>output_bn.*</c>, <c>output_conv.*</c>. The shared embedding is a plain embedding, as the reference's
/// (<c>G_shared</c>), and is excluded from orthogonal regularisation (<see cref="OrthogonallyRegularised"/>).
/// </remarks>
public sealed class BigGanGenerator : Module<Tensor, Tensor, Tensor>
{
    private readonly Embedding shared;
    private readonly SNLinear linear;
    private readonly ModuleList<ResBlockUp> blocks;
    private readonly SelfAttention? attention;
    private readonly BatchNorm2d output_bn;
    private readonly SNConv2d output_conv;
    private readonly BigGanArchitecture _architecture;
    private readonly int _attentionAfter;
    private readonly int _chunks;

    /// <summary>Creates G.</summary>
    /// <param name="architecture">Layout for the data shape.</param>
    /// <param name="latentDim">Length of z; with hierarchical latents a multiple of the number of chunks (G blocks + 1).</param>
    /// <param name="sharedDim">Length of the shared class embedding.</param>
    /// <param name="classes">Classes.</param>
    /// <param name="imageChannels">Output channels (1 or 3).</param>
    /// <param name="attentionResolution">Side of the block output followed by self-attention; 0 = none.</param>
    /// <param name="hierarchical">Split z across the blocks (else all of z feeds the input layer).</param>
    /// <param name="generator">Random source of the layers' initial weights and spectral-norm u vectors; null = torch's default.</param>
    public BigGanGenerator(BigGanArchitecture architecture, int latentDim, int sharedDim, int classes, int imageChannels,
        int attentionResolution, bool hierarchical = true, torch.Generator? generator = null) : base(nameof(BigGanGenerator))
    {
        _architecture = architecture;
        _chunks = hierarchical ? architecture.LatentChunks : 1;
        if (latentDim % _chunks != 0)
            throw new ArgumentException(
                $"model.latentDim {latentDim} must be a multiple of {_chunks} (one z chunk per G block plus one for the input layer)", nameof(latentDim));
        LatentDim = latentDim;
        var chunk = latentDim / _chunks;
        var conditionDim = sharedDim + (hierarchical ? chunk : 0);
        shared = Embedding(classes, sharedDim);
        // No biases before a BatchNorm (the input layer and every block feed one): their gradients vanish.
        linear = new SNLinear(chunk, (long)architecture.GInput * architecture.BottomWidth * architecture.BottomWidth, hasBias: false, generator: generator);
        blocks = new ModuleList<ResBlockUp>([.. architecture.GBlocks.Select(b => new ResBlockUp(b.In, b.Out, conditionDim, generator, bias: false))]);
        _attentionAfter = BigGanArchitecture.AttentionAfter([.. architecture.GBlocks.Select(b => b.Side)], attentionResolution, "G");
        if (_attentionAfter >= 0) attention = new SelfAttention(architecture.GBlocks[_attentionAfter].Out, generator: generator);
        var last = architecture.GBlocks[^1].Out;
        output_bn = BatchNorm2d(last);
        output_conv = new SNConv2d(last, imageChannels, kernelSize: 3, padding: 1, generator: generator);
        RegisterComponents();
    }

    /// <summary>Length of z.</summary>
    public int LatentDim { get; }

    /// <summary>The parameters orthogonal regularisation applies to: all but the shared class embedding (the reference's blacklist).</summary>
    public IReadOnlyList<Parameter> OrthogonallyRegularised() =>
        [.. named_parameters().Where(p => !p.name.StartsWith("shared.", StringComparison.Ordinal)).Select(p => p.parameter)];

    /// <summary>Maps z [N, LatentDim] and labels [N] (int64) to images [N, C, H, W] in [−1, 1].</summary>
    public override Tensor forward(Tensor z, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var chunks = _chunks > 1 ? HierarchicalLatents.Split(z, _chunks) : [z];
        var embedding = shared.call(labels);
        var side = _architecture.BottomWidth;
        var h = linear.call(chunks[0]).view(z.shape[0], _architecture.GInput, side, side);
        for (var i = 0; i < blocks.Count; i++)
        {
            var condition = _chunks > 1 ? HierarchicalLatents.Condition(embedding, chunks[i + 1]) : embedding;
            h = blocks[i].call(h, condition);
            if (i == _attentionAfter) h = attention!.call(h);
        }
        h = functional.relu(CrossReplicaBatchNorm.Forward(output_bn, h));
        return scope.MoveToOuter(torch.tanh(output_conv.call(h)));
    }
}
