using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Data;

/// <summary>Single-channel 8-bit images held in memory; batches come out as float tensors scaled to [-1, 1].</summary>
public sealed class ImageDataset
{
    private readonly byte[] _pixels;

    /// <summary>Wraps <paramref name="pixels"/> (count × height × width, row-major).</summary>
    public ImageDataset(byte[] pixels, int count, int height, int width)
    {
        if ((long)count * height * width != pixels.Length)
            throw new ArgumentException($"pixels has {pixels.Length} bytes, expected count {count} × {height} × {width} = {(long)count * height * width}", nameof(pixels));
        _pixels = pixels;
        Count = count;
        Height = height;
        Width = width;
    }

    /// <summary>Number of images.</summary>
    public int Count { get; }

    /// <summary>Image height in pixels.</summary>
    public int Height { get; }

    /// <summary>Image width in pixels.</summary>
    public int Width { get; }

    /// <summary>Loads an IDX image file (N × H × W unsigned bytes), keeping the first <paramref name="limit"/> images (0 = all).</summary>
    public static ImageDataset FromIdx(string path, int limit = 0)
    {
        var idx = IdxReader.Read(path);
        if (idx.Dimensions.Length != 3)
            throw new InvalidDataException($"{path}: image IDX must have 3 dimensions (count, height, width), it has {idx.Dimensions.Length}");
        var count = limit > 0 ? Math.Min(limit, idx.Count) : idx.Count;
        var (h, w) = (idx.Dimensions[1], idx.Dimensions[2]);
        var pixels = count == idx.Count ? idx.Data : idx.Data.AsSpan(0, count * h * w).ToArray();
        return new ImageDataset(pixels, count, h, w);
    }

    /// <summary>The images at <paramref name="indices"/> as a [n, 1, H, W] float tensor in [-1, 1] on <paramref name="device"/>.</summary>
    public Tensor Batch(ReadOnlySpan<int> indices, Device? device = null)
    {
        var size = Height * Width;
        var values = new float[indices.Length * size];
        for (var i = 0; i < indices.Length; i++)
        {
            var source = _pixels.AsSpan(indices[i] * size, size);
            var target = values.AsSpan(i * size, size);
            for (var j = 0; j < size; j++)
                target[j] = source[j] / 127.5f - 1f;
        }
        var batch = torch.tensor(values, [indices.Length, 1, Height, Width]);
        return device is null || device.type == DeviceType.CPU ? batch : batch.to(device);
    }
}
