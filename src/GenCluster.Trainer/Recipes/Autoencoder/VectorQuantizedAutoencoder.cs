using GenCluster.Contracts.Models;
using GenCluster.Trainer.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Recipes.Autoencoder;

/// <summary>One level's encoder output before quantisation and its quantisation.</summary>
/// <param name="Name">Level name (<c>top</c>, <c>bottom</c>, or <c>codes</c> for single-level VQ-VAE).</param>
/// <param name="Encoded">z_e [N, D, h, w].</param>
/// <param name="Quantized">Codes, straight-through output and commitment loss.</param>
public sealed record QuantizedLevel(string Name, Tensor Encoded, QuantizedOutput Quantized);

/// <summary>A forward pass: the levels (top first) and the reconstruction in image space.</summary>
public sealed record AutoencoderPass(IReadOnlyList<QuantizedLevel> Levels, Tensor Reconstruction);

/// <summary>VQ-VAE (one level) and VQ-VAE-2 (top and bottom) behind one surface for the recipe.</summary>
public abstract class VectorQuantizedAutoencoder : nn.Module
{
    /// <summary>Names the module.</summary>
    protected VectorQuantizedAutoencoder(string name) : base(name)
    {
    }

    /// <summary>Quantisers, top level first, with their level names.</summary>
    public abstract IReadOnlyList<(string Level, VectorQuantizer Quantizer)> Quantizers { get; }

    /// <summary>Code map size (h, w) of each level, top first.</summary>
    public abstract IReadOnlyList<(int Height, int Width)> CodeShapes { get; }

    /// <summary>Encodes and quantises images [N, C, H, W] in [−1, 1]: every level, top first, without decoding.</summary>
    public abstract IReadOnlyList<QuantizedLevel> Encode(Tensor images);

    /// <summary>The decoder on the levels' straight-through outputs.</summary>
    protected abstract Tensor DecodeLevels(IReadOnlyList<QuantizedLevel> levels);

    /// <summary>Encodes, quantises and decodes images [N, C, H, W] in [−1, 1].</summary>
    public AutoencoderPass Forward(Tensor images)
    {
        var levels = Encode(images);
        return new AutoencoderPass(levels, DecodeLevels(levels));
    }

    /// <summary>Decodes code maps (top first) to images.</summary>
    public abstract Tensor Decode(IReadOnlyList<Tensor> codes);

    /// <summary>Builds the network of <paramref name="options"/> for images of <paramref name="channels"/>×<paramref name="height"/>×<paramref name="width"/>.</summary>
    public static VectorQuantizedAutoencoder For(VectorQuantizedOptions options, int channels, int height, int width, long seed)
    {
        if (height != width || height % 4 != 0)
            throw new ArgumentException($"model.kind {options.Kind}: images must be square with a side divisible by 4 (28×28 or 32×32), got {height}×{width}");
        torch.manual_seed(seed);
        using var generator = new Generator((ulong)seed);
        return options switch
        {
            VqVae2Options two => new VqVae2Network(two, channels, height, generator),
            _ => new VqVaeNetwork(options, channels, height, generator),
        };
    }
}

/// <summary>VQ-VAE (van den Oord et al. 2017): encoder down by 4 (28 → 7, 32 → 8), 1×1 to the code dimension, one quantiser, decoder up by 4.</summary>
public sealed class VqVaeNetwork : VectorQuantizedAutoencoder
{
    private readonly ConvEncoder encoder;
    private readonly TorchSharp.Modules.Conv2d quantize_conv;
    private readonly VectorQuantizer quantize;
    private readonly ConvDecoder decoder;
    private readonly int _side;

    /// <summary>Builds it.</summary>
    public VqVaeNetwork(VectorQuantizedOptions o, int channels, int size, Generator generator) : base("vqvae")
    {
        encoder = new ConvEncoder("encoder", channels, o.Width, o.ResidualBlocks, o.ResidualWidth, 4);
        quantize_conv = nn.Conv2d(o.Width, o.CodeDim, 1);
        quantize = new VectorQuantizer("quantize", o.CodebookSize, o.CodeDim, o.CodebookDecay, o.CodebookEpsilon, o.DeadCodeThreshold, generator);
        decoder = new ConvDecoder("decoder", o.CodeDim, channels, o.Width, o.ResidualBlocks, o.ResidualWidth, 4);
        _side = size / 4;
        RegisterComponents();
    }

    /// <inheritdoc />
    public override IReadOnlyList<(string Level, VectorQuantizer Quantizer)> Quantizers => [("codes", quantize)];

    /// <inheritdoc />
    public override IReadOnlyList<(int Height, int Width)> CodeShapes => [(_side, _side)];

    /// <inheritdoc />
    public override IReadOnlyList<QuantizedLevel> Encode(Tensor images)
    {
        var z = quantize_conv.call(encoder.call(images));
        return [new QuantizedLevel("codes", z, quantize.Quantize(z))];
    }

    /// <inheritdoc />
    protected override Tensor DecodeLevels(IReadOnlyList<QuantizedLevel> levels) => decoder.call(levels[0].Quantized.StraightThrough);

    /// <inheritdoc />
    public override Tensor Decode(IReadOnlyList<Tensor> codes) => decoder.call(quantize.Lookup(codes[0]));
}

/// <summary>
/// VQ-VAE-2 (Razavi et al. 2019), as its reference builds it: the bottom encoder (down by 2 for 28×28 → 14×14, by 4 for
/// 32×32 → 8×8), the top encoder (down by 2 more), the top quantised; the top decoded back to the bottom's resolution
/// and concatenated with the bottom encoder's features before the bottom is quantised; one decoder from the upsampled
/// top codes and the bottom codes.
/// </summary>
public sealed class VqVae2Network : VectorQuantizedAutoencoder
{
    private readonly ConvEncoder encoder_bottom;
    private readonly ConvEncoder encoder_top;
    private readonly TorchSharp.Modules.Conv2d quantize_conv_top;
    private readonly VectorQuantizer quantize_top;
    private readonly ConvDecoder decoder_top;
    private readonly TorchSharp.Modules.Conv2d quantize_conv_bottom;
    private readonly VectorQuantizer quantize_bottom;
    private readonly TorchSharp.Modules.ConvTranspose2d upsample_top;
    private readonly ConvDecoder decoder;
    private readonly int _bottomSide;

    /// <summary>Builds it.</summary>
    public VqVae2Network(VectorQuantizedOptions o, int channels, int size, Generator generator) : base("vqvae2")
    {
        var bottomStride = size == 28 ? 2 : 4;
        _bottomSide = size / bottomStride;
        if (_bottomSide % 2 != 0) throw new ArgumentException($"model.kind vqvae2: the bottom code map {_bottomSide}×{_bottomSide} of {size}×{size} images does not halve into a top map");
        encoder_bottom = new ConvEncoder("encoder_bottom", channels, o.Width, o.ResidualBlocks, o.ResidualWidth, bottomStride);
        encoder_top = new ConvEncoder("encoder_top", o.Width, o.Width, o.ResidualBlocks, o.ResidualWidth, 2);
        quantize_conv_top = nn.Conv2d(o.Width, o.CodeDim, 1);
        quantize_top = new VectorQuantizer("quantize_top", o.CodebookSize, o.CodeDim, o.CodebookDecay, o.CodebookEpsilon, o.DeadCodeThreshold, generator);
        decoder_top = new ConvDecoder("decoder_top", o.CodeDim, o.CodeDim, o.Width, o.ResidualBlocks, o.ResidualWidth, 2);
        quantize_conv_bottom = nn.Conv2d(o.CodeDim + o.Width, o.CodeDim, 1);
        quantize_bottom = new VectorQuantizer("quantize_bottom", o.CodebookSize, o.CodeDim, o.CodebookDecay, o.CodebookEpsilon, o.DeadCodeThreshold, generator);
        upsample_top = nn.ConvTranspose2d(o.CodeDim, o.CodeDim, 4, stride: 2, padding: 1);
        decoder = new ConvDecoder("decoder", 2 * o.CodeDim, channels, o.Width, o.ResidualBlocks, o.ResidualWidth, bottomStride);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override IReadOnlyList<(string Level, VectorQuantizer Quantizer)> Quantizers => [("top", quantize_top), ("bottom", quantize_bottom)];

    /// <inheritdoc />
    public override IReadOnlyList<(int Height, int Width)> CodeShapes => [(_bottomSide / 2, _bottomSide / 2), (_bottomSide, _bottomSide)];

    /// <inheritdoc />
    public override IReadOnlyList<QuantizedLevel> Encode(Tensor images)
    {
        var bottomFeatures = encoder_bottom.call(images);
        var zTop = quantize_conv_top.call(encoder_top.call(bottomFeatures));
        var top = quantize_top.Quantize(zTop);
        var decodedTop = decoder_top.call(top.StraightThrough);
        var zBottom = quantize_conv_bottom.call(torch.cat([decodedTop, bottomFeatures], 1));
        return [new QuantizedLevel("top", zTop, top), new QuantizedLevel("bottom", zBottom, quantize_bottom.Quantize(zBottom))];
    }

    /// <inheritdoc />
    protected override Tensor DecodeLevels(IReadOnlyList<QuantizedLevel> levels) =>
        DecodeQuantized(levels[0].Quantized.StraightThrough, levels[1].Quantized.StraightThrough);

    /// <inheritdoc />
    public override Tensor Decode(IReadOnlyList<Tensor> codes) =>
        DecodeQuantized(quantize_top.Lookup(codes[0]), quantize_bottom.Lookup(codes[1]));

    private Tensor DecodeQuantized(Tensor top, Tensor bottom) =>
        decoder.call(torch.cat([upsample_top.call(top), bottom], 1));
}
