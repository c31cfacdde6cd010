using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace GenCluster.Trainer.Data;

/// <summary>
/// A directory with one sub-folder per class, holding PNG and JPEG images (the torchvision <c>ImageFolder</c> layout).
/// Class indices follow the ordinal order of the folder names. Every image is scaled so its shorter side is the target
/// size and centre-cropped to a square (so images of any size and aspect load), then kept as RGB or BT.709 grey.
/// </summary>
/// <remarks>
/// Hidden entries (names starting with '.') are skipped; any other file at the top level, a nested folder in a class
/// folder, a file that is not .png/.jpg/.jpeg, a file that does not decode, an image under <see cref="MinimumSide"/>
/// pixels on a side and an empty class folder are errors naming the path. Either everything loads or nothing does.
/// </remarks>
public static class ImageFolderDataset
{
    /// <summary>Side of the square images when the job does not choose one.</summary>
    public const int DefaultSize = 32;

    /// <summary>Images with a side shorter than this are refused rather than blown up from a few pixels.</summary>
    public const int MinimumSide = 8;

    /// <summary>File extensions read (case-insensitive).</summary>
    public static readonly IReadOnlySet<string> Extensions = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { ".png", ".jpg", ".jpeg" };

    /// <summary>
    /// Loads <paramref name="directory"/> as <paramref name="size"/>×<paramref name="size"/> images with
    /// <paramref name="channels"/> (1 grey, 3 RGB) channels. With <paramref name="limit"/> &gt; 0 only that many images
    /// are decoded, taken a class at a time in turn (first image of each class, then the second, ...) so a small slice
    /// still holds every class.
    /// </summary>
    /// <exception cref="DatasetFormatException">The layout or an image is not as expected; the message names the path.</exception>
    public static ImageDataset Load(string directory, int size = DefaultSize, int channels = 3, int limit = 0,
        Action<int, int>? progress = null, CancellationToken cancellationToken = default)
    {
        if (size < MinimumSide) throw new ArgumentOutOfRangeException(nameof(size), $"size must be >= {MinimumSide}, got {size}");
        if (channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(channels), $"channels must be 1 or 3, got {channels}");
        if (!Directory.Exists(directory)) throw new DatasetFormatException(directory, "expected an image folder (one sub-folder per class), found no directory");

        var (classNames, files) = Scan(directory);
        var order = Interleave(files);
        var count = limit > 0 ? Math.Min(limit, order.Count) : order.Count;
        var imageBytes = channels * size * size;
        var pixels = new byte[(long)count * imageBytes];
        var labels = new int[count];
        var rgb = new Rgb24[size * size];
        for (var i = 0; i < count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (path, label) = order[i];
            Decode(path, size, rgb);
            Planar(rgb, channels, pixels.AsSpan(i * imageBytes, imageBytes));
            labels[i] = label;
            progress?.Invoke(i + 1, count);
        }
        return new ImageDataset(pixels, count, size, size, channels, labels, classNames.Length) { ClassNames = classNames };
    }

    private static (string[] ClassNames, string[][] Files) Scan(string directory)
    {
        if (Visible(Directory.EnumerateFiles(directory)).FirstOrDefault() is { } stray)
            throw new DatasetFormatException(stray, "expected only class sub-folders at the top of the image folder, found a file");
        var classDirectories = Visible(Directory.EnumerateDirectories(directory)).ToArray();
        if (classDirectories.Length == 0)
            throw new DatasetFormatException(directory, "expected one sub-folder per class, found no sub-folders");

        var files = new string[classDirectories.Length][];
        for (var c = 0; c < classDirectories.Length; c++)
        {
            var classDirectory = classDirectories[c];
            if (Visible(Directory.EnumerateDirectories(classDirectory)).FirstOrDefault() is { } nested)
                throw new DatasetFormatException(nested, "expected only image files in a class folder, found a sub-folder");
            files[c] = Visible(Directory.EnumerateFiles(classDirectory)).ToArray();
            foreach (var file in files[c])
            {
                if (!Extensions.Contains(Path.GetExtension(file)))
                    throw new DatasetFormatException(file, $"unsupported file type '{Path.GetExtension(file)}', expected .png, .jpg or .jpeg");
            }
            if (files[c].Length == 0)
                throw new DatasetFormatException(classDirectory, "class folder is empty, expected at least one .png, .jpg or .jpeg image");
        }
        return (classDirectories.Select(d => Path.GetFileName(d)).ToArray(), files);
    }

    private static IEnumerable<string> Visible(IEnumerable<string> paths) =>
        paths.Where(p => !Path.GetFileName(p).StartsWith('.')).Order(StringComparer.Ordinal);

    private static List<(string Path, int Label)> Interleave(string[][] files)
    {
        var total = files.Sum(f => f.Length);
        var order = new List<(string, int)>(total);
        for (var rank = 0; order.Count < total; rank++)
        {
            for (var c = 0; c < files.Length; c++)
            {
                if (rank < files[c].Length) order.Add((files[c][rank], c));
            }
        }
        return order;
    }

    private static void Decode(string path, int size, Span<Rgb24> target)
    {
        Image<Rgb24> image;
        try
        {
            image = Image.Load<Rgb24>(path);
        }
        catch (Exception ex) when (ex is ImageFormatException or NotSupportedException)
        {
            throw new DatasetFormatException(path, $"expected a decodable PNG or JPEG image, the decoder says: {ex.Message}");
        }
        using (image)
        {
            if (image.Width < MinimumSide || image.Height < MinimumSide)
                throw new DatasetFormatException(path, $"image is {image.Width}×{image.Height}, expected at least {MinimumSide}×{MinimumSide}");
            if (image.Width != size || image.Height != size)
            {
                image.Mutate(x => x.Resize(new ResizeOptions
                {
                    Size = new Size(size, size),
                    Mode = ResizeMode.Crop,
                    Position = AnchorPositionMode.Center,
                }));
            }
            image.CopyPixelDataTo(target);
        }
    }

    private static void Planar(ReadOnlySpan<Rgb24> rgb, int channels, Span<byte> target)
    {
        var plane = rgb.Length;
        for (var p = 0; p < plane; p++)
        {
            var pixel = rgb[p];
            if (channels == 1)
            {
                target[p] = Luminance.FromRgb(pixel.R, pixel.G, pixel.B);
                continue;
            }
            target[p] = pixel.R;
            target[plane + p] = pixel.G;
            target[2 * plane + p] = pixel.B;
        }
    }
}
