// Pillow's Image.resize on uint8 images, ported from Pillow's Resample.c (filters, coefficient
// tables, 22-bit fixed point, horizontal pass then vertical pass, each rounded to uint8), plus
// torchvision's Resize size rule and ADM's center_crop_arr built on it. Bit-exact with Pillow on
// the same decoded pixels. Torch-free (runs in the loader's worker threads).
import { crop, type RawImage } from './raw-image.js';
import { roundHalfEven } from '../core/py-round.js';

export type PilFilter = 'box' | 'bilinear' | 'bicubic';

interface Filter {
  support: number;
  fn: (x: number) => number;
}

const FILTERS: Record<PilFilter, Filter> = {
  box: { support: 0.5, fn: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
  bilinear: {
    support: 1,
    fn: (x) => {
      if (x < 0) x = -x;
      return x < 1 ? 1 - x : 0;
    },
  },
  bicubic: {
    support: 2,
    fn: (x) => {
      const a = -0.5;
      if (x < 0) x = -x;
      if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
      return 0;
    },
  },
};

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 2 ** PRECISION_BITS;
const HALF = 2 ** (PRECISION_BITS - 1);
const CLIP_HI = 2 ** (PRECISION_BITS + 8);

interface Coeffs {
  ksize: number;
  bounds: Int32Array;
  k: Int32Array;
}

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc for one axis. */
function coeffs(inSize: number, outSize: number, filter: Filter): Coeffs {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = filter.support * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const k = new Int32Array(outSize * ksize);
  const w = new Float64Array(ksize);
  const ss = 1 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      w[x] = filter.fn((x + xmin - center + 0.5) * ss);
      ww += w[x];
    }
    for (let x = 0; x < xmax; x++) {
      const v = ww !== 0 ? w[x] / ww : w[x];
      k[xx * ksize + x] = v < 0 ? Math.trunc(-0.5 + v * ONE) : Math.trunc(0.5 + v * ONE);
    }
    bounds[2 * xx] = xmin;
    bounds[2 * xx + 1] = xmax;
  }
  return { ksize, bounds, k };
}

// ss is an exact integer below 2^31 here (|weights| sum to < 1.2 · 2^22, pixels ≤ 255), so >> is exact.
const clip8 = (ss: number) => (ss >= CLIP_HI ? 255 : ss <= 0 ? 0 : ss >> PRECISION_BITS);

function horizontal(img: RawImage, outW: number, f: Filter): RawImage {
  const { data, width: W, height: H, channels: C } = img;
  const { ksize, bounds, k } = coeffs(W, outW, f);
  const out = new Uint8Array(outW * H * C);
  for (let y = 0; y < H; y++) {
    const rowIn = y * W * C;
    let o = y * outW * C;
    for (let xx = 0; xx < outW; xx++) {
      const xmin = bounds[2 * xx],
        xmax = bounds[2 * xx + 1],
        kb = xx * ksize;
      let p = rowIn + xmin * C;
      if (C === 3) {
        let s0 = HALF,
          s1 = HALF,
          s2 = HALF;
        for (let x = 0; x < xmax; x++, p += 3) {
          const w = k[kb + x];
          s0 = (s0 + Math.imul(data[p], w)) | 0;
          s1 = (s1 + Math.imul(data[p + 1], w)) | 0;
          s2 = (s2 + Math.imul(data[p + 2], w)) | 0;
        }
        out[o++] = clip8(s0);
        out[o++] = clip8(s1);
        out[o++] = clip8(s2);
      } else if (C === 1) {
        let s0 = HALF;
        for (let x = 0; x < xmax; x++) s0 = (s0 + Math.imul(data[p + x], k[kb + x])) | 0;
        out[o++] = clip8(s0);
      } else {
        for (let c = 0; c < C; c++) {
          let ss = HALF;
          for (let x = 0, q = p + c; x < xmax; x++, q += C) ss = (ss + Math.imul(data[q], k[kb + x])) | 0;
          out[o++] = clip8(ss);
        }
      }
    }
  }
  return { data: out, width: outW, height: H, channels: C };
}

function vertical(img: RawImage, outH: number, f: Filter): RawImage {
  const { data, width: W, height: H, channels: C } = img;
  const { ksize, bounds, k } = coeffs(H, outH, f);
  const rowLen = W * C;
  const out = new Uint8Array(outH * rowLen);
  const acc = new Int32Array(rowLen);
  for (let yy = 0; yy < outH; yy++) {
    const ymin = bounds[2 * yy],
      ymax = bounds[2 * yy + 1],
      kb = yy * ksize,
      rowOut = yy * rowLen;
    acc.fill(HALF);
    // row by row (sequential reads), four taps a pass; integer sums, so the order does not matter
    let y = 0;
    for (; y + 3 < ymax; y += 4) {
      const w0 = k[kb + y],
        w1 = k[kb + y + 1],
        w2 = k[kb + y + 2],
        w3 = k[kb + y + 3];
      const b0 = (ymin + y) * rowLen,
        b1 = b0 + rowLen,
        b2 = b1 + rowLen,
        b3 = b2 + rowLen;
      for (let i = 0; i < rowLen; i++)
        acc[i] += Math.imul(data[b0 + i], w0) + Math.imul(data[b1 + i], w1) + Math.imul(data[b2 + i], w2) + Math.imul(data[b3 + i], w3);
    }
    for (; y < ymax; y++) {
      const w = k[kb + y],
        base = (ymin + y) * rowLen;
      for (let i = 0; i < rowLen; i++) acc[i] += Math.imul(data[base + i], w);
    }
    for (let i = 0; i < rowLen; i++) out[rowOut + i] = clip8(acc[i]);
  }
  return { data: out, width: W, height: outH, channels: C };
}

/** Image.resize((outW, outH), filter) as Pillow does it; an unchanged axis is not resampled. */
export function pilResize(img: RawImage, outW: number, outH: number, filter: PilFilter): RawImage {
  if (!Number.isInteger(outW) || !Number.isInteger(outH) || outW <= 0 || outH <= 0) throw new RangeError(`pilResize: bad output size ${outW}×${outH}`);
  const f = FILTERS[filter];
  if (!f) throw new TypeError(`pilResize: unknown filter '${filter}'`);
  let x = img;
  if (outW !== x.width) x = horizontal(x, outW, f);
  if (outH !== x.height) x = vertical(x, outH, f);
  return x;
}

export { roundHalfEven };

/**
 * torchvision's Resize(size) output size for an int size: the short side becomes `size`, the long
 * side int(size · long / short) (truncated, unlike ADM's round).
 */
export function resizeShortSide(width: number, height: number, size: number): [number, number] {
  if (width <= height) return [size, Math.trunc((size * height) / width)];
  return [Math.trunc((size * width) / height), size];
}

/** torchvision Resize(size, BICUBIC) on a PIL image: short side to `size`, Pillow bicubic. */
export function resizeShort(img: RawImage, size: number, filter: PilFilter = 'bicubic'): RawImage {
  const [w, h] = resizeShortSide(img.width, img.height, size);
  return w === img.width && h === img.height ? img : pilResize(img, w, h, filter);
}

/**
 * ADM's center_crop_arr: BOX-halve while the short side is ≥ 2·size, BICUBIC-resize so the short
 * side is size (long side rounded half-even, as Python's round), then crop the centre size × size.
 */
export function admCenterCrop(img: RawImage, size: number): RawImage {
  let x = img;
  while (Math.min(x.width, x.height) >= 2 * size) x = pilResize(x, Math.floor(x.width / 2), Math.floor(x.height / 2), 'box');
  const scale = size / Math.min(x.width, x.height);
  x = pilResize(x, roundHalfEven(x.width * scale), roundHalfEven(x.height * scale), 'bicubic');
  const top = Math.floor((x.height - size) / 2),
    left = Math.floor((x.width - size) / 2);
  return crop(x, top, left, size, size);
}
