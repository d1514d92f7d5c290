// Reductions and scans of the typed Tensor/torch.* surface against hand-computed or plain-JS results:
// sum/mean/prod/var/std, max/min/amax/amin/argmax/argmin, all/any, norm, logsumexp, cumsum/cumprod,
// softmax/logSoftmax, sort/argsort/topk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../lib/torch.js';
import { assertClose } from './helpers.js';
import { assertAllClose, assertExact, build, lcg, logSumExp, meanVar, nest } from './helpers-ops.js';

const f32 = (v: any) => torch.tensor(v, { dtype: 'float32' });
const f64 = (v: any) => torch.tensor(v, { dtype: 'float64' });
// value = 12*i + 4*j + k
const grid = () => torch.arange(24).reshape(2, 3, 4);
const gval = (i: number, j: number, k: number) => 12 * i + 4 * j + k;

test('sum: all, dim, negative dim, list of dims, keepdim, dtype', () =>
  torch.scope(() => {
    const g = grid();
    assertExact(g.sum(), 'int64', 276); // 0 + ... + 23
    assertExact(torch.sum(g), 'int64', 276);
    assertExact(
      g.sum(0),
      'int64',
      build([3, 4], ([j, k]) => gval(0, j, k) + gval(1, j, k)),
    );
    assertExact(
      g.sum(-1),
      'int64',
      build([2, 3], ([i, j]) => 4 * gval(i, j, 0) + 6),
    );
    assertExact(
      g.sum([0, 2]),
      'int64',
      [0, 1, 2].map((j) => [0, 1].reduce((s, i) => s + 4 * gval(i, j, 0) + 6, 0)),
    );
    assertExact(
      g.sum(1, true),
      'int64',
      build([2, 1, 4], ([i, , k]) => 3 * gval(i, 0, k) + 12),
    );
    assertExact(g.sum([1, 2], true), 'int64', [[[66]], [[210]]]);
    assert.deepEqual(g.sum([], true).shape, [1, 1, 1]); // empty dim list reduces everything
    // small ints are summed to int64; dtype chooses the accumulation/result type
    assertExact(torch.tensor([100, 100, 100], { dtype: 'int8' }).sum(), 'int64', 300);
    assertExact(torch.tensor([true, true, false]).sum(), 'int64', 2);
    assertExact(g.sum(null, false, 'float64'), 'float64', 276);
    assertExact(g.sum(0, false, 'float32').select(0, 0), 'float32', [12, 14, 16, 18]);
    assertExact(f32([0.5, 0.25]).sum(), 'float32', 0.75);
    assertExact(torch.zeros(0).sum(), 'float32', 0);
  }));

test('mean: all, dims, keepdim, dtype; ints need a dtype', () =>
  torch.scope(() => {
    const x = f32([
      [1, 2, 3],
      [4, 5, 9],
    ]);
    assertExact(x.mean(), 'float32', 4);
    assertExact(torch.mean(x, 0), 'float32', [2.5, 3.5, 6]);
    assertExact(x.mean(1), 'float32', [2, 6]);
    assertExact(x.mean(-1, true), 'float32', [[2], [6]]);
    assertExact(x.mean([0, 1]), 'float32', 4);
    assertExact(x.mean(null, false, 'float64'), 'float64', 4);
    assertExact(torch.tensor([1, 2]).mean(null, false, 'float32'), 'float32', 1.5);
    assert.throws(() => torch.tensor([1, 2]).mean(), /mean\(\): could not infer output dtype|floating point/);
    const vals = lcg(60, 4, -10, 10);
    const m = f64(nest(vals, [3, 4, 5]));
    assertClose(
      m.mean([0, 2]),
      [0, 1, 2, 3].map((j) => {
        let s = 0;
        for (let i = 0; i < 3; i++) for (let k = 0; k < 5; k++) s += vals[i * 20 + j * 5 + k];
        return s / 15;
      }),
      1e-12,
      [4],
    );
    assert.ok(Number.isNaN(torch.zeros(0).mean().item()));
  }));

test('prod: all, dim, keepdim, dtype; cumprod', () =>
  torch.scope(() => {
    const x = torch.tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assertExact(x.prod(), 'int64', 720);
    assertExact(torch.prod(x, 0), 'int64', [4, 10, 18]);
    assertExact(x.prod(1, true), 'int64', [[6], [120]]);
    assertExact(x.prod(-1, false, 'float64'), 'float64', [6, 120]);
    assertExact(torch.tensor([2, 3], { dtype: 'int32' }).prod(), 'int64', 6);
    assertExact(f32([0.5, -4, 3]).prod(), 'float32', -6);
    assertExact(torch.zeros(0).prod(), 'float32', 1);
    assertExact(torch.cumprod(x, 1), 'int64', [
      [1, 2, 6],
      [4, 20, 120],
    ]);
    assertExact(torch.cumprod(x, 0), 'int64', [
      [1, 2, 3],
      [4, 10, 18],
    ]);
    assertExact(torch.cumprod(f32([2, 0.5, -1, 0]), -1), 'float32', [2, 1, -1, -0]);
    assertExact(torch.cumprod(x, 1, 'float64'), 'float64', [
      [1, 2, 6],
      [4, 20, 120],
    ]);
  }));

test('var and std: unbiased and biased, all and by dim, keepdim', () =>
  torch.scope(() => {
    const x = f64([1, 2, 3, 4]);
    // mean 2.5; squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5
    assertClose(x.var(), 5 / 3, 1e-12);
    assertClose(x.var(null, true), 5 / 3, 1e-12);
    assertClose(x.var(null, false), 1.25, 1e-12);
    assertClose(x.std(), Math.sqrt(5 / 3), 1e-12);
    assertClose(torch.std(x, null, false), Math.sqrt(1.25), 1e-12);
    assertClose(torch.var(x, 0, false), 1.25, 1e-12);
    assert.equal(x.var().dtype, 'float64');
    assert.deepEqual(x.var().shape, []);
    const vals = lcg(24, 21, -3, 3);
    const m = f64(nest(vals, [2, 3, 4]));
    for (const unbiased of [true, false]) {
      const want1 = build(
        [2, 4],
        ([i, k]) =>
          meanVar(
            [0, 1, 2].map((j) => vals[i * 12 + j * 4 + k]),
            unbiased,
          ).var,
      );
      assertClose(m.var(1, unbiased), want1, 1e-12, [2, 4]);
      assertClose(
        m.std(1, unbiased),
        want1.map((r: number[]) => r.map(Math.sqrt)),
        1e-12,
        [2, 4],
      );
      assertClose(
        m.var(1, unbiased, true),
        want1.map((r: number[]) => [r]),
        1e-12,
        [2, 1, 4],
      );
      const want02 = [0, 1, 2].map((j) => {
        const xs: number[] = [];
        for (let i = 0; i < 2; i++) for (let k = 0; k < 4; k++) xs.push(vals[i * 12 + j * 4 + k]);
        return meanVar(xs, unbiased).var;
      });
      assertClose(m.var([0, 2], unbiased), want02, 1e-12, [3]);
      assertClose(
        m.std([0, -1], unbiased, true),
        want02.map((v) => [[Math.sqrt(v)]]),
        1e-12,
        [1, 3, 1],
      );
      assertClose(m.var(null, unbiased), meanVar(vals, unbiased).var, 1e-12);
    }
    // a single element: unbiased variance is nan (0/0), biased is 0
    assert.ok(Number.isNaN(f64([3]).var().item()));
    assert.equal(f64([3]).var(null, false).item(), 0);
    assert.throws(() => torch.tensor([1, 2]).var(), /std and var only support floating point/);
  }));

test('max/min: all, by dim → {values, indices}, keepdim, elementwise with another tensor', () =>
  torch.scope(() => {
    const x = torch.tensor([
      [3, 9, 1],
      [7, 2, 8],
    ]);
    assertExact(x.max(), 'int64', 9);
    assertExact(x.min(), 'int64', 1);
    const mx = x.max(1);
    assertExact(mx.values, 'int64', [9, 8]);
    assertExact(mx.indices, 'int64', [1, 2]);
    const mn = x.min(0);
    assertExact(mn.values, 'int64', [3, 2, 1]);
    assertExact(mn.indices, 'int64', [0, 1, 0]);
    const mk = x.max(-1, true);
    assertExact(mk.values, 'int64', [[9], [8]]);
    assertExact(mk.indices, 'int64', [[1], [2]]);
    assertExact(x.min(1, true).indices, 'int64', [[2], [1]]);
    assertExact(x.max(torch.tensor([5, 5, 5])), 'int64', [
      [5, 9, 5],
      [7, 5, 8],
    ]);
    assertExact(x.min(torch.tensor([[4], [4]])), 'int64', [
      [3, 4, 1],
      [4, 2, 4],
    ]);
    // NaN wins in max/min
    assert.ok(Number.isNaN(f32([1, NaN, 3]).max().item()));
    assert.ok(Number.isNaN(f32([1, NaN, 3]).min().item()));
    assert.throws(() => torch.zeros(0).max(), /empty|numel\(\) == 0|Expected reduction dim/);
  }));

test('amax/amin over dims; argmax/argmin flat and by dim', () =>
  torch.scope(() => {
    const g = grid().remainder(7); // (12i + 4j + k) mod 7
    const gv = (i: number, j: number, k: number) => gval(i, j, k) % 7;
    const all = build([2, 3, 4], ([i, j, k]) => gv(i, j, k));
    assertExact(g.amax(), 'int64', 6);
    assertExact(g.amin(), 'int64', 0);
    assertExact(
      g.amax(2),
      'int64',
      build([2, 3], ([i, j]) => Math.max(...all[i][j])),
    );
    assertExact(
      torch.amin(g, [0, 2]),
      'int64',
      [0, 1, 2].map((j) => Math.min(...all[0][j], ...all[1][j])),
    );
    assertExact(g.amax([0, 1], true), 'int64', [[[0, 1, 2, 3].map((k) => Math.max(...[0, 1].flatMap((i) => [0, 1, 2].map((j) => all[i][j][k]))))]]);
    const x = f32([
      [0.5, -2, 7],
      [8, 1, -3],
    ]);
    assertExact(x.argmax(), 'int64', 3);
    assertExact(torch.argmin(x), 'int64', 5);
    assertExact(x.argmax(1), 'int64', [2, 0]);
    assertExact(x.argmin(0), 'int64', [0, 0, 1]);
    assertExact(x.argmax(-1, true), 'int64', [[2], [0]]);
    assertExact(torch.argmax(x, 0, true), 'int64', [[1, 1, 0]]);
  }));

test('all/any: all elements and by dim, on bool and numeric tensors', () =>
  torch.scope(() => {
    const b = torch.tensor([
      [true, false, true],
      [true, true, true],
    ]);
    assertExact(b.all(), 'bool', false);
    assertExact(b.any(), 'bool', true);
    assertExact(b.all(1), 'bool', [false, true]);
    assertExact(b.all(0), 'bool', [true, false, true]);
    assertExact(b.any(0, true), 'bool', [[true, true, true]]);
    assertExact(torch.tensor([false, false]).any(), 'bool', false);
    assertExact(torch.tensor([], { dtype: 'bool' }).all(), 'bool', true);
    assertExact(torch.tensor([], { dtype: 'bool' }).any(), 'bool', false);
    assert.equal(f32([1, 2, 0.5]).all().item(), true);
    assert.equal(f32([1, 0, 0.5]).all().item(), false);
    assert.equal(torch.tensor([0, 0, 3]).any().item(), true);
    assert.deepEqual(
      f32([
        [1, 0],
        [2, 3],
      ])
        .all(1)
        .tolist(),
      [false, true],
    );
  }));

test('norm: p = 1, 2, inf, fractional and 3; over dims; keepdim', () =>
  torch.scope(() => {
    const xs = [3, -4, 0, 12];
    const x = f64(xs);
    assertClose(x.norm(), 13, 1e-12);
    assertClose(torch.norm(x, 2), 13, 1e-12);
    assertClose(x.norm(1), 19, 1e-12);
    assertClose(x.norm(Infinity), 12, 1e-12);
    assertClose(x.norm(-Infinity), 0, 1e-12);
    assertClose(x.norm(3), Math.cbrt(27 + 64 + 1728), 1e-10);
    assertClose(x.norm(0.5), (Math.sqrt(3) + 2 + Math.sqrt(12)) ** 2, 1e-10);
    assertClose(x.norm(0), 3, 0); // number of nonzeros
    const m = f64([
      [3, 4],
      [-6, 8],
    ]);
    assertClose(m.norm(2, 1), [5, 10], 1e-12, [2]);
    assertClose(m.norm(1, 0), [9, 12], 1e-12, [2]);
    assertClose(torch.norm(m, Infinity, -1, true), [[4], [8]], 1e-12, [2, 1]);
    assertClose(m.norm(2, [0, 1]), Math.sqrt(9 + 16 + 36 + 64), 1e-12, []);
    assert.equal(f32([3, 4]).norm().dtype, 'float32');
  }));

test('logsumexp matches a stable plain-JS computation, incl. large values', () =>
  torch.scope(() => {
    const rows = [
      [1000, 1000.5, 999],
      [-1000, -1001, -999.5],
      [0, 1, 2],
      [-Infinity, 0, 1],
    ];
    const x = f64(rows);
    assertAllClose(x.logsumexp(1), rows.map(logSumExp), 1e-10, [4]);
    assertAllClose(
      torch.logsumexp(x, -1, true),
      rows.map((r) => [logSumExp(r)]),
      1e-10,
      [4, 1],
    );
    const cols = [0, 1, 2].map((j) => rows.map((r) => r[j]));
    assertAllClose(x.logsumexp(0), cols.map(logSumExp), 1e-10, [3]);
    const vals = lcg(24, 31, -50, 50);
    assertClose(
      f64(nest(vals, [2, 3, 4])).logsumexp([0, 2]),
      [0, 1, 2].map((j) => logSumExp([0, 1].flatMap((i) => [0, 1, 2, 3].map((k) => vals[i * 12 + j * 4 + k])))),
      1e-10,
      [3],
    );
    // float32 with huge values does not overflow
    assertClose(f32([[88, 89, 90]]).logsumexp(1), [logSumExp([88, 89, 90])], 1e-4);
    assert.equal(f64([-Infinity, -Infinity]).logsumexp(0).item(), -Infinity);
  }));

test('cumsum: dims, negative dim, dtype, int promotion', () =>
  torch.scope(() => {
    const x = torch.tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assertExact(x.cumsum(1), 'int64', [
      [1, 3, 6],
      [4, 9, 15],
    ]);
    assertExact(torch.cumsum(x, 0), 'int64', [
      [1, 2, 3],
      [5, 7, 9],
    ]);
    assertExact(x.cumsum(-1, 'float32'), 'float32', [
      [1, 3, 6],
      [4, 9, 15],
    ]);
    assertExact(torch.tensor([100, 100], { dtype: 'int8' }).cumsum(0), 'int64', [100, 200]);
    assertExact(torch.tensor([true, true, false, true]).cumsum(0), 'int64', [1, 2, 2, 3]);
    assertExact(f32([0.5, -1, 0.25]).cumsum(0), 'float32', [0.5, -0.5, -0.25]);
    const vals = lcg(20, 41);
    let acc = 0;
    assertClose(
      f64(vals).cumsum(0),
      vals.map((v) => (acc += v)),
      1e-12,
    );
  }));

test('softmax and logSoftmax against plain JS, extreme values, dims, dtype', () =>
  torch.scope(() => {
    const rows = [
      [1, 2, 3],
      [1000, 1000, 1000],
      [-5, 0, 5],
      [0, -Infinity, 0],
    ];
    const sm = (r: number[]) => {
      const l = logSumExp(r);
      return r.map((v) => Math.exp(v - l));
    };
    const lsm = (r: number[]) => {
      const l = logSumExp(r);
      return r.map((v) => v - l);
    };
    const x = f64(rows);
    assertAllClose(x.softmax(1), rows.map(sm), 1e-12, [4, 3]);
    assertAllClose(torch.softmax(x, -1), rows.map(sm), 1e-12);
    assertAllClose(x.logSoftmax(1), rows.map(lsm), 1e-10, [4, 3]);
    assertAllClose(torch.logSoftmax(x, -1), rows.map(lsm), 1e-10);
    // along dim 0: columns sum to one
    const s0 = f64([
      [1, 2],
      [3, 4],
    ]).softmax(0);
    assertClose(
      s0,
      [
        [1 / (1 + Math.E ** 2), 1 / (1 + Math.E ** 2)],
        [1 / (1 + Math.E ** -2), 1 / (1 + Math.E ** -2)],
      ],
      1e-12,
    );
    // float32 input, float64 output
    const s = f32([1, 2, 3]).softmax(0, 'float64');
    assert.equal(s.dtype, 'float64');
    assertClose(s, sm([1, 2, 3]), 1e-7);
    assert.equal(f32([1, 2]).logSoftmax(0).dtype, 'float32');
    assertClose(f32([1, 2, 3]).logSoftmax(0, 'float64'), lsm([1, 2, 3]), 1e-7);
  }));

test('sort: ascending, descending, dims; indices consistent with values', () =>
  torch.scope(() => {
    const x = f32([
      [3, 1, 2],
      [0.5, -1, 9],
    ]);
    const a = x.sort();
    assertExact(a.values, 'float32', [
      [1, 2, 3],
      [-1, 0.5, 9],
    ]);
    assertExact(a.indices, 'int64', [
      [1, 2, 0],
      [1, 0, 2],
    ]);
    const d = torch.sort(x, 1, true);
    assertExact(d.values, 'float32', [
      [3, 2, 1],
      [9, 0.5, -1],
    ]);
    assertExact(d.indices, 'int64', [
      [0, 2, 1],
      [2, 0, 1],
    ]);
    const c = x.sort(0);
    assertExact(c.values, 'float32', [
      [0.5, -1, 2],
      [3, 1, 9],
    ]);
    assertExact(c.indices, 'int64', [
      [1, 1, 0],
      [0, 0, 1],
    ]);
    // a longer row against Array.prototype.sort (distinct values)
    const vals = [...new Set(lcg(50, 51, -100, 100))];
    const s = f64(vals).sort();
    assert.deepEqual(
      s.values.tolist(),
      [...vals].sort((p, q) => p - q),
    );
    assert.deepEqual(
      (s.indices.tolist() as number[]).map((i) => vals[i]),
      [...vals].sort((p, q) => p - q),
    );
    // NaN sorts last in ascending order
    assertAllClose(f32([2, NaN, 1]).sort().values, [1, 2, NaN], 0);
  }));

test('argsort and topk', () =>
  torch.scope(() => {
    const x = torch.tensor([
      [30, 10, 20],
      [5, 6, 4],
    ]);
    assertExact(x.argsort(), 'int64', [
      [1, 2, 0],
      [2, 0, 1],
    ]);
    assertExact(torch.argsort(x, 1, true), 'int64', [
      [0, 2, 1],
      [1, 0, 2],
    ]);
    assertExact(x.argsort(0), 'int64', [
      [1, 1, 1],
      [0, 0, 0],
    ]);
    const t = x.topk(2);
    assertExact(t.values, 'int64', [
      [30, 20],
      [6, 5],
    ]);
    assertExact(t.indices, 'int64', [
      [0, 2],
      [1, 0],
    ]);
    const sm = torch.topk(x, 1, 1, false);
    assertExact(sm.values, 'int64', [[10], [4]]);
    assertExact(sm.indices, 'int64', [[1], [2]]);
    const c = x.topk(1, 0);
    assertExact(c.values, 'int64', [[30, 10, 20]]);
    assertExact(c.indices, 'int64', [[0, 0, 0]]);
    const vals = [...new Set(lcg(40, 61, -10, 10))];
    const k5 = f64(vals).topk(5);
    const want = [...vals].sort((p, q) => q - p).slice(0, 5);
    assert.deepEqual(k5.values.tolist(), want);
    assert.deepEqual(
      (k5.indices.tolist() as number[]).map((i) => vals[i]),
      want,
    );
    assert.throws(() => x.topk(4), /selected index k out of range|k .* out of range/);
  }));
