// torch.ops.aten, the generic path (lib/core/aten.ts): explicit overloads with kwargs, packets
// choosing the overload from the JS argument types, tuple and Tensor[] returns, in-place and out=
// variants returning the caller's objects, optional/None arguments, int[] from one number, dtype
// strings, and the TypeErrors for unknown kwargs, wrong types and missing ops. Calls are typed by
// lib/generated/aten-ops.ts; the few that are wrong on purpose go through an untyped alias.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../lib/torch.js';
import type { Tensor } from '../lib/torch.js';
import { assertClose } from './helpers.js';

const aten = torch.ops.aten;
/** Untyped view, for calls that are wrong on purpose. */
const anyAten: any = torch.ops.aten;
/** Runs a test body in a scope and checks that it leaves no native tensor behind. */
const run = (fn: () => void) => () => {
  const before = torch.memory().numTensors;
  torch.scope(fn);
  assert.equal(torch.memory().numTensors, before, 'tensors leaked');
};
const f32 = (d: any) => torch.tensor(d, { dtype: 'float32' });

test(
  'explicit overloads: add.Tensor with {alpha}, add.Scalar, sub.Tensor, mul.Scalar',
  run(() => {
    const a = f32([1, 2, 3]),
      b = f32([10, 20, 30]);
    assertClose(aten.add.Tensor(a, b), [11, 22, 33], 0);
    assertClose(aten.add.Tensor(a, b, { alpha: 2 }), [21, 42, 63], 0);
    assertClose(aten.add.Tensor(a, b, { alpha: -0.5 }), [-4, -8, -12], 0);
    assertClose(aten.add.Scalar(a, 5), [6, 7, 8], 0);
    assertClose(aten.add.Scalar(a, 5, 2), [11, 12, 13], 0); // alpha is positional in add.Scalar
    assertClose(aten.sub.Tensor(b, a, { alpha: 3 }), [7, 14, 21], 0);
    assertClose(aten.mul.Scalar(a, 0.5), [0.5, 1, 1.5], 0);
    // (.schema exists at run time but is not in the generated typings)
    assert.equal(anyAten.add.Tensor.schema.schema, 'aten::add.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor');
    // the unnamed overload is also reachable as .default, as in Python
    assertClose(anyAten.neg.default(a), [-1, -2, -3], 0);
    assert.equal(anyAten.neg.default, anyAten.neg.default);
  }),
);

test(
  'packets choose the overload from the JS argument types',
  run(() => {
    const a = f32([1, 2, 3]);
    assertClose(aten.add(a, 1), [2, 3, 4], 0); // add.Scalar
    assertClose(aten.add(a, a), [2, 4, 6], 0); // add.Tensor, not add.Scalar with a handle
    assertClose(aten.add(a, a, { alpha: 3 }), [4, 8, 12], 0);
    assertClose(aten.mul(a, a), [1, 4, 9], 0);
    assertClose(aten.mul(a, 2), [2, 4, 6], 0);
    assertClose(aten.pow(a, 2), [1, 4, 9], 0); // pow.Tensor_Scalar
    assertClose(aten.pow(a, f32([0, 1, 2])), [1, 2, 9], 0); // pow.Tensor_Tensor
    assertClose(anyAten.pow(2, a), [2, 4, 8], 0); // pow.Scalar
    // max: all elements, over a dim (a tuple), or elementwise against another tensor
    const m = f32([
      [1, 5],
      [7, 2],
    ]);
    assertClose(aten.max(m), 7, 0, []);
    const [vals, idx] = aten.max(m, 1);
    assertClose(vals, [5, 7], 0);
    assert.deepEqual(idx.tolist(), [1, 0]);
    assertClose(
      aten.max(
        m,
        f32([
          [3, 3],
          [3, 3],
        ]),
      ),
      [
        [3, 5],
        [7, 3],
      ],
      0,
    );
    // sum(t, 1) is the dim overload (dtype is keyword-only), sum(t) the plain one
    assertClose(aten.sum(m, 1), [6, 9], 0);
    assert.equal(aten.sum(m, 1).dtype, 'float32');
    assertClose(aten.sum(m), 15, 0, []);
    assertClose(aten.sum(m, [0, 1], true), [[15]], 0, [1, 1]);
    // clamp with Tensor bounds vs Scalar bounds
    assertClose(aten.clamp(a, 1.5, 2.5), [1.5, 2, 2.5], 0);
    assertClose(aten.clamp(a, f32([2, 2, 2])), [2, 2, 3], 0);
  }),
);

test(
  'ops returning tuples give arrays of Tensors: max.dim, sort, topk, var_mean',
  run(() => {
    const m = f32([
      [3, 1, 2],
      [0, 5, 4],
    ]);
    const r = aten.max.dim(m, 1);
    assert.ok(Array.isArray(r) && r.length === 2);
    assertClose(r[0], [3, 5], 0);
    assert.equal(r[1].dtype, 'int64');
    assert.deepEqual(r[1].tolist(), [0, 1]);
    const [kv, ki] = aten.max.dim(m, 0, true);
    assertClose(kv, [[3, 5, 4]], 0, [1, 3]);
    assert.deepEqual(ki.tolist(), [[0, 1, 1]]);
    const [sv, si] = aten.sort(m, 1, true);
    assertClose(
      sv,
      [
        [3, 2, 1],
        [5, 4, 0],
      ],
      0,
    );
    assert.deepEqual(si.tolist(), [
      [0, 2, 1],
      [1, 2, 0],
    ]);
    const [tv, ti] = aten.topk(m.flatten(), 2);
    assertClose(tv, [5, 4], 0);
    assert.deepEqual(ti.tolist(), [4, 5]);
    const [v, mean] = aten.var_mean.correction(f32([1, 2, 3, 4]), null, { correction: 1 });
    assertClose(v, 5 / 3, 1e-6);
    assertClose(mean, 2.5, 0);
  }),
);

test(
  'Tensor[] returns: split by size and by sizes, chunk, unbind',
  run(() => {
    const t = torch.arange(5);
    const pieces = aten.split(t, 2);
    assert.equal(pieces.length, 3);
    assert.deepEqual(
      pieces.map((p: Tensor) => p.tolist()),
      [[0, 1], [2, 3], [4]],
    );
    assert.deepEqual(
      aten.split(t, [2, 3]).map((p: Tensor) => p.tolist()),
      [
        [0, 1],
        [2, 3, 4],
      ],
    );
    assert.deepEqual(
      aten.split.Tensor(t, 4).map((p: Tensor) => p.tolist()),
      [[0, 1, 2, 3], [4]],
    );
    assert.deepEqual(
      aten.split_with_sizes(t, [1, 4]).map((p: Tensor) => p.tolist()),
      [[0], [1, 2, 3, 4]],
    );
    assert.deepEqual(
      aten.chunk(t, 2).map((p: Tensor) => p.tolist()),
      [
        [0, 1, 2],
        [3, 4],
      ],
    );
    const rows = aten.unbind.int(
      torch.tensor([
        [1, 2],
        [3, 4],
      ]),
      1,
    );
    assert.deepEqual(
      rows.map((p: Tensor) => p.tolist()),
      [
        [1, 3],
        [2, 4],
      ],
    );
    assert.ok(pieces.every((p: Tensor) => p instanceof torch.Tensor));
  }),
);

test(
  'in-place ops return the same JS object, updated',
  run(() => {
    const a = f32([1, 2, 3]),
      b = f32([1, 1, 1]);
    const r = aten.add_.Tensor(a, b, { alpha: 10 });
    assert.equal(r, a);
    assertClose(a, [11, 12, 13], 0);
    assert.equal(aten.mul_(a, 2), a);
    assertClose(a, [22, 24, 26], 0);
    assert.equal(aten.mul_(a, b), a);
    assert.equal(aten.zero_(a), a);
    assertClose(a, [0, 0, 0], 0);
    assert.equal(aten.clamp_(b, 2), b);
    assertClose(b, [2, 2, 2], 0);
  }),
);

test(
  'out= variants write into and return the out tensor object',
  run(() => {
    const a = f32([1, 2, 3]),
      b = f32([4, 5, 6]);
    const out = torch.empty(3);
    const r = aten.add.out(a, b, { out, alpha: 2 });
    assert.equal(r, out);
    assertClose(out, [9, 12, 15], 0);
    // the packet picks .out when an out kwarg is given
    const out2 = torch.empty(3);
    assert.equal(aten.add(a, b, { out: out2 }), out2);
    assertClose(out2, [5, 7, 9], 0);
    // out is resized as in PyTorch
    const small = torch.empty(0);
    assert.equal(aten.mul.out(a, b, { out: small }), small);
    assert.deepEqual(small.shape, [3]);
    assertClose(small, [4, 10, 18], 0);
    // two outs
    const vals = torch.empty(0),
      idx = torch.empty(0, { dtype: 'int64' });
    const [v, i] = aten.max.dim_max(
      f32([
        [1, 9],
        [8, 2],
      ]),
      1,
      false,
      { max: vals, max_values: idx },
    );
    assert.equal(v, vals);
    assert.equal(i, idx);
    assertClose(vals, [9, 8], 0);
    assert.deepEqual(idx.tolist(), [1, 0]);
  }),
);

test(
  'optional arguments accept null (None); defaults apply when omitted',
  run(() => {
    const m = f32([
      [1, 2],
      [3, 4],
    ]);
    assertClose(aten.sum.dim_IntList(m, null), 10, 0, []);
    assertClose(
      aten.clamp(m, null, 2.5),
      [
        [1, 2],
        [2.5, 2.5],
      ],
      0,
    );
    assertClose(
      aten.clamp(m, 2.5, null),
      [
        [2.5, 2.5],
        [3, 4],
      ],
      0,
    );
    const x = f32([[1, 1]]),
      w = f32([
        [1, 2],
        [3, 4],
      ]);
    assertClose(aten.linear(x, w, null), [[3, 7]], 0);
    assertClose(aten.linear(x, w), [[3, 7]], 0);
    assertClose(aten.linear(x, w, f32([1, -1])), [[4, 6]], 0);
    assertClose(aten.mean.dim(m, [1], true, { dtype: null }), [[1.5], [3.5]], 0);
    assertClose(aten.var.correction(m, [1], { correction: null, keepdim: false }), [0.5, 0.5], 0);
  }),
);

test(
  'int[] arguments accept a single number (int[N] repeats it)',
  run(() => {
    const m = f32([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assertClose(aten.sum.dim_IntList(m, 1), [6, 15], 0);
    assertClose(aten.sum.dim_IntList(m, [1]), [6, 15], 0);
    assertClose(aten.amax(m, 0), [4, 5, 6], 0);
    const img = torch.arange(16, { dtype: 'float32' }).reshape(1, 1, 4, 4);
    // kernel_size int[2] = 2 → [2, 2]; stride [] → kernel
    assertClose(
      aten.max_pool2d(img, 2),
      [
        [
          [
            [5, 7],
            [13, 15],
          ],
        ],
      ],
      0,
      [1, 1, 2, 2],
    );
    assertClose(
      aten.avg_pool2d(img, 2, 2, 0),
      [
        [
          [
            [2.5, 4.5],
            [10.5, 12.5],
          ],
        ],
      ],
      0,
    );
    assert.deepEqual(aten.zeros(3).shape, [3]);
    assert.deepEqual(aten.reshape(torch.arange(6), [2, 3]).shape, [2, 3]);
  }),
);

test(
  'dtype arguments as strings (and PyTorch aliases)',
  run(() => {
    const a = f32([1.5, 2.5]);
    assert.equal(aten.to.dtype(a, 'float64').dtype, 'float64');
    assert.equal(aten.to.dtype(a, 'int32').dtype, 'int32');
    assert.deepEqual(aten.to.dtype(a, 'int64').tolist(), [1, 2]);
    assert.equal(anyAten.to.dtype(a, 'double').dtype, 'float64');
    assert.equal(aten.sum(a, { dtype: 'float64' }).dtype, 'float64');
    assert.equal(aten.zeros([2], { dtype: 'int32' }).dtype, 'int32');
    assert.equal(aten.ones([2, 2], { dtype: 'bfloat16' }).dtype, 'bfloat16');
    assert.equal(aten.arange(3, { dtype: 'float64' }).dtype, 'float64');
    assert.equal(aten.softmax.int(a, 0, 'float64').dtype, 'float64');
    assert.throws(() => anyAten.to.dtype(a, 'float33'), /unknown dtype 'float33'/);
  }),
);

test(
  'unknown keyword arguments are TypeErrors naming the keyword',
  run(() => {
    const a = f32([1, 2]);
    assert.throws(
      () => anyAten.add.Tensor(a, a, { alhpa: 2 }),
      (e: unknown) => e instanceof TypeError && /'alhpa'/.test((e as Error).message),
    );
    assert.throws(
      () => anyAten.add(a, a, { alhpa: 2 }),
      (e: unknown) => e instanceof TypeError && /'alhpa'/.test((e as Error).message),
    );
    assert.throws(() => anyAten.sum.dim_IntList(a, { dim: [0], bogus: 1 }), /unexpected keyword argument 'bogus'/);
  }),
);

test(
  'wrong argument types are TypeErrors naming the argument; tensors never pass as numbers or vice versa',
  run(() => {
    const a = f32([1, 2]);
    const typeErr = (fn: () => unknown, re: RegExp) => assert.throws(fn, (e: unknown) => e instanceof TypeError && re.test((e as Error).message), String(re));
    typeErr(() => anyAten.add.Tensor(a, 'x'), /argument 'other' \(Tensor\) must be a Tensor, got string/);
    typeErr(() => anyAten.add.Scalar(a, a), /argument 'other' \(Scalar\) must be a number, got Tensor/);
    typeErr(() => anyAten.mm(a, 5), /'mat2'/);
    typeErr(() => anyAten.neg(a._h), /argument 'self' \(Tensor\) must be a Tensor, got number/);
    typeErr(() => anyAten.sum.dim_IntList(a, [0], 1), /argument 'keepdim' \(bool\) must be a boolean, got number/);
    typeErr(() => anyAten.sum.dim_IntList(a, [0.5]), /argument 'dim'/);
    typeErr(() => anyAten.add.Tensor(a), /missing argument 'other' \(Tensor\)/);
    typeErr(() => anyAten.cat([a, 3]), /argument 'tensors'/);
    typeErr(() => anyAten.add.Tensor(a, a, 2), /positional/); // alpha is keyword-only
    // a packet lists why each overload refused
    typeErr(() => anyAten.add(a, 'x'), /no overload accepts these arguments[\s\S]*aten::add\.Tensor/);
  }),
);

test(
  'missing operators and overloads',
  run(() => {
    assert.throws(() => anyAten.no_such_op_xyz(f32([1])), /no operator aten::no_such_op_xyz/);
    assert.equal(anyAten.add.NoSuchOverload, undefined);
    // libtorch errors keep their TorchError class through the generic path
    assert.throws(() => aten.mm(f32([[1, 2]]), f32([[1, 2]])), torch.TorchError);
  }),
);

test(
  'generic calls record autograd like the methods',
  run(() => {
    const x = torch.tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
    const y = aten.mul.Tensor(x, x);
    assert.equal(y.gradFn, 'MulBackward0');
    aten.sum(y).backward();
    assertClose(x.grad!, [2, 4, 6], 0);
  }),
);
