using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Imaging;

/// <summary>Tiles a batch of grey or RGB images in [−1, 1] into one picture with a dark border between tiles.</summary>
public static class SampleGrid
{
    private const int Border = 2;

    /// <summary>Renders <paramref name="images"/> [N, C, H, W] (C = 1 or 3) into rows of <paramref name="columns"/> tiles.</summary>
    /// <returns>Width, height, channels (1 or 3) and row-major interleaved pixels of the grid.</returns>
    public static (int Width, int Height, int Channels, byte[] Pixels) Render(Tensor images, int columns)
    {
        if (images.dim() != 4 || images.shape[1] is not (1 or 3))
            throw new ArgumentException($"expected images [N, 1 or 3, H, W], got [{string.Join(", ", images.shape)}]", nameof(images));
        var n = (int)images.shape[0];
        var c = (int)images.shape[1];
        var h = (int)images.shape[2];
        var w = (int)images.shape[3];
        var rows = (n + columns - 1) / columns;
        var width = columns * (w + Border) + Border;
        var height = rows * (h + Border) + Border;
        var pixels = new byte[width * height * c];

        using var cpu = images.detach().to(DeviceType.CPU).to_type(ScalarType.Float32).contiguous();
        var values = cpu.data<float>().ToArray();
        for (var i = 0; i < n; i++)
        {
            var top = Border + i / columns * (h + Border);
            var left = Border + i % columns * (w + Border);
            for (var ch = 0; ch < c; ch++)
            for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
            {
                var v = (values[((i * c + ch) * h + y) * w + x] + 1f) * 127.5f;
                pixels[((top + y) * width + left + x) * c + ch] = (byte)Math.Clamp(MathF.Round(v), 0f, 255f);
            }
        }
        return (width, height, c, pixels);
    }

    /// <summary>Renders <paramref name="images"/> and writes them as a PNG (grey or RGB) to <paramref name="path"/>.</summary>
    public static void WritePng(string path, Tensor images, int columns)
    {
        var (width, height, channels, pixels) = Render(images, columns);
        if (channels == 1) PngWriter.WriteGrayscale(path, width, height, pixels);
        else PngWriter.WriteRgb(path, width, height, pixels);
    }
}
