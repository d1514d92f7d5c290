// Core tensor behaviour: creation, metadata, data round trips, handles and disposal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../lib/torch.js';
import { assertClose } from './helpers.js';

test('tensor() infers dtypes as Python does and keeps values', () => {
  assert.equal(torch.tensor([1, 2, 3]).dtype, 'int64');
  assert.equal(torch.tensor([1.5, 2]).dtype, 'float32');
  assert.equal(torch.tensor([true, false]).dtype, 'bool');
  assert.equal(torch.tensor(new Float64Array([1, 2])).dtype, 'float64');
  const t = torch.tensor(
    [
      [1, 2, 3],
      [4, 5, 6],
    ],
    { dtype: 'float32' },
  );
  assert.deepEqual(t.shape, [2, 3]);
  assert.deepEqual(t.tolist(), [
    [1, 2, 3],
    [4, 5, 6],
  ]);
  assert.equal(torch.tensor(3.5).item(), 3.5);
  assert.deepEqual(torch.tensor([]).shape, [0]);
});

test('every dtype round-trips through tensor() and tolist()', () => {
  const values = [0, 1, -2, 3];
  for (const dtype of torch.dtypes) {
    const v = dtype === 'uint8' ? [0, 1, 2, 3] : dtype === 'bool' ? [0, 1, 1, 0] : values;
    const t = torch.tensor(v, { dtype });
    assert.equal(t.dtype, dtype);
    const back = t.tolist().map(Number);
    assert.deepEqual(back, v, dtype);
  }
});

test('ragged nested arrays are rejected', () => {
  assert.throws(() => torch.tensor([[1, 2], [3]]), /ragged/);
});

test('typed arrays with a shape; toTypedArray copies out', () => {
  const t = torch.fromTypedArray(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
  assert.deepEqual(t.shape, [2, 3]);
  const a = t.toTypedArray();
  assert.ok(a instanceof Float32Array);
  assert.deepEqual(Array.from(a), [1, 2, 3, 4, 5, 6]);
  assert.throws(() => torch.fromTypedArray(new Float32Array(5), [2, 3]), /20 bytes but shape \[2, 3\]/);
  const b = torch.tensor([1.5, -2], { dtype: 'bfloat16' }).toTypedArray();
  assert.ok(b instanceof Float32Array);
  assert.deepEqual(Array.from(b), [1.5, -2]);
});

test('metadata: shape, ndim, numel, strides, device', () => {
  const t = torch.zeros(2, 3, 4);
  assert.deepEqual(t.shape, [2, 3, 4]);
  assert.equal(t.ndim, 3);
  assert.equal(t.numel(), 24);
  assert.deepEqual(t.stride(), [12, 4, 1]);
  assert.equal(t.size(-1), 4);
  assert.equal(t.device, 'cpu');
  assert.equal(t.transpose(0, 2).isContiguous(), false);
});

test('toString prints like PyTorch', () => {
  assert.equal(
    torch
      .tensor(
        [
          [1, 2],
          [3, 4],
        ],
        { dtype: 'float32' },
      )
      .toString(),
    'tensor([[1., 2.],\n        [3., 4.]])',
  );
  assert.equal(torch.tensor([0.5, 2]).toString(), 'tensor([0.5000, 2.0000])');
  assert.equal(torch.arange(3).toString(), 'tensor([0, 1, 2])');
  assert.equal(torch.tensor([1, 2], { dtype: 'float64' }).toString(), 'tensor([1., 2.], dtype=torch.float64)');
  assert.equal(torch.tensor([1.0, 2.5], { requiresGrad: true }).toString(), 'tensor([1.0000, 2.5000], requires_grad=True)');
});

test('dispose frees the native tensor; later use throws; double dispose is harmless', () => {
  const before = torch.memory().numTensors;
  const t = torch.ones(3);
  assert.equal(torch.memory().numTensors, before + 1);
  t.dispose();
  assert.equal(torch.memory().numTensors, before);
  assert.equal(t.isDisposed, true);
  assert.throws(() => t.add(1), /disposed/);
  t.dispose();
});

test('`using` disposes at block end', () => {
  const before = torch.memory().numTensors;
  {
    using t = torch.ones(4);
    assert.equal(torch.memory().numTensors, before + 1);
    assertClose(t, [1, 1, 1, 1]);
  }
  assert.equal(torch.memory().numTensors, before);
});

test('scope frees temporaries, returns results to the caller, respects keep', () => {
  const before = torch.memory().numTensors;
  let kept: torch.Tensor | undefined;
  const out = torch.scope(() => {
    const a = torch.ones(3);
    const b = a.mul(2);
    kept = torch.keep(b.add(1));
    return { y: b.sub(1), list: [a.add(5)] };
  });
  assert.equal(torch.memory().numTensors, before + 3);
  assertClose(out.y, [1, 1, 1]);
  assertClose(out.list[0], [6, 6, 6]);
  assertClose(kept!, [3, 3, 3]);
  torch.dispose(out, kept);
  assert.equal(torch.memory().numTensors, before);
});

test('nested scopes hand results outwards; an exception still frees', () => {
  const before = torch.memory().numTensors;
  torch.scope(() => {
    const inner = torch.scope(() => torch.ones(2).add(1));
    assertClose(inner, [2, 2]);
  });
  assert.equal(torch.memory().numTensors, before);
  assert.throws(
    () =>
      torch.scope(() => {
        torch.ones(5);
        throw new Error('boom');
      }),
    /boom/,
  );
  assert.equal(torch.memory().numTensors, before);
});

test('async scopes follow await', async () => {
  const before = torch.memory().numTensors;
  const r = await torch.scope(async () => {
    const a = torch.ones(2);
    await new Promise((res) => setTimeout(res, 5));
    const b = a.add(1); // created after an await: still owned by this scope
    await Promise.resolve();
    return b.mul(3);
  });
  assertClose(r, [6, 6]);
  assert.equal(torch.memory().numTensors, before + 1);
  r.dispose();
  // two interleaved async scopes each free only their own tensors
  const run = (v: number) =>
    torch.scope(async () => {
      const t = torch.full([2], v);
      await new Promise((res) => setTimeout(res, 2));
      return t.add(v).sum().item();
    });
  assert.deepEqual(await Promise.all([run(1), run(2)]), [4, 8]);
  assert.equal(torch.memory().numTensors, before);
});
