using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Imaging;

/// <summary>Tiles a batch of single-channel images in [-1, 1] into one greyscale picture with a dark border between tiles.</summary>
public static class SampleGrid
{
    private const int Border = 2;

    /// <summary>Renders <paramref name="images"/> [N, 1, H, W] into rows of <paramref name="columns"/> tiles.</summary>
    /// <returns>Width, height and row-major pixels of the grid.</returns>
    public static (int Width, int Height, byte[] Pixels) Render(Tensor images, int columns)
    {
        if (images.dim() != 4 || images.shape[1] != 1)
            throw new ArgumentException($"expected images [N, 1, H, W], got [{string.Join(", ", images.shape)}]", nameof(images));
        var n = (int)images.shape[0];
        var h = (int)images.shape[2];
        var w = (int)images.shape[3];
        var rows = (n + columns - 1) / columns;
        var width = columns * (w + Border) + Border;
        var height = rows * (h + Border) + Border;
        var pixels = new byte[width * height];

        using var cpu = images.detach().to(DeviceType.CPU).to_type(ScalarType.Float32).contiguous();
        var values = cpu.data<float>().ToArray();
        for (var i = 0; i < n; i++)
        {
            var top = Border + i / columns * (h + Border);
            var left = Border + i % columns * (w + Border);
            for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
            {
                var v = (values[(i * h + y) * w + x] + 1f) * 127.5f;
                pixels[(top + y) * width + left + x] = (byte)Math.Clamp(MathF.Round(v), 0f, 255f);
            }
        }
        return (width, height, pixels);
    }
}
