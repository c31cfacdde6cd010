using System.Text;

namespace GenCluster.Fuzz.Seeds;

/// <summary>Writes an afl-fuzz dictionary (<c>-x</c>): one quoted token a line, non-printable bytes as <c>\xNN</c>.</summary>
internal static class AflDictionary
{
    /// <summary>afl-fuzz skips longer tokens.</summary>
    private const int MaxTokenBytes = 128;

    public static int Write(string path, IEnumerable<byte[]> tokens)
    {
        var lines = new List<string>();
        foreach (var token in tokens.Where(t => t.Length is > 0 and <= MaxTokenBytes).DistinctBy(Convert.ToHexString))
        {
            var text = new StringBuilder();
            foreach (var b in token)
            {
                text.Append(b is >= 0x20 and < 0x7F and not (byte)'"' and not (byte)'\\' ? ((char)b).ToString() : $"\\x{b:X2}");
            }

            lines.Add($"t{lines.Count}=\"{text}\"");
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllLines(path, lines);
        return lines.Count;
    }

    public static int Write(string path, IEnumerable<string> tokens) => Write(path, tokens.Select(Encoding.UTF8.GetBytes));
}
