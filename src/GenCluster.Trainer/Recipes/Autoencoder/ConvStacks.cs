using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenCluster.Trainer.Recipes.Autoencoder;

/// <summary>A residual block of VQ-VAE's encoder and decoder: x + conv1×1(relu(conv3×3(relu(x)))).</summary>
public sealed class ResidualBlock : Module<Tensor, Tensor>
{
    private readonly Conv2d conv1;
    private readonly Conv2d conv2;

    /// <summary>A block on <paramref name="channels"/> channels with <paramref name="hidden"/> hidden ones.</summary>
    public ResidualBlock(string name, int channels, int hidden) : base(name)
    {
        conv1 = Conv2d(channels, hidden, 3, padding: 1);
        conv2 = Conv2d(hidden, channels, 1);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x) => x + conv2.call(functional.relu(conv1.call(functional.relu(x))));
}

/// <summary>
/// The encoder of VQ-VAE and VQ-VAE-2 (as the VQ-VAE-2 reference builds it): strided 4×4 convolutions down by
/// <c>stride</c> (2 or 4), a 3×3 convolution, residual blocks and a final ReLU.
/// </summary>
public sealed class ConvEncoder : Module<Tensor, Tensor>
{
    private readonly Sequential body;

    /// <summary>From <paramref name="input"/> channels to <paramref name="channels"/>, down by <paramref name="stride"/>.</summary>
    public ConvEncoder(string name, int input, int channels, int blocks, int hidden, int stride) : base(name)
    {
        var layers = new List<(string, Module<Tensor, Tensor>)>();
        if (stride == 4)
        {
            layers.Add(("down1", Conv2d(input, channels / 2, 4, stride: 2, padding: 1)));
            layers.Add(("relu1", ReLU()));
            layers.Add(("down2", Conv2d(channels / 2, channels, 4, stride: 2, padding: 1)));
            layers.Add(("relu2", ReLU()));
            layers.Add(("conv", Conv2d(channels, channels, 3, padding: 1)));
        }
        else if (stride == 2)
        {
            layers.Add(("down1", Conv2d(input, channels / 2, 4, stride: 2, padding: 1)));
            layers.Add(("relu1", ReLU()));
            layers.Add(("conv", Conv2d(channels / 2, channels, 3, padding: 1)));
        }
        else
        {
            throw new ArgumentOutOfRangeException(nameof(stride), stride, "the encoder downsamples by 2 or 4");
        }
        for (var i = 0; i < blocks; i++) layers.Add(($"res{i}", new ResidualBlock($"res{i}", channels, hidden)));
        layers.Add(("relu", ReLU()));
        body = Sequential(layers);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x) => body.call(x);
}

/// <summary>The decoder: a 3×3 convolution, residual blocks, a ReLU and 4×4 transposed convolutions up by <c>stride</c> (2 or 4).</summary>
public sealed class ConvDecoder : Module<Tensor, Tensor>
{
    private readonly Sequential body;

    /// <summary>From <paramref name="input"/> channels to <paramref name="output"/>, up by <paramref name="stride"/>.</summary>
    public ConvDecoder(string name, int input, int output, int channels, int blocks, int hidden, int stride) : base(name)
    {
        var layers = new List<(string, Module<Tensor, Tensor>)> { ("conv", Conv2d(input, channels, 3, padding: 1)) };
        for (var i = 0; i < blocks; i++) layers.Add(($"res{i}", new ResidualBlock($"res{i}", channels, hidden)));
        layers.Add(("relu", ReLU()));
        if (stride == 4)
        {
            layers.Add(("up1", ConvTranspose2d(channels, channels / 2, 4, stride: 2, padding: 1)));
            layers.Add(("relu1", ReLU()));
            layers.Add(("up2", ConvTranspose2d(channels / 2, output, 4, stride: 2, padding: 1)));
        }
        else if (stride == 2)
        {
            layers.Add(("up1", ConvTranspose2d(channels, output, 4, stride: 2, padding: 1)));
        }
        else
        {
            throw new ArgumentOutOfRangeException(nameof(stride), stride, "the decoder upsamples by 2 or 4");
        }
        body = Sequential(layers);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x) => body.call(x);
}
