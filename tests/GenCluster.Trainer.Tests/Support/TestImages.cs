using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace GenCluster.Trainer.Tests.Support;

/// <summary>Small image files and CIFAR-10 batches written for the data loader tests.</summary>
public static class TestImages
{
    /// <summary>Writes a <paramref name="width"/>×<paramref name="height"/> image coloured by <paramref name="colour"/>(x, y); PNG or JPEG by the extension.</summary>
    public static string Write(string path, int width, int height, Func<int, int, Rgb24> colour)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var image = new Image<Rgb24>(width, height);
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++) image[x, y] = colour(x, y);
        }
        image.Save(path);
        return path;
    }

    /// <summary>Writes a solid-colour image.</summary>
    public static string Solid(string path, int width, int height, Rgb24 colour) => Write(path, width, height, (_, _) => colour);

    /// <summary>
    /// An RGB image folder: classes <c>a_red</c>, <c>b_green</c>, <c>c_blue</c> (indices 0, 1, 2), each with a PNG and a
    /// JPEG of its solid colour in different sizes and aspects. Returns the folder.
    /// </summary>
    public static string SolidFolder(string root)
    {
        var folder = Path.Combine(root, "images");
        (string Name, Rgb24 Colour)[] classes = [("b_green", new Rgb24(0, 255, 0)), ("a_red", new Rgb24(255, 0, 0)), ("c_blue", new Rgb24(0, 0, 255))];
        foreach (var (name, colour) in classes)
        {
            Solid(Path.Combine(folder, name, "1.png"), 40, 24, colour);
            Solid(Path.Combine(folder, name, "2.jpg"), 16, 48, colour);
        }
        return folder;
    }

    /// <summary>CIFAR-10 records: label <c>labels[i]</c>, red plane <c>(i + p) % 256</c>, green 100, blue 200 for pixel p.</summary>
    public static byte[] CifarRecords(params byte[] labels)
    {
        var bytes = new byte[labels.Length * 3073];
        for (var i = 0; i < labels.Length; i++)
        {
            var record = bytes.AsSpan(i * 3073, 3073);
            record[0] = labels[i];
            for (var p = 0; p < 1024; p++)
            {
                record[1 + p] = (byte)((i + p) % 256);
                record[1 + 1024 + p] = 100;
                record[1 + 2048 + p] = 200;
            }
        }
        return bytes;
    }
}
