// Grad mode and autocast (lib/core/modes.ts): torch.noGrad / enableGrad / setGradEnabled and
// torch.autocast on CPU with bfloat16 — what runs in which dtype, that the previous state comes
// back after returns, exceptions and settled promises, nesting, and bf16 accuracy against a
// rounding-error bound computed in JS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../lib/torch.js';
import { randNested } from './gradcheck-helpers.js';

const F = torch.nn.functional;
/** Runs a test body in a scope and checks that it leaves no native tensor behind. */
const run = (fn: () => void) => () => {
  const before = torch.memory().numTensors;
  torch.scope(fn);
  assert.equal(torch.memory().numTensors, before, 'tensors leaked');
};

// ---- grad mode -------------------------------------------------------------------------------

test(
  'noGrad: results do not require grad; the mode is restored after',
  run(() => {
    const x = torch.ones(3, { requiresGrad: true });
    assert.equal(torch.isGradEnabled(), true);
    const y = torch.noGrad(() => {
      assert.equal(torch.isGradEnabled(), false);
      return x.mul(2).add(1);
    });
    assert.equal(y.requiresGrad, false);
    assert.equal(y.gradFn, null);
    assert.equal(torch.isGradEnabled(), true);
    assert.equal(x.mul(2).requiresGrad, true);
    // the return value passes through
    assert.equal(
      torch.noGrad(() => 42),
      42,
    );
  }),
);

test('noGrad restores grad mode after an exception', () => {
  assert.throws(
    () =>
      torch.noGrad(() => {
        throw new Error('boom');
      }),
    /boom/,
  );
  assert.equal(torch.isGradEnabled(), true);
  // also when the error comes from libtorch
  assert.throws(() => torch.noGrad(() => torch.scope(() => torch.ones(2).matmul(torch.ones(3)))), torch.TorchError);
  assert.equal(torch.isGradEnabled(), true);
});

test(
  'enableGrad inside noGrad records again; nesting restores each level',
  run(() => {
    const x = torch.ones(2, { requiresGrad: true });
    torch.noGrad(() => {
      assert.equal(x.mul(2).requiresGrad, false);
      const y = torch.enableGrad(() => {
        assert.equal(torch.isGradEnabled(), true);
        return x.mul(3);
      });
      assert.equal(y.requiresGrad, true);
      assert.equal(torch.isGradEnabled(), false, 'back to no-grad after enableGrad');
      torch.noGrad(() => assert.equal(torch.isGradEnabled(), false));
      assert.equal(torch.isGradEnabled(), false);
      assert.throws(
        () =>
          torch.enableGrad(() => {
            throw new Error('inner');
          }),
        /inner/,
      );
      assert.equal(torch.isGradEnabled(), false, 'restored to no-grad after an exception in enableGrad');
    });
    assert.equal(torch.isGradEnabled(), true);
  }),
);

test('setGradEnabled returns the previous state', () => {
  assert.equal(torch.setGradEnabled(false), true);
  assert.equal(torch.isGradEnabled(), false);
  assert.equal(torch.setGradEnabled(true), false);
  assert.equal(torch.isGradEnabled(), true);
});

test('noGrad with an async function: the mode holds across await and is restored when the promise settles', async () => {
  const x = torch.ones(2, { requiresGrad: true });
  const p = torch.noGrad(async () => {
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(torch.isGradEnabled(), false, 'still no-grad after an await');
    return torch.scope(() => x.mul(2).requiresGrad);
  });
  assert.ok(p instanceof Promise);
  assert.equal(await p, false);
  assert.equal(torch.isGradEnabled(), true, 'restored after the promise resolved');
  await assert.rejects(
    torch.noGrad(async () => {
      await Promise.resolve();
      throw new Error('async boom');
    }),
    /async boom/,
  );
  assert.equal(torch.isGradEnabled(), true, 'restored after the promise rejected');
  x.dispose();
});

// ---- autocast --------------------------------------------------------------------------------

test(
  'autocast(cpu, bfloat16): matmul and linear run in bfloat16 inside, float32 outside',
  run(() => {
    const a = torch.randn(4, 8),
      b = torch.randn(8, 3),
      w = torch.randn(5, 8),
      bias = torch.randn(5);
    assert.equal(torch.isAutocastEnabled(), false);
    const r = torch.autocast({ device: 'cpu', dtype: 'bfloat16' }, () => {
      assert.equal(torch.isAutocastEnabled(), true);
      assert.equal(torch.isAutocastEnabled('cpu'), true);
      return { mm: a.matmul(b), lin: F.linear(a, w, bias), conv: F.conv2d(torch.randn(1, 2, 4, 4), torch.randn(3, 2, 3, 3)), add: a.add(a) };
    });
    assert.equal(r.mm.dtype, 'bfloat16');
    assert.equal(r.lin.dtype, 'bfloat16');
    assert.equal(r.conv.dtype, 'bfloat16');
    assert.equal(r.add.dtype, 'float32', 'ops outside the autocast lists keep float32');
    assert.equal(torch.isAutocastEnabled(), false);
    assert.equal(a.matmul(b).dtype, 'float32');
    assert.equal(F.linear(a, w, bias).dtype, 'float32');
    // the defaults are cpu and bfloat16
    assert.equal(
      torch.autocast({}, () => a.matmul(b).dtype),
      'bfloat16',
    );
  }),
);

test(
  'autocast: bf16 results are within the bf16 rounding bound of the float32 result',
  run(() => {
    const [M, K, N] = [6, 32, 5];
    const av = randNested([M, K], 1),
      bv = randNested([K, N], 2);
    const a = torch.tensor(av),
      b = torch.tensor(bv);
    const ref = a.matmul(b).tolist() as number[][];
    const got = torch
      .autocast({ device: 'cpu', dtype: 'bfloat16' }, () => a.matmul(b))
      .float()
      .tolist() as number[][];
    // Inputs are rounded to bf16 (relative error ≤ 2⁻⁸ each, so ≤ ~2·2⁻⁸ per product), products
    // are accumulated in float32, and the result is rounded to bf16 (≤ 2⁻⁸ relative).
    const u = 2 ** -8;
    let worst = 0;
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let absSum = 0;
        for (let k = 0; k < K; k++) absSum += Math.abs(av[i][k] * bv[k][j]);
        const bound = absSum * (2 * u + u * u) * 1.01 + Math.abs(ref[i][j]) * u + 1e-5;
        const err = Math.abs(got[i][j] - ref[i][j]);
        assert.ok(err <= bound, `[${i}][${j}] bf16 ${got[i][j]} vs f32 ${ref[i][j]}: error ${err} > bound ${bound}`);
        worst = Math.max(worst, err);
      }
    assert.ok(worst > 0, 'bf16 actually rounds (the result is not bit-identical to float32)');
  }),
);

test(
  'autocast: float32 parameters receive float32 gradients through bf16 ops',
  run(() => {
    const w = torch.tensor(randNested([4, 6], 3), { requiresGrad: true });
    const x = torch.tensor(randNested([3, 6], 4));
    const y = torch.autocast({ device: 'cpu', dtype: 'bfloat16' }, () => F.linear(x, w));
    assert.equal(y.dtype, 'bfloat16');
    y.float().sum().backward();
    const g = w.grad!;
    assert.equal(g.dtype, 'float32');
    assert.equal(w.dtype, 'float32');
    // d(sum y)/dw[o][i] = Σ_n x[n][i]; bf16 rounding of x gives ≤ 2⁻⁸ relative error
    const xs = x.tolist() as number[][];
    const want = Array.from({ length: 6 }, (_, i) => xs.reduce((s, r) => s + r[i], 0));
    for (const row of g.tolist() as number[][]) row.forEach((v, i) => assert.ok(Math.abs(v - want[i]) <= 0.02, `${v} vs ${want[i]}`));
  }),
);

test(
  'autocast: nested enabled:false turns it off inside and back on after; exceptions restore state',
  run(() => {
    const a = torch.randn(3, 3);
    torch.autocast({ device: 'cpu', dtype: 'bfloat16' }, () => {
      assert.equal(a.matmul(a).dtype, 'bfloat16');
      torch.autocast({ device: 'cpu', enabled: false }, () => {
        assert.equal(torch.isAutocastEnabled(), false);
        assert.equal(a.matmul(a).dtype, 'float32');
      });
      assert.equal(torch.isAutocastEnabled(), true);
      assert.equal(a.matmul(a).dtype, 'bfloat16');
      assert.throws(
        () =>
          torch.autocast({ device: 'cpu', enabled: false }, () => {
            throw new Error('inner');
          }),
        /inner/,
      );
      assert.equal(torch.isAutocastEnabled(), true, 'the outer autocast is back after an inner exception');
      assert.equal(a.matmul(a).dtype, 'bfloat16');
    });
    assert.equal(torch.isAutocastEnabled(), false);
    assert.throws(
      () =>
        torch.autocast({ device: 'cpu' }, () => {
          throw new Error('outer');
        }),
      /outer/,
    );
    assert.equal(torch.isAutocastEnabled(), false, 'disabled again after an exception');
    assert.equal(a.matmul(a).dtype, 'float32');
    // a libtorch error inside autocast also restores it
    assert.throws(() => torch.autocast({ device: 'cpu' }, () => a.matmul(torch.ones(4, 2))), torch.TorchError);
    assert.equal(torch.isAutocastEnabled(), false);
  }),
);

test('autocast with an async function stays on across await and is off after the promise settles', async () => {
  const dt = await torch.autocast({ device: 'cpu' }, async () => {
    await new Promise((r) => setTimeout(r, 2));
    return torch.scope(() => torch.ones(2, 2).matmul(torch.ones(2, 2)).dtype);
  });
  assert.equal(dt, 'bfloat16');
  assert.equal(torch.isAutocastEnabled(), false);
  await assert.rejects(
    torch.autocast({ device: 'cpu' }, async () => {
      await Promise.resolve();
      throw new Error('x');
    }),
    /x/,
  );
  assert.equal(torch.isAutocastEnabled(), false);
});

test(
  'autocast and noGrad compose',
  run(() => {
    const w = torch.randn(2, 2, { requiresGrad: true });
    const y = torch.noGrad(() => torch.autocast({ device: 'cpu' }, () => w.matmul(w)));
    assert.equal(y.dtype, 'bfloat16');
    assert.equal(y.requiresGrad, false);
    assert.equal(torch.isGradEnabled(), true);
    assert.equal(torch.isAutocastEnabled(), false);
  }),
);
