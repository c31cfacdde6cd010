namespace GenCluster.Silo.Cli;

/// <summary>A plain-text table with aligned columns.</summary>
internal sealed class Table(params string[] headers)
{
    private readonly List<string[]> _rows = [];

    public Table Add(params object?[] cells)
    {
        _rows.Add(cells.Select(c => c?.ToString() ?? "-").ToArray());
        return this;
    }

    public void Write(TextWriter output)
    {
        var widths = headers.Select((h, i) => Math.Max(h.Length, _rows.Count == 0 ? 0 : _rows.Max(r => r[i].Length))).ToArray();
        output.WriteLine(Line(headers).TrimEnd());
        foreach (var row in _rows) output.WriteLine(Line(row).TrimEnd());

        string Line(string[] cells) => string.Join("  ", cells.Select((c, i) => c.PadRight(widths[i])));
    }
}
