// Shared by functional, gradcheck, modes and aten tests: a seeded JS random source, nested-array
// utilities, and a finite-difference gradient checker (float64 central differences compared with
// torch.autograd.grad). Reference values are computed here in plain JS, never by the library.
import assert from 'node:assert/strict';
import * as torch from '../lib/torch.js';
import type { Tensor } from '../lib/torch.js';

/** Deterministic uniform numbers in [lo, hi) (mulberry32). */
export function rng(seed: number, lo = -1, hi = 1): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  };
}

/** A nested array of the given shape filled by f(flat index, multi-index). */
export function nested(shape: number[], f: (i: number, idx: number[]) => number): any {
  let k = 0;
  const rec = (d: number, idx: number[]): any => (d === shape.length ? f(k++, idx) : Array.from({ length: shape[d] }, (_, i) => rec(d + 1, [...idx, i])));
  return rec(0, []);
}

/** A nested array of seeded uniform values in [lo, hi). */
export function randNested(shape: number[], seed: number, lo = -1, hi = 1): any {
  const r = rng(seed, lo, hi);
  return nested(shape, () => r());
}

/** Flattens nested arrays (row-major). */
export function flatN(a: any): number[] {
  return Array.isArray(a) ? a.flatMap(flatN) : [Number(a)];
}

/** A float64 tensor (optionally requiring grad) over nested JS data. */
export function f64(data: any, requiresGrad = false): Tensor {
  return torch.tensor(data, { dtype: 'float64', requiresGrad });
}

export interface GradcheckOptions {
  eps?: number;
  rtol?: number;
  atol?: number;
  seed?: number;
}

/**
 * Checks autograd's gradient of fn with respect to each input against central finite differences
 * in float64. fn's output is reduced to the scalar sum(out · v) with a fixed random v, so every
 * output element contributes. Inputs must be float64 leaves with requiresGrad.
 */
export function gradcheck(name: string, fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[], o: GradcheckOptions = {}): void {
  const { eps = 1e-6, rtol = 1e-6, atol = 1e-6, seed = 7 } = o;
  torch.scope(() => {
    for (const x of inputs) assert.equal(x.dtype, 'float64', `${name}: gradcheck inputs must be float64`);
    const out0 = fn(...inputs);
    assert.ok(out0.requiresGrad, `${name}: output does not require grad`);
    const r = rng(seed);
    const v = Float64Array.from({ length: out0.numel() }, () => r());
    const vT = torch.fromTypedArray(v, out0.shape);
    const analytic = torch.autograd.grad(out0.mul(vT).sum(), inputs, { allowUnused: true });
    // f(x) evaluated in JS double precision from the output's values
    const objective = (xs: Tensor[]): number =>
      torch.scope(() =>
        torch.noGrad(() => {
          const y = fn(...xs)
            .to('float64')
            .toTypedArray() as Float64Array;
          let s = 0;
          for (let i = 0; i < y.length; i++) s += y[i] * v[i];
          return s;
        }),
      );
    inputs.forEach((x, k) => {
      const base = x.detach().toTypedArray() as Float64Array;
      const shape = x.shape;
      const num = new Float64Array(base.length);
      for (let i = 0; i < base.length; i++) {
        const at = (delta: number) =>
          torch.scope(() => {
            const p = Float64Array.from(base);
            p[i] += delta;
            const xs = inputs.map((t, j) => (j === k ? torch.fromTypedArray(p, shape) : t.detach()));
            return objective(xs);
          });
        num[i] = (at(eps) - at(-eps)) / (2 * eps);
      }
      const g = analytic[k];
      const ana = g === null ? new Float64Array(base.length) : (g.toTypedArray() as Float64Array);
      for (let i = 0; i < base.length; i++) {
        const err = Math.abs(ana[i] - num[i]);
        assert.ok(err <= atol + rtol * Math.abs(num[i]), `${name}: d/d input${k}[${i}]: autograd ${ana[i]} vs finite difference ${num[i]} (|diff| ${err})`);
      }
    });
  });
}
