using System.Globalization;

namespace GenCluster.Trainer.Cli;

/// <summary>Parses sizes such as <c>64MiB</c>, <c>1MB</c> or <c>4096</c> (bytes).</summary>
public static class ByteSize
{
    private static readonly (string Suffix, long Factor)[] Units =
    [
        ("GiB", 1L << 30), ("MiB", 1L << 20), ("KiB", 1L << 10),
        ("GB", 1_000_000_000), ("MB", 1_000_000), ("KB", 1_000), ("B", 1),
    ];

    /// <summary>Bytes in <paramref name="text"/>; the error names <paramref name="option"/> and the value given.</summary>
    public static long Parse(string text, string option)
    {
        var trimmed = text.Trim();
        foreach (var (suffix, factor) in Units)
        {
            if (trimmed.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                return Scale(trimmed[..^suffix.Length], factor, text, option);
            }
        }

        return Scale(trimmed, 1, text, option);
    }

    private static long Scale(string number, long factor, string original, string option)
    {
        if (double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value >= 0)
        {
            return checked((long)Math.Round(value * factor));
        }

        throw new FormatException($"{option}: expected a size such as 64MiB, 1MB or 4096, got '{original}'.");
    }
}
