// Fixed 2-D sin-cos position embeddings (MAE/DiT get_2d_sincos_pos_embed), computed in float64 as
// numpy does upstream and returned as float32.
import { tensor } from '../../core/creation.js';
import type { Tensor } from '../../core/tensor.js';

function embed1d(embedDim: number, pos: Float64Array): Float64Array[] {
  const half = embedDim / 2;
  const omega = Float64Array.from({ length: half }, (_, i) => 1 / 10000 ** (i / half));
  return Array.from(pos, (p) => {
    const row = new Float64Array(embedDim);
    for (let i = 0; i < half; i++) {
      row[i] = Math.sin(p * omega[i]);
      row[half + i] = Math.cos(p * omega[i]);
    }
    return row;
  });
}

/** (gridSize², embedDim): first half encodes the column (w), second half the row (h), as upstream. */
export function sincos2d(embedDim: number, gridSize: number): Tensor {
  if (embedDim % 4) throw new Error(`sincos2d: embedDim ${embedDim} must be divisible by 4`);
  const n = gridSize * gridSize;
  // np.meshgrid(grid_w, grid_h) then stack: grid[0] varies along w (columns), grid[1] along h
  const w = Float64Array.from({ length: n }, (_, i) => i % gridSize);
  const h = Float64Array.from({ length: n }, (_, i) => Math.floor(i / gridSize));
  const ew = embed1d(embedDim / 2, w),
    eh = embed1d(embedDim / 2, h);
  const out = new Float32Array(n * embedDim);
  for (let i = 0; i < n; i++) {
    out.set(ew[i], i * embedDim);
    out.set(eh[i], i * embedDim + embedDim / 2);
  }
  return tensor(out, { shape: [n, embedDim] });
}
