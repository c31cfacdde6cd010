using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenCluster.Trainer.Layers;

/// <summary>
/// A gated PixelCNN (van den Oord et al. 2016) over maps of discrete codes: an embedding of the codes, a type-A
/// <see cref="GatedMaskedConv2d"/> followed by type-B ones, and a 1×1 head to logits over the codes. Autoregressive
/// in raster order: the logits at (r, c) depend only on the codes before it (rows above, and left in the same row) and
/// on an optional spatial condition (VQ-VAE-2's bottom prior is conditioned on the top codes).
/// </summary>
public sealed class GatedPixelCnn : nn.Module
{
    private readonly Embedding embed;
    private readonly ModuleList<GatedMaskedConv2d> layers;
    private readonly Conv2d head1;
    private readonly Conv2d head2;

    /// <summary>A prior over <paramref name="codes"/> codes with <paramref name="layerCount"/> gated layers of <paramref name="channels"/> channels.</summary>
    public GatedPixelCnn(string name, int codes, int channels, int layerCount, int kernel, int conditionChannels = 0) : base(name)
    {
        if (layerCount < 1) throw new ArgumentOutOfRangeException(nameof(layerCount), layerCount, "a PixelCNN needs at least one layer");
        Codes = codes;
        embed = Embedding(codes, channels);
        layers = new ModuleList<GatedMaskedConv2d>();
        for (var i = 0; i < layerCount; i++) layers.Add(new GatedMaskedConv2d($"layer{i}", channels, kernel, i == 0, conditionChannels));
        head1 = Conv2d(channels, channels, 1);
        head2 = Conv2d(channels, codes, 1);
        RegisterComponents();
    }

    /// <summary>Codes per position (K).</summary>
    public int Codes { get; }

    /// <summary>Logits [N, K, H, W] of codes [N, H, W] (int64) given <paramref name="condition"/> [N, Cc, H, W] or null.</summary>
    public Tensor Forward(Tensor codes, Tensor? condition = null)
    {
        var x = Embed(codes);
        var (v, h) = (x, x);
        foreach (var layer in layers) (v, h) = layer.Forward(v, h, condition);
        return Head(h);
    }

    /// <summary>
    /// Negative log-likelihood of <paramref name="codes"/> in nats per code (mean), the training loss.
    /// </summary>
    public Tensor NegativeLogLikelihood(Tensor codes, Tensor? condition = null) =>
        functional.cross_entropy(Forward(codes, condition), codes);

    /// <summary>
    /// Draws <paramref name="count"/> maps of <paramref name="height"/>×<paramref name="width"/> codes in raster order
    /// at <paramref name="temperature"/>, from <paramref name="generator"/>. Per row it computes the vertical stacks once
    /// (they see only the rows above) and then only the horizontal stacks of that row for each position — the same
    /// logits as <see cref="Forward"/> at a fraction of the cost.
    /// </summary>
    public Tensor Sample(int count, int height, int width, Tensor? condition, double temperature, Generator generator)
    {
        using var noGrad = torch.no_grad();
        var device = embed.weight!.device;
        var codes = torch.zeros([count, height, width], ScalarType.Int64, device: device);
        var conditions = layers.Select(l => l.Conditions(condition)).ToList();
        for (var r = 0; r < height; r++)
        {
            using var rowScope = torch.NewDisposeScope();
            // Vertical stacks over rows 0..r: their row r depends only on rows above it, all sampled.
            var v = Embed(codes.narrow(1, 0, r + 1));
            var links = new Tensor[layers.Count];
            var horizontalConditions = new Tensor?[layers.Count];
            for (var i = 0; i < layers.Count; i++)
            {
                var pre = layers[i].VerticalPreactivation(v);
                var (cv, ch) = conditions[i];
                v = GatedMaskedConv2d.VerticalOutput(pre, cv?.narrow(2, 0, r + 1));
                links[i] = layers[i].VerticalToHorizontal(pre.narrow(2, r, 1));
                horizontalConditions[i] = ch?.narrow(2, r, 1);
            }
            for (var c = 0; c < width; c++)
            {
                using var scope = torch.NewDisposeScope();
                var h = Embed(codes.narrow(1, r, 1));
                for (var i = 0; i < layers.Count; i++) h = layers[i].Horizontal(h, links[i], horizontalConditions[i]);
                var logits = Head(h.narrow(3, c, 1)).reshape(count, Codes);
                var probabilities = functional.softmax(logits.div(temperature), 1);
                var drawn = torch.multinomial(probabilities.cpu(), 1, generator: generator).reshape(count).to(device);
                codes[.., r, c] = drawn;
            }
        }
        return codes;
    }

    private Tensor Embed(Tensor codes) => embed.call(codes).permute(0, 3, 1, 2);

    private Tensor Head(Tensor h) => head2.call(functional.relu(head1.call(functional.relu(h))));
}
