// Element-wise math, matrix products, broadcasting, type promotion, in-place ops, comparisons and
// logical ops of the typed Tensor/torch.* surface, against hand-computed or plain-JS results.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../lib/torch.js';
import { assertClose } from './helpers.js';
import { assertAllClose, assertExact, erf, lcg, matmul2, meanVar, nest, transpose2, zipN } from './helpers-ops.js';

const f32 = (v: any) => torch.tensor(v, { dtype: 'float32' });
const f64 = (v: any) => torch.tensor(v, { dtype: 'float64' });

test('add/sub/mul/div with tensors and scalars, alpha', () =>
  torch.scope(() => {
    const a = f32([1, 2, 3]);
    const b = f32([10, 20, 30]);
    assertExact(a.add(b), 'float32', [11, 22, 33]);
    assertExact(a.add(b, 2), 'float32', [21, 42, 63]);
    assertExact(torch.add(a, 1.5), 'float32', [2.5, 3.5, 4.5]);
    assertExact(a.add(2, 3), 'float32', [7, 8, 9]);
    assertExact(b.sub(a), 'float32', [9, 18, 27]);
    assertExact(b.sub(a, 3), 'float32', [7, 14, 21]);
    assertExact(torch.sub(a, 1), 'float32', [0, 1, 2]);
    assertExact(a.sub(1, 2), 'float32', [-1, 0, 1]);
    assertExact(a.mul(b), 'float32', [10, 40, 90]);
    assertExact(torch.mul(a, -0.5), 'float32', [-0.5, -1, -1.5]);
    assertExact(b.div(a), 'float32', [10, 10, 10]);
    assertExact(torch.div(a, 4), 'float32', [0.25, 0.5, 0.75]);
    assertExact(a.div(0), 'float32', [Infinity, Infinity, Infinity]);
    assert.ok(Number.isNaN(f32([0]).div(0).item()));
    // the inputs are untouched
    assertExact(a, 'float32', [1, 2, 3]);
  }));

test('div rounding modes (trunc, floor) for floats and ints, tensors and scalars', () =>
  torch.scope(() => {
    const x = f32([-7, -5.5, 5.5, 7]);
    assertExact(x.div(2, 'trunc'), 'float32', [-3, -2, 2, 3]);
    assertExact(x.div(2, 'floor'), 'float32', [-4, -3, 2, 3]);
    assertExact(torch.div(x, f32([2, -2, 2, -2]), 'floor'), 'float32', [-4, 2, 2, -4]);
    assertExact(x.div(f32([2, -2, 2, -2]), 'trunc'), 'float32', [-3, 2, 2, -3]);
    const i = torch.tensor([-7, 7]);
    assertExact(i.div(2), 'float32', [-3.5, 3.5]); // true division promotes ints to float
    assertExact(i.div(2, 'trunc'), 'int64', [-3, 3]);
    assertExact(i.div(2, 'floor'), 'int64', [-4, 3]);
    assertExact(i.div(torch.tensor([-2, -2]), 'floor'), 'int64', [3, -4]);
    assert.throws(() => i.div(0, 'floor'), /ZeroDivisionError|division by zero/);
  }));

test('rsub, remainder (Python sign convention), pow', () =>
  torch.scope(() => {
    const a = f32([1, 2, 3]);
    assertExact(a.rsub(10), 'float32', [9, 8, 7]);
    assertExact(a.rsub(10, 2), 'float32', [8, 6, 4]); // 10 - 2*a
    assertExact(torch.tensor([1, 2]).rsub(5), 'int64', [4, 3]);
    // remainder takes the sign of the divisor, like Python's %
    assertExact(torch.tensor([-3, -1, 1, 3]).remainder(2), 'int64', [1, 1, 1, 1]);
    assertExact(torch.tensor([-3, -1, 1, 3]).remainder(-2), 'int64', [-1, -1, -1, -1]);
    assertExact(torch.remainder(f32([-3.5, 3.5, 4]), 2), 'float32', [0.5, 1.5, 0]);
    assertExact(torch.tensor([7, -7, 7]).remainder(torch.tensor([3, 3, -3])), 'int64', [1, 2, -2]);
    // pow: scalar and tensor exponents, int stays int
    assertExact(torch.tensor([2, 3]).pow(2), 'int64', [4, 9]);
    assertExact(torch.pow(f32([4, 9]), 0.5), 'float32', [2, 3]);
    assertExact(f32([2, 3, 4]).pow(f32([3, 2, 0.5])), 'float32', [8, 9, 2]);
    assertExact(f32([2, 4]).pow(-1), 'float32', [0.5, 0.25]);
    assertExact(f32([1, 2]).pow(0), 'float32', [1, 1]);
    assertExact(torch.tensor([2, 3]).pow(torch.tensor([[0], [3]])), 'int64', [
      [1, 1],
      [8, 27],
    ]);
  }));

test('unary ops against Math.* (float64 inputs, tight tolerance)', () =>
  torch.scope(() => {
    const xs = [-2.5, -1, -0.3, 0, 0.2, 0.7, 1.5, 3];
    const pos = [0.01, 0.5, 1, 2, 10];
    const x = f64(xs),
      p = f64(pos);
    const check = (t: torch.Tensor, want: number[], atol = 1e-12) => {
      assert.equal(t.dtype, 'float64');
      assertAllClose(t, want, atol);
    };
    check(
      x.neg(),
      xs.map((v) => -v),
    );
    check(torch.abs(x), xs.map(Math.abs));
    check(p.sqrt(), pos.map(Math.sqrt));
    check(
      torch.rsqrt(p),
      pos.map((v) => 1 / Math.sqrt(v)),
    );
    check(x.exp(), xs.map(Math.exp));
    check(torch.log(p), pos.map(Math.log));
    check(x.log1p().slice(0, 0, 2), [NaN, -Infinity]); // log1p(-2.5) is nan, log1p(-1) is -inf
    check(torch.log1p(p), pos.map(Math.log1p));
    check(x.expm1(), xs.map(Math.expm1));
    check(torch.log2(p), pos.map(Math.log2));
    check(x.sin(), xs.map(Math.sin));
    check(torch.cos(x), xs.map(Math.cos));
    check(x.tanh(), xs.map(Math.tanh));
    check(
      torch.sigmoid(x),
      xs.map((v) => 1 / (1 + Math.exp(-v))),
    );
    check(
      x.relu(),
      xs.map((v) => Math.max(0, v)),
    );
    check(torch.erf(x), xs.map(erf), 1e-10);
    check(x.sign(), xs.map(Math.sign));
    check(torch.floor(x), xs.map(Math.floor));
    check(x.ceil(), xs.map(Math.ceil));
    check(torch.trunc(x), xs.map(Math.trunc));
    check(
      p.reciprocal(),
      pos.map((v) => 1 / v),
    );
    check(
      torch.square(x),
      xs.map((v) => v * v),
    );
    // round: half to even, as PyTorch (and unlike Math.round)
    check(f64([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, -2.6]).round(), [0, 2, 2, -0, -2, -2, 2, -3]);
    // special values
    check(f64([-1]).sqrt(), [NaN]);
    check(f64([0]).log(), [-Infinity]);
    check(f64([0]).reciprocal(), [Infinity]);
    check(f64([Infinity, -Infinity, NaN]).sigmoid(), [1, 0, NaN]);
  }));

test('unary ops on float32 and ints: dtypes and float32-precision values', () =>
  torch.scope(() => {
    const xs = lcg(16, 5, -3, 3);
    assertClose(f32(xs).exp(), xs.map(Math.exp), 1e-5 * 20);
    assertClose(f32(xs).tanh(), xs.map(Math.tanh), 1e-6);
    assertClose(f32(xs).erf(), xs.map(erf), 1e-6);
    assert.equal(f32(xs).exp().dtype, 'float32');
    // integer inputs: abs/neg/sign/square stay int; sqrt/exp/sin promote to float32
    assertExact(torch.tensor([-3, 0, 2]).abs(), 'int64', [3, 0, 2]);
    assertExact(torch.tensor([-3, 0, 2]).neg(), 'int64', [3, 0, -2]);
    assertExact(torch.tensor([-3, 0, 2]).sign(), 'int64', [-1, 0, 1]);
    assertExact(torch.tensor([-3, 0, 2]).square(), 'int64', [9, 0, 4]);
    assertExact(torch.tensor([4, 9]).sqrt(), 'float32', [2, 3]);
    assertExact(torch.tensor([0]).exp(), 'float32', [1]);
    assert.equal(torch.tensor([1]).sin().dtype, 'float32');
    assertExact(torch.tensor([-2, 0, 3]).relu(), 'int64', [0, 0, 3]);
  }));

test('atan2 covers all four quadrants', () =>
  torch.scope(() => {
    const y = [1, 1, -1, -1, 0, 0, 2];
    const x = [1, -1, -1, 1, -1, 1, 0];
    assertClose(
      f64(y).atan2(f64(x)),
      y.map((v, i) => Math.atan2(v, x[i])),
      1e-12,
    );
    assertClose(
      torch.atan2(f32(y), f32(x)),
      y.map((v, i) => Math.atan2(v, x[i])),
      1e-6,
    );
  }));

test('clamp: both bounds, one-sided, tensor bounds, mixed; clip; int dtype kept', () =>
  torch.scope(() => {
    const x = f32([-3, -1, 0, 2, 5]);
    assertExact(x.clamp(-1, 2), 'float32', [-1, -1, 0, 2, 2]);
    assertExact(x.clamp(0), 'float32', [0, 0, 0, 2, 5]);
    assertExact(x.clamp(null, 1), 'float32', [-3, -1, 0, 1, 1]);
    assertExact(x.clamp(undefined, 1), 'float32', [-3, -1, 0, 1, 1]);
    assertExact(torch.clamp(x, -0.5, 0.5), 'float32', [-0.5, -0.5, 0, 0.5, 0.5]);
    assertExact(torch.clip(x, 1, 1), 'float32', [1, 1, 1, 1, 1]);
    assertExact(x.clip(-2), 'float32', [-2, -1, 0, 2, 5]);
    assertExact(x.clip(f32([0, 0, 0, 0, 0]), 4), 'float32', [0, 0, 0, 2, 4]);
    // min > max: everything becomes max, as in PyTorch
    assertExact(x.clamp(3, 1), 'float32', [1, 1, 1, 1, 1]);
    const lo = f32([0, 0, -1, 3, 3]);
    const hi = f32([1, 1, 1, 4, 4]);
    assertExact(x.clamp(lo, hi), 'float32', [0, 0, 0, 3, 4]);
    assertExact(x.clamp(lo), 'float32', [0, 0, 0, 3, 5]);
    assertExact(x.clamp(null, hi), 'float32', [-3, -1, 0, 2, 4]);
    assertExact(x.clamp(lo, 3.5), 'float32', [0, 0, 0, 3, 3.5]);
    assertExact(x.clamp(-2, hi), 'float32', [-2, -1, 0, 2, 4]);
    // broadcasting tensor bounds
    assertExact(
      torch
        .tensor([
          [1, 5],
          [7, 9],
        ])
        .clamp(torch.tensor([2, 6]), torch.tensor([[3], [8]])),
      'int64',
      [
        [2, 3],
        [7, 8],
      ],
    );
    assertExact(torch.tensor([-5, 0, 5]).clamp(-1, 1), 'int64', [-1, 0, 1]);
    assert.throws(() => x.clamp(), /At least one of 'min' or 'max' must not be None/);
  }));

test('clamp with a mixed tensor/scalar bound leaves no extra live tensors', () => {
  const x = f32([-3, 0, 3]);
  const lo = f32([-1, -1, -1]);
  const before = torch.memory().numTensors;
  const r = x.clamp(lo, 2);
  assert.equal(torch.memory().numTensors, before + 1);
  assertExact(r, 'float32', [-1, 0, 2]);
  torch.dispose(x, lo, r);
  // same dtype as the scalar's temporary (float64): the bound survives freeing the temporary
  const xd = f64([-3, 0, 3]);
  const hd = f64([1, 1, 1]);
  const before2 = torch.memory().numTensors;
  const r2 = xd.clamp(-2, hd);
  assert.equal(torch.memory().numTensors, before2 + 1);
  assertExact(r2, 'float64', [-2, 0, 1]);
  torch.dispose(xd, hd, r2);
});

test('maximum/minimum broadcast and propagate NaN; max/min(other)', () =>
  torch.scope(() => {
    const a = f32([1, 5, NaN]);
    const b = f32([3, 2, 0]);
    assertAllClose(a.maximum(b), [3, 5, NaN], 0);
    assertAllClose(torch.minimum(a, b), [1, 2, NaN], 0);
    assertExact(torch.maximum(f32([[1], [4]]), f32([2, 3])), 'float32', [
      [2, 3],
      [4, 4],
    ]);
    assertExact(f32([1, 5]).max(f32([3, 2])), 'float32', [3, 5]);
    assertExact(f32([1, 5]).min(f32([3, 2])), 'float32', [1, 2]);
    assertExact(torch.maximum(torch.tensor([1, 9]), f32([2.5, 3])), 'float32', [2.5, 9]);
  }));

test('lerp (scalar and tensor weight), addcmul, addcdiv', () =>
  torch.scope(() => {
    const s = f32([0, 10, -4]);
    const e = f32([10, 20, 4]);
    assertExact(s.lerp(e, 0.25), 'float32', [2.5, 12.5, -2]);
    assertExact(torch.lerp(s, e, f32([0, 1, 0.5])), 'float32', [0, 20, 0]);
    assertExact(s.lerp(e, 1.5), 'float32', [15, 25, 8]); // extrapolates
    const t1 = f32([1, 2, 3]),
      t2 = f32([4, 5, 6]);
    assertExact(s.addcmul(t1, t2), 'float32', [4, 20, 14]);
    assertExact(torch.addcmul(s, t1, t2, 0.5), 'float32', [2, 15, 5]);
    assertExact(s.addcdiv(t2, t1), 'float32', [4, 12.5, -2]);
    assertExact(torch.addcdiv(s, t1, f32([2, 4, 8]), -2), 'float32', [-1, 9, -4.75]);
  }));

test('matmul: 1-D·1-D, 2-D×1-D, 1-D×2-D, 2-D×2-D, batched with broadcasting', () =>
  torch.scope(() => {
    const A = nest(lcg(12, 1), [3, 4]);
    const B = nest(lcg(8, 2), [4, 2]);
    const v = lcg(4, 3),
      w = lcg(3, 4);
    const dot = v.reduce((s, x, i) => s + x * v[i], 0);
    const r0 = f64(v).matmul(f64(v));
    assert.deepEqual(r0.shape, []);
    assertClose(r0, dot, 1e-12);
    assertClose(
      torch.matmul(f64(A), f64(v)),
      matmul2(
        A,
        v.map((x) => [x]),
      ).map((r) => r[0]),
      1e-12,
      [3],
    );
    assertClose(f64(w).matmul(f64(A)), matmul2([w], A)[0], 1e-12, [4]);
    assertClose(f64(A).matmul(f64(B)), matmul2(A, B), 1e-12, [3, 2]);
    assertClose(f32(A).matmul(f32(B)), matmul2(A, B), 1e-5, [3, 2]);
    // batched: [2, 1, 3, 4] @ [5, 4, 2] -> [2, 5, 3, 2]
    const X = nest(lcg(24, 5), [2, 1, 3, 4]);
    const Y = nest(lcg(40, 6), [5, 4, 2]);
    const want = [0, 1].map((i) => [0, 1, 2, 3, 4].map((j) => matmul2(X[i][0], Y[j])));
    assertClose(f64(X).matmul(f64(Y)), want, 1e-12, [2, 5, 3, 2]);
    // batched @ 1-D
    assertClose(
      f64(Y).matmul(f64([1, -1])),
      (Y as number[][][]).map((m) => m.map((r) => r[0] - r[1])),
      1e-12,
      [5, 4],
    );
    assert.throws(() => f32(A).matmul(f32(A)), /cannot be multiplied|shapes/);
  }));

test('mm, bmm, baddbmm, outer', () =>
  torch.scope(() => {
    const A = nest(lcg(6, 7), [2, 3]);
    const B = nest(lcg(12, 8), [3, 4]);
    assertClose(f64(A).mm(f64(B)), matmul2(A, B), 1e-12, [2, 4]);
    assertClose(torch.mm(f64(B).t(), f64(A).t()), transpose2(matmul2(A, B)), 1e-12, [4, 2]);
    assert.throws(() => f64(A).mm(f64([1, 2, 3])), /must be a matrix|2D/);
    const P = nest(lcg(12, 9), [2, 2, 3]);
    const Q = nest(lcg(18, 10), [2, 3, 3]);
    const PQ = [0, 1].map((b) => matmul2(P[b], Q[b]));
    assertClose(f64(P).bmm(f64(Q)), PQ, 1e-12, [2, 2, 3]);
    assertClose(torch.bmm(f64(P), f64(Q)), PQ, 1e-12);
    assert.throws(() => f64(A).bmm(f64(B)), /3D|batch1 must be a 3D tensor/);
    const I = nest(lcg(12, 11), [2, 2, 3]);
    assertClose(
      f64(I).baddbmm(f64(P), f64(Q)),
      zipN(I, PQ, (x, y) => x + y),
      1e-12,
    );
    assertClose(
      torch.baddbmm(f64(I), f64(P), f64(Q), 0.5, 2),
      zipN(I, PQ, (x, y) => 0.5 * x + 2 * y),
      1e-12,
    );
    // broadcasting input
    assertClose(
      torch.baddbmm(f64([1, 2, 3]), f64(P), f64(Q)),
      PQ.map((m) => m.map((r) => r.map((x, j) => x + j + 1))),
      1e-12,
    );
    assertExact(torch.tensor([1, 2, 3]).outer(torch.tensor([1, 10])), 'int64', [
      [1, 10],
      [2, 20],
      [3, 30],
    ]);
    assertExact(torch.outer(f32([0.5, 2]), f32([2, 4])), 'float32', [
      [1, 2],
      [4, 8],
    ]);
  }));

test('einsum: matrix product, trace, transpose, dot, reductions, batched', () =>
  torch.scope(() => {
    const A = nest(lcg(6, 12), [2, 3]);
    const B = nest(lcg(12, 13), [3, 4]);
    assertClose(torch.einsum('ij,jk->ik', f64(A), f64(B)), matmul2(A, B), 1e-12, [2, 4]);
    assertClose(torch.einsum('ij,jk->ik', [f64(A), f64(B)]), matmul2(A, B), 1e-12);
    assertExact(torch.einsum('ii->', torch.arange(9).view(3, 3)), 'int64', 12);
    assertExact(torch.einsum('ii->i', torch.arange(9).view(3, 3)), 'int64', [0, 4, 8]);
    assertExact(torch.einsum('ij->ji', torch.arange(6).view(2, 3)), 'int64', [
      [0, 3],
      [1, 4],
      [2, 5],
    ]);
    assertExact(torch.einsum('ij->j', torch.arange(6).view(2, 3)), 'int64', [3, 5, 7]);
    assertExact(torch.einsum('i,i->', torch.tensor([1, 2, 3]), torch.tensor([4, 5, 6])), 'int64', 32);
    assertExact(torch.einsum('i,j->ij', torch.tensor([1, 2]), torch.tensor([3, 4, 5])), 'int64', [
      [3, 4, 5],
      [6, 8, 10],
    ]);
    const P = nest(lcg(12, 14), [2, 2, 3]);
    const Q = nest(lcg(18, 15), [2, 3, 3]);
    assertClose(
      torch.einsum('bij,bjk->bik', f64(P), f64(Q)),
      [0, 1].map((b) => matmul2(P[b], Q[b])),
      1e-12,
    );
    assertClose(
      torch.einsum('...ij->...ji', f64(P)),
      P.map((m: number[][]) => transpose2(m)),
      0,
    );
  }));

test('broadcasting rules', () =>
  torch.scope(() => {
    const col = torch.tensor([[1], [2], [3]]);
    const row = torch.tensor([10, 20]);
    assertExact(col.add(row), 'int64', [
      [11, 21],
      [12, 22],
      [13, 23],
    ]);
    assertExact(
      torch
        .tensor([
          [1, 2, 3],
          [4, 5, 6],
        ])
        .mul(torch.tensor([1, 0, -1])),
      'int64',
      [
        [1, 0, -3],
        [4, 0, -6],
      ],
    );
    assertExact(torch.ones(2, 1, 3).add(torch.zeros(4, 1)).sum(), 'float32', 24);
    assert.deepEqual(torch.ones(2, 1, 3).add(torch.zeros(4, 1)).shape, [2, 4, 3]);
    assert.deepEqual(torch.zeros(5, 1, 4).mul(torch.zeros(1, 3, 1)).shape, [5, 3, 4]);
    assertExact(torch.tensor([1, 2]).add(torch.tensor(5)), 'int64', [6, 7]);
    assert.deepEqual(torch.zeros(0, 3).add(torch.zeros(3)).shape, [0, 3]);
    assert.throws(() => torch.zeros(2, 3).add(torch.zeros(2)), /must match the size of tensor b|size of tensor a \(3\)/);
    const bt = torch.broadcastTensors(col, row);
    assert.deepEqual(
      bt.map((t) => t.tolist()),
      [
        [
          [1, 1],
          [2, 2],
          [3, 3],
        ],
        [
          [10, 20],
          [10, 20],
          [10, 20],
        ],
      ],
    );
  }));

test('type promotion', () =>
  torch.scope(() => {
    const i = torch.tensor([1, 2]);
    assert.equal(i.dtype, 'int64');
    assertExact(i.add(1), 'int64', [2, 3]);
    assertExact(i.mul(3), 'int64', [3, 6]);
    assertExact(i.add(0.5), 'float32', [1.5, 2.5]);
    assertExact(i.mul(0.5), 'float32', [0.5, 1]);
    assertExact(torch.tensor([1, 2], { dtype: 'int32' }).add(1), 'int32', [2, 3]);
    assertExact(torch.tensor([1, 2], { dtype: 'int32' }).add(torch.tensor([1, 1])), 'int64', [2, 3]);
    assertExact(torch.tensor([1, 2], { dtype: 'uint8' }).add(torch.tensor([1, 1], { dtype: 'int8' })), 'int16', [2, 3]);
    assertExact(f32([1, 2]).add(f64([0.5, 0.25])), 'float64', [1.5, 2.25]);
    assertExact(f32([1, 2]).add(i), 'float32', [2, 4]);
    // a 0-d tensor does not raise the category-internal precision of a dimensioned tensor
    assertExact(f32([1, 2]).add(f64(0.5)), 'float32', [1.5, 2.5]);
    // but a higher category does: int tensor + 0-d float tensor -> float (default dtype)
    assertExact(i.add(f64(0.5)), 'float64', [1.5, 2.5]);
    assertExact(torch.tensor([true, false]).add(torch.tensor([true, true])), 'bool', [true, true]);
    assertExact(torch.tensor([true, false]).add(1), 'int64', [2, 1]);
    assertExact(torch.tensor([1, 2], { dtype: 'float16' }).add(f32([1, 1])), 'float32', [2, 3]);
    assertExact(torch.tensor([1, 2], { dtype: 'bfloat16' }).add(torch.tensor([1, 1], { dtype: 'float16' })), 'float32', [2, 3]);
    assertExact(torch.tensor([1, 2], { dtype: 'float16' }).mul(3), 'float16', [3, 6]);
  }));

test('in-place ops return the same JS object and write in place', () =>
  torch.scope(() => {
    const t = f32([1, 2, 3]);
    assert.equal(t.add_(1), t);
    assertExact(t, 'float32', [2, 3, 4]);
    assert.equal(t.add_(f32([1, 1, 1]), 2), t);
    assertExact(t, 'float32', [4, 5, 6]);
    assert.equal(t.sub_(1), t);
    assert.equal(t.sub_(f32([1, 2, 3]), 0.5), t);
    assertExact(t, 'float32', [2.5, 3, 3.5]);
    assert.equal(t.sub_(0.5, 2), t);
    assertExact(t, 'float32', [1.5, 2, 2.5]);
    assert.equal(t.mul_(2), t);
    assert.equal(t.mul_(f32([1, 0.5, 2])), t);
    assertExact(t, 'float32', [3, 2, 10]);
    assert.equal(t.div_(2), t);
    assert.equal(t.div_(f32([1.5, 1, 5])), t);
    assertExact(t, 'float32', [1, 1, 1]);
    t.copy_(f32([1, 2, 3]));
    assert.equal(t.pow_(2), t);
    assertExact(t, 'float32', [1, 4, 9]);
    assert.equal(t.lerp_(f32([3, 4, 5]), 0.5), t);
    assertExact(t, 'float32', [2, 4, 7]);
    assert.equal(t.lerp_(f32([0, 0, 0]), f32([1, 0, 0.5])), t);
    assertExact(t, 'float32', [0, 4, 3.5]);
    assert.equal(t.addcmul_(f32([1, 2, 3]), f32([2, 2, 2]), 0.5), t);
    assertExact(t, 'float32', [1, 6, 6.5]);
    assert.equal(t.addcdiv_(f32([1, 2, 3]), f32([2, 2, 2])), t);
    assertExact(t, 'float32', [1.5, 7, 8]);
    assert.equal(t.clamp_(2, 7.5), t);
    assertExact(t, 'float32', [2, 7, 7.5]);
    assert.equal(t.clamp_(null, 3), t);
    assertExact(t, 'float32', [2, 3, 3]);
    assert.equal(t.clamp_(2.5), t);
    assertExact(t, 'float32', [2.5, 3, 3]);
    assert.equal(t.maskedFill_(torch.tensor([true, false, true]), -1), t);
    assertExact(t, 'float32', [-1, 3, -1]);
    assert.equal(t.fill_(7), t);
    assertExact(t, 'float32', [7, 7, 7]);
    assert.equal(t.zero_(), t);
    assertExact(t, 'float32', [0, 0, 0]);
    assert.equal(t.copy_(torch.tensor([4, 5, 6])), t); // int source converted to float
    assertExact(t, 'float32', [4, 5, 6]);
    // copy_ broadcasts the source
    const m = torch.zeros(2, 3);
    assert.equal(m.copy_(f32([1, 2, 3])), m);
    assertExact(m, 'float32', [
      [1, 2, 3],
      [1, 2, 3],
    ]);
    // in-place ops keep the destination's dtype and refuse to broadcast it
    const i = torch.tensor([1, 2]);
    i.mul_(3);
    assertExact(i, 'int64', [3, 6]);
    assert.throws(() => i.add_(0.5), /result type Float can't be cast to the desired output type Long/);
    assert.throws(() => torch.zeros(3, 1).add_(torch.zeros(3, 4)), /doesn't match the broadcast shape/);
    const ff = torch.zeros(2, 2);
    ff.add_(f32([1, 2]));
    assertExact(ff, 'float32', [
      [1, 2],
      [1, 2],
    ]);
  }));

test('normal_ and uniform_ in place: statistics, same object, seeded reproducibility', () =>
  torch.scope(() => {
    const n = 100000;
    const t = torch.empty(n, { dtype: 'float64' });
    assert.equal(t.normal_(2, 3), t);
    const xs = Array.from(t.toTypedArray() as Float64Array);
    const s = meanVar(xs, true);
    assert.ok(Math.abs(s.mean - 2) < 0.06, `mean ${s.mean}`);
    assert.ok(Math.abs(Math.sqrt(s.var) - 3) < 0.05, `std ${Math.sqrt(s.var)}`);
    // about 68.3% within one std
    const within = xs.filter((x) => Math.abs(x - 2) < 3).length / n;
    assert.ok(Math.abs(within - 0.6827) < 0.01, `within 1 std: ${within}`);
    assert.equal(t.uniform_(-1, 3), t);
    const us = Array.from(t.toTypedArray() as Float64Array);
    assert.ok(us.every((u) => u >= -1 && u < 3));
    const su = meanVar(us, true);
    assert.ok(Math.abs(su.mean - 1) < 0.03, `mean ${su.mean}`);
    assert.ok(Math.abs(su.var - 16 / 12) < 0.03, `var ${su.var}`);
    const q = us.filter((u) => u < 0).length / n;
    assert.ok(Math.abs(q - 0.25) < 0.01, `P(u < 0) = ${q}`);
    // defaults: normal_(0, 1), uniform_(0, 1)
    const d = torch.empty(20000).normal_();
    const sd = meanVar(Array.from(d.toTypedArray() as Float32Array), true);
    assert.ok(Math.abs(sd.mean) < 0.05 && Math.abs(sd.var - 1) < 0.05, JSON.stringify(sd));
    const u = torch.empty(20000).uniform_();
    assert.ok(u.ge(0).all().item() && u.lt(1).all().item());
    // with a generator: reproducible
    const a = torch.empty(5).normal_(0, 1, new torch.Generator().manualSeed(7));
    const b = torch.empty(5).normal_(0, 1, new torch.Generator().manualSeed(7));
    assert.deepEqual(a.tolist(), b.tolist());
    const ua = torch.empty(5).uniform_(0, 1, new torch.Generator().manualSeed(3));
    const ub = torch.empty(5).uniform_(0, 1, new torch.Generator().manualSeed(3));
    assert.deepEqual(ua.tolist(), ub.tolist());
  }));

test('comparisons with tensors and scalars give bool tensors', () =>
  torch.scope(() => {
    const a = torch.tensor([1, 2, 3, 4]);
    const b = torch.tensor([4, 2, 1, 4]);
    assertExact(a.eq(b), 'bool', [false, true, false, true]);
    assertExact(a.ne(b), 'bool', [true, false, true, false]);
    assertExact(a.lt(b), 'bool', [true, false, false, false]);
    assertExact(a.le(b), 'bool', [true, true, false, true]);
    assertExact(a.gt(b), 'bool', [false, false, true, false]);
    assertExact(a.ge(b), 'bool', [false, true, true, true]);
    assertExact(torch.eq(a, 2), 'bool', [false, true, false, false]);
    assertExact(torch.ne(a, 2), 'bool', [true, false, true, true]);
    assertExact(torch.lt(a, 2.5), 'bool', [true, true, false, false]);
    assertExact(torch.le(a, 2), 'bool', [true, true, false, false]);
    assertExact(torch.gt(a, 3), 'bool', [false, false, false, true]);
    assertExact(torch.ge(a, 3), 'bool', [false, false, true, true]);
    // mixed dtypes compare by value; broadcasting
    assertExact(f32([1.5, 2]).eq(torch.tensor([1, 2])), 'bool', [false, true]);
    assertExact(torch.tensor([[1], [3]]).gt(torch.tensor([0, 2, 4])), 'bool', [
      [true, false, false],
      [true, true, false],
    ]);
    // NaN compares unequal to everything, including itself
    const n = f32([NaN, 1]);
    assertExact(n.eq(n), 'bool', [false, true]);
    assertExact(n.ne(n), 'bool', [true, false]);
  }));

test('logicalAnd/Or/Not, isnan, isfinite', () =>
  torch.scope(() => {
    const p = torch.tensor([true, true, false, false]);
    const q = torch.tensor([true, false, true, false]);
    assertExact(p.logicalAnd(q), 'bool', [true, false, false, false]);
    assertExact(torch.logicalOr(p, q), 'bool', [true, true, true, false]);
    assertExact(torch.logicalNot(p), 'bool', [false, false, true, true]);
    // non-bool inputs: nonzero is true
    assertExact(torch.tensor([0, 1, 2]).logicalAnd(f32([1, 0, 0.5])), 'bool', [false, false, true]);
    assertExact(torch.tensor([0, 1, -2]).logicalNot(), 'bool', [true, false, false]);
    const x = f32([NaN, Infinity, -Infinity, 0, -1.5]);
    assertExact(x.isnan(), 'bool', [true, false, false, false, false]);
    assertExact(torch.isfinite(x), 'bool', [false, false, false, true, true]);
    assertExact(torch.isnan(torch.tensor([1, 2])), 'bool', [false, false]);
    assertExact(torch.tensor([1, 2]).isfinite(), 'bool', [true, true]);
  }));

test('equal and allclose', () =>
  torch.scope(() => {
    assert.equal(f32([1, 2]).equal(f32([1, 2])), true);
    assert.equal(torch.equal(f32([1, 2]), f32([1, 3])), false);
    assert.equal(torch.equal(f32([1, 2]), f32([[1, 2]])), false); // shapes differ
    assert.equal(torch.equal(f32([NaN]), f32([NaN])), false);
    assert.equal(f32([1, 2]).allclose(f32([1 + 1e-6, 2])), true);
    assert.equal(f32([1, 2]).allclose(f32([1.1, 2])), false);
    assert.equal(torch.allclose(f32([1, 2]), f32([1.1, 2]), 0.2), true); // rtol
    assert.equal(torch.allclose(f32([0]), f32([0.01]), 0, 0.02), true); // atol
    assert.equal(torch.allclose(f32([0]), f32([0.03]), 0, 0.02), false);
    assert.equal(torch.allclose(f32([NaN]), f32([NaN])), false);
    assert.equal(torch.allclose(f32([NaN]), f32([NaN]), 1e-5, 1e-8, true), true);
    // allclose broadcasts
    assert.equal(
      torch.allclose(
        f32([
          [1, 1],
          [1, 1],
        ]),
        f32([1]),
      ),
      true,
    );
  }));

test('cdist (p = 2, 1, inf) and bucketize against plain JS', () =>
  torch.scope(() => {
    const P = nest(lcg(8, 71, -3, 3), [4, 2]);
    const Q = nest(lcg(6, 72, -3, 3), [3, 2]);
    const dist = (p: number) =>
      (P as number[][]).map((u) =>
        (Q as number[][]).map((v) => {
          const d = u.map((x, i) => Math.abs(x - v[i]));
          return p === Infinity ? Math.max(...d) : d.reduce((s, x) => s + x ** p, 0) ** (1 / p);
        }),
      );
    assertClose(torch.cdist(f64(P), f64(Q)), dist(2), 1e-10, [4, 3]);
    assertClose(torch.cdist(f64(P), f64(Q), 1), dist(1), 1e-10);
    assertClose(torch.cdist(f64(P), f64(Q), Infinity), dist(Infinity), 1e-10);
    assertClose(
      torch.cdist(
        f32([
          [0, 0],
          [3, 4],
        ]),
        f32([[0, 0]]),
      ),
      [[0], [5]],
      1e-6,
    );
    // bucketize: index of the first boundary >= v (right=false) or > v (right=true)
    const bounds = [1, 3, 5, 7];
    const vs = [0, 1, 2, 5, 7, 9];
    const bucket = (v: number, right: boolean) => bounds.filter((b) => (right ? b <= v : b < v)).length;
    assertExact(
      torch.bucketize(torch.tensor(vs), torch.tensor(bounds)),
      'int64',
      vs.map((v) => bucket(v, false)),
    );
    assertExact(
      torch.bucketize(torch.tensor(vs), torch.tensor(bounds), true),
      'int64',
      vs.map((v) => bucket(v, true)),
    );
    assertExact(torch.bucketize(f32([[0.5, 6]]), f32(bounds)), 'int64', [[0, 3]]);
  }));
