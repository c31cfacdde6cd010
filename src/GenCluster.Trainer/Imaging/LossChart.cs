using System.Globalization;

namespace GenCluster.Trainer.Imaging;

/// <summary>One step's metric values, in the order of <see cref="MetricHistory.Names"/>.</summary>
public readonly record struct MetricPoint(long Step, double[] Values);

/// <summary>A job's metrics by step, as the step journal holds them.</summary>
/// <param name="Names">Metric names (e.g. <c>loss_d</c>, <c>loss_g</c>, <c>gp</c>).</param>
/// <param name="Points">One point per step, ascending.</param>
public sealed record MetricHistory(IReadOnlyList<string> Names, IReadOnlyList<MetricPoint> Points);

/// <summary>
/// Renders a recipe's metrics against the step as an RGB line chart (one colour per metric) with a legend and the axis
/// ranges written in a small bitmap font. Non-finite values (skipped steps) are left out.
/// </summary>
public static class LossChart
{
    private const int Margin = 40;
    private static readonly (byte R, byte G, byte B) White = (255, 255, 255);
    private static readonly (byte R, byte G, byte B) Grid = (225, 225, 225);
    private static readonly (byte R, byte G, byte B) Axis = (90, 90, 90);

    private static readonly (byte R, byte G, byte B)[] Palette =
        [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75)];

    /// <summary>Returns width, height and RGB pixels of the chart of every metric in <paramref name="history"/>.</summary>
    public static (int Width, int Height, byte[] Pixels) Render(MetricHistory history, int width = 640, int height = 320)
    {
        var canvas = new Canvas(width, height);
        var names = history.Names;
        int left = Margin, right = width - 12, top = 24, bottom = height - 24;
        for (var i = 0; i <= 4; i++)
        {
            var y = top + (bottom - top) * i / 4;
            canvas.Line(left, y, right, y, Grid);
        }
        canvas.Line(left, top, left, bottom, Axis);
        canvas.Line(left, bottom, right, bottom, Axis);
        var legendX = left;
        for (var m = 0; m < names.Count; m++)
        {
            canvas.Text(legendX, 6, names[m], Palette[m % Palette.Length]);
            legendX += (names[m].Length + 2) * 8;
        }
        var finite = history.Points.SelectMany(p => p.Values.Select((v, m) => (p.Step, Metric: m, Value: v)))
            .Where(x => double.IsFinite(x.Value)).ToList();
        if (finite.Count == 0) return (width, height, canvas.Pixels);

        long minStep = finite.Min(p => p.Step), maxStep = Math.Max(finite.Max(p => p.Step), minStep + 1);
        var maxValue = Math.Max(finite.Max(p => p.Value), 1e-6);
        var minValue = Math.Min(0, finite.Min(p => p.Value));
        int X(long step) => left + (int)Math.Round((double)(step - minStep) / (maxStep - minStep) * (right - left));
        int Y(double value) => bottom - (int)Math.Round((value - minValue) / (maxValue - minValue) * (bottom - top));

        for (var m = 0; m < names.Count; m++)
        {
            var series = finite.Where(x => x.Metric == m).ToList();
            for (var i = 1; i < series.Count; i++)
                canvas.Line(X(series[i - 1].Step), Y(series[i - 1].Value), X(series[i].Step), Y(series[i].Value), Palette[m % Palette.Length]);
        }
        var inv = CultureInfo.InvariantCulture;
        canvas.Text(4, top - 3, maxValue.ToString("0.00", inv), Axis);
        canvas.Text(4, bottom - 3, minValue.ToString("0.00", inv), Axis);
        canvas.Text(left, bottom + 8, minStep.ToString(inv), Axis);
        var last = "STEP " + maxStep.ToString(inv);
        canvas.Text(right - last.Length * 8, bottom + 8, last, Axis);
        return (width, height, canvas.Pixels);
    }

    private sealed class Canvas
    {
        // 3x5 glyphs, one row per string, '#' = ink.
        private static readonly Dictionary<char, string[]> Font = new()
        {
            ['0'] = ["###", "#.#", "#.#", "#.#", "###"], ['1'] = [".#.", "##.", ".#.", ".#.", "###"],
            ['2'] = ["###", "..#", "###", "#..", "###"], ['3'] = ["###", "..#", "###", "..#", "###"],
            ['4'] = ["#.#", "#.#", "###", "..#", "..#"], ['5'] = ["###", "#..", "###", "..#", "###"],
            ['6'] = ["###", "#..", "###", "#.#", "###"], ['7'] = ["###", "..#", "..#", "..#", "..#"],
            ['8'] = ["###", "#.#", "###", "#.#", "###"], ['9'] = ["###", "#.#", "###", "..#", "###"],
            ['.'] = ["...", "...", "...", "...", ".#."], ['-'] = ["...", "...", "###", "...", "..."],
            ['D'] = ["##.", "#.#", "#.#", "#.#", "##."], ['G'] = ["###", "#..", "#.#", "#.#", "###"],
            ['L'] = ["#..", "#..", "#..", "#..", "###"], ['O'] = ["###", "#.#", "#.#", "#.#", "###"],
            ['S'] = ["###", "#..", "###", "..#", "###"], ['T'] = ["###", ".#.", ".#.", ".#.", ".#."],
            ['E'] = ["###", "#..", "###", "#..", "###"], ['P'] = ["###", "#.#", "###", "#..", "#.."],
            [' '] = ["...", "...", "...", "...", "..."], ['_'] = ["...", "...", "...", "...", "###"],
            ['A'] = [".#.", "#.#", "###", "#.#", "#.#"], ['B'] = ["##.", "#.#", "##.", "#.#", "##."],
            ['C'] = ["###", "#..", "#..", "#..", "###"], ['F'] = ["###", "#..", "##.", "#..", "#.."],
            ['H'] = ["#.#", "#.#", "###", "#.#", "#.#"], ['I'] = ["###", ".#.", ".#.", ".#.", "###"],
            ['J'] = ["..#", "..#", "..#", "#.#", "###"], ['K'] = ["#.#", "#.#", "##.", "#.#", "#.#"],
            ['M'] = ["#.#", "###", "###", "#.#", "#.#"], ['N'] = ["##.", "#.#", "#.#", "#.#", "#.#"],
            ['Q'] = ["###", "#.#", "#.#", "###", "..#"], ['R'] = ["##.", "#.#", "##.", "#.#", "#.#"],
            ['U'] = ["#.#", "#.#", "#.#", "#.#", "###"], ['V'] = ["#.#", "#.#", "#.#", "#.#", ".#."],
            ['W'] = ["#.#", "#.#", "###", "###", "#.#"], ['X'] = ["#.#", "#.#", ".#.", "#.#", "#.#"],
            ['Y'] = ["#.#", "#.#", ".#.", ".#.", ".#."], ['Z'] = ["###", "..#", ".#.", "#..", "###"],
        };

        private readonly int _width;
        private readonly int _height;

        public Canvas(int width, int height)
        {
            _width = width;
            _height = height;
            Pixels = new byte[width * height * 3];
            for (var i = 0; i < width * height; i++) Set(i % width, i / width, White);
        }

        public byte[] Pixels { get; }

        public void Line(int x0, int y0, int x1, int y1, (byte R, byte G, byte B) colour)
        {
            int dx = Math.Abs(x1 - x0), dy = -Math.Abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
            while (true)
            {
                Set(x0, y0, colour);
                if (x0 == x1 && y0 == y1) return;
                var e2 = 2 * err;
                if (e2 >= dy) { err += dy; x0 += sx; }
                if (e2 <= dx) { err += dx; y0 += sy; }
            }
        }

        /// <summary>Draws text at scale 2 (6x10 pixels per glyph cell plus spacing); unknown characters are blank.</summary>
        public void Text(int x, int y, string text, (byte R, byte G, byte B) colour)
        {
            foreach (var c in text.ToUpperInvariant())
            {
                if (Font.TryGetValue(c, out var glyph))
                {
                    for (var row = 0; row < 5; row++)
                        for (var col = 0; col < 3; col++)
                            if (glyph[row][col] == '#')
                                for (var k = 0; k < 4; k++) Set(x + col * 2 + (k & 1), y + row * 2 + (k >> 1), colour);
                }
                x += 8;
            }
        }

        private void Set(int x, int y, (byte R, byte G, byte B) colour)
        {
            if ((uint)x >= (uint)_width || (uint)y >= (uint)_height) return;
            var i = (y * _width + x) * 3;
            Pixels[i] = colour.R;
            Pixels[i + 1] = colour.G;
            Pixels[i + 2] = colour.B;
        }
    }
}
