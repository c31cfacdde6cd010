using System.Globalization;

namespace GenCluster.Trainer.Sampling;

/// <summary>A one-line text progress bar for long work (redrawn in place on a terminal, a line per tenth otherwise).</summary>
public sealed class ProgressBar(TextWriter output, string label, int total, bool interactive)
{
    private const int Width = 30;
    private int _lastTenth = -1;

    /// <summary>Shows <paramref name="done"/> of the total.</summary>
    public void Report(int done)
    {
        var fraction = total == 0 ? 1 : Math.Clamp((double)done / total, 0, 1);
        var filled = (int)Math.Round(fraction * Width);
        var line = string.Create(CultureInfo.InvariantCulture,
            $"{label} [{new string('#', filled)}{new string('-', Width - filled)}] {done}/{total} {fraction * 100,5:F1}%");
        if (interactive)
        {
            output.Write("\r" + line);
            if (done >= total) output.WriteLine();
            return;
        }
        var tenth = (int)(fraction * 10);
        if (tenth == _lastTenth) return;
        _lastTenth = tenth;
        output.WriteLine(line);
    }
}
