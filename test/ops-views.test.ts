// Shape and indexing ops of the typed Tensor/torch.* surface against hand-computed results:
// reshape/view/permute/transpose/t/T/mT/flatten/unflatten/squeeze/unsqueeze/expand/repeat/contiguous,
// narrow/select/slice, indexSelect/gather/scatter/scatterAdd/maskedFill/where, cat/stack/chunk/split,
// tril/triu/flip/roll/movedim, indexTensors/indexPut_; and which results share storage with their input
// (as PyTorch's views do), checked by writing through them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../lib/torch.js';
import { assertClose } from './helpers.js';
import { assertExact, build, iota, at, lcg, nest } from './helpers-ops.js';

// value = 12*i + 4*j + k
const grid = () => torch.arange(24).reshape(2, 3, 4);

test('reshape and view: varargs, arrays, -1, and the results', () =>
  torch.scope(() => {
    const t = torch.arange(6);
    assertExact(t.reshape(2, 3), 'int64', [
      [0, 1, 2],
      [3, 4, 5],
    ]);
    assertExact(t.reshape([3, 2]), 'int64', [
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
    assertExact(t.view(-1, 2), 'int64', [
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
    assertExact(t.view(3, -1), 'int64', [
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
    assertExact(t.view([1, -1]), 'int64', [[0, 1, 2, 3, 4, 5]]);
    assertExact(grid().view(-1), 'int64', iota([24]));
    assertExact(torch.reshape(t, [2, 1, 3]), 'int64', [[[0, 1, 2]], [[3, 4, 5]]]);
    assert.deepEqual(torch.tensor(5).reshape(1, 1).shape, [1, 1]);
    assert.deepEqual(torch.tensor([5]).reshape([]).shape, []);
    assert.deepEqual(torch.zeros(0, 3).reshape(-1, 6).shape, [0, 6]);
    assertExact(t.viewAs(torch.zeros(3, 2)), 'int64', [
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
    assertExact(t.reshapeAs(torch.zeros(2, 3)), 'int64', [
      [0, 1, 2],
      [3, 4, 5],
    ]);
    assert.throws(() => t.view(4, -1), /invalid|shape/);
    assert.throws(() => t.view(-1, -1), /only one dimension can be inferred/);
    assert.throws(() => t.reshape(5), /invalid|shape/);
  }));

test('view and reshape share storage with a contiguous input; view refuses incompatible strides', () =>
  torch.scope(() => {
    const base = torch.zeros(2, 3);
    base.view(-1).select(0, 4).fill_(7);
    base.reshape(3, 2).select(0, 0).fill_(1);
    assert.deepEqual(base.tolist(), [
      [1, 1, 0],
      [0, 7, 0],
    ]);
    // a transposed tensor cannot be viewed flat; reshape copies instead
    const tr = torch.arange(6).view(2, 3).t();
    assert.throws(() => tr.view(-1), /view size is not compatible|reshape/);
    const r = tr.reshape(-1);
    assertExact(r, 'int64', [0, 3, 1, 4, 2, 5]);
    r.fill_(9);
    assertExact(tr, 'int64', [
      [0, 3],
      [1, 4],
      [2, 5],
    ]);
  }));

test('view(dtype) reinterprets the bytes', () =>
  torch.scope(() => {
    // 1.0f is 0x3f800000
    const t = torch.tensor([1, -2], { dtype: 'float32' }).view('int32');
    assertExact(t, 'int32', [0x3f800000, 0xc0000000 | 0]);
  }));

test('permute, transpose, t, T, mT', () =>
  torch.scope(() => {
    const g = grid();
    const p = g.permute(2, 0, 1);
    assert.deepEqual(p.shape, [4, 2, 3]);
    assertExact(
      p,
      'int64',
      build([4, 2, 3], ([k, i, j]) => 12 * i + 4 * j + k),
    );
    assertExact(
      g.permute([-1, -3, -2]),
      'int64',
      build([4, 2, 3], ([k, i, j]) => 12 * i + 4 * j + k),
    );
    assertExact(
      torch.permute(g, [1, 2, 0]),
      'int64',
      build([3, 4, 2], ([j, k, i]) => 12 * i + 4 * j + k),
    );
    assertExact(
      g.transpose(0, 2),
      'int64',
      build([4, 3, 2], ([k, j, i]) => 12 * i + 4 * j + k),
    );
    assertExact(
      torch.transpose(g, -1, 1),
      'int64',
      build([2, 4, 3], ([i, k, j]) => 12 * i + 4 * j + k),
    );
    assert.deepEqual(g.transpose(0, 2).stride(), [1, 4, 12]);
    const m = torch.arange(6).view(2, 3);
    assertExact(m.t(), 'int64', [
      [0, 3],
      [1, 4],
      [2, 5],
    ]);
    assertExact(m.T, 'int64', [
      [0, 3],
      [1, 4],
      [2, 5],
    ]);
    assertExact(torch.arange(3).t(), 'int64', [0, 1, 2]);
    assert.throws(() => g.t(), /expects a tensor with <= 2 dimensions/);
    // .T reverses all dims; .mT swaps only the last two
    assertExact(
      g.T,
      'int64',
      build([4, 3, 2], ([k, j, i]) => 12 * i + 4 * j + k),
    );
    assertExact(
      g.mT,
      'int64',
      build([2, 4, 3], ([i, k, j]) => 12 * i + 4 * j + k),
    );
    assert.throws(() => g.permute(0, 1), /number of dims|dims/);
    assert.throws(() => g.permute(0, 0, 1), /duplicate dims|repeated dim/);
  }));

test('permute/transpose/t/mT are views: writes show in the base', () =>
  torch.scope(() => {
    const base = torch.zeros(2, 3);
    base.t().select(0, 2).fill_(5); // base[:, 2] = 5
    base.transpose(0, 1).select(0, 0).select(0, 1).fill_(3); // base[1, 0] = 3
    base.permute(1, 0).select(1, 0).select(0, 1).fill_(4); // base[0, 1] = 4
    base.unsqueeze(0).mT.select(0, 0).select(0, 0).select(0, 0).fill_(1); // base[0,0] = 1
    assert.deepEqual(base.tolist(), [
      [1, 4, 5],
      [3, 0, 5],
    ]);
    assert.equal(base.t().isContiguous(), false);
  }));

test('flatten and unflatten', () =>
  torch.scope(() => {
    const g = grid();
    assertExact(g.flatten(), 'int64', iota([24]));
    assertExact(g.flatten(1), 'int64', iota([2, 12]));
    assertExact(g.flatten(0, 1), 'int64', iota([6, 4]));
    assertExact(torch.flatten(g, -2, -1), 'int64', iota([2, 12]));
    assertExact(torch.tensor(3).flatten(), 'int64', [3]);
    assertExact(torch.arange(12).unflatten(0, [3, 4]), 'int64', iota([3, 4]));
    assertExact(g.flatten(1).unflatten(1, [-1, 4]), 'int64', iota([2, 3, 4]));
    assertExact(torch.unflatten(g, -1, [2, 2]), 'int64', iota([2, 3, 2, 2]));
    assert.throws(() => torch.arange(12).unflatten(0, [5, -1]), /unflatten|size|shape/);
    // flatten of a contiguous tensor is a view
    const base = torch.zeros(2, 2);
    base.flatten().select(0, 3).fill_(2);
    assert.deepEqual(base.tolist(), [
      [0, 0],
      [0, 2],
    ]);
  }));

test('squeeze and unsqueeze', () =>
  torch.scope(() => {
    const t = torch.zeros(1, 3, 1, 2);
    assert.deepEqual(t.squeeze().shape, [3, 2]);
    assert.deepEqual(t.squeeze(0).shape, [3, 1, 2]);
    assert.deepEqual(t.squeeze(-2).shape, [1, 3, 2]);
    assert.deepEqual(t.squeeze(1).shape, [1, 3, 1, 2]); // size 3: no-op
    assert.deepEqual(torch.squeeze(t, 2).shape, [1, 3, 2]);
    assert.deepEqual(torch.tensor([[7]]).squeeze().shape, []);
    const v = torch.arange(3);
    assertExact(v.unsqueeze(0), 'int64', [[0, 1, 2]]);
    assertExact(v.unsqueeze(1), 'int64', [[0], [1], [2]]);
    assertExact(v.unsqueeze(-1), 'int64', [[0], [1], [2]]);
    assertExact(torch.unsqueeze(v, -2), 'int64', [[0, 1, 2]]);
    assert.deepEqual(grid().unsqueeze(3).shape, [2, 3, 4, 1]);
    assert.throws(() => v.unsqueeze(3), /out of range/);
    // both are views
    const base = torch.zeros(1, 3);
    base.squeeze().select(0, 1).fill_(1);
    base.unsqueeze(0).select(0, 0).select(1, 2).fill_(2);
    assert.deepEqual(base.tolist(), [[0, 1, 2]]);
  }));

test('expand and expandAs: values, -1, stride 0, shared storage', () =>
  torch.scope(() => {
    const col = torch.tensor([[1], [2], [3]]);
    const e = col.expand(3, 4);
    assertExact(e, 'int64', [
      [1, 1, 1, 1],
      [2, 2, 2, 2],
      [3, 3, 3, 3],
    ]);
    assert.deepEqual(e.stride(), [1, 0]);
    assertExact(col.expand([-1, 2]), 'int64', [
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    assertExact(torch.tensor([1, 2]).expand(2, 2, 2), 'int64', [
      [
        [1, 2],
        [1, 2],
      ],
      [
        [1, 2],
        [1, 2],
      ],
    ]);
    assertExact(torch.tensor([5, 6]).expandAs(torch.zeros(3, 2)), 'int64', [
      [5, 6],
      [5, 6],
      [5, 6],
    ]);
    assert.throws(() => torch.zeros(2).expand(3), /expanded size|must match/);
    // the expanded tensor reads the base's storage: writing the base shows through it
    col.mul_(10);
    assertExact(e, 'int64', [
      [10, 10, 10, 10],
      [20, 20, 20, 20],
      [30, 30, 30, 30],
    ]);
    // writing one element of an expanded view writes the single shared element
    e.select(1, 3).select(0, 0).fill_(-1);
    assertExact(col, 'int64', [[-1], [20], [30]]);
    // PyTorch refuses in-place ops whose output has overlapping elements
    assert.throws(() => e.add_(1), /more than one element of the written-to tensor refers to a single memory location/);
  }));

test('repeat tiles copies (no shared storage)', () =>
  torch.scope(() => {
    const t = torch.tensor([1, 2]);
    assertExact(t.repeat(2), 'int64', [1, 2, 1, 2]);
    assertExact(t.repeat(2, 2), 'int64', [
      [1, 2, 1, 2],
      [1, 2, 1, 2],
    ]);
    assertExact(t.repeat([3, 1]), 'int64', [
      [1, 2],
      [1, 2],
      [1, 2],
    ]);
    assertExact(torch.tensor([[1], [2]]).repeat(1, 3), 'int64', [
      [1, 1, 1],
      [2, 2, 2],
    ]);
    assert.deepEqual(t.repeat(2, 1, 3).shape, [2, 1, 6]);
    assert.throws(() => torch.zeros(2, 2).repeat(2), /Number of dimensions of repeat dims can not be smaller/);
    const r = t.repeat(2);
    r.fill_(0);
    assertExact(t, 'int64', [1, 2]);
  }));

test('contiguous copies a strided tensor and returns a contiguous one as is', () =>
  torch.scope(() => {
    const tr = torch.arange(6).view(2, 3).t();
    assert.equal(tr.isContiguous(), false);
    const c = tr.contiguous();
    assert.equal(c.isContiguous(), true);
    assert.deepEqual(c.stride(), [2, 1]);
    assertExact(c, 'int64', [
      [0, 3],
      [1, 4],
      [2, 5],
    ]);
    c.fill_(0);
    assertExact(tr, 'int64', [
      [0, 3],
      [1, 4],
      [2, 5],
    ]);
    const base = torch.zeros(3);
    base.contiguous().fill_(4); // already contiguous: the same storage, as in PyTorch
    assertExact(base, 'float32', [4, 4, 4]);
  }));

test('narrow: values, negative dim and start, shared storage', () =>
  torch.scope(() => {
    const g = grid();
    assertExact(
      g.narrow(2, 1, 2),
      'int64',
      build([2, 3, 2], ([i, j, k]) => 12 * i + 4 * j + k + 1),
    );
    assertExact(
      g.narrow(-2, 2, 1),
      'int64',
      build([2, 1, 4], ([i, , k]) => 12 * i + 8 + k),
    );
    assertExact(torch.narrow(torch.arange(5), 0, -2, 2), 'int64', [3, 4]);
    assertExact(torch.arange(5).narrow(0, 1, 0), 'int64', []);
    assert.throws(() => torch.arange(5).narrow(0, 3, 3), /exceeds dimension size|start \(3\) \+ length \(3\)/);
    const base = torch.zeros(2, 4);
    base.narrow(1, 1, 2).fill_(1);
    assert.deepEqual(base.tolist(), [
      [0, 1, 1, 0],
      [0, 1, 1, 0],
    ]);
  }));

test('select: values, negative dim and index, removes the dim, shared storage', () =>
  torch.scope(() => {
    const g = grid();
    assertExact(
      g.select(0, 1),
      'int64',
      build([3, 4], ([j, k]) => 12 + 4 * j + k),
    );
    assertExact(
      g.select(1, -1),
      'int64',
      build([2, 4], ([i, k]) => 12 * i + 8 + k),
    );
    assertExact(
      torch.select(g, -1, 2),
      'int64',
      build([2, 3], ([i, j]) => 12 * i + 4 * j + 2),
    );
    assertExact(g.select(0, 1).select(0, 2).select(0, -1), 'int64', 23);
    assert.throws(() => g.select(1, 3), /out of range/);
    assert.throws(() => g.select(1, -4), /out of range/);
    const base = torch.zeros(3, 2);
    base.select(0, -1).fill_(8);
    base.select(1, 0).select(0, 0).fill_(1);
    assert.deepEqual(base.tolist(), [
      [1, 0],
      [0, 0],
      [8, 8],
    ]);
  }));

test('slice: negative and null bounds, steps, out-of-range clamping, shared storage', () =>
  torch.scope(() => {
    const v = torch.arange(10);
    const py = (start: number | null, end: number | null, step: number) => {
      // Python's list slicing (step > 0), independent of torch
      const n = 10;
      let s = start === null ? 0 : start < 0 ? Math.max(0, start + n) : Math.min(start, n);
      const e = end === null ? n : end < 0 ? Math.max(0, end + n) : Math.min(end, n);
      const out: number[] = [];
      for (; s < e; s += step) out.push(s);
      return out;
    };
    const cases: [number | null, number | null, number][] = [
      [null, null, 1],
      [2, null, 1],
      [null, 3, 1],
      [-3, null, 1],
      [null, -2, 1],
      [-7, -2, 2],
      [1, 9, 3],
      [null, null, 4],
      [-100, 100, 1],
      [8, 2, 1],
      [5, 5, 1],
      [3, -1, 5],
      [-1, null, 2],
      [12, null, 1],
    ];
    for (const [s, e, st] of cases) assertExact(v.slice(0, s, e, st), 'int64', py(s, e, st));
    assertExact(v.slice(), 'int64', py(null, null, 1));
    assert.throws(() => v.slice(0, null, null, 0), /slice step must be positive/);
    assert.throws(() => v.slice(0, null, null, -1), /slice step must be positive/);
    const g = grid();
    assertExact(
      g.slice(2, -3, null, 2),
      'int64',
      build([2, 3, 2], ([i, j, k]) => 12 * i + 4 * j + 1 + 2 * k),
    );
    assertExact(
      g.slice(-2, 1),
      'int64',
      build([2, 2, 4], ([i, j, k]) => 12 * i + 4 * (j + 1) + k),
    );
    assert.deepEqual(g.slice(1, null, null, 2).stride(), [12, 8, 1]);
    const base = torch.zeros(6);
    base.slice(0, 1, null, 2).fill_(1);
    base.slice(0, -2, -1).fill_(2);
    assertExact(base, 'float32', [0, 1, 0, 1, 2, 1]);
  }));

test('indexSelect copies rows/cols in the given order (repeats allowed)', () =>
  torch.scope(() => {
    const m = torch.arange(12).view(3, 4);
    assertExact(m.indexSelect(0, torch.tensor([2, 0, 2])), 'int64', [
      [8, 9, 10, 11],
      [0, 1, 2, 3],
      [8, 9, 10, 11],
    ]);
    assertExact(torch.indexSelect(m, -1, torch.tensor([3, 1])), 'int64', [
      [3, 1],
      [7, 5],
      [11, 9],
    ]);
    assertExact(m.indexSelect(1, torch.tensor([], { dtype: 'int64' })), 'int64', [[], [], []]);
    assert.throws(() => m.indexSelect(0, torch.tensor([3])), /out of range|index/);
    const r = m.indexSelect(0, torch.tensor([0]));
    r.fill_(-1);
    assert.equal(m.select(0, 0).select(0, 0).item(), 0);
  }));

test('gather against a plain-JS gather', () =>
  torch.scope(() => {
    assertExact(
      torch
        .tensor([
          [1, 2],
          [3, 4],
        ])
        .gather(
          1,
          torch.tensor([
            [0, 0],
            [1, 0],
          ]),
        ),
      'int64',
      [
        [1, 1],
        [4, 3],
      ],
    );
    const src = nest(lcg(24, 3, -5, 5), [2, 3, 4]);
    const x = torch.tensor(src, { dtype: 'float64' });
    for (const dim of [0, 1, 2]) {
      const shape = [2, 3, 4];
      const idxShape = [2, 2, 3];
      const idx = build(idxShape, (p) => (p[0] * 7 + p[1] * 5 + p[2] * 3) % shape[dim]);
      const want = build(idxShape, (p) => {
        const q = [...p];
        q[dim] = at(idx, p);
        return at(src, q);
      });
      assertClose(torch.gather(x, dim, torch.tensor(idx)), want, 0, idxShape);
    }
    assertExact(torch.tensor([10, 20, 30]).gather(-1, torch.tensor([2, 2, 0, 1])), 'int64', [30, 30, 10, 20]);
    assert.throws(() => torch.tensor([1, 2]).gather(0, torch.tensor([2])), /out of bounds|index/);
  }));

test('scatter (tensor src and scalar value) and scatterAdd against hand-computed results', () =>
  torch.scope(() => {
    // PyTorch's documented examples
    const src = torch.arange(1, 11).reshape(2, 5);
    const index = torch.tensor([[0, 1, 2, 0]]);
    assertExact(torch.zeros(3, 5, { dtype: 'int64' }).scatter(0, index, src), 'int64', [
      [1, 0, 0, 4, 0],
      [0, 2, 0, 0, 0],
      [0, 0, 3, 0, 0],
    ]);
    assertExact(
      torch.zeros(3, 5, { dtype: 'int64' }).scatter(
        1,
        torch.tensor([
          [0, 1, 2],
          [0, 1, 4],
        ]),
        src,
      ),
      'int64',
      [
        [1, 2, 3, 0, 0],
        [6, 7, 0, 0, 8],
        [0, 0, 0, 0, 0],
      ],
    );
    assertExact(torch.full([2, 4], 2.0, { dtype: 'float32' }).scatter(1, torch.tensor([[2], [3]]), 1.23), 'float32', [
      [2, 2, Math.fround(1.23), 2],
      [2, 2, 2, Math.fround(1.23)],
    ]);
    const ones = torch.ones(2, 5);
    const idx2 = torch.tensor([
      [0, 1, 2, 0, 0],
      [0, 1, 2, 2, 2],
    ]);
    assertExact(torch.zeros(3, 5).scatterAdd(0, idx2, ones), 'float32', [
      [2, 0, 0, 1, 1],
      [0, 2, 0, 0, 0],
      [0, 0, 2, 1, 1],
    ]);
    assertExact(torch.scatterAdd(torch.zeros(3, 5), 0, idx2.narrow(0, 0, 1), ones), 'float32', [
      [1, 0, 0, 1, 1],
      [0, 1, 0, 0, 0],
      [0, 0, 1, 0, 0],
    ]);
    // out-of-place: the input is unchanged
    const base = torch.zeros(3);
    const out = torch.scatter(base, 0, torch.tensor([1]), 5);
    assertExact(out, 'float32', [0, 5, 0]);
    assertExact(base, 'float32', [0, 0, 0]);
    // a plain-JS scatterAdd with repeated indices along dim 1
    const vals = lcg(12, 9, -4, 4);
    const sIdx = build([3, 4], ([i, j]) => (i + 2 * j) % 3);
    const want = build([3, 3], () => 0);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) want[i][at(sIdx, [i, j])] += vals[i * 4 + j];
    assertClose(torch.zeros(3, 3, { dtype: 'float64' }).scatterAdd(1, torch.tensor(sIdx), torch.tensor(nest(vals, [3, 4]), { dtype: 'float64' })), want, 1e-12);
  }));

test('maskedFill with scalar and 0-d tensor values, broadcasting masks', () =>
  torch.scope(() => {
    const t = torch.arange(6, { dtype: 'float32' }).view(2, 3);
    const mask = torch.tensor([
      [true, false, true],
      [false, false, true],
    ]);
    assertExact(t.maskedFill(mask, -1), 'float32', [
      [-1, 1, -1],
      [3, 4, -1],
    ]);
    assertExact(torch.maskedFill(t, torch.tensor([false, true, false]), 0.5), 'float32', [
      [0, 0.5, 2],
      [3, 0.5, 5],
    ]);
    assertExact(t.maskedFill(torch.tensor([[true], [false]]), torch.tensor(9)), 'float32', [
      [9, 9, 9],
      [3, 4, 5],
    ]);
    assertExact(t, 'float32', [
      [0, 1, 2],
      [3, 4, 5],
    ]);
    assert.throws(() => t.maskedFill(torch.tensor([true, false]), 0), /must match|expand|size/);
  }));

test('where: method form and torch.where with tensors and scalars', () =>
  torch.scope(() => {
    const cond = torch.tensor([true, false, true, false]);
    const x = torch.tensor([1, 2, 3, 4], { dtype: 'float32' });
    const y = torch.tensor([-1, -2, -3, -4], { dtype: 'float32' });
    assertExact(x.where(cond, y), 'float32', [1, -2, 3, -4]);
    assertExact(torch.where(cond, x, y), 'float32', [1, -2, 3, -4]);
    assertExact(torch.where(cond, x, 0), 'float32', [1, 0, 3, 0]);
    assertExact(torch.where(cond, 7, y), 'float32', [7, -2, 7, -4]);
    assertExact(torch.where(cond, 1, 0), 'int64', [1, 0, 1, 0]);
    assertExact(torch.where(cond, 0.5, -1), 'float32', [0.5, -1, 0.5, -1]);
    // broadcasting condition against operands
    assertExact(
      torch.where(
        torch.tensor([[true], [false]]),
        torch.tensor([1, 2]),
        torch.tensor([
          [10, 20],
          [30, 40],
        ]),
      ),
      'int64',
      [
        [1, 2],
        [30, 40],
      ],
    );
    // condition from a comparison
    const v = torch.tensor([-2, 3, -1, 5]);
    assertExact(torch.where(v.gt(0), v, torch.zerosLike(v)), 'int64', [0, 3, 0, 5]);
  }));

test('cat and stack: dims, negative dims, dtype promotion, errors', () =>
  torch.scope(() => {
    const a = torch.tensor([
      [1, 2],
      [3, 4],
    ]);
    const b = torch.tensor([[5, 6]]);
    assertExact(torch.cat([a, b]), 'int64', [
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    assertExact(torch.cat([a, a], 1), 'int64', [
      [1, 2, 1, 2],
      [3, 4, 3, 4],
    ]);
    assertExact(torch.concat([a, a.mul(10)], -1), 'int64', [
      [1, 2, 10, 20],
      [3, 4, 30, 40],
    ]);
    assertExact(torch.cat([torch.arange(2), torch.arange(3)]), 'int64', [0, 1, 0, 1, 2]);
    assertExact(torch.cat([torch.tensor([1]), torch.tensor([0.5])]), 'float32', [1, 0.5]);
    assert.throws(() => torch.cat([a, b], 1), /Sizes of tensors must match/);
    assertExact(torch.stack([a, a.neg()]), 'int64', [
      [
        [1, 2],
        [3, 4],
      ],
      [
        [-1, -2],
        [-3, -4],
      ],
    ]);
    assertExact(torch.stack([a, a.neg()], 1), 'int64', [
      [
        [1, 2],
        [-1, -2],
      ],
      [
        [3, 4],
        [-3, -4],
      ],
    ]);
    assertExact(torch.stack([a, a.neg()], -1), 'int64', [
      [
        [1, -1],
        [2, -2],
      ],
      [
        [3, -3],
        [4, -4],
      ],
    ]);
    assertExact(torch.stack([torch.tensor(1), torch.tensor(2)]), 'int64', [1, 2]);
    assert.throws(() => torch.stack([a, b]), /stack expects each tensor to be equal size/);
    // results are copies
    const c = torch.cat([a]);
    c.fill_(0);
    assertExact(a, 'int64', [
      [1, 2],
      [3, 4],
    ]);
  }));

test('chunk and split (size and list) give views of the right sizes', () =>
  torch.scope(() => {
    const lists = (ts: torch.Tensor[]) => ts.map((t) => t.tolist());
    assert.deepEqual(lists(torch.arange(5).chunk(3)), [[0, 1], [2, 3], [4]]);
    assert.deepEqual(lists(torch.arange(6).chunk(4)), [
      [0, 1],
      [2, 3],
      [4, 5],
    ]); // ceil(6/4)=2 → 3 chunks
    assert.deepEqual(lists(torch.arange(6).chunk(3)), [
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
    assert.deepEqual(lists(torch.chunk(torch.arange(6).view(2, 3), 3, 1)), [
      [[0], [3]],
      [[1], [4]],
      [[2], [5]],
    ]);
    assert.deepEqual(lists(torch.arange(5).split(2)), [[0, 1], [2, 3], [4]]);
    assert.deepEqual(lists(torch.arange(5).split([1, 4])), [[0], [1, 2, 3, 4]]);
    assert.deepEqual(lists(torch.split(torch.arange(6).view(3, 2), [2, 1])), [
      [
        [0, 1],
        [2, 3],
      ],
      [[4, 5]],
    ]);
    assert.deepEqual(lists(torch.split(torch.arange(6).view(2, 3), 2, -1)), [
      [
        [0, 1],
        [3, 4],
      ],
      [[2], [5]],
    ]);
    assert.throws(() => torch.arange(5).split([2, 2]), /split_with_sizes expects split_sizes to sum exactly to 5/);
    const base = torch.zeros(4);
    const [p, q] = base.chunk(2);
    p.fill_(1);
    base.split([3, 1])[1].fill_(2);
    q.select(0, 0).fill_(3);
    assertExact(base, 'float32', [1, 1, 3, 2]);
  }));

test('tril and triu with diagonals, batched', () =>
  torch.scope(() => {
    const m = torch.arange(1, 13).view(3, 4);
    const tri = (keep: (i: number, j: number) => boolean) => build([3, 4], ([i, j]) => (keep(i, j) ? 4 * i + j + 1 : 0));
    for (const d of [-2, -1, 0, 1, 2]) {
      assertExact(
        m.tril(d),
        'int64',
        tri((i, j) => j - i <= d),
      );
      assertExact(
        torch.triu(m, d),
        'int64',
        tri((i, j) => j - i >= d),
      );
    }
    assertExact(
      m.tril(),
      'int64',
      tri((i, j) => j <= i),
    );
    const b = torch.ones(2, 2, 2).tril();
    assertExact(b, 'float32', [
      [
        [1, 0],
        [1, 1],
      ],
      [
        [1, 0],
        [1, 1],
      ],
    ]);
  }));

test('flip, roll and movedim', () =>
  torch.scope(() => {
    const g = grid();
    assertExact(
      g.flip(0),
      'int64',
      build([2, 3, 4], ([i, j, k]) => 12 * (1 - i) + 4 * j + k),
    );
    assertExact(
      torch.flip(g, [1, -1]),
      'int64',
      build([2, 3, 4], ([i, j, k]) => 12 * i + 4 * (2 - j) + (3 - k)),
    );
    const x = torch.arange(1, 9).view(4, 2);
    assertExact(x.roll(1), 'int64', [
      [8, 1],
      [2, 3],
      [4, 5],
      [6, 7],
    ]);
    assertExact(x.roll(1, 0), 'int64', [
      [7, 8],
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    assertExact(torch.roll(x, -1, 0), 'int64', [
      [3, 4],
      [5, 6],
      [7, 8],
      [1, 2],
    ]);
    assertExact(x.roll([2, 1], [0, 1]), 'int64', [
      [6, 5],
      [8, 7],
      [2, 1],
      [4, 3],
    ]);
    assertExact(torch.arange(5).roll(7), 'int64', [3, 4, 0, 1, 2]);
    assertExact(
      g.movedim(0, 2),
      'int64',
      build([3, 4, 2], ([j, k, i]) => 12 * i + 4 * j + k),
    );
    assertExact(
      torch.movedim(g, -1, 0),
      'int64',
      build([4, 2, 3], ([k, i, j]) => 12 * i + 4 * j + k),
    );
    // flip and roll copy; movedim is a view
    const base = torch.zeros(2, 3);
    base.flip(0).fill_(1);
    base.roll(1).fill_(1);
    base.movedim(1, 0).select(0, 2).fill_(6);
    assert.deepEqual(base.tolist(), [
      [0, 0, 6],
      [0, 0, 6],
    ]);
  }));

test('indexTensors: per-dim integer and boolean indices, null dims, broadcasting', () =>
  torch.scope(() => {
    const m = torch.arange(12).view(3, 4);
    assertExact(m.indexTensors([torch.tensor([0, 2]), torch.tensor([1, 3])]), 'int64', [1, 11]);
    assertExact(m.indexTensors([torch.tensor([2, -3])]), 'int64', [
      [8, 9, 10, 11],
      [0, 1, 2, 3],
    ]);
    assertExact(m.indexTensors([null, torch.tensor([3, 0])]), 'int64', [
      [3, 0],
      [7, 4],
      [11, 8],
    ]);
    assertExact(m.indexTensors([torch.tensor([[0], [2]]), torch.tensor([[1, 2]])]), 'int64', [
      [1, 2],
      [9, 10],
    ]);
    assertExact(m.indexTensors([m.gt(8)]), 'int64', [9, 10, 11]);
    assertExact(m.indexTensors([torch.tensor([true, false, true])]), 'int64', [
      [0, 1, 2, 3],
      [8, 9, 10, 11],
    ]);
    const g = grid();
    assertExact(
      g.indexTensors([null, null, torch.tensor([0, 3])]),
      'int64',
      build([2, 3, 2], ([i, j, k]) => 12 * i + 4 * j + 3 * k),
    );
    assert.throws(() => m.indexTensors([torch.tensor([3])]), /out of bounds|index/);
    // advanced indexing copies
    const r = m.indexTensors([torch.tensor([0])]);
    r.fill_(-1);
    assert.equal(m.select(0, 0).select(0, 0).item(), 0);
  }));

test('indexPut_: writes, accumulation with repeated indices, boolean masks; returns this', () =>
  torch.scope(() => {
    const t = torch.zeros(3, 3);
    const same = t.indexPut_([torch.tensor([0, 2]), torch.tensor([1, 0])], torch.tensor([5, 6], { dtype: 'float32' }));
    assert.equal(same, t);
    assertExact(t, 'float32', [
      [0, 5, 0],
      [0, 0, 0],
      [6, 0, 0],
    ]);
    t.indexPut_([torch.tensor([1])], torch.tensor([7], { dtype: 'float32' })); // broadcast to the row
    assertExact(t, 'float32', [
      [0, 5, 0],
      [7, 7, 7],
      [6, 0, 0],
    ]);
    t.indexPut_([null, torch.tensor([2])], torch.tensor([[1], [2], [3]], { dtype: 'float32' }));
    assertExact(t, 'float32', [
      [0, 5, 1],
      [7, 7, 2],
      [6, 0, 3],
    ]);
    const acc = torch.zeros(5);
    acc.indexPut_([torch.tensor([0, 0, 2, 0])], torch.tensor([1, 2, 3, 4], { dtype: 'float32' }), true);
    assertExact(acc, 'float32', [7, 0, 3, 0, 0]);
    const v = torch.tensor([1, -2, 3, -4]);
    v.indexPut_([v.lt(0)], torch.tensor(0));
    assertExact(v, 'int64', [1, 0, 3, 0]);
  }));

test('views of views keep sharing the base storage; offsets and strides are right', () =>
  torch.scope(() => {
    const base = torch.zeros(4, 6);
    const v = base.narrow(0, 1, 2).slice(1, 1, null, 2).t(); // rows 1..2, cols 1,3,5, transposed
    assert.deepEqual(v.shape, [3, 2]);
    assert.deepEqual(v.stride(), [2, 6]);
    assert.equal(v.storageOffset(), 7);
    v.copy_(
      torch.tensor(
        [
          [1, 2],
          [3, 4],
          [5, 6],
        ],
        { dtype: 'float32' },
      ),
    );
    assert.deepEqual(base.tolist(), [
      [0, 0, 0, 0, 0, 0],
      [0, 1, 0, 3, 0, 5],
      [0, 2, 0, 4, 0, 6],
      [0, 0, 0, 0, 0, 0],
    ]);
    // dtype conversion that is a no-op returns the same storage unless copy is asked
    const f = torch.zeros(2);
    f.to('float32').fill_(1);
    assertExact(f, 'float32', [1, 1]);
    f.to('float32', { copy: true }).fill_(2);
    assertExact(f, 'float32', [1, 1]);
  }));

test('meshgrid (ij and xy) and diag', () =>
  torch.scope(() => {
    const [a, b] = torch.meshgrid([torch.tensor([1, 2]), torch.tensor([3, 4, 5])]);
    assertExact(a, 'int64', [
      [1, 1, 1],
      [2, 2, 2],
    ]);
    assertExact(b, 'int64', [
      [3, 4, 5],
      [3, 4, 5],
    ]);
    const [x, y] = torch.meshgrid([torch.tensor([1, 2]), torch.tensor([3, 4, 5])], 'xy');
    assertExact(x, 'int64', [
      [1, 2],
      [1, 2],
      [1, 2],
    ]);
    assertExact(y, 'int64', [
      [3, 3],
      [4, 4],
      [5, 5],
    ]);
    assertExact(torch.diag(torch.tensor([1, 2])), 'int64', [
      [1, 0],
      [0, 2],
    ]);
    assertExact(torch.diag(torch.tensor([1, 2]), 1), 'int64', [
      [0, 1, 0],
      [0, 0, 2],
      [0, 0, 0],
    ]);
    assertExact(torch.diag(torch.tensor([1, 2]), -1), 'int64', [
      [0, 0, 0],
      [1, 0, 0],
      [0, 2, 0],
    ]);
    const m = torch.arange(9).view(3, 3);
    assertExact(torch.diag(m), 'int64', [0, 4, 8]);
    assertExact(torch.diag(m, 1), 'int64', [1, 5]);
    assertExact(torch.diag(m, -2), 'int64', [6]);
  }));
