using GenCluster.Contracts.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenCluster.Trainer.Recipes.Autoencoder;

/// <summary>
/// The VAE's networks: a convolutional Gaussian encoder (two 4×4 stride-2 convolutions, then linear heads for μ and
/// log σ²) and a decoder (linear, then two 4×4 stride-2 transposed convolutions) whose output is the Bernoulli
/// logits or the Gaussian mean of each pixel.
/// </summary>
public sealed class VaeNetwork : nn.Module
{
    private readonly Sequential encoder;
    private readonly Linear mean;
    private readonly Linear log_variance;
    private readonly Linear decoder_input;
    private readonly Sequential decoder;
    private readonly int _width;
    private readonly int _side;

    /// <summary>For images of <paramref name="channels"/>×<paramref name="size"/>×<paramref name="size"/> (size divisible by 4).</summary>
    public VaeNetwork(VaeOptions o, int channels, int size, long seed) : base("vae")
    {
        if (size % 4 != 0) throw new ArgumentException($"model.kind vae: the image side must be divisible by 4, got {size}");
        torch.manual_seed(seed);
        _width = o.Width;
        _side = size / 4;
        LatentDim = o.LatentDim;
        var flat = 2 * o.Width * _side * _side;
        encoder = Sequential(
            ("conv1", Conv2d(channels, o.Width, 4, stride: 2, padding: 1)), ("relu1", ReLU()),
            ("conv2", Conv2d(o.Width, 2 * o.Width, 4, stride: 2, padding: 1)), ("relu2", ReLU()),
            ("flatten", Flatten()));
        mean = Linear(flat, o.LatentDim);
        log_variance = Linear(flat, o.LatentDim);
        decoder_input = Linear(o.LatentDim, flat);
        decoder = Sequential(
            ("relu0", ReLU()),
            ("up1", ConvTranspose2d(2 * o.Width, o.Width, 4, stride: 2, padding: 1)), ("relu1", ReLU()),
            ("up2", ConvTranspose2d(o.Width, channels, 4, stride: 2, padding: 1)));
        RegisterComponents();
    }

    /// <summary>Size of z.</summary>
    public int LatentDim { get; }

    /// <summary>q(z|x): μ and log σ² [N, J] of images in [−1, 1].</summary>
    public (Tensor Mean, Tensor LogVariance) Encode(Tensor images)
    {
        var h = encoder.call(images);
        return (mean.call(h), log_variance.call(h));
    }

    /// <summary>p(x|z)'s parameter per pixel [N, C, H, W]: Bernoulli logits or the Gaussian mean (in [0, 1] pixel units).</summary>
    public Tensor Decode(Tensor z) =>
        decoder.call(decoder_input.call(z).reshape(-1, 2 * _width, _side, _side));
}
