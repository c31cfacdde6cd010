using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenCluster.Trainer.Layers;

/// <summary>
/// One layer of the gated PixelCNN (van den Oord et al. 2016, "Conditional Image Generation with PixelCNN Decoders"):
/// a vertical stack that sees every row above (a (k/2+1)×k convolution whose output at row r covers rows r−k/2…r), a
/// horizontal stack that sees the row to the left (1×(k/2+1)), the vertical stack fed into the horizontal one, gated
/// activations tanh(a)·σ(b) with an optional spatial condition added to both gates, and a residual horizontal path.
/// Together the stacks have no blind spot.
/// </summary>
/// <remarks>
/// The first layer is mask type A: the last kernel row of its vertical stack and the last kernel column of its
/// horizontal stack are masked (every forward, so optimiser steps cannot unmask them), so a position never sees
/// itself; later layers (type B) may. After a type-A first layer the vertical stack at row r depends only on rows
/// above r, which lets <see cref="GatedPixelCnn.Sample"/> compute it once per row and run only the horizontal stack
/// for each position of the row.
/// </remarks>
public sealed class GatedMaskedConv2d : nn.Module
{
    private readonly Conv2d vertical;
    private readonly Conv2d horizontal;
    private readonly Conv2d vertical_to_horizontal;
    private readonly Conv2d horizontal_out;
    private readonly Conv2d? condition_vertical;
    private readonly Conv2d? condition_horizontal;
    private readonly Tensor vertical_mask;
    private readonly Tensor horizontal_mask;
    private readonly int _kernel;

    /// <summary>A layer of <paramref name="channels"/> channels; type A when <paramref name="first"/>; conditioned on <paramref name="conditionChannels"/> channels (0 = none).</summary>
    public GatedMaskedConv2d(string name, int channels, int kernel, bool first, int conditionChannels = 0) : base(name)
    {
        if (kernel < 3 || kernel % 2 == 0) throw new ArgumentOutOfRangeException(nameof(kernel), kernel, "kernel must be odd and >= 3");
        First = first;
        _kernel = kernel;
        var half = kernel / 2;
        vertical = Conv2d(channels, 2 * channels, (half + 1, kernel), padding: (half, half));
        horizontal = Conv2d(channels, 2 * channels, (1, half + 1), padding: (0, half));
        vertical_to_horizontal = Conv2d(2 * channels, 2 * channels, 1);
        horizontal_out = Conv2d(channels, channels, 1);
        if (conditionChannels > 0)
        {
            condition_vertical = Conv2d(conditionChannels, 2 * channels, 1, bias: false);
            condition_horizontal = Conv2d(conditionChannels, 2 * channels, 1, bias: false);
        }
        vertical_mask = torch.ones(1, 1, half + 1, kernel);
        horizontal_mask = torch.ones(1, 1, 1, half + 1);
        if (first)
        {
            vertical_mask[.., .., -1, ..] = 0;
            horizontal_mask[.., .., .., -1] = 0;
        }
        RegisterComponents();
    }

    /// <summary>Mask type A (the input layer).</summary>
    public bool First { get; }

    /// <summary>Both stacks on full maps [N, C, H, W]; <paramref name="condition"/> [N, Cc, H, W] or null.</summary>
    public (Tensor Vertical, Tensor Horizontal) Forward(Tensor inputVertical, Tensor inputHorizontal, Tensor? condition)
    {
        var preVertical = VerticalPreactivation(inputVertical);
        var (conditionV, conditionH) = Conditions(condition);
        var outVertical = VerticalOutput(preVertical, conditionV);
        var outHorizontal = Horizontal(inputHorizontal, VerticalToHorizontal(preVertical), conditionH);
        return (outVertical, outHorizontal);
    }

    /// <summary>The vertical stack's pre-activation [N, 2C, H, W] (rows 0…H−1 of the input suffice for rows 0…H−1 of the output).</summary>
    public Tensor VerticalPreactivation(Tensor input)
    {
        var height = input.shape[2];
        var w = First ? vertical.weight! * vertical_mask : vertical.weight!;
        var half = _kernel / 2;
        var output = functional.conv2d(input, w, vertical.bias, padding: [half, half]);
        return output.narrow(2, 0, height);
    }

    /// <summary>The vertical stack's gated output from its pre-activation and the condition's vertical term (or null).</summary>
    public static Tensor VerticalOutput(Tensor preactivation, Tensor? conditionVertical) =>
        Gate(conditionVertical is null ? preactivation : preactivation + conditionVertical);

    /// <summary>The 1×1 link from the vertical pre-activation into the horizontal stack.</summary>
    public Tensor VerticalToHorizontal(Tensor preVertical) => vertical_to_horizontal.call(preVertical);

    /// <summary>The condition's terms for the vertical and horizontal gates, or nulls.</summary>
    public (Tensor? Vertical, Tensor? Horizontal) Conditions(Tensor? condition) =>
        condition is null || condition_vertical is null
            ? (null, null)
            : (condition_vertical.call(condition), condition_horizontal!.call(condition));

    /// <summary>
    /// The horizontal stack on rows [N, C, R, W] given the vertical link and condition terms of the same rows: each
    /// output position sees its row to the left (and itself unless type A) and, through the link, the rows above.
    /// </summary>
    public Tensor Horizontal(Tensor input, Tensor link, Tensor? conditionHorizontal)
    {
        var width = input.shape[3];
        var w = First ? horizontal.weight! * horizontal_mask : horizontal.weight!;
        var half = _kernel / 2;
        var pre = functional.conv2d(input, w, horizontal.bias, padding: [0, half]).narrow(3, 0, width) + link;
        if (conditionHorizontal is not null) pre = pre + conditionHorizontal;
        var output = horizontal_out.call(Gate(pre));
        return First ? output : output + input;
    }

    /// <summary>tanh(a)·σ(b) over the two channel halves.</summary>
    public static Tensor Gate(Tensor x)
    {
        var halves = x.chunk(2, 1);
        return halves[0].tanh() * halves[1].sigmoid();
    }
}
