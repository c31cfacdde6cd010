using System.Globalization;

namespace GenCluster.Trainer.Imaging;

/// <summary>One point of a loss curve.</summary>
public readonly record struct LossPoint(long Step, double LossD, double LossG);

/// <summary>
/// Renders D and G losses against the step as an RGB line chart (D blue, G orange) with a legend and the axis ranges
/// written in a small bitmap font. Non-finite losses (skipped steps) are left out.
/// </summary>
public static class LossChart
{
    private const int Margin = 40;
    private static readonly (byte R, byte G, byte B) White = (255, 255, 255);
    private static readonly (byte R, byte G, byte B) Grid = (225, 225, 225);
    private static readonly (byte R, byte G, byte B) Axis = (90, 90, 90);
    private static readonly (byte R, byte G, byte B) BlueD = (31, 119, 180);
    private static readonly (byte R, byte G, byte B) OrangeG = (255, 127, 14);

    /// <summary>Returns width, height and RGB pixels of the chart.</summary>
    public static (int Width, int Height, byte[] Pixels) Render(IReadOnlyList<LossPoint> points, int width = 640, int height = 320)
    {
        var canvas = new Canvas(width, height);
        var finite = points.Where(p => double.IsFinite(p.LossD) && double.IsFinite(p.LossG)).ToList();
        int left = Margin, right = width - 12, top = 24, bottom = height - 24;
        for (var i = 0; i <= 4; i++)
        {
            var y = top + (bottom - top) * i / 4;
            canvas.Line(left, y, right, y, Grid);
        }
        canvas.Line(left, top, left, bottom, Axis);
        canvas.Line(left, bottom, right, bottom, Axis);
        canvas.Text(left, 6, "D", BlueD);
        canvas.Text(left + 12, 6, "LOSS", Axis);
        canvas.Text(left + 60, 6, "G", OrangeG);
        canvas.Text(left + 72, 6, "LOSS", Axis);
        if (finite.Count == 0) return (width, height, canvas.Pixels);

        long minStep = finite.Min(p => p.Step), maxStep = Math.Max(finite.Max(p => p.Step), minStep + 1);
        var maxLoss = Math.Max(finite.Max(p => Math.Max(p.LossD, p.LossG)), 1e-6);
        var minLoss = Math.Min(0, finite.Min(p => Math.Min(p.LossD, p.LossG)));
        int X(long step) => left + (int)Math.Round((double)(step - minStep) / (maxStep - minStep) * (right - left));
        int Y(double loss) => bottom - (int)Math.Round((loss - minLoss) / (maxLoss - minLoss) * (bottom - top));

        foreach (var (series, colour) in new (Func<LossPoint, double>, (byte, byte, byte))[] { (p => p.LossD, BlueD), (p => p.LossG, OrangeG) })
        {
            for (var i = 1; i < finite.Count; i++)
                canvas.Line(X(finite[i - 1].Step), Y(series(finite[i - 1])), X(finite[i].Step), Y(series(finite[i])), colour);
        }
        var inv = CultureInfo.InvariantCulture;
        canvas.Text(4, top - 3, maxLoss.ToString("0.00", inv), Axis);
        canvas.Text(4, bottom - 3, minLoss.ToString("0.00", inv), Axis);
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
            [' '] = ["...", "...", "...", "...", "..."],
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
