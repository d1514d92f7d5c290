// TensorFlow 1.x bilinear resize (align_corners=False, no half-pixel offset, no antialiasing), the
// resize in front of torch-fidelity's Inception: its FID/IS numbers depend on it, and PyTorch's own
// bilinear interpolate (half-pixel centres) gives other pixels. Every step rounds to float32 in
// the order torch-fidelity's 'slow' (CPU bit-exact) path does, so the result matches it bit for bit.
import type { Tensor } from '../../core/tensor.js';
import { tensor } from '../../core/creation.js';
import { scope } from '../../core/scope.js';

const f32 = Math.fround;

/** One axis of the sampling grid: for each output index, the two source indices and the weight of the second. */
export interface Tf1Axis {
  lo: Int32Array;
  hi: Int32Array;
  frac: Float32Array;
}

/**
 * The grid for an axis of length n resized to m: scale = float32(n / m); src = float32(j) · scale
 * (a float32 product); lo = trunc(src); hi = min(lo + 1, n − 1); frac = src − lo (float32).
 * Computed in JavaScript: a product of two float32 values is exact in float64, so Math.fround of
 * it is the correctly rounded float32 product that PyTorch's float32 multiply gives (likewise the
 * subtraction), i.e. the same values as torch-fidelity's tensor arithmetic.
 */
export function tf1Axis(n: number, m: number): Tf1Axis {
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(m) || m < 1) throw new RangeError(`tf1Axis: sizes must be positive integers, got ${n} → ${m}`);
  const scale = f32(n / m);
  const lo = new Int32Array(m),
    hi = new Int32Array(m),
    frac = new Float32Array(m);
  for (let j = 0; j < m; j++) {
    const src = f32(f32(j) * scale);
    const l = Math.trunc(src);
    // src ≤ (m−1)·n/m·(1 + 2⁻²⁴)² < n, so lo is a valid index; checked, since an index error would be silent in a gather on some devices.
    if (l > n - 1) throw new Error(`tf1Axis: source index ${l} outside [0, ${n - 1}] (n=${n}, m=${m})`);
    lo[j] = l;
    hi[j] = Math.min(l + 1, n - 1);
    frac[j] = f32(src - l);
  }
  return { lo, hi, frac };
}

/**
 * Resizes float32 images (N, C, H, W) to (N, C, outH, outW) as TF1's resize_bilinear:
 *   top = p[ylo][xlo] + (p[ylo][xhi] − p[ylo][xlo])·fx,  bottom likewise with yhi,
 *   out = top + (bottom − top)·fy,
 * each sub, mul and add a separate float32 op (no fused multiply-add), x before y. The index and
 * weight tensors are made on the input's device; the gathers copy values exactly.
 */
export function resizeBilinearTf1(images: Tensor, size: number | [number, number]): Tensor {
  if (images.ndim !== 4) throw new RangeError(`resizeBilinearTf1: expected (N, C, H, W), got [${images.shape.join(', ')}]`);
  if (images.dtype !== 'float32') throw new TypeError(`resizeBilinearTf1: expected float32 images, got ${images.dtype}`);
  const [outH, outW] = typeof size === 'number' ? [size, size] : size;
  const [, , H, W] = images.shape;
  const ys = tf1Axis(H, outH),
    xs = tf1Axis(W, outW);
  return scope(() => {
    const device = images.device;
    const idx = (a: Int32Array) => tensor(a, { shape: [a.length] }).to({ dtype: 'int64', device });
    const [ylo, yhi, xlo, xhi] = [idx(ys.lo), idx(ys.hi), idx(xs.lo), idx(xs.hi)];
    const fx = tensor(xs.frac, { shape: [1, 1, 1, outW] }).to({ device });
    const fy = tensor(ys.frac, { shape: [1, 1, outH, 1] }).to({ device });
    const rowsLo = images.indexSelect(2, ylo),
      rowsHi = images.indexSelect(2, yhi);
    const p00 = rowsLo.indexSelect(3, xlo),
      p01 = rowsLo.indexSelect(3, xhi);
    const p10 = rowsHi.indexSelect(3, xlo),
      p11 = rowsHi.indexSelect(3, xhi);
    const top = p00.add(p01.sub(p00).mul(fx));
    const bottom = p10.add(p11.sub(p10).mul(fx));
    return top.add(bottom.sub(top).mul(fy));
  });
}
