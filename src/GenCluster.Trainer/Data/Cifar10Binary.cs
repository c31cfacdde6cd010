using System.Globalization;

namespace GenCluster.Trainer.Data;

/// <summary>
/// The CIFAR-10 binary format: records of one label byte (0..9) and 3072 pixel bytes (the 1024 red, then 1024 green,
/// then 1024 blue values of a 32×32 image, row-major). A data set is one <c>.bin</c> file or a directory with the
/// training batches <c>data_batch_&lt;n&gt;.bin</c> (read in order of n; <c>test_batch.bin</c> is not training data).
/// </summary>
public static class Cifar10Binary
{
    /// <summary>Side of the images.</summary>
    public const int Side = 32;

    /// <summary>Bytes of one image (3 × 32 × 32).</summary>
    public const int ImageBytes = 3 * Side * Side;

    /// <summary>Bytes of one record (label + image).</summary>
    public const int RecordBytes = 1 + ImageBytes;

    /// <summary>Number of classes.</summary>
    public const int Classes = 10;

    /// <summary>The optional file of class names, one per line, beside the batches.</summary>
    public const string MetaFile = "batches.meta.txt";

    /// <summary>CIFAR-10's categories, used when no <see cref="MetaFile"/> is present.</summary>
    public static readonly IReadOnlyList<string> DefaultClassNames =
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    /// <summary>The training batch files in <paramref name="directory"/>, ordered by batch number; empty when there are none.</summary>
    public static IReadOnlyList<string> TrainingBatches(string directory) =>
        Directory.EnumerateFiles(directory, "data_batch_*.bin")
            .Select(path => (Path: path, Number: int.TryParse(Path.GetFileNameWithoutExtension(path)["data_batch_".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : int.MaxValue))
            .OrderBy(b => b.Number).ThenBy(b => b.Path, StringComparer.Ordinal)
            .Select(b => b.Path)
            .ToArray();

    /// <summary>
    /// Loads the batches at <paramref name="path"/> (a <c>.bin</c> file or a directory of training batches), the first
    /// <paramref name="limit"/> records (0 = all), as RGB or, with <paramref name="channels"/> 1, BT.709 grey.
    /// </summary>
    /// <exception cref="DatasetFormatException">A file's length is not whole records, a label is over 9, or the directory has no batches; the message names the file.</exception>
    public static ImageDataset Load(string path, int channels = 3, int limit = 0, CancellationToken cancellationToken = default)
    {
        if (channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(channels), $"channels must be 1 or 3, got {channels}");
        var directory = Directory.Exists(path) ? path : Path.GetDirectoryName(Path.GetFullPath(path))!;
        var files = Directory.Exists(path) ? TrainingBatches(path) : [path];
        if (files.Count == 0)
            throw new DatasetFormatException(path, "expected CIFAR-10 training batches data_batch_1.bin..data_batch_5.bin, found none");

        var records = 0L;
        foreach (var file in files)
        {
            var length = new FileInfo(file).Length;
            if (length == 0 || length % RecordBytes != 0)
                throw new DatasetFormatException(file,
                    $"length is {length} bytes, expected a positive multiple of {RecordBytes} (1 label byte + {ImageBytes} pixel bytes per record); the file is truncated or not CIFAR-10 binary");
            records += length / RecordBytes;
        }
        var count = (int)(limit > 0 ? Math.Min(limit, records) : records);
        var classNames = ReadClassNames(directory);

        var planeBytes = Side * Side;
        var pixels = new byte[(long)count * channels * planeBytes];
        var labels = new int[count];
        var record = new byte[RecordBytes];
        var index = 0;
        foreach (var file in files)
        {
            using var stream = File.OpenRead(file);
            for (var r = 0L; index < count && stream.Position < stream.Length; r++, index++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                stream.ReadExactly(record);
                if (record[0] >= Classes)
                    throw new DatasetFormatException(file, $"record {r} (byte offset {r * RecordBytes}) has label {record[0]}, expected 0..{Classes - 1}");
                labels[index] = record[0];
                var image = record.AsSpan(1);
                var target = pixels.AsSpan(index * channels * planeBytes, channels * planeBytes);
                if (channels == 3)
                {
                    image.CopyTo(target);
                    continue;
                }
                for (var p = 0; p < planeBytes; p++)
                    target[p] = Luminance.FromRgb(image[p], image[planeBytes + p], image[2 * planeBytes + p]);
            }
            if (index == count) break;
        }
        return new ImageDataset(pixels, count, Side, Side, channels, labels, Classes) { ClassNames = classNames };
    }

    private static IReadOnlyList<string> ReadClassNames(string directory)
    {
        var meta = Path.Combine(directory, MetaFile);
        if (!File.Exists(meta)) return DefaultClassNames;
        var names = File.ReadAllLines(meta).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        if (names.Length != Classes)
            throw new DatasetFormatException(meta, $"has {names.Length} class names, expected {Classes} (one per line)");
        return names;
    }
}
