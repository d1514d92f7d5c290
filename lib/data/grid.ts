// Image grids (as torchvision's make_grid) with optional text labels above columns and left of rows.
import type { Tensor } from '../core/tensor.js';
import { tensor, full } from '../core/creation.js';
import { scope } from '../core/scope.js';
import { renderText } from './font5x7.js';

export interface GridOptions {
  /** Images per row (default 8). */
  nrow?: number;
  padding?: number;
  /** Background/padding value in [0, 1] (default 1: white). */
  padValue?: number;
  /** Labels drawn above each column. */
  colLabels?: string[];
  /** Labels drawn left of each row. */
  rowLabels?: string[];
}

/** (N, 3, H, W) or grayscale (N, 1, H, W) images in [0, 1] → one (3, H', W') image (gray repeated into
 * RGB, as torchvision's make_grid does), values clamped to [0, 1]. */
export function makeGrid(images: Tensor, o: GridOptions = {}): Tensor {
  return scope(() => {
    const [n, c0, h, w] = images.shape;
    const c = c0 === 1 ? 3 : c0;
    const nrow = Math.min(o.nrow ?? 8, n),
      pad = o.padding ?? 2,
      bg = o.padValue ?? 1;
    const rows = Math.ceil(n / nrow);
    const scale = Math.max(1, Math.floor(Math.min(h, w) / 48));
    const textH = 7 * scale + 2 * pad;
    const top = o.colLabels?.length ? textH : 0;
    const left = o.rowLabels?.length ? Math.max(...o.rowLabels.map((l) => l.length)) * 6 * scale + 2 * pad : 0;
    const H = top + rows * (h + pad) + pad,
      W = left + nrow * (w + pad) + pad;
    const grid = full([c, H, W], bg, { dtype: 'float32', device: images.device });
    const clamped = (c0 === 1 ? images.expand(-1, 3, -1, -1) : images).float().clamp(0, 1);
    for (let i = 0; i < n; i++) {
      const y = top + pad + Math.floor(i / nrow) * (h + pad),
        x = left + pad + (i % nrow) * (w + pad);
      grid.narrow(1, y, h).narrow(2, x, w).copy_(clamped.select(0, i));
    }
    const draw = (text: string, y: number, x: number) => {
      const { mask, width, height } = renderText(text, scale);
      const wClip = Math.min(width, W - x),
        hClip = Math.min(height, H - y);
      if (wClip <= 0 || hClip <= 0) return;
      const m = tensor(mask, { shape: [height, width] })
        .narrow(0, 0, hClip)
        .narrow(1, 0, wClip)
        .bool();
      const region = grid.narrow(1, y, hClip).narrow(2, x, wClip);
      region.maskedFill_(m.unsqueeze(0).expand(c, hClip, wClip), 0);
    };
    o.colLabels?.forEach((l, j) => {
      if (j < nrow) draw(l, pad, left + pad + j * (w + pad));
    });
    o.rowLabels?.forEach((l, r) => {
      if (r < rows) draw(l, top + pad + r * (h + pad) + Math.floor((h - 7 * scale) / 2), pad);
    });
    return grid;
  });
}
