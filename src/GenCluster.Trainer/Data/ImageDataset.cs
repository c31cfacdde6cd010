using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Data;

/// <summary>
/// 8-bit images (channels × height × width each) held in memory, with optional class labels; batches come out as
/// float tensors scaled to [−1, 1].
/// </summary>
public sealed class ImageDataset
{
    private readonly byte[] _pixels;
    private readonly int[]? _labels;

    /// <summary>Wraps <paramref name="pixels"/> (count × channels × height × width, row-major) and optional labels in 0..classes−1.</summary>
    public ImageDataset(byte[] pixels, int count, int height, int width, int channels = 1, int[]? labels = null, int classes = 0)
    {
        if ((long)count * channels * height * width != pixels.Length)
            throw new ArgumentException(
                $"pixels has {pixels.Length} bytes, expected count {count} × channels {channels} × {height} × {width} = {(long)count * channels * height * width}", nameof(pixels));
        if (labels is not null)
        {
            if (labels.Length != count) throw new ArgumentException($"labels has {labels.Length} entries, expected one per image ({count})", nameof(labels));
            if (classes < 1) throw new ArgumentException($"classes must be >= 1 when labels are given, got {classes}", nameof(classes));
            for (var i = 0; i < labels.Length; i++)
            {
                if (labels[i] < 0 || labels[i] >= classes)
                    throw new ArgumentException($"label {i} is {labels[i]}, expected 0..{classes - 1}", nameof(labels));
            }
        }
        _pixels = pixels;
        _labels = labels;
        Count = count;
        Height = height;
        Width = width;
        Channels = channels;
        Classes = labels is null ? 0 : classes;
    }

    /// <summary>Number of images.</summary>
    public int Count { get; }

    /// <summary>Image height in pixels.</summary>
    public int Height { get; }

    /// <summary>Image width in pixels.</summary>
    public int Width { get; }

    /// <summary>Colour channels (1 grey, 3 RGB).</summary>
    public int Channels { get; }

    /// <summary>Number of classes (0 = unlabelled).</summary>
    public int Classes { get; }

    /// <summary>A name per class index where the source has them (image-folder names, CIFAR-10's categories); empty otherwise.</summary>
    public IReadOnlyList<string> ClassNames { get; init; } = [];

    /// <summary>Loads an IDX image file (N × H × W unsigned bytes) and optionally its IDX label file, keeping the first <paramref name="limit"/> images (0 = all).</summary>
    public static ImageDataset FromIdx(string path, int limit = 0, string? labelsPath = null, int classes = 10)
    {
        var idx = IdxReader.Read(path);
        if (idx.Dimensions.Length != 3)
            throw new InvalidDataException($"{path}: image IDX must have 3 dimensions (count, height, width), it has {idx.Dimensions.Length}");
        var count = limit > 0 ? Math.Min(limit, idx.Count) : idx.Count;
        var (h, w) = (idx.Dimensions[1], idx.Dimensions[2]);
        var pixels = count == idx.Count ? idx.Data : idx.Data.AsSpan(0, count * h * w).ToArray();
        int[]? labels = null;
        if (labelsPath is not null)
        {
            var labelIdx = IdxReader.Read(labelsPath);
            if (labelIdx.Dimensions.Length != 1 || labelIdx.Count != idx.Count)
                throw new InvalidDataException(
                    $"{labelsPath}: label IDX must have one dimension of {idx.Count} (the images in {path}), it has [{string.Join(", ", labelIdx.Dimensions)}]");
            labels = new int[count];
            for (var i = 0; i < count; i++)
            {
                labels[i] = labelIdx.Data[i];
                if (labels[i] >= classes)
                    throw new InvalidDataException($"{labelsPath}: label {i} is {labels[i]}, expected 0..{classes - 1}");
            }
        }
        return new ImageDataset(pixels, count, h, w, 1, labels, labels is null ? 0 : classes);
    }

    /// <summary>The images at <paramref name="indices"/> as a [n, C, H, W] float tensor in [−1, 1] on <paramref name="device"/>.</summary>
    public Tensor Batch(ReadOnlySpan<int> indices, Device? device = null)
    {
        var size = Channels * Height * Width;
        var values = new float[indices.Length * size];
        for (var i = 0; i < indices.Length; i++)
        {
            var source = _pixels.AsSpan(indices[i] * size, size);
            var target = values.AsSpan(i * size, size);
            for (var j = 0; j < size; j++)
                target[j] = source[j] / 127.5f - 1f;
        }
        var batch = torch.tensor(values, [indices.Length, Channels, Height, Width]);
        return device is null || device.type == DeviceType.CPU ? batch : batch.to(device);
    }

    /// <summary>The labels at <paramref name="indices"/> as an int64 tensor [n] (zeros when the data set is unlabelled).</summary>
    public Tensor Labels(ReadOnlySpan<int> indices, Device? device = null)
    {
        var values = new long[indices.Length];
        if (_labels is not null)
        {
            for (var i = 0; i < indices.Length; i++) values[i] = _labels[indices[i]];
        }
        var labels = torch.tensor(values, ScalarType.Int64);
        return device is null || device.type == DeviceType.CPU ? labels : labels.to(device);
    }
}
