// Tolerances for comparing two floating-point evaluations of the same mathematics that the kernels
// may round differently: a batched and an unbatched Linear, another BLAS kernel (the CPU's SIMD
// width picks it), another thread count or blocking. Bit-equality is not promised there, so such
// tests compare within a bound derived from the arithmetic; see docs/testing.md for which
// comparisons in the suite are exact and why.
//
// The bound (Higham, Accuracy and Stability of Numerical Algorithms, §3.1): a dot product of length
// n evaluated in floating point with unit roundoff u, in ANY order of summation (blocked, pairwise,
// split over threads, with or without FMA), satisfies
//     |fl(x·w) − x·w| ≤ γₙ · Σ|xᵢwᵢ|,   γₙ = n·u / (1 − n·u).
// A Linear output y = x·w + b adds one more term (the bias, added last or used as the accumulator's
// start), so |fl(y) − y| ≤ γₙ₊₁ · (Σ|xᵢwᵢ| + |b|). Two evaluations are each within that of the exact
// y, hence within twice that of each other:
//     |fl₁(y) − fl₂(y)| ≤ 2·γₙ₊₁ · (|x|·|W|ᵀ + |b|)      (element-wise).
// Assumes no underflow to subnormals (the tested values are O(1e-3..1e2)). The bound is computed in
// float64 from the float32 operands: products of two float32 values are exact in float64 and the
// float64 sum of non-negative terms is off by a relative n·2⁻⁵³, negligible against the bound.
import assert from 'node:assert/strict';
import * as torch from '../lib/torch.js';

/** Unit roundoff u = 2^-p of a floating dtype (p: its significand bits, implicit bit included). */
export function unitRoundoff(dtype: string): number {
  const u: Record<string, number> = { float32: 2 ** -24, float64: 2 ** -53, bfloat16: 2 ** -8, float16: 2 ** -11 };
  const v = u[dtype];
  if (v === undefined) throw new Error(`unitRoundoff: not a floating dtype: ${dtype}`);
  return v;
}

/** γₙ = n·u / (1 − n·u), the relative error factor of n rounded operations. */
export function gamma(n: number, u: number): number {
  assert.ok(n * u < 1, `gamma: n·u = ${n * u} ≥ 1, no bound`);
  return (n * u) / (1 - n * u);
}

/**
 * The element-wise bound 2·γₙ₊₁·(|x|·|W|ᵀ + |b|) on the difference between two evaluations of
 * F.linear(x, weight, bias) in x's dtype (fan-in n = weight.shape[1]), as a float64 tensor of the
 * output's shape. x may have any leading dimensions.
 */
export function linearRoundingBound(x: torch.Tensor, weight: torch.Tensor, bias?: torch.Tensor | null): torch.Tensor {
  return torch.scope(() => {
    const n = weight.shape[1];
    const g = gamma(n + 1, unitRoundoff(x.dtype));
    const abs = (t: torch.Tensor) => t.abs().double();
    return torch.nn.functional.linear(abs(x), abs(weight), bias ? abs(bias) : null).mul(2 * g);
  });
}

/** Bound for two evaluations of an nn.Linear (or anything with weight and bias) on x. */
export function linearModuleBound(m: { weight: torch.Tensor; bias?: torch.Tensor | null }, x: torch.Tensor): torch.Tensor {
  return linearRoundingBound(x, m.weight, m.bias ?? null);
}

/** Element-wise |a − b| ≤ bound (computed in float64), as a bool tensor of the broadcast shape. */
export function withinBound(a: torch.Tensor, b: torch.Tensor, bound: torch.Tensor): torch.Tensor {
  return torch.scope(() => a.double().sub(b.double()).abs().le(bound));
}

/** Asserts |got − ref| ≤ bound everywhere; the message gives the worst ratio |got − ref| / bound. */
export function assertWithinBound(got: torch.Tensor, ref: torch.Tensor, bound: torch.Tensor, what: string): void {
  torch.scope(() => {
    const diff = got.double().sub(ref.double()).abs();
    const ok = diff.le(bound).all().item();
    assert.ok(
      ok,
      `${what}: |got − ref| exceeds the rounding bound (worst |got − ref| / bound = ${diff.div(bound).max().item()}, max |got − ref| = ${diff.max().item()})`,
    );
  });
}
