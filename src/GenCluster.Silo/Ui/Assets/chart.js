// A small line chart on <canvas>: one or more series over a shared x axis, gaps where a value is null.

const AXIS = "#6b7280";
const GRID = "#e5e7eb";
const FONT = "11px system-ui, -apple-system, 'Segoe UI', sans-serif";
const PAD = { left: 52, right: 12, top: 10, bottom: 26 };

/** About `count` round tick values covering [min, max]. */
function ticks(min, max, count) {
  const span = max - min;
  const raw = span / Math.max(1, count);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => span / s <= count) ?? 10 * magnitude;
  const out = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

function label(value) {
  const abs = Math.abs(value);
  if (abs >= 1e6 || (abs > 0 && abs < 1e-3)) return value.toExponential(1);
  if (abs >= 1000) return `${+(value / 1000).toFixed(1)}k`;
  return String(+value.toPrecision(3));
}

/** The range of the finite values, widened a little (and made non-empty) so lines do not sit on the frame. */
function range(values) {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v === null || !Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min === Infinity) return null;
  if (min === max) return [min - (Math.abs(min) || 1) * 0.5, max + (Math.abs(max) || 1) * 0.5];
  const margin = (max - min) * 0.05;
  return [min - margin, max + margin];
}

/**
 * Draws `series` ([{ color, ys }], ys aligned with `xs`, null = gap) on `canvas`, sized to its CSS box. Sets
 * `canvas.dataset.points` to the number of points drawn, so a reader (or a test) can tell that the chart moved.
 */
export function drawLineChart(canvas, xs, series) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const g = canvas.getContext("2d");
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  g.font = FONT;

  const xr = range(xs);
  const yr = range(series.flatMap((s) => s.ys));
  let points = 0;
  if (!xr || !yr) {
    g.fillStyle = AXIS;
    g.textAlign = "center";
    g.fillText("no values yet", width / 2, height / 2);
    canvas.dataset.points = "0";
    return;
  }
  // The x axis starts at the first x, without margin, so the curve begins at the frame.
  const x0 = Math.min(...xs.filter(Number.isFinite));
  const x1 = Math.max(...xs.filter(Number.isFinite));
  const [xmin, xmax] = x0 === x1 ? [x0 - 1, x1 + 1] : [x0, x1];
  const [ymin, ymax] = yr;
  const plotW = width - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  const px = (x) => PAD.left + ((x - xmin) / (xmax - xmin)) * plotW;
  const py = (y) => PAD.top + (1 - (y - ymin) / (ymax - ymin)) * plotH;

  g.lineWidth = 1;
  g.strokeStyle = GRID;
  g.fillStyle = AXIS;
  g.textAlign = "right";
  g.textBaseline = "middle";
  for (const y of ticks(ymin, ymax, Math.max(3, Math.floor(plotH / 28)))) {
    g.beginPath();
    g.moveTo(PAD.left, py(y) + 0.5);
    g.lineTo(PAD.left + plotW, py(y) + 0.5);
    g.stroke();
    g.fillText(label(y), PAD.left - 6, py(y));
  }
  g.textAlign = "center";
  g.textBaseline = "top";
  for (const x of ticks(xmin, xmax, Math.max(2, Math.floor(plotW / 80)))) {
    g.beginPath();
    g.moveTo(px(x) + 0.5, PAD.top);
    g.lineTo(px(x) + 0.5, PAD.top + plotH);
    g.stroke();
    g.fillText(label(x), px(x), PAD.top + plotH + 5);
  }
  g.strokeStyle = AXIS;
  g.strokeRect(PAD.left + 0.5, PAD.top + 0.5, plotW, plotH);

  g.lineWidth = 1.5;
  g.lineJoin = "round";
  for (const s of series) {
    const drawn = (i) => i >= 0 && i < xs.length && s.ys[i] !== null && Number.isFinite(s.ys[i]) && Number.isFinite(xs[i]);
    g.strokeStyle = s.color;
    g.fillStyle = s.color;
    g.beginPath();
    for (let i = 0; i < xs.length; i++) {
      if (!drawn(i)) continue;
      points++;
      const [x, y] = [px(xs[i]), py(s.ys[i])];
      if (drawn(i - 1)) g.lineTo(x, y);
      else g.moveTo(x, y);
      // A point between gaps has no line to show it: mark it.
      if (!drawn(i - 1) && !drawn(i + 1)) g.fillRect(x - 2, y - 2, 4, 4);
    }
    g.stroke();
  }
  canvas.dataset.points = String(points);
}
