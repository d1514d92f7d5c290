// torch.nn.functional: every function of lib/nn/functional.ts checked against plain-JS reference
// implementations written in this file (naive convolutions, norms, interpolation kernels as
// PyTorch defines them, attention, losses) or against values worked out by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../lib/torch.js';
import { assertClose, maxAbsDiff } from './helpers.js';
import { f64, flatN, nested, randNested } from './gradcheck-helpers.js';

const F = torch.nn.functional;
type A4 = number[][][][];

/** Runs a test body in a scope and checks that it leaves no native tensor behind. */
const run = (fn: () => void) => () => {
  const before = torch.memory().numTensors;
  torch.scope(fn);
  assert.equal(torch.memory().numTensors, before, 'tensors leaked');
};

// ---- references ----------------------------------------------------------------------------

const erf = (x: number): number => {
  // erf(x) = 2/√π · e^{-x²} · Σ 2ⁿ x^{2n+1} / (1·3·…·(2n+1)); all terms positive, no cancellation.
  let term = x,
    sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x * x) / (2 * n + 1);
    sum += term;
    if (Math.abs(term) < 1e-17 * Math.abs(sum)) break;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
};
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const softmaxRow = (r: number[]) => {
  const m = Math.max(...r);
  const e = r.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};
const logSoftmaxRow = (r: number[]) => {
  const m = Math.max(...r);
  const lse = m + Math.log(r.reduce((a, v) => a + Math.exp(v - m), 0));
  return r.map((v) => v - lse);
};
const zeros4 = (s: number[]): A4 => nested(s, () => 0);

interface ConvRef {
  stride: [number, number];
  pad: [number, number, number, number];
  dil: [number, number];
  groups: number;
}
/** Direct convolution (cross-correlation); pad = [top, bottom, left, right]. */
function conv2dRef(x: A4, w: A4, b: number[] | null, o: ConvRef): A4 {
  const [N, C, H, W] = [x.length, x[0].length, x[0][0].length, x[0][0][0].length];
  const [O, Cg, KH, KW] = [w.length, w[0].length, w[0][0].length, w[0][0][0].length];
  const [sh, sw] = o.stride,
    [pt, pb, pl, pr] = o.pad,
    [dh, dw] = o.dil;
  const OH = Math.floor((H + pt + pb - dh * (KH - 1) - 1) / sh) + 1;
  const OW = Math.floor((W + pl + pr - dw * (KW - 1) - 1) / sw) + 1;
  const Og = O / o.groups;
  assert.equal(Cg * o.groups, C);
  return nested([N, O, OH, OW], (_, [n, oc, oy, ox]) => {
    const g = Math.floor(oc / Og);
    let s = b ? b[oc] : 0;
    for (let c = 0; c < Cg; c++)
      for (let ky = 0; ky < KH; ky++)
        for (let kx = 0; kx < KW; kx++) {
          const iy = oy * sh - pt + ky * dh,
            ix = ox * sw - pl + kx * dw;
          if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
          s += x[n][g * Cg + c][iy][ix] * w[oc][c][ky][kx];
        }
    return s;
  });
}

/** Transposed convolution by scattering each input pixel; weight is (C_in, C_out/groups, kh, kw). */
function convT2dRef(
  x: A4,
  w: A4,
  b: number[] | null,
  o: { stride: [number, number]; pad: [number, number]; outPad: [number, number]; dil: [number, number]; groups: number },
): A4 {
  const [N, C, H, W] = [x.length, x[0].length, x[0][0].length, x[0][0][0].length];
  const [Og, KH, KW] = [w[0].length, w[0][0].length, w[0][0][0].length];
  const [sh, sw] = o.stride,
    [ph, pw] = o.pad,
    [dh, dw] = o.dil;
  const OH = (H - 1) * sh - 2 * ph + dh * (KH - 1) + o.outPad[0] + 1;
  const OW = (W - 1) * sw - 2 * pw + dw * (KW - 1) + o.outPad[1] + 1;
  const Cg = C / o.groups,
    O = Og * o.groups;
  const out = zeros4([N, O, OH, OW]);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let i = 0; i < H; i++)
        for (let j = 0; j < W; j++) {
          const g = Math.floor(c / Cg);
          for (let oc = 0; oc < Og; oc++)
            for (let ky = 0; ky < KH; ky++)
              for (let kx = 0; kx < KW; kx++) {
                const y = i * sh - ph + ky * dh,
                  xx = j * sw - pw + kx * dw;
                if (y < 0 || y >= OH || xx < 0 || xx >= OW) continue;
                out[n][g * Og + oc][y][xx] += x[n][c][i][j] * w[c][oc][ky][kx];
              }
        }
  if (b) for (let n = 0; n < N; n++) for (let oc = 0; oc < O; oc++) for (let y = 0; y < OH; y++) for (let xx = 0; xx < OW; xx++) out[n][oc][y][xx] += b[oc];
  return out;
}

/** Mean and biased variance. */
const moments = (v: number[]) => {
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  return { m, v: v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length };
};

/** Resampling along one axis: for each output index, a list of (input index, weight). */
type Taps = [number, number][][];
function resample2d(x: A4, th: Taps, tw: Taps): A4 {
  return x.map((img) =>
    img.map((ch) =>
      th.map((rowTaps) =>
        tw.map((colTaps) => {
          let s = 0;
          for (const [iy, wy] of rowTaps) for (const [ix, wx] of colTaps) s += ch[iy][ix] * wy * wx;
          return s;
        }),
      ),
    ),
  );
}
const clampI = (i: number, n: number) => Math.min(Math.max(i, 0), n - 1);
/** PyTorch's source-index scale: (in-1)/(out-1) with align_corners, else 1/scale_factor or in/out. */
const srcScale = (inn: number, out: number, align: boolean, sf?: number) =>
  align ? (out > 1 ? (inn - 1) / (out - 1) : 0) : sf !== undefined ? 1 / sf : inn / out;
function nearestTaps(inn: number, out: number, sf?: number): Taps {
  const s = sf !== undefined ? 1 / sf : inn / out;
  return Array.from({ length: out }, (_, d) => [[Math.min(Math.floor(d * s), inn - 1), 1]]);
}
function bilinearTaps(inn: number, out: number, align: boolean, sf?: number): Taps {
  const s = srcScale(inn, out, align, sf);
  return Array.from({ length: out }, (_, d) => {
    const src = align ? s * d : Math.max(s * (d + 0.5) - 0.5, 0);
    const i0 = Math.floor(src),
      l = src - i0,
      i1 = Math.min(i0 + 1, inn - 1);
    return [
      [i0, 1 - l],
      [i1, l],
    ];
  });
}
function bicubicTaps(inn: number, out: number, align: boolean, sf?: number): Taps {
  const s = srcScale(inn, out, align, sf),
    A = -0.75;
  const c1 = (x: number) => ((A + 2) * x - (A + 3)) * x * x + 1;
  const c2 = (x: number) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
  return Array.from({ length: out }, (_, d) => {
    const src = align ? s * d : s * (d + 0.5) - 0.5;
    const i = Math.floor(src),
      t = src - i;
    const w = [c2(t + 1), c1(t), c1(1 - t), c2(2 - t)];
    return w.map((wk, k) => [clampI(i - 1 + k, inn), wk] as [number, number]);
  });
}
/** Antialiased (PIL-style) taps for align_corners=False: a filter stretched by the scale when downsampling. */
function aaTaps(inn: number, out: number, mode: 'bilinear' | 'bicubic'): Taps {
  const scale = inn / out;
  const interp = mode === 'bilinear' ? 2 : 4;
  const support = (scale >= 1 ? scale : 1) * interp * 0.5;
  const inv = scale >= 1 ? 1 / scale : 1;
  const a = -0.5;
  const filter =
    mode === 'bilinear'
      ? (x: number) => Math.max(0, 1 - Math.abs(x))
      : (x: number) => {
          x = Math.abs(x);
          if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
          if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
          return 0;
        };
  return Array.from({ length: out }, (_, i) => {
    const center = scale * (i + 0.5);
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inn);
    const taps: [number, number][] = [];
    for (let j = xmin; j < xmax; j++) taps.push([j, filter((j - center + 0.5) * inv)]);
    const tot = taps.reduce((p, [, w]) => p + w, 0);
    return taps.map(([j, w]) => [j, w / tot] as [number, number]);
  });
}

// ---- linear, conv ----------------------------------------------------------------------------

test(
  'linear: x·Wᵀ + b, with and without bias, batched leading dims',
  run(() => {
    const x = randNested([2, 3, 4], 1),
      w = randNested([5, 4], 2),
      b = randNested([5], 3);
    const ref = (bias: boolean) => nested([2, 3, 5], (_, [i, j, o]) => x[i][j].reduce((s: number, v: number, k: number) => s + v * w[o][k], bias ? b[o] : 0));
    assertClose(F.linear(f64(x), f64(w), f64(b)), ref(true), 1e-12, [2, 3, 5]);
    assertClose(F.linear(f64(x), f64(w)), ref(false), 1e-12, [2, 3, 5]);
    assertClose(F.linear(f64(x), f64(w), null), ref(false), 1e-12);
    // float32 too
    assertClose(F.linear(torch.tensor(x), torch.tensor(w), torch.tensor(b)), ref(true), 1e-5);
  }),
);

test(
  'conv2d matches a direct convolution: stride, padding, dilation, groups, bias',
  run(() => {
    const cases: { N: number; C: number; H: number; W: number; O: number; K: [number, number]; o: Partial<ConvRef>; bias: boolean }[] = [
      { N: 1, C: 1, H: 5, W: 5, O: 1, K: [3, 3], o: {}, bias: false },
      { N: 2, C: 3, H: 7, W: 6, O: 4, K: [3, 2], o: { stride: [2, 1], pad: [1, 1, 0, 0] }, bias: true },
      { N: 1, C: 2, H: 9, W: 8, O: 2, K: [3, 3], o: { dil: [2, 3], pad: [2, 2, 1, 1] }, bias: true },
      { N: 2, C: 4, H: 6, W: 6, O: 6, K: [3, 3], o: { groups: 2, stride: [2, 2], pad: [1, 1, 1, 1] }, bias: true },
      { N: 1, C: 4, H: 5, W: 5, O: 4, K: [2, 2], o: { groups: 4 }, bias: false }, // depthwise
    ];
    cases.forEach((c, i) => {
      const o: ConvRef = { stride: [1, 1], pad: [0, 0, 0, 0], dil: [1, 1], groups: 1, ...c.o };
      const x = randNested([c.N, c.C, c.H, c.W], 10 + i),
        w = randNested([c.O, c.C / o.groups, ...c.K], 20 + i),
        b = c.bias ? randNested([c.O], 30 + i) : null;
      const got = F.conv2d(f64(x), f64(w), b ? f64(b) : null, { stride: o.stride, padding: [o.pad[0], o.pad[2]], dilation: o.dil, groups: o.groups });
      const want = conv2dRef(x, w, b, o);
      assertClose(got, want, 1e-12, [c.N, c.O, want[0][0].length, want[0][0][0].length]);
    });
    // a single number broadcasts to both dims
    const x = randNested([1, 1, 6, 6], 40),
      w = randNested([1, 1, 3, 3], 41);
    assertClose(
      F.conv2d(f64(x), f64(w), null, { stride: 2, padding: 1, dilation: 1 }),
      conv2dRef(x, w, null, { stride: [2, 2], pad: [1, 1, 1, 1], dil: [1, 1], groups: 1 }),
      1e-12,
      [1, 1, 3, 3],
    );
  }),
);

test(
  "conv2d padding 'same' keeps H×W (extra pad at bottom/right for even kernels); 'valid' is no padding",
  run(() => {
    const x = randNested([1, 2, 5, 6], 50);
    for (const [K, dil] of [
      [
        [3, 3],
        [1, 1],
      ],
      [
        [4, 2],
        [1, 1],
      ],
      [
        [3, 2],
        [2, 3],
      ],
    ] as [[number, number], [number, number]][]) {
      const w = randNested([3, 2, ...K], 51);
      // total padding d·(k-1): left = total // 2, right = the rest (PyTorch's rule)
      const tot = [dil[0] * (K[0] - 1), dil[1] * (K[1] - 1)];
      const pad: [number, number, number, number] = [
        Math.floor(tot[0] / 2),
        tot[0] - Math.floor(tot[0] / 2),
        Math.floor(tot[1] / 2),
        tot[1] - Math.floor(tot[1] / 2),
      ];
      const got = F.conv2d(f64(x), f64(w), null, { padding: 'same', dilation: dil });
      assertClose(got, conv2dRef(x, w, null, { stride: [1, 1], pad, dil, groups: 1 }), 1e-12, [1, 3, 5, 6]);
    }
    const w = randNested([3, 2, 3, 3], 52);
    assertClose(
      F.conv2d(f64(x), f64(w), null, { padding: 'valid' }),
      conv2dRef(x, w, null, { stride: [1, 1], pad: [0, 0, 0, 0], dil: [1, 1], groups: 1 }),
      1e-12,
      [1, 3, 3, 4],
    );
  }),
);

test(
  'conv2d: a hand-worked 3×3 example',
  run(() => {
    // [[1,2,3],[4,5,6],[7,8,9]] ⋆ [[1,0],[0,-1]] = [[1-5, 2-6], [4-8, 5-9]]
    const x = torch.tensor(
      [
        [
          [
            [1, 2, 3],
            [4, 5, 6],
            [7, 8, 9],
          ],
        ],
      ],
      { dtype: 'float32' },
    );
    const w = torch.tensor(
      [
        [
          [
            [1, 0],
            [0, -1],
          ],
        ],
      ],
      { dtype: 'float32' },
    );
    assertClose(
      F.conv2d(x, w, torch.tensor([10], { dtype: 'float32' })),
      [
        [
          [
            [6, 6],
            [6, 6],
          ],
        ],
      ],
      0,
      [1, 1, 2, 2],
    );
  }),
);

test(
  'convTranspose2d matches scattering each input pixel: stride, padding, outputPadding, dilation, groups',
  run(() => {
    const cases = [
      { N: 1, C: 1, H: 3, W: 3, Og: 1, K: [2, 2], stride: [1, 1], pad: [0, 0], outPad: [0, 0], dil: [1, 1], groups: 1, bias: false },
      { N: 2, C: 3, H: 4, W: 3, Og: 2, K: [3, 3], stride: [2, 2], pad: [1, 1], outPad: [1, 0], dil: [1, 1], groups: 1, bias: true },
      { N: 1, C: 4, H: 3, W: 4, Og: 3, K: [3, 2], stride: [2, 3], pad: [1, 0], outPad: [0, 2], dil: [1, 2], groups: 2, bias: true },
      { N: 1, C: 2, H: 3, W: 3, Og: 2, K: [2, 3], stride: [1, 1], pad: [0, 1], outPad: [0, 0], dil: [2, 1], groups: 1, bias: false },
    ] as const;
    cases.forEach((c, i) => {
      const x = randNested([c.N, c.C, c.H, c.W], 60 + i),
        w = randNested([c.C, c.Og, ...c.K], 70 + i);
      const b = c.bias ? randNested([c.Og * c.groups], 80 + i) : null;
      const o = { stride: [...c.stride], pad: [...c.pad], outPad: [...c.outPad], dil: [...c.dil], groups: c.groups } as any;
      const want = convT2dRef(x, w, b, o);
      const got = F.convTranspose2d(f64(x), f64(w), b ? f64(b) : null, {
        stride: o.stride,
        padding: o.pad,
        outputPadding: o.outPad,
        dilation: o.dil,
        groups: c.groups,
      });
      assertClose(got, want, 1e-12, [c.N, c.Og * c.groups, want[0][0].length, want[0][0][0].length]);
    });
    // stride 2, kernel 2 on [[1,2],[3,4]] with a ones kernel: each pixel becomes a 2×2 block
    const x = torch.tensor(
      [
        [
          [
            [1, 2],
            [3, 4],
          ],
        ],
      ],
      { dtype: 'float32' },
    );
    assertClose(
      F.convTranspose2d(x, torch.ones(1, 1, 2, 2), null, { stride: 2 }),
      [
        [
          [
            [1, 1, 2, 2],
            [1, 1, 2, 2],
            [3, 3, 4, 4],
            [3, 3, 4, 4],
          ],
        ],
      ],
      0,
      [1, 1, 4, 4],
    );
  }),
);

// ---- norms ---------------------------------------------------------------------------------

test(
  'layerNorm over the last dims: (x-μ)/√(σ²+eps)·w + b with biased σ², affine or not',
  run(() => {
    const x = randNested([2, 3, 4], 90, -2, 3),
      w = randNested([3, 4], 91),
      b = randNested([3, 4], 92);
    const ref = (eps: number, affine: boolean, lastOnly: boolean) => {
      if (lastOnly)
        return x.map((r: number[][]) =>
          r.map((row: number[]) => {
            const { m, v } = moments(row);
            return row.map((e) => (e - m) / Math.sqrt(v + eps));
          }),
        );
      return x.map((r: number[][]) => {
        const { m, v } = moments(flatN(r));
        return r.map((row, j) => row.map((e, k) => ((e - m) / Math.sqrt(v + eps)) * (affine ? w[j][k] : 1) + (affine ? b[j][k] : 0)));
      });
    };
    assertClose(F.layerNorm(f64(x), [3, 4], f64(w), f64(b)), ref(1e-5, true, false), 1e-12);
    assertClose(F.layerNorm(f64(x), [3, 4]), ref(1e-5, false, false), 1e-12);
    assertClose(F.layerNorm(f64(x), [4]), ref(1e-5, false, true), 1e-12);
    assertClose(F.layerNorm(f64(x), [3, 4], f64(w), f64(b), 0.5), ref(0.5, true, false), 1e-12);
    // eps matters: a constant row normalises to 0, and a tiny-variance row is damped by eps
    const tiny = torch.tensor([[1, 1.001]], { dtype: 'float64' });
    const { v } = moments([1, 1.001]);
    assertClose(F.layerNorm(tiny, [2], null, null, 1e-3), [[-0.0005 / Math.sqrt(v + 1e-3), 0.0005 / Math.sqrt(v + 1e-3)]], 1e-12);
  }),
);

test(
  'groupNorm: statistics per (sample, group) over channels×spatial, per-channel affine',
  run(() => {
    const [N, C, H, W, G] = [2, 6, 3, 2, 3];
    const x = randNested([N, C, H, W], 100, -1, 2),
      w = randNested([C], 101),
      b = randNested([C], 102);
    const ref = (affine: boolean, eps: number) =>
      nested([N, C, H, W], (_, [n, c, i, j]) => {
        const g = Math.floor(c / (C / G));
        const vals: number[] = [];
        for (let cc = g * (C / G); cc < (g + 1) * (C / G); cc++) vals.push(...flatN(x[n][cc]));
        const { m, v } = moments(vals);
        return ((x[n][c][i][j] - m) / Math.sqrt(v + eps)) * (affine ? w[c] : 1) + (affine ? b[c] : 0);
      });
    assertClose(F.groupNorm(f64(x), G, f64(w), f64(b)), ref(true, 1e-5), 1e-12, [N, C, H, W]);
    assertClose(F.groupNorm(f64(x), G), ref(false, 1e-5), 1e-12);
    assertClose(F.groupNorm(f64(x), G, f64(w), f64(b), 0.1), ref(true, 0.1), 1e-12);
    assert.throws(() => F.groupNorm(f64(x), 4), torch.TorchError); // 6 channels do not split into 4 groups
  }),
);

test(
  'rmsNorm: x/√(mean(x²)+eps)·w over the last dims; eps defaults to the dtype machine epsilon',
  run(() => {
    const x = randNested([2, 3, 4], 110, -2, 2),
      w = randNested([4], 111);
    const ref = (eps: number, withW: boolean, dims: 1 | 2) =>
      x.map((r: number[][]) => {
        if (dims === 2) {
          const ms = flatN(r).reduce((a, v) => a + v * v, 0) / 12;
          return r.map((row) => row.map((v) => v / Math.sqrt(ms + eps)));
        }
        return r.map((row) => {
          const ms = row.reduce((a, v) => a + v * v, 0) / row.length;
          return row.map((v, k) => (v / Math.sqrt(ms + eps)) * (withW ? w[k] : 1));
        });
      });
    const eps64 = 2.220446049250313e-16;
    assertClose(F.rmsNorm(f64(x), [4], f64(w)), ref(eps64, true, 1), 1e-12);
    assertClose(F.rmsNorm(f64(x), [4]), ref(eps64, false, 1), 1e-12);
    assertClose(F.rmsNorm(f64(x), [3, 4]), ref(eps64, false, 2), 1e-12);
    assertClose(F.rmsNorm(f64(x), [4], f64(w), 0.25), ref(0.25, true, 1), 1e-12);
    // The default eps shows where mean(x²) is comparable to it.
    // float32: eps = 2⁻²³ ≈ 1.19e-7; x = 1e-4 everywhere → 1e-4/√(1e-8 + 2⁻²³)
    const small32 = F.rmsNorm(torch.full([1, 4], 1e-4), [4]);
    assert.equal(small32.dtype, 'float32');
    const want32 = 1e-4 / Math.sqrt(1e-8 + 2 ** -23);
    assertClose(small32, [[want32, want32, want32, want32]], 1e-6);
    assert.ok(Math.abs(want32 - 1e-4 / Math.sqrt(1e-8 + 1e-6)) > 0.1, 'the check distinguishes eps 1e-6');
    // float64: eps = 2⁻⁵²; x = 1e-8 → 1e-8/√(1e-16 + 2⁻⁵²)
    const want64 = 1e-8 / Math.sqrt(1e-16 + eps64);
    assertClose(F.rmsNorm(torch.full([3], 1e-8, { dtype: 'float64' }), [3]), [want64, want64, want64], 1e-12);
    // float16/bfloat16 compute in float32 and use float32's epsilon (not the bf16/fp16 one), then cast back
    for (const dtype of ['bfloat16', 'float16'] as const) {
      const xb = torch.full([1, 4], 1e-4, { dtype });
      const v = xb.float().tolist()[0][0] as number; // 1e-4 rounded to the low-precision type
      const yb = F.rmsNorm(xb, [4]);
      assert.equal(yb.dtype, dtype);
      const want = v / Math.sqrt(v * v + 2 ** -23);
      assertClose(yb.float(), [[want, want, want, want]], want * 2 ** -7, [1, 4]);
      // and with a weight in the same dtype, the product is formed before the cast back
      const wb = torch.tensor([1, 2, 0.5, -1], { dtype });
      assertClose(F.rmsNorm(xb, [4], wb).float(), [[want, 2 * want, want / 2, -want]], want * 2 ** -6);
    }
    // eps = 0 explicitly is honoured (not replaced by the default)
    assertClose(F.rmsNorm(torch.full([2], 1e-8, { dtype: 'float64' }), [2], null, 0), [1, 1], 1e-12);
  }),
);

// ---- activations -----------------------------------------------------------------------------

test(
  'gelu exact (erf) and tanh approximation; silu; against JS formulas',
  run(() => {
    const xs = [-3, -2.5, -1, -0.3, 0, 0.1, 0.7, 1.5, 2, 3];
    const exact = xs.map((x) => 0.5 * x * (1 + erf(x / Math.SQRT2)));
    const approx = xs.map((x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))));
    assert.ok(Math.abs(erf(1) - 0.8427007929497149) < 1e-15, 'the JS erf is right');
    assertClose(F.gelu(f64(xs)), exact, 1e-13);
    assertClose(F.gelu(f64(xs), 'tanh'), approx, 1e-13);
    assert.ok(maxAbsDiff(exact, approx) > 1e-5, 'the two forms differ');
    assertClose(F.gelu(torch.tensor(xs)), exact, 2e-6);
    assertClose(
      F.silu(f64(xs)),
      xs.map((x) => x * sigmoid(x)),
      1e-14,
    );
    assertClose(
      F.silu(torch.tensor(xs)),
      xs.map((x) => x * sigmoid(x)),
      2e-6,
    );
  }),
);

test(
  'softmax / logSoftmax along a dim, with a dtype argument',
  run(() => {
    const x = randNested([3, 4], 120, -5, 5);
    const sm = x.map(softmaxRow),
      lsm = x.map(logSoftmaxRow);
    assertClose(F.softmax(f64(x), 1), sm, 1e-14);
    assertClose(F.softmax(f64(x), -1), sm, 1e-14);
    assertClose(F.logSoftmax(f64(x), 1), lsm, 1e-13);
    const cols = (f: (r: number[]) => number[]) => {
      const t = x[0].map((_: number, j: number) => f(x.map((r: number[]) => r[j])));
      return x.map((_: number[], i: number) => t.map((c: number[]) => c[i]));
    };
    assertClose(F.softmax(f64(x), 0), cols(softmaxRow), 1e-14);
    assertClose(F.logSoftmax(f64(x), 0), cols(logSoftmaxRow), 1e-13);
    const y = F.softmax(torch.tensor(x), 1, 'float64');
    assert.equal(y.dtype, 'float64');
    assertClose(y, sm, 1e-6);
    // large logits do not overflow
    assertClose(F.logSoftmax(torch.tensor([1000, 1000], { dtype: 'float32' }), 0), [-Math.LN2, -Math.LN2], 1e-6);
  }),
);

test(
  'dropout: training zeroes ≈p and scales survivors by 1/(1-p); eval and p=0 are identity; p=1 zeroes',
  run(() => {
    torch.manualSeed(1234);
    const n = 200_000;
    const x = torch.ones(n);
    for (const p of [0.1, 0.3, 0.5, 0.8]) {
      const y = F.dropout(x, p).toTypedArray() as Float32Array;
      let zeros = 0,
        bad = 0;
      const scaled = 1 / (1 - p);
      for (const v of y) {
        if (v === 0) zeros++;
        else if (Math.abs(v - scaled) > 1e-5 * scaled) bad++;
      }
      // binomial sd ≤ √(0.25/n) ≈ 0.0011: 0.01 is ~9 sd
      assert.ok(Math.abs(zeros / n - p) < 0.01, `p=${p}: zero fraction ${zeros / n}`);
      assert.equal(bad, 0, `p=${p}: survivors are scaled by 1/(1-p)`);
    }
    const r = randNested([4, 5], 130);
    assertClose(F.dropout(f64(r), 0.5, false), r, 0);
    assertClose(F.dropout(f64(r), 0, true), r, 0);
    assertClose(
      F.dropout(f64(r), 1, true),
      nested([4, 5], () => 0),
      0,
    );
    assert.throws(() => F.dropout(x, 1.5), RangeError);
    assert.throws(() => F.dropout(x, -0.1), RangeError);
    // the gradient is the same mask, scaled
    const xg = torch.ones(1000, { requiresGrad: true });
    const yg = F.dropout(xg, 0.4);
    yg.sum().backward();
    assertClose(xg.grad!, yg.detach().tolist(), 1e-6);
  }),
);

// ---- interpolate -----------------------------------------------------------------------------

test(
  'interpolate bilinear 2×2→4×4: align_corners True and False, hand values',
  run(() => {
    const x = torch.tensor(
      [
        [
          [
            [0, 1],
            [2, 3],
          ],
        ],
      ],
      { dtype: 'float32' },
    );
    // align_corners=True: sample points 0, 1/3, 2/3, 1 in each axis of the plane 2y + x
    const t = [0, 1 / 3, 2 / 3, 1];
    assertClose(F.interpolate(x, { size: 4, mode: 'bilinear', alignCorners: true }), [[t.map((y) => t.map((xx) => 2 * y + xx))]], 1e-6, [1, 1, 4, 4]);
    // align_corners=False: source = (d + 0.5)/2 - 0.5, clamped at 0 and at the last pixel → 0, .25, .75, 1
    const f = [0, 0.25, 0.75, 1];
    assertClose(F.interpolate(x, { size: [4, 4], mode: 'bilinear' }), [[f.map((y) => f.map((xx) => 2 * y + xx))]], 1e-6);
    assertClose(F.interpolate(x, { scaleFactor: 2, mode: 'bilinear', alignCorners: false }), [[f.map((y) => f.map((xx) => 2 * y + xx))]], 1e-6);
  }),
);

test(
  'interpolate nearest / bilinear / bicubic match the PyTorch index and kernel formulas',
  run(() => {
    const x = randNested([2, 2, 5, 7], 140);
    const X = f64(x);
    for (const [oh, ow] of [
      [8, 3],
      [5, 7],
      [10, 14],
      [2, 9],
    ]) {
      assertClose(F.interpolate(X, { size: [oh, ow] }), resample2d(x, nearestTaps(5, oh), nearestTaps(7, ow)), 1e-12, [2, 2, oh, ow]);
      assertClose(F.interpolate(X, { size: [oh, ow], mode: 'nearest' }), resample2d(x, nearestTaps(5, oh), nearestTaps(7, ow)), 1e-12);
      for (const align of [false, true]) {
        assertClose(
          F.interpolate(X, { size: [oh, ow], mode: 'bilinear', alignCorners: align }),
          resample2d(x, bilinearTaps(5, oh, align), bilinearTaps(7, ow, align)),
          1e-12,
          [2, 2, oh, ow],
        );
        assertClose(
          F.interpolate(X, { size: [oh, ow], mode: 'bicubic', alignCorners: align }),
          resample2d(x, bicubicTaps(5, oh, align), bicubicTaps(7, ow, align)),
          1e-12,
          [2, 2, oh, ow],
        );
      }
    }
    // scaleFactor: output size floor(in·s), and the kernel uses 1/s (not in/out) as PyTorch does
    const s = 1.7; // 5 → 8, 7 → 11
    assertClose(
      F.interpolate(X, { scaleFactor: s, mode: 'bilinear' }),
      resample2d(x, bilinearTaps(5, 8, false, s), bilinearTaps(7, 11, false, s)),
      1e-12,
      [2, 2, 8, 11],
    );
    assertClose(
      F.interpolate(X, { scaleFactor: s, mode: 'bicubic' }),
      resample2d(x, bicubicTaps(5, 8, false, s), bicubicTaps(7, 11, false, s)),
      1e-12,
      [2, 2, 8, 11],
    );
    assertClose(F.interpolate(X, { scaleFactor: [s, 0.5] }), resample2d(x, nearestTaps(5, 8, s), nearestTaps(7, 3, 0.5)), 1e-12, [2, 2, 8, 3]);
    // integer upscaling with nearest repeats pixels
    const small = torch.tensor(
      [
        [
          [
            [1, 2],
            [3, 4],
          ],
        ],
      ],
      { dtype: 'float32' },
    );
    assertClose(
      F.interpolate(small, { scaleFactor: 2 }),
      [
        [
          [
            [1, 1, 2, 2],
            [1, 1, 2, 2],
            [3, 3, 4, 4],
            [3, 3, 4, 4],
          ],
        ],
      ],
      0,
    );
  }),
);

test(
  'interpolate antialias (bilinear, bicubic) on downsampling: PIL-style stretched filters',
  run(() => {
    const x = randNested([1, 2, 9, 8], 150);
    const X = f64(x);
    for (const mode of ['bilinear', 'bicubic'] as const) {
      for (const [oh, ow] of [
        [3, 4],
        [4, 3],
        [9, 2],
      ]) {
        const got = F.interpolate(X, { size: [oh, ow], mode, antialias: true });
        assertClose(got, resample2d(x, aaTaps(9, oh, mode), aaTaps(8, ow, mode)), 1e-10, [1, 2, oh, ow]);
      }
      // antialiased downsampling differs from plain interpolation (which skips pixels)
      const plain = F.interpolate(X, { size: [3, 4], mode });
      assert.ok(maxAbsDiff(plain.tolist(), F.interpolate(X, { size: [3, 4], mode, antialias: true }).tolist()) > 1e-3);
    }
    // hand value: 4 → 2 bilinear AA: scale 2, taps at distances .25,.25,.75 → weights 3/7,3/7,1/7
    const row = torch.tensor([[[[0, 1, 2, 3]]]], { dtype: 'float64' });
    assertClose(F.interpolate(row, { size: [1, 2], mode: 'bilinear', antialias: true }), [[[[5 / 7, 16 / 7]]]], 1e-12);
  }),
);

test(
  'interpolate: constant images stay constant in every mode; shapes; argument checks',
  run(() => {
    const c = torch.full([1, 3, 6, 5], 2.5);
    const cases: [string, any][] = [
      ['nearest', { size: [4, 9] }],
      ['bilinear', { size: [13, 2], mode: 'bilinear' }],
      ['bilinear-ac', { size: [7, 7], mode: 'bilinear', alignCorners: true }],
      ['bicubic', { size: [11, 3], mode: 'bicubic' }],
      ['bicubic-ac', { scaleFactor: 1.5, mode: 'bicubic', alignCorners: true }],
      ['aa-bilinear', { size: [2, 3], mode: 'bilinear', antialias: true }],
      ['aa-bicubic', { size: [3, 2], mode: 'bicubic', antialias: true }],
    ];
    for (const [name, o] of cases) {
      const y = F.interpolate(c, o);
      const want = o.size ?? [Math.floor(6 * o.scaleFactor), Math.floor(5 * o.scaleFactor)];
      assert.deepEqual(y.shape, [1, 3, ...want], name);
      assert.ok(maxAbsDiff(y.toTypedArray() as Float32Array, new Array(y.numel()).fill(2.5)) < 1e-5, name);
    }
    assert.throws(() => F.interpolate(c, {} as any), TypeError);
    assert.throws(() => F.interpolate(c, { size: 3, scaleFactor: 2 }), TypeError);
    assert.throws(() => F.interpolate(c, { size: 3, alignCorners: true }), TypeError);
    assert.throws(() => F.interpolate(torch.ones(3, 4), { size: 3 }), TypeError);
    assert.throws(() => F.interpolate(c, { size: 3, mode: 'nearest', antialias: true }), TypeError);
  }),
);

// ---- pad -------------------------------------------------------------------------------------

test(
  'pad: constant / reflect / replicate / circular, hand-made expectations',
  run(() => {
    const x = torch.tensor(
      [
        [
          [
            [0, 1, 2],
            [3, 4, 5],
          ],
        ],
      ],
      { dtype: 'float32' },
    );
    const p = [1, 2, 1, 0]; // left 1, right 2, top 1, bottom 0
    assertClose(
      F.pad(x, p, 'constant', 9),
      [
        [
          [
            [9, 9, 9, 9, 9, 9],
            [9, 0, 1, 2, 9, 9],
            [9, 3, 4, 5, 9, 9],
          ],
        ],
      ],
      0,
      [1, 1, 3, 6],
    );
    assertClose(
      F.pad(x, p),
      [
        [
          [
            [0, 0, 0, 0, 0, 0],
            [0, 0, 1, 2, 0, 0],
            [0, 3, 4, 5, 0, 0],
          ],
        ],
      ],
      0,
    );
    assertClose(
      F.pad(x, p, 'reflect'),
      [
        [
          [
            [4, 3, 4, 5, 4, 3],
            [1, 0, 1, 2, 1, 0],
            [4, 3, 4, 5, 4, 3],
          ],
        ],
      ],
      0,
      [1, 1, 3, 6],
    );
    assertClose(
      F.pad(x, p, 'replicate'),
      [
        [
          [
            [0, 0, 1, 2, 2, 2],
            [0, 0, 1, 2, 2, 2],
            [3, 3, 4, 5, 5, 5],
          ],
        ],
      ],
      0,
      [1, 1, 3, 6],
    );
    assertClose(
      F.pad(x, p, 'circular'),
      [
        [
          [
            [5, 3, 4, 5, 3, 4],
            [2, 0, 1, 2, 0, 1],
            [5, 3, 4, 5, 3, 4],
          ],
        ],
      ],
      0,
      [1, 1, 3, 6],
    );
    // 1-D padding of the last dim of a 3-D input
    const y = torch.tensor([[[1, 2, 3, 4]]], { dtype: 'float32' });
    assertClose(F.pad(y, [2, 1], 'reflect'), [[[3, 2, 1, 2, 3, 4, 3]]], 0);
    assertClose(F.pad(y, [2, 1], 'replicate'), [[[1, 1, 1, 2, 3, 4, 4]]], 0);
    assertClose(F.pad(y, [2, 1], 'circular'), [[[3, 4, 1, 2, 3, 4, 1]]], 0);
    // negative constant padding crops; padding a leading dim with a 6-element pad
    assertClose(F.pad(y, [-1, -2]), [[[2]]], 0);
    assertClose(F.pad(torch.ones(1, 1, 1), [0, 0, 0, 0, 1, 0], 'constant', 7), [[[7]], [[1]]], 0, [2, 1, 1]);
    // reflect needs pad < size
    assert.throws(() => F.pad(y, [4, 0], 'reflect'), torch.TorchError);
  }),
);

// ---- pooling ---------------------------------------------------------------------------------

function poolOut(H: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  let o = Math.floor((H + 2 * p - d * (k - 1) - 1 + (ceil ? s - 1 : 0)) / s) + 1;
  if (ceil && (o - 1) * s >= H + p) o--;
  return o;
}
function avgPoolRef(x: A4, k: [number, number], s: [number, number], p: [number, number], ceil: boolean, include: boolean): A4 {
  const [H, W] = [x[0][0].length, x[0][0][0].length];
  const OH = poolOut(H, k[0], s[0], p[0], 1, ceil),
    OW = poolOut(W, k[1], s[1], p[1], 1, ceil);
  return x.map((img) =>
    img.map((ch) =>
      nested([OH, OW], (_, [oy, ox]) => {
        let y0 = oy * s[0] - p[0],
          x0 = ox * s[1] - p[1];
        let y1 = Math.min(y0 + k[0], H + p[0]),
          x1 = Math.min(x0 + k[1], W + p[1]);
        const padded = (y1 - y0) * (x1 - x0);
        y0 = Math.max(y0, 0);
        x0 = Math.max(x0, 0);
        y1 = Math.min(y1, H);
        x1 = Math.min(x1, W);
        let sum = 0;
        for (let i = y0; i < y1; i++) for (let j = x0; j < x1; j++) sum += ch[i][j];
        return sum / (include ? padded : (y1 - y0) * (x1 - x0));
      }),
    ),
  );
}
function maxPoolRef(x: A4, k: [number, number], s: [number, number], p: [number, number], d: [number, number], ceil: boolean): A4 {
  const [H, W] = [x[0][0].length, x[0][0][0].length];
  const OH = poolOut(H, k[0], s[0], p[0], d[0], ceil),
    OW = poolOut(W, k[1], s[1], p[1], d[1], ceil);
  return x.map((img) =>
    img.map((ch) =>
      nested([OH, OW], (_, [oy, ox]) => {
        let m = -Infinity;
        for (let a = 0; a < k[0]; a++)
          for (let b = 0; b < k[1]; b++) {
            const i = oy * s[0] - p[0] + a * d[0],
              j = ox * s[1] - p[1] + b * d[1];
            if (i >= 0 && i < H && j >= 0 && j < W) m = Math.max(m, ch[i][j]);
          }
        return m;
      }),
    ),
  );
}

test(
  'avgPool2d: kernel, stride (default = kernel), padding, ceilMode, countIncludePad',
  run(() => {
    const x = randNested([2, 2, 7, 6], 160);
    const X = f64(x);
    const cases: [[number, number], [number, number] | null, [number, number], boolean, boolean][] = [
      [[2, 2], null, [0, 0], false, true],
      [[3, 2], [2, 1], [1, 0], false, true],
      [[3, 3], [2, 2], [1, 1], false, false],
      [[2, 3], [2, 2], [0, 1], true, true],
      [[3, 3], [2, 3], [1, 1], true, false],
    ];
    for (const [k, s, p, ceil, inc] of cases) {
      const want = avgPoolRef(x, k, s ?? k, p, ceil, inc);
      assertClose(F.avgPool2d(X, k, s, p, ceil, inc), want, 1e-12, [2, 2, want[0][0].length, want[0][0][0].length]);
    }
    assertClose(
      F.avgPool2d(
        torch.tensor(
          [
            [
              [
                [1, 2],
                [3, 4],
              ],
            ],
          ],
          { dtype: 'float32' },
        ),
        2,
      ),
      [[[[2.5]]]],
      0,
    );
  }),
);

test(
  'maxPool2d: kernel, stride, padding (as -inf), dilation, ceilMode',
  run(() => {
    const x = randNested([1, 3, 8, 7], 170);
    const X = f64(x);
    const cases: [[number, number], [number, number] | null, [number, number], [number, number], boolean][] = [
      [[2, 2], null, [0, 0], [1, 1], false],
      [[3, 3], [2, 2], [1, 1], [1, 1], false],
      [[3, 2], [1, 2], [1, 1], [2, 2], false],
      [[2, 2], [2, 2], [0, 0], [1, 1], true],
      [[3, 3], [3, 2], [1, 0], [1, 2], true],
    ];
    for (const [k, s, p, d, ceil] of cases) {
      const want = maxPoolRef(x, k, s ?? k, p, d, ceil);
      assertClose(F.maxPool2d(X, k, s, p, d, ceil), want, 0, [1, 3, want[0][0].length, want[0][0][0].length]);
    }
    // negative values with padding: padding never wins
    assertClose(
      F.maxPool2d(torch.full([1, 1, 2, 2], -5, { dtype: 'float32' }), 3, 1, 1),
      [
        [
          [
            [-5, -5],
            [-5, -5],
          ],
        ],
      ],
      0,
    );
  }),
);

test(
  'adaptiveAvgPool2d: bins [floor(i·in/out), ceil((i+1)·in/out))',
  run(() => {
    const x = randNested([2, 2, 7, 5], 180);
    const bins = (inn: number, out: number) => Array.from({ length: out }, (_, i) => [Math.floor((i * inn) / out), Math.ceil(((i + 1) * inn) / out)]);
    for (const [oh, ow] of [
      [3, 2],
      [1, 1],
      [7, 5],
      [4, 4],
    ]) {
      const bh = bins(7, oh),
        bw = bins(5, ow);
      const want = x.map((img: number[][][]) =>
        img.map((ch) =>
          bh.map(([a, b]) =>
            bw.map(([c, d]) => {
              let s = 0;
              for (let i = a; i < b; i++) for (let j = c; j < d; j++) s += ch[i][j];
              return s / ((b - a) * (d - c));
            }),
          ),
        ),
      );
      assertClose(F.adaptiveAvgPool2d(f64(x), [oh, ow]), want, 1e-12, [2, 2, oh, ow]);
    }
    assertClose(
      F.adaptiveAvgPool2d(
        torch.tensor(
          [
            [
              [
                [1, 2],
                [3, 4],
              ],
            ],
          ],
          { dtype: 'float32' },
        ),
        1,
      ),
      [[[[2.5]]]],
      0,
    );
  }),
);

// ---- embedding -------------------------------------------------------------------------------

test(
  'embedding: rows of the weight; paddingIdx rows get no gradient (negative counts from the end)',
  run(() => {
    const w = randNested([5, 3], 190);
    const idx = [
      [0, 2, 4],
      [4, 4, 1],
    ];
    const W = f64(w, true);
    const out = F.embedding(torch.tensor(idx), W);
    assertClose(
      out,
      idx.map((r) => r.map((i) => w[i])),
      0,
      [2, 3, 3],
    );
    out.sum().backward();
    const counts = [1, 1, 1, 0, 3];
    assertClose(
      W.grad!,
      counts.map((c) => [c, c, c]),
      0,
    );
    for (const [pad, row] of [
      [4, 4],
      [-1, 4],
      [-5, 0],
    ]) {
      const W2 = f64(w, true);
      const y = F.embedding(torch.tensor(idx), W2, pad);
      // forward still reads the padding row
      assertClose(
        y,
        idx.map((r) => r.map((i) => w[i])),
        0,
      );
      y.sum().backward();
      const g = counts.map((c, i) => (i === row ? 0 : c));
      assertClose(
        W2.grad!,
        g.map((c) => [c, c, c]),
        0,
        [5, 3],
      );
    }
    assert.throws(() => F.embedding(torch.tensor([5]), W), torch.TorchError);
  }),
);

// ---- attention -------------------------------------------------------------------------------

/** softmax(q kᵀ · scale + mask) v for one (L,E)×(S,E)×(S,Ev) problem; mask entries: number added, or false = -inf. */
function attnRef(q: number[][], k: number[][], v: number[][], mask?: (i: number, j: number) => number | boolean, scale?: number): number[][] {
  const s = scale ?? 1 / Math.sqrt(q[0].length);
  return q.map((qi, i) => {
    const scores = k.map((kj, j) => {
      let d = 0;
      for (let e = 0; e < qi.length; e++) d += qi[e] * kj[e];
      d *= s;
      const m = mask?.(i, j);
      if (m === false) return -Infinity;
      return typeof m === 'number' ? d + m : d;
    });
    const p = softmaxRow(scores);
    return v[0].map((_, c) => p.reduce((acc, pj, j) => acc + pj * v[j][c], 0));
  });
}

test(
  'scaledDotProductAttention: no mask, scale, boolean mask (True = attend), float additive mask, isCausal',
  run(() => {
    const [B, L, S, E, Ev] = [2, 3, 5, 4, 6];
    const q = randNested([B, L, E], 200),
      k = randNested([B, S, E], 201),
      v = randNested([B, S, Ev], 202);
    const Q = f64(q),
      K = f64(k),
      V = f64(v);
    const per = (f: (b: number) => number[][]) => Array.from({ length: B }, (_, b) => f(b));
    assertClose(
      F.scaledDotProductAttention(Q, K, V),
      per((b) => attnRef(q[b], k[b], v[b])),
      1e-12,
      [B, L, Ev],
    );
    assertClose(
      F.scaledDotProductAttention(Q, K, V, { scale: 0.3 }),
      per((b) => attnRef(q[b], k[b], v[b], undefined, 0.3)),
      1e-12,
    );
    // boolean mask (L, S) broadcast over the batch; every row keeps at least one key
    const keep = [
      [true, false, true, true, false],
      [false, false, true, false, false],
      [true, true, true, true, true],
    ];
    assertClose(
      F.scaledDotProductAttention(Q, K, V, { attnMask: torch.tensor(keep) }),
      per((b) => attnRef(q[b], k[b], v[b], (i, j) => keep[i][j])),
      1e-12,
    );
    // a row that keeps one key returns that key's value exactly
    const y = F.scaledDotProductAttention(Q, K, V, { attnMask: torch.tensor(keep) });
    assertClose(y.select(1, 1), [v[0][2], v[1][2]], 1e-12);
    // float mask is added to the scores
    const add = randNested([L, S], 203, -2, 2);
    assertClose(
      F.scaledDotProductAttention(Q, K, V, { attnMask: f64(add) }),
      per((b) => attnRef(q[b], k[b], v[b], (i, j) => add[i][j])),
      1e-12,
    );
    // per-batch float mask (B, L, S)
    const addB = randNested([B, L, S], 204, -2, 2);
    assertClose(
      F.scaledDotProductAttention(Q, K, V, { attnMask: f64(addB) }),
      per((b) => attnRef(q[b], k[b], v[b], (i, j) => addB[b][i][j])),
      1e-12,
    );
    // isCausal: query i sees keys j ≤ i (top-left aligned when L ≠ S)
    assertClose(
      F.scaledDotProductAttention(Q, K, V, { isCausal: true }),
      per((b) => attnRef(q[b], k[b], v[b], (i, j) => j <= i)),
      1e-12,
    );
    assertClose(F.scaledDotProductAttention(Q, K, V, { isCausal: true }).select(1, 0), [v[0][0], v[1][0]], 1e-12);
    assert.throws(() => F.scaledDotProductAttention(Q, K, V, { isCausal: true, attnMask: torch.tensor(keep) }), TypeError);
    // a query allowed to attend to no key gets zeros (PyTorch's _safe_softmax), and finite gradients
    const none = keep.map((r, i) => (i === 1 ? r.map(() => false) : r));
    const Qg = f64(q, true),
      Kg = f64(k, true);
    const z = F.scaledDotProductAttention(Qg, Kg, V, { attnMask: torch.tensor(none) });
    assertClose(z.select(1, 1), [new Array(Ev).fill(0), new Array(Ev).fill(0)], 0);
    assertClose(
      z.select(1, 0),
      per((b) => attnRef(q[b], k[b], v[b], (i, j) => keep[i][j])).map((r) => r[0]),
      1e-12,
    );
    z.sum().backward();
    assert.ok(Qg.grad!.isfinite().all().item() && Kg.grad!.isfinite().all().item(), 'gradients stay finite');
    assertClose(Qg.grad!.select(1, 1), [new Array(E).fill(0), new Array(E).fill(0)], 0);
    const negInfRow = nested([L, S], (_, [i]) => (i === 1 ? -Infinity : 0));
    assertClose(F.scaledDotProductAttention(Q, K, V, { attnMask: f64(negInfRow) }).select(1, 1), [new Array(Ev).fill(0), new Array(Ev).fill(0)], 0);
    // 4-D (B, H, L, E) inputs
    const q4 = randNested([1, 2, L, E], 205),
      k4 = randNested([1, 2, S, E], 206),
      v4 = randNested([1, 2, S, Ev], 207);
    assertClose(F.scaledDotProductAttention(f64(q4), f64(k4), f64(v4)), [[0, 1].map((h) => attnRef(q4[0][h], k4[0][h], v4[0][h]))], 1e-12, [1, 2, L, Ev]);
  }),
);

test(
  'scaledDotProductAttention: masking one key for every query equals dropping that key',
  run(() => {
    const [L, S, E] = [4, 5, 3];
    const q = randNested([1, L, E], 210),
      k = randNested([1, S, E], 211),
      v = randNested([1, S, 2], 212);
    const j = 2;
    const keep = nested([L, S], (_, [, c]) => (c === j ? 0 : 1)).map((r: number[]) => r.map(Boolean));
    const masked = F.scaledDotProductAttention(f64(q), f64(k), f64(v), { attnMask: torch.tensor(keep) });
    const drop = (a: number[][][]) => [a[0].filter((_, c) => c !== j)];
    const dropped = F.scaledDotProductAttention(f64(q), f64(drop(k)), f64(drop(v)));
    assertClose(masked, dropped.tolist(), 1e-12, [1, L, 2]);
    // the same with a float mask of -inf in that column
    const negInf = nested([L, S], (_, [, c]) => (c === j ? -Infinity : 0));
    assertClose(F.scaledDotProductAttention(f64(q), f64(k), f64(v), { attnMask: f64(negInf) }), dropped.tolist(), 1e-12);
  }),
);

// ---- losses ----------------------------------------------------------------------------------

test(
  'mseLoss: mean, sum, none',
  run(() => {
    const a = randNested([3, 4], 220),
      b = randNested([3, 4], 221);
    const sq = a.map((r: number[], i: number) => r.map((x, j) => (x - b[i][j]) ** 2));
    const tot = flatN(sq).reduce((s, x) => s + x, 0);
    assertClose(F.mseLoss(f64(a), f64(b)), tot / 12, 1e-14, []);
    assertClose(F.mseLoss(f64(a), f64(b), 'sum'), tot, 1e-13, []);
    assertClose(F.mseLoss(f64(a), f64(b), 'none'), sq, 1e-14, [3, 4]);
    assertClose(F.mseLoss(torch.tensor([1, 2, 3], { dtype: 'float32' }), torch.tensor([1, 0, 0], { dtype: 'float32' })), 13 / 3, 1e-6);
    assert.throws(() => F.mseLoss(f64(a), f64(b), 'avg' as any), TypeError);
  }),
);

/** PyTorch's cross entropy with class indices, weights, ignore_index and label smoothing. */
function crossEntropyRef(x: number[][], y: number[], o: { w?: number[]; ignore?: number; ls?: number; reduction?: 'mean' | 'sum' | 'none' } = {}) {
  const C = x[0].length,
    ls = o.ls ?? 0,
    ignore = o.ignore ?? -100;
  const wt = (c: number) => (o.w ? o.w[c] : 1);
  const lp = x.map(logSoftmaxRow);
  const nll = y.map((t, i) => (t === ignore ? 0 : -wt(t) * lp[i][t]));
  const smooth = y.map((t, i) => (t === ignore ? 0 : -lp[i].reduce((s, v, c) => s + wt(c) * v, 0)));
  const per = nll.map((n, i) => (1 - ls) * n + (ls / C) * smooth[i]);
  if (o.reduction === 'none') return per;
  const sum = per.reduce((a, b) => a + b, 0);
  if (o.reduction === 'sum') return sum;
  const denom = y.reduce((s, t) => s + (t === ignore ? 0 : wt(t)), 0);
  return sum / denom;
}

test(
  'crossEntropy with class indices: weight, ignoreIndex, labelSmoothing, reductions',
  run(() => {
    const x = randNested([6, 4], 230, -3, 3),
      y = [0, 3, 1, 1, 2, 3],
      w = [0.5, 2, 1, 0.25];
    const X = f64(x),
      Y = torch.tensor(y);
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      const shape = reduction === 'none' ? [6] : [];
      assertClose(F.crossEntropy(X, Y, { reduction }), crossEntropyRef(x, y, { reduction }), 1e-12, shape);
      assertClose(F.crossEntropy(X, Y, { reduction, weight: f64(w) }), crossEntropyRef(x, y, { reduction, w }), 1e-12, shape);
      assertClose(F.crossEntropy(X, Y, { reduction, labelSmoothing: 0.2 }), crossEntropyRef(x, y, { reduction, ls: 0.2 }), 1e-12, shape);
      assertClose(F.crossEntropy(X, Y, { reduction, labelSmoothing: 0.1, weight: f64(w) }), crossEntropyRef(x, y, { reduction, ls: 0.1, w }), 1e-12, shape);
      const yi = [0, 3, -100, 1, 2, -100];
      assertClose(F.crossEntropy(X, torch.tensor(yi), { reduction }), crossEntropyRef(x, yi, { reduction }), 1e-12, shape);
      const y3 = [3, 3, 1, 1, 2, 0];
      assertClose(
        F.crossEntropy(X, torch.tensor(y3), { reduction, ignoreIndex: 3, weight: f64(w), labelSmoothing: 0.3 }),
        crossEntropyRef(x, y3, { reduction, ignore: 3, w, ls: 0.3 }),
        1e-12,
        shape,
      );
    }
    // hand value: uniform logits over 4 classes → log 4
    assertClose(F.crossEntropy(torch.zeros(2, 4), torch.tensor([1, 2])), Math.log(4), 1e-6);
  }),
);

test(
  'crossEntropy: (N, C, d) inputs and class-probability targets',
  run(() => {
    // (N, C, d): the class dim is 1
    const x = randNested([2, 3, 4], 240, -2, 2),
      y = [
        [0, 2, 1, 1],
        [2, 2, 0, 1],
      ];
    const rows: number[][] = [],
      ys: number[] = [];
    for (let n = 0; n < 2; n++)
      for (let d = 0; d < 4; d++) {
        rows.push([0, 1, 2].map((c) => x[n][c][d]));
        ys.push(y[n][d]);
      }
    assertClose(F.crossEntropy(f64(x), torch.tensor(y)), crossEntropyRef(rows, ys), 1e-12, []);
    const none = crossEntropyRef(rows, ys, { reduction: 'none' }) as number[];
    assertClose(F.crossEntropy(f64(x), torch.tensor(y), { reduction: 'none' }), [none.slice(0, 4), none.slice(4)], 1e-12, [2, 4]);
    // probabilities: -Σ_c w_c p_c log softmax(x)_c, mean over N (not over weights)
    const z = randNested([3, 4], 241, -2, 2);
    const p = randNested([3, 4], 242, 0, 1).map((r: number[]) => {
      const s = r.reduce((a, b) => a + b, 0);
      return r.map((v) => v / s);
    });
    const w = [1, 2, 0.5, 1.5];
    const per = (ls: number, wt: boolean) =>
      z.map((r: number[], i: number) => {
        const lp = logSoftmaxRow(r);
        return -lp.reduce((s, v, c) => s + (wt ? w[c] : 1) * (p[i][c] * (1 - ls) + ls / 4) * v, 0);
      });
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    assertClose(F.crossEntropy(f64(z), f64(p)), mean(per(0, false)), 1e-12);
    assertClose(F.crossEntropy(f64(z), f64(p), { weight: f64(w) }), mean(per(0, true)), 1e-12);
    assertClose(F.crossEntropy(f64(z), f64(p), { labelSmoothing: 0.25 }), mean(per(0.25, false)), 1e-12);
    assertClose(F.crossEntropy(f64(z), f64(p), { reduction: 'none' }), per(0, false), 1e-12);
  }),
);

test(
  'nllLoss: picks -w[y]·input[y]; mean divides by the summed weights; ignoreIndex',
  run(() => {
    const lp = randNested([4, 3], 250, -3, 0),
      y = [2, 0, 1, 2],
      w = [0.2, 1, 3];
    const X = f64(lp),
      Y = torch.tensor(y);
    const terms = y.map((t, i) => -lp[i][t]);
    assertClose(F.nllLoss(X, Y), terms.reduce((a, b) => a + b, 0) / 4, 1e-14, []);
    assertClose(
      F.nllLoss(X, Y, { reduction: 'sum' }),
      terms.reduce((a, b) => a + b, 0),
      1e-14,
    );
    assertClose(F.nllLoss(X, Y, { reduction: 'none' }), terms, 1e-14, [4]);
    const wsum = y.reduce((s, t) => s + w[t], 0);
    assertClose(F.nllLoss(X, Y, { weight: f64(w) }), y.reduce((s, t, i) => s - w[t] * lp[i][t], 0) / wsum, 1e-14);
    assertClose(F.nllLoss(X, Y, { ignoreIndex: 2 }), (-lp[1][0] - lp[2][1]) / 2, 1e-14);
    assertClose(F.nllLoss(X, Y, { ignoreIndex: 2, reduction: 'none' }), [0, -lp[1][0], -lp[2][1], 0], 1e-14);
  }),
);

test(
  'binaryCrossEntropyWithLogits: stable max(x,0) - x·t + log(1+e^{-|x|}); reductions',
  run(() => {
    const x = [-30, -2, -0.5, 0, 0.7, 3, 40],
      t = [0, 1, 0.3, 1, 0, 1, 0];
    const per = x.map((v, i) => Math.max(v, 0) - v * t[i] + Math.log1p(Math.exp(-Math.abs(v))));
    assertClose(F.binaryCrossEntropyWithLogits(f64(x), f64(t), 'none'), per, 1e-13);
    assertClose(F.binaryCrossEntropyWithLogits(f64(x), f64(t)), per.reduce((a, b) => a + b, 0) / per.length, 1e-13, []);
    assertClose(
      F.binaryCrossEntropyWithLogits(f64(x), f64(t), 'sum'),
      per.reduce((a, b) => a + b, 0),
      1e-12,
    );
    // -(t log σ(x) + (1-t) log(1-σ(x))) for moderate x
    assertClose(F.binaryCrossEntropyWithLogits(f64([0.4]), f64([0.25]), 'none'), [-(0.25 * Math.log(sigmoid(0.4)) + 0.75 * Math.log(1 - sigmoid(0.4)))], 1e-14);
  }),
);

// ---- similarity, normalize, one-hot, pixel shuffle ---------------------------------------------

test(
  'cosineSimilarity along a dim, with broadcasting',
  run(() => {
    const a = randNested([3, 5], 260),
      b = randNested([3, 5], 261);
    const cos = (u: number[], v: number[]) => {
      const d = u.reduce((s, x, i) => s + x * v[i], 0);
      return d / (Math.hypot(...u) * Math.hypot(...v));
    };
    assertClose(
      F.cosineSimilarity(f64(a), f64(b)),
      a.map((r: number[], i: number) => cos(r, b[i])),
      1e-14,
      [3],
    );
    const col = (m: number[][], j: number) => m.map((r) => r[j]);
    assertClose(
      F.cosineSimilarity(f64(a), f64(b), 0),
      [0, 1, 2, 3, 4].map((j) => cos(col(a, j), col(b, j))),
      1e-14,
      [5],
    );
    assertClose(
      F.cosineSimilarity(f64(a), f64([b[0]]), 1),
      a.map((r: number[]) => cos(r, b[0])),
      1e-14,
      [3],
    );
    assertClose(F.cosineSimilarity(f64([[1, 0]]), f64([[-2, 0]])), [-1], 1e-14);
  }),
);

test(
  'normalize: x / max(‖x‖_p, eps) along a dim',
  run(() => {
    const a = randNested([3, 4], 270);
    const norm = (u: number[], p: number) => u.reduce((s, x) => s + Math.abs(x) ** p, 0) ** (1 / p);
    assertClose(
      F.normalize(f64(a)),
      a.map((r: number[]) => r.map((x) => x / norm(r, 2))),
      1e-14,
    );
    assertClose(
      F.normalize(f64(a), 1),
      a.map((r: number[]) => r.map((x) => x / norm(r, 1))),
      1e-14,
    );
    assertClose(
      F.normalize(f64(a), 3, 0),
      a.map((r: number[]) =>
        r.map(
          (x, j) =>
            x /
            norm(
              a.map((rr: number[]) => rr[j]),
              3,
            ),
        ),
      ),
      1e-14,
    );
    // a zero row stays zero (divided by eps, not by 0)
    assertClose(
      F.normalize(
        f64([
          [0, 0],
          [3, 4],
        ]),
      ),
      [
        [0, 0],
        [0.6, 0.8],
      ],
      1e-15,
    );
    assertClose(F.normalize(f64([[1e-13, 0]]), 2, 1, 1e-12), [[0.1, 0]], 1e-15);
  }),
);

test(
  'oneHot: int64 rows of 0/1; numClasses inferred as max+1',
  run(() => {
    const y = F.oneHot(torch.tensor([2, 0, 1]));
    assert.equal(y.dtype, 'int64');
    assert.deepEqual(y.tolist(), [
      [0, 0, 1],
      [1, 0, 0],
      [0, 1, 0],
    ]);
    assert.deepEqual(F.oneHot(torch.tensor([[1], [3]]), 5).tolist(), [[[0, 1, 0, 0, 0]], [[0, 0, 0, 1, 0]]]);
    assert.throws(() => F.oneHot(torch.tensor([3]), 2), torch.TorchError);
  }),
);

test(
  'pixelShuffle / pixelUnshuffle: out[c][h·r+i][w·r+j] = in[c·r²+i·r+j][h][w], and they invert',
  run(() => {
    const [N, C, r, H, W] = [2, 2, 3, 2, 2];
    const x = nested([N, C * r * r, H, W], (i) => i);
    const want = nested([N, C, H * r, W * r], (_, [n, c, y, xx]) => x[n][c * r * r + (y % r) * r + (xx % r)][Math.floor(y / r)][Math.floor(xx / r)]);
    const X = torch.tensor(x, { dtype: 'float32' });
    const y = F.pixelShuffle(X, r);
    assertClose(y, want, 0, [N, C, H * r, W * r]);
    const back = F.pixelUnshuffle(y, r);
    assertClose(back, x, 0, [N, C * r * r, H, W]);
    assert.throws(() => F.pixelShuffle(torch.ones(1, 3, 2, 2), 2), torch.TorchError);
  }),
);

test(
  'activations beyond the list: relu, leakyRelu, elu, softplus, mish, sigmoid, tanh, l1Loss',
  run(() => {
    const xs = [-3, -1, -0.2, 0, 0.5, 2, 30];
    assertClose(
      F.relu(f64(xs)),
      xs.map((x) => Math.max(x, 0)),
      0,
    );
    assertClose(
      F.leakyRelu(f64(xs)),
      xs.map((x) => (x > 0 ? x : 0.01 * x)),
      1e-15,
    );
    assertClose(
      F.leakyRelu(f64(xs), 0.2),
      xs.map((x) => (x > 0 ? x : 0.2 * x)),
      1e-15,
    );
    assertClose(
      F.elu(f64(xs), 1.5),
      xs.map((x) => (x > 0 ? x : 1.5 * Math.expm1(x))),
      1e-15,
    );
    assertClose(
      F.softplus(f64(xs)),
      xs.map((x) => (x > 20 ? x : Math.log1p(Math.exp(x)))),
      1e-14,
    );
    assertClose(
      F.softplus(f64(xs), 2, 5),
      xs.map((x) => (2 * x > 5 ? x : Math.log1p(Math.exp(2 * x)) / 2)),
      1e-14,
    );
    assertClose(
      F.mish(f64(xs)),
      xs.map((x) => x * Math.tanh(Math.log1p(Math.exp(x)))),
      1e-14,
    );
    assertClose(F.sigmoid(f64(xs)), xs.map(sigmoid), 1e-15);
    assertClose(F.tanh(f64(xs)), xs.map(Math.tanh), 1e-15);
    assertClose(F.l1Loss(f64(xs), f64(xs.map((x) => x / 2))), xs.reduce((s, x) => s + Math.abs(x / 2), 0) / xs.length, 1e-14);
    assertClose(F.l1Loss(f64(xs), f64(xs.map(() => 0)), 'none'), xs.map(Math.abs), 0);
  }),
);
