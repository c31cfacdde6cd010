namespace GenCluster.Trainer.Recipes.Gan;

/// <summary>
/// BigGAN's layout for a data shape (Brock et al. 2018, appendix B; the reference's <c>G_arch</c>/<c>D_arch</c>): the
/// side of G's first feature map, the channels in and out of each G up-block and each D down-block, and the side each
/// block outputs. Channels are multiples of the base width <c>ch</c>: 4, 2, 1 from the lowest resolution up in G and
/// the mirror image in D (the reference's 32×32 model keeps 4·ch throughout; narrowing the full-resolution blocks is
/// what makes a step affordable on CPUs).
/// </summary>
/// <param name="BottomWidth">Side of G's first feature map (the reference's <c>bottom_width</c>).</param>
/// <param name="GBlocks">G's up-blocks: input channels, output channels, output side.</param>
/// <param name="DBlocks">D's blocks: input channels, output channels, whether it downsamples, output side.</param>
public sealed record BigGanArchitecture(
    int BottomWidth,
    IReadOnlyList<(int In, int Out, int Side)> GBlocks,
    IReadOnlyList<(int In, int Out, bool Downsample, int Side)> DBlocks)
{
    /// <summary>Channels of G's first feature map.</summary>
    public int GInput => GBlocks[0].In;

    /// <summary>Channels of D's pooled features (the projection head's input).</summary>
    public int DFeatures => DBlocks[^1].Out;

    /// <summary>z chunks with hierarchical latents: one for the input layer, one per G block.</summary>
    public int LatentChunks => GBlocks.Count + 1;

    /// <summary>
    /// The index of the first block whose output side is <paramref name="resolution"/> (self-attention follows it), or
    /// −1 for 0 (no attention).
    /// </summary>
    /// <exception cref="ArgumentException">No block of <paramref name="network"/> outputs that side; the message lists those that do.</exception>
    public static int AttentionAfter(IReadOnlyList<int> sides, int resolution, string network)
    {
        if (resolution <= 0) return -1;
        for (var i = 0; i < sides.Count; i++)
            if (sides[i] == resolution) return i;
        throw new ArgumentException(
            $"model.attentionResolution {resolution} is not a side of {network}'s blocks ({string.Join(", ", sides.Distinct())})", nameof(resolution));
    }

    /// <summary>The layout for square <paramref name="side"/>×<paramref name="side"/> images of <paramref name="imageChannels"/> channels.</summary>
    /// <param name="side">28 (MNIST) or 32 (CIFAR-10, image folders).</param>
    /// <param name="imageChannels">1 or 3.</param>
    /// <param name="ch">Base width.</param>
    /// <param name="dBlocksAtBottom">D's blocks at its lowest resolution (at least 1; the first widens to 4·ch).</param>
    /// <exception cref="ArgumentException">A side BigGAN has no layout for.</exception>
    public static BigGanArchitecture For(int side, int imageChannels, int ch, int dBlocksAtBottom = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(ch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(dBlocksAtBottom, 1);
        var (bottom, g, d) = side switch
        {
            28 => (7,
                new List<(int, int, int)> { (4 * ch, 2 * ch, 14), (2 * ch, ch, 28) },
                new List<(int, int, bool, int)> { (imageChannels, ch, true, 14), (ch, 2 * ch, true, 7) }),
            32 => (4,
                new List<(int, int, int)> { (4 * ch, 4 * ch, 8), (4 * ch, 2 * ch, 16), (2 * ch, ch, 32) },
                new List<(int, int, bool, int)> { (imageChannels, ch, true, 16), (ch, 2 * ch, true, 8), (2 * ch, 4 * ch, true, 4) }),
            _ => throw new ArgumentException($"model kind 'biggan' has layouts for 28×28 and 32×32 images; the data set's are {side}×{side}", nameof(side)),
        };
        var last = d[^1].Item2;
        var bottomSide = d[^1].Item4;
        for (var i = 0; i < dBlocksAtBottom; i++)
        {
            d.Add((last, 4 * ch, false, bottomSide));
            last = 4 * ch;
        }
        return new BigGanArchitecture(bottom, g, d);
    }
}
