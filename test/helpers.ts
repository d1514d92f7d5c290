// Assertion helpers shared by the tests. Which comparisons in the suite are exact and which use a
// tolerance (and how each is derived) is in docs/testing.md; rounding bounds for comparing two
// evaluations that BLAS may round differently are in test/rounding.ts.
import assert from 'node:assert/strict';
import type { Tensor } from '../lib/torch.js';

/** Max |a - b| over all elements; a and b are flat or nested number arrays. */
export function maxAbsDiff(a: ArrayLike<number> | number[] | number, b: ArrayLike<number> | number[] | number): number {
  const fa = flat(a),
    fb = flat(b);
  assert.equal(fa.length, fb.length, `length ${fa.length} vs ${fb.length}`);
  let m = 0;
  for (let i = 0; i < fa.length; i++) {
    const d = Math.abs(fa[i] - fb[i]);
    if (Number.isNaN(d) && !(Number.isNaN(fa[i]) && Number.isNaN(fb[i]))) return Infinity;
    if (d > m) m = d;
  }
  return m;
}

function flat(x: any): number[] {
  if (typeof x === 'number' || typeof x === 'boolean') return [Number(x)];
  if (ArrayBuffer.isView(x)) return Array.from(x as any, Number);
  return (x as any[]).flatMap(flat);
}

/** Asserts a tensor's values equal `expected` within atol (and its shape, when given). */
export function assertClose(t: Tensor, expected: any, atol = 1e-6, shape?: number[]): void {
  if (shape) assert.deepEqual(t.shape, shape);
  const d = maxAbsDiff(t.tolist(), expected);
  assert.ok(d <= atol, `max abs diff ${d} > ${atol}\n got: ${JSON.stringify(t.tolist())}\n want: ${JSON.stringify(expected)}`);
}
