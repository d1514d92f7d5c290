// Line plots drawn into an image with the 5×7 font: a fresh machine has no plotting library or
// system fonts, and the tokenizer's final table (PSNR/SSIM by number of kept tokens) should be
// seen as a curve, in a PNG next to the grid and in TensorBoard.
import type { Tensor } from '../core/tensor.js';
import { tensor } from '../core/creation.js';
import { renderText } from './font5x7.js';

export interface PlotPanel {
  title: string;
  /** One value per x position (finite numbers). */
  values: number[];
}

export interface PlotOptions {
  /** Label under the x axis of every panel. */
  xLabel?: string;
  /** Size of one panel in pixels (default 400 × 300). */
  panelWidth?: number;
  panelHeight?: number;
}

export interface Plot {
  /** (3, H, W) float32 in [0, 1]: the panels side by side on white. */
  image: Tensor;
  /** points[p][i] = [x, y]: the pixel centre of panel p's marker for x position i. */
  points: [number, number][][];
}

const BLACK = [0, 0, 0],
  GREY = [0.85, 0.85, 0.85],
  CURVE = [0.1, 0.3, 0.85];
const TEXT = 2; // font scale of titles and tick labels: 10 × 14 px glyphs

/** The tick step among 1, 2, 5 × 10^n that gives about `target` intervals over `span`. */
function niceStep(span: number, target = 4): number {
  const raw = span / target,
    mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

/**
 * Panels side by side, each a curve of its values over the same x labels, evenly spaced (token
 * counts 1, 2, 4, … are powers of two, so this is a log axis), with a y axis of round ticks and
 * each value written by its marker.
 */
export function linePanels(xs: (number | string)[], panels: PlotPanel[], o: PlotOptions = {}): Plot {
  if (xs.length === 0) throw new Error('linePanels: no x positions');
  if (panels.length === 0) throw new Error('linePanels: no panels');
  for (const p of panels) {
    if (p.values.length !== xs.length) throw new Error(`linePanels: panel '${p.title}' has ${p.values.length} values for ${xs.length} x positions`);
    const bad = p.values.find((v) => !Number.isFinite(v));
    if (bad !== undefined) throw new Error(`linePanels: panel '${p.title}' has a non-finite value (${bad})`);
  }
  const PW = o.panelWidth ?? 400,
    PH = o.panelHeight ?? 300;
  const W = PW * panels.length,
    H = PH;
  const buf = new Float32Array(3 * H * W).fill(1);
  const px = (x: number, y: number, c: number[]) => {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= W || y >= H) return;
    for (let ch = 0; ch < 3; ch++) buf[ch * H * W + y * W + x] = c[ch];
  };
  const rect = (x0: number, y0: number, w: number, h: number, c: number[]) => {
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) px(x0 + x, y0 + y, c);
  };
  const line = (x0: number, y0: number, x1: number, y1: number, c: number[], thick = 1) => {
    const n = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
    for (let i = 0; i <= n; i++) rect(x0 + ((x1 - x0) * i) / n - (thick >> 1), y0 + ((y1 - y0) * i) / n - (thick >> 1), thick, thick, c);
  };
  const text = (s: string, x: number, y: number, scale = TEXT, align: 'left' | 'centre' | 'right' = 'left') => {
    const { mask, width, height } = renderText(s, scale);
    const x0 = Math.round(align === 'left' ? x : align === 'centre' ? x - width / 2 : x - width);
    for (let r = 0; r < height; r++) for (let q = 0; q < width; q++) if (mask[r * width + q]) px(x0 + q, y + r, BLACK);
  };

  const left = 70,
    right = 20,
    top = 34,
    bottom = 56; // room for tick labels, the title and the x label
  const points = panels.map((p, pi) => {
    const ox = pi * PW,
      x0 = ox + left,
      x1 = ox + PW - right,
      y0 = top,
      y1 = PH - bottom;
    let lo = Math.min(...p.values),
      hi = Math.max(...p.values);
    if (hi - lo < 1e-9) {
      lo -= 0.5;
      hi += 0.5;
    }
    const step = niceStep(hi - lo);
    lo = Math.floor(lo / step) * step;
    hi = Math.ceil(hi / step) * step;
    const yOf = (v: number) => y1 - ((v - lo) / (hi - lo)) * (y1 - y0);
    const inset = 24,
      xOf = (i: number) => (xs.length === 1 ? (x0 + x1) / 2 : x0 + inset + (i * (x1 - x0 - 2 * inset)) / (xs.length - 1));
    const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
    for (let v = lo, n = 0; v <= hi + step / 2 && n < 50; v += step, n++) {
      const y = yOf(v);
      line(x0 + 1, y, x1, y, GREY);
      line(x0 - 5, y, x0, y, BLACK);
      text(v.toFixed(decimals), x0 - 8, Math.round(y - 7), TEXT, 'right');
    }
    line(x0, y0, x0, y1, BLACK, 2);
    line(x0, y1, x1, y1, BLACK, 2);
    xs.forEach((x, i) => {
      line(xOf(i), y1, xOf(i), y1 + 5, BLACK);
      text(String(x), xOf(i), y1 + 9, TEXT, 'centre');
    });
    if (o.xLabel) text(o.xLabel, (x0 + x1) / 2, y1 + 30, TEXT, 'centre');
    text(p.title, (x0 + x1) / 2, 10, TEXT, 'centre');
    const pts = p.values.map((v, i) => [Math.round(xOf(i)), Math.round(yOf(v))] as [number, number]);
    for (let i = 1; i < pts.length; i++) line(pts[i - 1][0], pts[i - 1][1], pts[i][0], pts[i][1], CURVE, 3);
    pts.forEach(([x, y], i) => {
      rect(x - 4, y - 4, 9, 9, CURVE);
      text(p.values[i].toFixed(decimals + 1), x, y < y0 + 20 ? y + 8 : y - 16, 1, 'centre');
    });
    return pts;
  });
  return { image: tensor(buf, { shape: [3, H, W] }), points };
}
