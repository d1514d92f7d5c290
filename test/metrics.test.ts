// lib/eval: PSNR and SSIM against values worked out by hand and against a plain-JS SSIM written
// here from the definition (Gaussian window, reflect padding, local statistics by loops), plus
// the meters, the batch semantics and the absence of leaked tensors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../lib/torch.js';
import type { Tensor } from '../lib/torch.js';
import { psnr, PsnrMeter, ssim, ssimPerImage, ssimFull, SsimMeter, gaussian1d, gaussianKernel2d, reconstructionMetrics } from '../lib/eval/index.js';
import { rng } from './gradcheck-helpers.js';

/** Runs a test body in a scope and checks that it leaves no native tensor behind. */
const run = (fn: () => void) => () => {
  const before = torch.memory().numTensors;
  torch.scope(fn);
  assert.equal(torch.memory().numTensors, before, 'tensors leaked');
};

const near = (got: number, want: number, tol: number, what = '') => assert.ok(Math.abs(got - want) <= tol, `${what} got ${got}, want ${want} (tol ${tol})`);

// ---- images as flat arrays -------------------------------------------------------------------

interface Img {
  data: Float64Array;
  shape: [number, number, number, number];
}

function randImg(shape: [number, number, number, number], seed: number, round32 = false): Img {
  const r = rng(seed, 0, 1);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = round32 ? Math.fround(r()) : r();
  return { data, shape };
}

/** a·x + b·y (+ c), element by element, optionally rounded to float32. */
function mix(x: Img, a: number, y: Img, b: number, round32 = false): Img {
  const data = x.data.map((v, i) => a * v + b * y.data[i]);
  return { data: round32 ? data.map(Math.fround) : data, shape: x.shape };
}

const toTensor = (im: Img, dtype: 'float32' | 'float64' = 'float64'): Tensor => torch.fromTypedArray(im.data, [...im.shape]).to(dtype);

// ---- plain-JS SSIM ---------------------------------------------------------------------------

interface RefOpts {
  sigma?: number;
  k1?: number;
  k2?: number;
  range?: number;
  crop?: boolean;
  uniform?: number;
}

/**
 * Per-image SSIM from the definition, in float64: reflect-pad by P, slide the window (valid),
 * and with `crop` drop P from each side of the map (torchmetrics <= 1.4.1). P is (k-1)/2 of the
 * window, except that the crop mode always pads by the Gaussian size's (k-1)/2, as those versions did.
 */
function refSsim(p: Img, t: Img, o: RefOpts = {}): number[] {
  const { sigma = 1.5, k1 = 0.01, k2 = 0.03, range = 1, crop = false, uniform } = o;
  const gk = Math.trunc(3.5 * sigma + 0.5) * 2 + 1;
  const k = uniform ?? gk;
  const P = (crop ? gk - 1 : k - 1) / 2;
  const w1: number[] = [];
  if (uniform) for (let i = 0; i < k; i++) w1.push(1 / k);
  else {
    for (let i = 0; i < k; i++) w1.push(Math.exp(-(((i - (k - 1) / 2) / sigma) ** 2) / 2));
    const s = w1.reduce((a, b) => a + b, 0);
    for (let i = 0; i < k; i++) w1[i] /= s;
  }
  const [B, C, H, W] = p.shape;
  const refl = (i: number, n: number) => (i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i);
  const C1 = (k1 * range) ** 2,
    C2 = (k2 * range) ** 2;
  const Ho = H + 2 * P - k + 1,
    Wo = W + 2 * P - k + 1; // the map's size
  const out: number[] = [];
  for (let b = 0; b < B; b++) {
    let sum = 0,
      cnt = 0;
    for (let c = 0; c < C; c++) {
      const base = (b * C + c) * H * W;
      const y0 = crop ? P : 0,
        y1 = crop ? Ho - P : Ho,
        x0 = crop ? P : 0,
        x1 = crop ? Wo - P : Wo;
      for (let y = y0; y < y1; y++) {
        for (let x = x0; x < x1; x++) {
          let mx = 0,
            my = 0,
            mxx = 0,
            myy = 0,
            mxy = 0;
          for (let i = 0; i < k; i++) {
            for (let j = 0; j < k; j++) {
              const w = w1[i] * w1[j];
              const idx = base + refl(y + i - P, H) * W + refl(x + j - P, W);
              const a = p.data[idx],
                v = t.data[idx];
              mx += w * a;
              my += w * v;
              mxx += w * a * a;
              myy += w * v * v;
              mxy += w * a * v;
            }
          }
          const sxx = Math.max(mxx - mx * mx, 0),
            syy = Math.max(myy - my * my, 0),
            sxy = mxy - mx * my;
          sum += ((2 * mx * my + C1) * (2 * sxy + C2)) / ((mx * mx + my * my + C1) * (sxx + syy + C2));
          cnt++;
        }
      }
    }
    out.push(sum / cnt);
  }
  return out;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const maxDiff = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));

// ---- PSNR ------------------------------------------------------------------------------------

// torchmetrics scales ln by 10 / ln(tensor(10.0)), a float32 factor (also for float64 inputs),
// and takes ln(range) in float32: its "20 dB" for float64 inputs is 20·(1 − 4.5e-8).
const DB = Math.fround(Math.fround(1 / Math.fround(Math.log(10))) * 10);
const tmPsnr = (mse: number, range = 1) => (2 * Math.fround(Math.log(range)) - Math.log(mse)) * DB;

test(
  'psnr: a constant offset of 0.1 is 20 dB; known MSEs; data range',
  run(() => {
    const x = randImg([2, 3, 8, 8], 1);
    const shifted = { data: x.data.map((v) => v + 0.1), shape: x.shape };
    const got = psnr(toTensor(shifted), toTensor(x)).item();
    near(got, 20, 2e-6, 'float64 offset');
    const sse = x.data.reduce((a, v, i) => a + (shifted.data[i] - v) ** 2, 0);
    near(got, tmPsnr(sse / x.data.length), 1e-9, 'float64 offset, torchmetrics factor');
    near(psnr(toTensor(shifted, 'float32'), toTensor(x, 'float32')).item(), 20, 1e-4, 'float32 offset');
    const zeros = torch.zeros([1, 1, 4, 4], { dtype: 'float64' });
    const tenth = torch.full([1, 1, 4, 4], 0.1, { dtype: 'float64' });
    near(psnr(tenth, zeros).item(), tmPsnr(0.1 ** 2), 1e-9, 'mse 0.01');
    near(psnr(tenth, zeros, { dataRange: 2 }).item(), tmPsnr(0.1 ** 2, 2), 1e-9, 'range 2');
    near(psnr(tenth, zeros, { dataRange: 2 }).item(), 20 + 20 * Math.log10(2), 1e-5, 'range 2, exact');
    near(psnr(tenth, zeros, { base: Math.E }).item(), 10 * Math.log(100), 1e-5, 'natural log base');
    // Values outside [0, 1] are not clamped by a scalar range, but are by a [min, max] pair.
    const over = torch.full([1, 1, 4, 4], 1.5, { dtype: 'float64' });
    const one = torch.ones([1, 1, 4, 4], { dtype: 'float64' });
    near(psnr(over, one).item(), tmPsnr(0.25), 1e-9, 'un-clamped');
    assert.equal(psnr(over, one, { dataRange: [0, 1] }).item(), Infinity);
    assert.equal(psnr(torch.full([2, 2], 0.5), torch.full([2, 2], 0.5)).dtype, 'float32');
    // Integer inputs are compared as float32.
    const u8 = torch.full([1, 1, 2, 2], 3, { dtype: 'uint8' }),
      u8b = torch.full([1, 1, 2, 2], 1, { dtype: 'uint8' });
    near(psnr(u8, u8b, { dataRange: 255 }).item(), 10 * Math.log10(255 ** 2 / 4), 1e-4, 'uint8');
  }),
);

test(
  'psnr: pooled over the batch, or per image with dim',
  run(() => {
    // Image 0 is off by 0.1 everywhere, image 1 by 0.2: pooled MSE = (0.01 + 0.04) / 2 = 0.025.
    const target = torch.zeros([2, 3, 4, 4], { dtype: 'float64' });
    const preds = torch.cat([torch.full([1, 3, 4, 4], 0.1, { dtype: 'float64' }), torch.full([1, 3, 4, 4], 0.2, { dtype: 'float64' })]);
    near(psnr(preds, target).item(), tmPsnr(0.025), 1e-9, 'pooled');
    near(psnr(preds, target).item(), 10 * Math.log10(40), 2e-6, 'pooled, exact');
    const per = psnr(preds, target, { dim: [1, 2, 3], reduction: 'none' }).tolist() as number[];
    near(per[0], tmPsnr(0.01), 1e-9);
    near(per[1], tmPsnr(0.04), 1e-9);
    near(psnr(preds, target, { dim: [1, 2, 3] }).item(), (tmPsnr(0.01) + tmPsnr(0.04)) / 2, 1e-9, 'mean of per-image');
    near(psnr(preds, target, { dim: [1, 2, 3], reduction: 'sum' }).item(), tmPsnr(0.01) + tmPsnr(0.04), 1e-9, 'sum');
    near(psnr(preds, target, { dim: 0, reduction: 'none' }).tolist()[0][0][0], tmPsnr(0.025), 1e-9, 'dim 0');
  }),
);

test(
  'psnr and ssim of identical images: +inf and 1; both are symmetric',
  run(() => {
    const a = toTensor(randImg([2, 3, 16, 16], 2));
    const b = toTensor(mix(randImg([2, 3, 16, 16], 2), 0.8, randImg([2, 3, 16, 16], 3), 0.2));
    assert.equal(psnr(a, a).item(), Infinity);
    assert.equal(psnr(a.float(), a.float()).item(), Infinity);
    near(ssim(a, a).item(), 1, 1e-12, 'ssim float64');
    near(ssim(a.float(), a.float()).item(), 1, 1e-6, 'ssim float32');
    assert.equal(psnr(a, b).item(), psnr(b, a).item());
    near(ssim(a, b).item(), ssim(b, a).item(), 1e-14, 'ssim symmetry');
  }),
);

// ---- SSIM ------------------------------------------------------------------------------------

test(
  'gaussian window: normalised taps, outer product',
  run(() => {
    const g = gaussian1d(3, 1, 'float64').tolist()[0] as number[];
    const e = Math.exp(-0.5);
    assert.deepEqual(
      g.map((v) => +v.toFixed(12)),
      [e / (1 + 2 * e), 1 / (1 + 2 * e), e / (1 + 2 * e)].map((v) => +v.toFixed(12)),
    );
    const k = gaussianKernel2d(3, [5, 5], [1, 1], 'float64');
    assert.deepEqual(k.shape, [3, 1, 5, 5]);
    const w = [-2, -1, 0, 1, 2].map((d) => Math.exp((-d * d) / 2));
    const s = w.reduce((a, b) => a + b, 0);
    near(k.index(1, 0, 2, 2).item(), (w[2] / s) ** 2, 1e-15, 'centre');
    near(k.index(2, 0, 0, 3).item(), (w[0] / s) * (w[3] / s), 1e-15, 'corner');
    near(k.sum().item(), 3, 1e-12, 'sum');
  }),
);

test(
  'ssim matches the plain-JS definition on random images (float64 and float32)',
  run(() => {
    for (const [shape, seed] of [
      [[2, 3, 16, 16], 10],
      [[1, 1, 13, 17], 20],
    ] as const) {
      const s = [...shape] as [number, number, number, number];
      const t = randImg(s, seed);
      const p = mix(t, 0.7, randImg(s, seed + 1), 0.3);
      const want = refSsim(p, t);
      const got64 = ssimPerImage(toTensor(p), toTensor(t)).tolist() as number[];
      assert.ok(maxDiff(got64, want) <= 1e-12, `float64 ${shape}: ${got64} vs ${want}`);
      near(ssim(toTensor(p), toTensor(t)).item(), mean(want), 1e-12, 'float64 batch');
      // float32: inputs rounded to float32 on both sides, so only the arithmetic differs.
      const t32 = { data: t.data.map(Math.fround), shape: s },
        p32 = { data: p.data.map(Math.fround), shape: s };
      const want32 = refSsim(p32, t32);
      const r = ssimPerImage(toTensor(p32, 'float32'), toTensor(t32, 'float32'));
      assert.equal(r.dtype, 'float32');
      assert.ok(maxDiff(r.tolist() as number[], want32) <= 1e-5, `float32 ${shape}`);
    }
  }),
);

test(
  'ssim options: legacy crop, uniform window, sigma, k1/k2, data range',
  run(() => {
    const s: [number, number, number, number] = [2, 2, 15, 14];
    const t = randImg(s, 30),
      p = mix(t, 0.6, randImg(s, 31), 0.4);
    const P = toTensor(p),
      T = toTensor(t);
    const cases: [object, RefOpts][] = [
      [{ legacyCrop: true }, { crop: true }],
      [{ gaussian: false, kernelSize: 7 }, { uniform: 7 }],
      [
        { gaussian: false, kernelSize: 7, legacyCrop: true },
        { uniform: 7, crop: true },
      ],
      [{ sigma: 0.8 }, { sigma: 0.8 }],
      [
        { k1: 0.05, k2: 0.1, dataRange: 2 },
        { k1: 0.05, k2: 0.1, range: 2 },
      ],
      [{ kernelSize: 3 }, {}], // the Gaussian window's size comes from sigma, not kernelSize
    ];
    for (const [opts, ref] of cases) {
      const got = ssimPerImage(P, T, opts).tolist() as number[];
      assert.ok(maxDiff(got, refSsim(p, t, ref)) <= 1e-12, `${JSON.stringify(opts)}: ${got} vs ${refSsim(p, t, ref)}`);
    }
    // dataRange null: the larger max − min of the two images.
    const pr = Math.max(...p.data) - Math.min(...p.data),
      tr = Math.max(...t.data) - Math.min(...t.data);
    near(ssim(P, T, { dataRange: null }).item(), mean(refSsim(p, t, { range: Math.max(pr, tr) })), 1e-12, 'range from data');
    // A [min, max] pair clamps: a prediction above 1 scores as if it were 1.
    const over = P.add(0.5);
    near(ssim(over, T, { dataRange: [0, 1] }).item(), ssim(over.clamp(0, 1), T).item(), 1e-14, 'clamped range');
    const { map } = ssimFull(P, T);
    assert.deepEqual(map.shape, [2, 2, 15, 14]);
  }),
);

test(
  'ssim of a constant image shifted by a constant follows the closed form',
  run(() => {
    for (const [c, d] of [
      [0.3, 0.1],
      [0.5, -0.25],
      [0.0, 0.02],
    ]) {
      const t = torch.full([1, 3, 16, 16], c, { dtype: 'float64' });
      const p = torch.full([1, 3, 16, 16], c + d, { dtype: 'float64' });
      const C1 = 0.01 ** 2;
      const want = (2 * c * (c + d) + C1) / (c * c + (c + d) ** 2 + C1);
      near(ssim(p, t).item(), want, 1e-9, `c=${c} d=${d}`);
      // In float32, E[x²] − μ² cancels catastrophically (as in torchmetrics): σ errors of ~1e-8
      // against C2 = 9e-4 move the contrast term by ~1e-4.
      near(ssim(p.float(), t.float()).item(), want, 5e-4, `float32 c=${c} d=${d}`);
    }
  }),
);

test(
  'ssim batch semantics: mean of per-image values; reductions',
  run(() => {
    const s: [number, number, number, number] = [4, 3, 12, 12];
    const t = toTensor(randImg(s, 40)),
      p = toTensor(mix(randImg(s, 40), 0.5, randImg(s, 41), 0.5));
    const per = ssimPerImage(p, t).tolist() as number[];
    const single = [0, 1, 2, 3].map((i) => ssim(p.slice(0, i, i + 1), t.slice(0, i, i + 1)).item());
    assert.ok(maxDiff(per, single) <= 1e-14, 'per-image equals one-image batches');
    near(ssim(p, t).item(), mean(per), 1e-14, 'mean');
    near(
      ssim(p, t, { reduction: 'sum' }).item(),
      per.reduce((a, b) => a + b, 0),
      1e-13,
      'sum',
    );
    assert.deepEqual(ssim(p, t, { reduction: 'none' }).shape, [4]);
    // Target is cast to preds' dtype, as torchmetrics does.
    assert.equal(ssim(p.float(), t).dtype, 'float32');
    assert.throws(() => ssim(p, t.slice(0, 0, 2)), /same shape/);
    assert.throws(() => ssim(p.flatten(0, 1), t.flatten(0, 1)), /B, C, H, W/);
    assert.throws(() => ssim(p, t, { gaussian: false, kernelSize: 4 }), /odd/);
  }),
);

// ---- meters and the batch helper ---------------------------------------------------------------

test(
  'meters: pooled state equals the one-shot value over concatenated batches',
  run(() => {
    const sizes = [2, 3, 1];
    const ts = sizes.map((b, i) => toTensor(randImg([b, 3, 16, 16], 50 + i), 'float32'));
    const ps = ts.map((t, i) =>
      t
        .mul(0.8)
        .add(toTensor(randImg([sizes[i], 3, 16, 16], 60 + i), 'float32').mul(0.2))
        .add(0.05),
    );
    const pm = new PsnrMeter(),
      pmb = new PsnrMeter({ mode: 'batchMean' });
    const sm = new SsimMeter(),
      smb = new SsimMeter({ mode: 'batchMean' });
    const perBatchPsnr: number[] = [],
      perBatchSsim: number[] = [];
    for (let i = 0; i < sizes.length; i++) {
      perBatchPsnr.push(pm.update(ps[i], ts[i]));
      pmb.update(ps[i], ts[i]);
      perBatchSsim.push(sm.update(ps[i], ts[i]));
      smb.update(ps[i], ts[i]);
      near(perBatchPsnr[i], psnr(ps[i], ts[i]).item(), 0, 'update returns the batch PSNR');
      near(perBatchSsim[i], ssim(ps[i], ts[i]).item(), 0, 'update returns the batch SSIM');
    }
    const P = torch.cat(ps),
      T = torch.cat(ts);
    near(pm.compute(), psnr(P, T).item(), 1e-4, 'pooled PSNR');
    near(pm.compute(), psnr(P.double(), T.double()).item(), 1e-4, 'pooled PSNR vs float64');
    assert.equal(pm.count, 6 * 3 * 16 * 16);
    near(sm.compute(), ssim(P, T).item(), 1e-6, 'pooled SSIM');
    assert.equal(sm.count, 6);
    near(pmb.compute(), mean(perBatchPsnr), 1e-12, 'batch-mean PSNR');
    near(smb.compute(), mean(perBatchSsim), 1e-12, 'batch-mean SSIM');
    assert.notEqual(+pmb.compute().toFixed(6), +pm.compute().toFixed(6)); // the two reportings differ
    assert.equal(pm.batchMean(), pmb.compute());
    pm.reset();
    sm.reset();
    assert.ok(Number.isNaN(pm.compute()) && Number.isNaN(sm.compute()));
    // Equal batch sizes: the two SSIM reportings agree.
    const eq = new SsimMeter();
    eq.update(ps[0], ts[0]);
    eq.update(ps[0].flip(3), ts[0].flip(3));
    near(eq.pooled(), eq.batchMean(), 1e-6, 'equal batches');
  }),
);

test(
  'reconstructionMetrics: batch PSNR and SSIM as numbers, no clamping, no graph',
  run(() => {
    const t = toTensor(randImg([3, 3, 16, 16], 70), 'float32');
    const r = t.mul(1.1).sub(0.02).requiresGrad_(true); // some values above 1 stay there
    const m = reconstructionMetrics(r, t);
    assert.equal(typeof m.psnr, 'number');
    near(m.psnr, psnr(r.detach(), t).item(), 0, 'psnr');
    near(m.ssim, ssim(r.detach(), t).item(), 0, 'ssim');
    assert.ok(m.psnr < psnr(r.detach().clamp(0, 1), t).item(), 'not clamped');
    const same = reconstructionMetrics(t, t);
    assert.equal(same.psnr, Infinity);
    near(same.ssim, 1, 1e-6);
  }),
);
