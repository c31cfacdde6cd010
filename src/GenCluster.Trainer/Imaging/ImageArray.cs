using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Imaging;

/// <summary>8-bit images held in memory as N × C × H × W bytes, C order.</summary>
/// <param name="Pixels">Row-major values, image after image.</param>
/// <param name="Count">Number of images (N).</param>
/// <param name="Channels">Channels per image (C).</param>
/// <param name="Height">Rows per image (H).</param>
/// <param name="Width">Columns per image (W).</param>
public sealed record ImageArray(byte[] Pixels, int Count, int Channels, int Height, int Width)
{
    /// <summary>Bytes per image (C × H × W).</summary>
    public int ImageBytes => Channels * Height * Width;

    /// <summary>The shape as NumPy prints it, e.g. <c>(10000, 1, 28, 28)</c>.</summary>
    public string ShapeText => $"({Count}, {Channels}, {Height}, {Width})";

    /// <summary>Float images [N, C, H, W] in [-1, 1] as 8-bit images (rounded, clamped to 0..255).</summary>
    public static ImageArray FromTensor(Tensor images)
    {
        if (images.dim() != 4) throw new ArgumentException($"images must be [N, C, H, W], got [{string.Join(", ", images.shape)}]", nameof(images));
        using var scope = torch.NewDisposeScope();
        var bytes = images.cpu().add(1).mul_(127.5).round_().clamp_(0, 255).to_type(ScalarType.Byte).contiguous().bytes.ToArray();
        return new ImageArray(bytes, (int)images.shape[0], (int)images.shape[1], (int)images.shape[2], (int)images.shape[3]);
    }

    /// <summary>
    /// Images <paramref name="start"/> .. <paramref name="start"/> + <paramref name="count"/> − 1 as a float tensor
    /// [count, C, H, W] in [-1, 1] (pixel / 127.5 − 1, the trainers' convention).
    /// </summary>
    public Tensor Batch(int start, int count)
    {
        if (start < 0 || count < 0 || start + count > Count)
            throw new ArgumentOutOfRangeException(nameof(count), $"images {start}..{start + count - 1} are outside 0..{Count - 1}");
        var values = new float[count * ImageBytes];
        var source = Pixels.AsSpan(start * ImageBytes, count * ImageBytes);
        for (var i = 0; i < values.Length; i++)
            values[i] = source[i] / 127.5f - 1f;
        return torch.tensor(values, [count, Channels, Height, Width]);
    }

    /// <summary>The images at <paramref name="indices"/> as a float tensor [n, C, H, W] in [-1, 1].</summary>
    public Tensor Batch(ReadOnlySpan<int> indices)
    {
        var size = ImageBytes;
        var values = new float[indices.Length * size];
        for (var i = 0; i < indices.Length; i++)
        {
            if ((uint)indices[i] >= (uint)Count)
                throw new ArgumentOutOfRangeException(nameof(indices), $"image index {indices[i]} is outside 0..{Count - 1}");
            var source = Pixels.AsSpan(indices[i] * size, size);
            var target = values.AsSpan(i * size, size);
            for (var j = 0; j < size; j++)
                target[j] = source[j] / 127.5f - 1f;
        }
        return torch.tensor(values, [indices.Length, Channels, Height, Width]);
    }
}
