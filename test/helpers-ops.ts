// Plain-JS reference computations and small assertion helpers for the ops tests
// (ops-views, ops-math, ops-reduce, creation-random). Nothing here calls the library under test.
import assert from 'node:assert/strict';
import type { Tensor } from '../lib/torch.js';

export type Nested = number | Nested[];

/** A nested array of the given shape whose element at multi-index idx is f(idx). */
export function build(shape: number[], f: (idx: number[]) => number): any {
  const rec = (d: number, idx: number[]): any => (d === shape.length ? f(idx) : Array.from({ length: shape[d] }, (_, i) => rec(d + 1, [...idx, i])));
  return rec(0, []);
}

/** Element at a multi-index of a nested array. */
export function at(a: any, idx: number[]): number {
  let x = a;
  for (const i of idx) x = x[i];
  return x;
}

/** Flattens nested arrays (row-major). */
export function flat(a: any): number[] {
  return Array.isArray(a) ? a.flatMap(flat) : [Number(a)];
}

/** Shape of a (non-ragged) nested array. */
export function shapeOf(a: any): number[] {
  const s: number[] = [];
  while (Array.isArray(a)) {
    s.push(a.length);
    a = a[0];
  }
  return s;
}

/** Row-major values 0..n-1 as a nested array of the given shape (what arange(n).reshape(shape) holds). */
export function iota(shape: number[]): any {
  const strides = shape.map((_, d) => shape.slice(d + 1).reduce((p, q) => p * q, 1));
  return build(shape, (idx) => idx.reduce((s, i, d) => s + i * strides[d], 0));
}

/** Maps every element of a nested array. */
export function mapN(a: any, f: (v: number) => number): any {
  return Array.isArray(a) ? a.map((x) => mapN(x, f)) : f(a);
}

/** Element-wise combination of two nested arrays of the same shape. */
export function zipN(a: any, b: any, f: (x: number, y: number) => number): any {
  return Array.isArray(a) ? a.map((x, i) => zipN(x, b[i], f)) : f(a, b);
}

/** 2-D matrix product of nested arrays. */
export function matmul2(a: number[][], b: number[][]): number[][] {
  const n = a.length,
    k = b.length,
    m = b[0].length;
  assert.equal(a[0].length, k);
  return Array.from({ length: n }, (_, i) =>
    Array.from({ length: m }, (_, j) => {
      let s = 0;
      for (let q = 0; q < k; q++) s += a[i][q] * b[q][j];
      return s;
    }),
  );
}

/** Transpose of a 2-D nested array. */
export function transpose2(a: number[][]): number[][] {
  return a[0].map((_, j) => a.map((row) => row[j]));
}

/** A deterministic pseudo-random sequence in [lo, hi) (a small LCG), independent of torch's RNG. */
export function lcg(n: number, seed = 1, lo = -1, hi = 1): number[] {
  let s = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    // round to a float32-representable value with few bits so float32 arithmetic stays exact-ish
    out.push(lo + ((hi - lo) * Math.round((s / 2 ** 32) * 1024)) / 1024);
  }
  return out;
}

/** Reshapes a flat list into a nested array of the given shape. */
export function nest(values: number[], shape: number[]): any {
  let i = 0;
  return build(shape, () => values[i++]);
}

/** log(sum(exp(xs))) computed stably in double precision. */
export function logSumExp(xs: number[]): number {
  const m = Math.max(...xs);
  if (!Number.isFinite(m)) return m;
  return m + Math.log(xs.reduce((s, x) => s + Math.exp(x - m), 0));
}

/** erf(x) by its Maclaurin series (accurate to ~1e-12 for |x| <= 3). */
export function erf(x: number): number {
  let term = x,
    sum = x;
  for (let n = 1; n < 80; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

/** Mean and (biased or unbiased) variance of a list. */
export function meanVar(xs: number[], unbiased: boolean): { mean: number; var: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const ss = xs.reduce((a, b) => a + (b - mean) ** 2, 0);
  return { mean, var: ss / (xs.length - (unbiased ? 1 : 0)) };
}

/** Asserts a tensor's dtype, shape and exact values. */
export function assertExact(t: Tensor, dtype: string, expected: any): void {
  assert.equal(t.dtype, dtype);
  assert.deepEqual(t.shape, shapeOf(expected));
  assert.deepEqual(t.tolist(), expected);
}

/**
 * Like helpers.assertClose, but NaN matches NaN and an infinity matches the same infinity
 * (helpers.maxAbsDiff reports inf - inf = NaN as a mismatch).
 */
export function assertAllClose(t: Tensor, expected: any, atol = 1e-6, shape?: number[]): void {
  if (shape) assert.deepEqual(t.shape, shape);
  const got = flat(t.tolist()),
    want = flat(expected);
  assert.equal(got.length, want.length, `length ${got.length} vs ${want.length}`);
  for (let i = 0; i < got.length; i++) {
    const g = got[i],
      w = want[i];
    const ok = Number.isNaN(w) ? Number.isNaN(g) : !Number.isFinite(w) ? g === w : Math.abs(g - w) <= atol;
    assert.ok(ok, `element ${i}: got ${g}, want ${w} (atol ${atol})\n got: ${JSON.stringify(got)}\n want: ${JSON.stringify(want)}`);
  }
}
