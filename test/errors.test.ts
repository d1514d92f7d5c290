// Errors: every libtorch failure reaches JS as a TorchError (libtorch's message + the op name),
// wrong JS argument types as TypeErrors naming the argument, use after dispose throws, and no
// error leaks tensors, breaks scopes or modes, or takes the process down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../lib/torch.js';

const F = torch.nn.functional;
/** Untyped view of torch.ops.aten, for calls that are wrong on purpose. */
const anyAten: any = torch.ops.aten;
const here = dirname(fileURLToPath(import.meta.url));
/** test/fixtures-scripts/, reached from the compiled dist/test/ as well as from test/. */
const fixtures = existsSync(resolve(here, 'fixtures-scripts')) ? resolve(here, 'fixtures-scripts') : resolve(here, '../../test/fixtures-scripts');

/** Asserts fn throws a TorchError from `op` whose message matches `msg`. */
function throwsTorch(fn: () => unknown, op: string, msg: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof torch.TorchError, `expected a TorchError, got ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    assert.equal(e.name, 'TorchError');
    assert.equal(e.op, op);
    assert.match(e.message, msg);
    assert.ok(e.message.startsWith(`${op}: `), `message should start with the op: ${e.message}`);
    return true;
  });
}

/** Asserts fn throws a TypeError (not a TorchError) whose message matches `msg`. */
function throwsType(fn: () => unknown, msg: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof TypeError, `expected a TypeError, got ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    assert.ok(!(e instanceof torch.TorchError));
    assert.match(e.message, msg);
    return true;
  });
}

const idx = (xs: number[] | number[][]) => torch.tensor(xs, { dtype: 'int64' });

/** Runs fn in a scope and asserts that no tensor outlives it (failed ops must not leak handles). */
function noLeak(fn: () => void): void {
  const before = torch.memory().numTensors;
  torch.scope(fn);
  assert.equal(torch.memory().numTensors, before, 'live tensors after the scope');
}

test('TorchError is an Error with name, op, libtorch message and a JS stack', () =>
  noLeak(() => {
    const a = torch.randn(2, 3),
      b = torch.randn(4, 5);
    let err: unknown;
    try {
      torch.ops.aten.mm(a, b);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof torch.TorchError);
    assert.ok(err instanceof Error);
    assert.equal(err.op, 'aten::mm');
    assert.equal(err.message, 'aten::mm: mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)');
    assert.match(String(err.stack), /errors\.test/, 'the stack points at the JS caller');
    assert.doesNotMatch(err.message, /Exception raised from|frame #/, 'no C++ backtrace in the message');
    // The op named is the one JS called: Tensor.matmul calls aten::matmul (which calls mm inside).
    throwsTorch(() => a.matmul(b), 'aten::matmul', /mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)/);
  }));

test('bad shapes: view, reshape, matmul, cat, stack, conv2d, linear, layerNorm, expand, broadcast', () =>
  noLeak(() => {
    const a = torch.randn(2, 3),
      b = torch.randn(4, 5);
    throwsTorch(() => a.view(4, 2), 'aten::view', /shape '\[4, 2\]' is invalid for input of size 6/);
    throwsTorch(() => a.t().view(6), 'aten::view', /view size is not compatible with input tensor's size and stride/);
    throwsTorch(() => a.reshape(5), 'aten::reshape', /shape '\[5\]' is invalid for input of size 6/);
    throwsTorch(() => a.reshape(-1, -1), 'aten::reshape', /only one dimension can be inferred/);
    throwsTorch(() => a.matmul(b), 'aten::matmul', /cannot be multiplied/);
    throwsTorch(() => torch.ops.aten.bmm(a, a), 'aten::bmm', /batch1 must be a 3D tensor/);
    throwsTorch(() => torch.cat([a, b], 0), 'aten::cat', /Sizes of tensors must match except in dimension 0/);
    throwsTorch(() => torch.cat([torch.ones(2), torch.ones(2, 2)]), 'aten::cat', /same number of dimensions/);
    throwsTorch(() => torch.cat([], 0), 'aten::cat', /non-empty list of Tensors/);
    throwsTorch(() => torch.stack([a, b]), 'aten::stack', /stack expects each tensor to be equal size/);
    throwsTorch(
      () => F.conv2d(torch.randn(1, 3, 8, 8), torch.randn(4, 2, 3, 3)),
      'aten::conv2d',
      /expected input\[1, 3, 8, 8\] to have 2 channels, but got 3 channels/,
    );
    throwsTorch(() => F.conv2d(torch.randn(3, 8), torch.randn(4, 3, 3, 3)), 'aten::conv2d', /3D \(unbatched\) or 4D \(batched\) input/);
    throwsTorch(() => F.conv2d(torch.randn(1, 3, 2, 2), torch.randn(4, 3, 3, 3)), 'aten::conv2d', /Kernel size can't be greater than actual input size/);
    throwsTorch(() => F.conv2d(torch.randn(1, 3, 8, 8), torch.randn(4, 3, 3, 3), null, { stride: 0 }), 'aten::conv2d', /non-positive stride/);
    throwsTorch(
      () => F.conv2d(torch.randn(1, 3, 8, 8), torch.randn(4, 3, 3, 3), null, { padding: 'bogus' as any }),
      'aten::conv2d.padding',
      /Invalid padding string: 'bogus'/,
    );
    throwsTorch(() => F.linear(a, torch.randn(4, 5)), 'aten::linear', /cannot be multiplied \(2x3 and 5x4\)/);
    throwsTorch(() => F.layerNorm(a, [5]), 'aten::layer_norm', /normalized_shape=\[5\]/);
    throwsTorch(() => a.expand(3, 3), 'aten::expand', /expanded size of the tensor \(3\) must match the existing size \(2\)/);
    throwsTorch(() => a.narrow(1, 2, 5), 'aten::narrow', /exceeds dimension size/);
    throwsTorch(() => a.add(b), 'aten::add.Tensor', /size of tensor a \(3\) must match the size of tensor b \(5\)/);
    throwsTorch(() => torch.zeros(-1), 'aten::zeros', /negative dimension -1|must be non-negative/); // 1.13 | 2.x
  }));

test('bad dims: dim out of range in reductions, softmax, transpose, select, unsqueeze, permute', () =>
  noLeak(() => {
    const a = torch.randn(2, 3);
    const range = /Dimension out of range \(expected to be in range of \[-2, 1\], but got/;
    throwsTorch(() => a.sum(5), 'aten::sum.dim_IntList', /Dimension out of range \(expected to be in range of \[-2, 1\], but got 5\)/);
    throwsTorch(() => a.mean(-3), 'aten::mean.dim', range);
    throwsTorch(() => a.softmax(2), 'aten::softmax.int', range);
    throwsTorch(() => a.transpose(0, 7), 'aten::transpose.int', range);
    throwsTorch(() => a.select(3, 0), 'aten::select.int', range);
    throwsTorch(() => a.max(2), 'aten::max.dim', range);
    throwsTorch(() => a.unsqueeze(5), 'aten::unsqueeze', /Dimension out of range \(expected to be in range of \[-3, 2\], but got 5\)/);
    throwsTorch(() => a.permute(0, 0), 'aten::permute', /duplicate dims/);
    throwsTorch(() => a.chunk(0), 'aten::chunk', /chunks/);
  }));

test('wrong dtype combinations', () =>
  noLeak(() => {
    const i = torch.arange(6).view(2, 3),
      f = torch.randn(3, 2);
    // 1.13: "expected scalar type Long but found Float"; 2.x: "expected m1 and m2 to have the same dtype"
    throwsTorch(() => i.matmul(f), 'aten::matmul', /expected (scalar type|m1 and m2 to have the same dtype)/);
    throwsTorch(() => torch.ops.aten.mm(i, f), 'aten::mm', /expected (scalar type|m1 and m2 to have the same dtype)/);
    throwsTorch(() => torch.randn(3).indexSelect(0, torch.tensor([0.5])), 'aten::index_select', /int32 or int64/);
    throwsTorch(() => torch.where(idx([1, 0]), torch.ones(2), torch.ones(2)), 'aten::where.self', /boolean/);
    throwsTorch(() => torch.multinomial(idx([1, 2]), 1), 'aten::multinomial', /floating-point/);
    throwsTorch(() => torch.arange(3).requiresGrad_(), 'setRequiresGrad', /floating point/);
  }));

test('index out of range: select, gather, indexSelect, scatter, index, embedding, crossEntropy target', () =>
  noLeak(() => {
    const a = torch.randn(2, 3);
    throwsTorch(() => a.select(0, 5), 'aten::select.int', /index 5 out of range for tensor of size \[2, 3\] at dimension 0/);
    throwsTorch(() => a.select(1, -4), 'aten::select.int', /index -4 out of range/);
    throwsTorch(
      () =>
        a.gather(
          1,
          idx([
            [0, 7, 1],
            [0, 0, 0],
          ]),
        ),
      'aten::gather',
      /index 7 is out of bounds for dimension 1 with size 3/,
    );
    throwsTorch(() => a.gather(0, idx([0])), 'aten::gather', /same number of dimensions/);
    throwsTorch(() => a.indexSelect(0, idx([0, 9])), 'aten::index_select', /out of range|out of bounds/);
    throwsTorch(() => a.scatter(0, idx([[5, 0, 0]]), 1.5), 'aten::scatter.value', /index 5 is out of bounds/);
    throwsTorch(() => a.indexTensors([idx([3])]), 'aten::index.Tensor', /index 3 is out of bounds for dimension 0 with size 2/);
    throwsTorch(() => F.embedding(idx([10]), torch.randn(3, 4)), 'aten::embedding', /out of range|out of bounds/);
    throwsTorch(() => F.crossEntropy(torch.randn(2, 3), idx([0, 5])), 'aten::cross_entropy_loss', /Target 5 is out of bounds/);
    throwsTorch(() => a.topk(10), 'aten::topk', /k.*out of range/);
  }));

test('item() needs exactly one element', () =>
  noLeak(() => {
    throwsTorch(() => torch.randn(2, 3).item(), 'item', /a Tensor with 6 elements cannot be converted to a number/);
    throwsTorch(() => torch.empty(0).item(), 'item', /a Tensor with 0 elements/);
    assert.equal(torch.ones(1, 1).item(), 1);
  }));

test('fromTypedArray with the wrong byte length or a bad shape', () =>
  noLeak(() => {
    throwsType(() => torch.fromTypedArray(new Float32Array(5), [2, 3]), /data has 20 bytes but shape \[2, 3\] of float32 needs 24/);
    throwsType(() => torch.fromTypedArray(new Int32Array(4), [3]), /16 bytes but shape \[3\] of int32 needs 12/);
    throwsType(() => torch.fromTypedArray(new Float32Array(3), [-3]), /non-negative integers/);
  }));

test('unknown dtype and device strings', () =>
  noLeak(() => {
    const a = torch.randn(2);
    throwsType(() => torch.zeros(2, { dtype: 'float33' }), /unknown dtype 'float33'/);
    throwsType(() => a.to({ dtype: 'nope' }), /unknown dtype 'nope'/);
    throwsType(() => a.view('float33' as any), /unknown dtype 'float33'/);
    throwsType(() => anyAten.to.dtype(a, 'float33'), /unknown dtype 'float33'/);
    throwsType(() => torch.zeros(2, { device: 'tpu' }), /unknown device 'tpu'/);
    throwsType(() => a.to('gpu:0'), /'gpu:0' is neither a dtype .* nor a device/);
    throwsType(() => torch.autocast({ device: 'tpu' as any }, () => 1), /autocast device must be 'cpu' or 'cuda', got 'tpu'/);
    // A well-formed device this build cannot run on is libtorch's error, not a crash.
    if (!torch.cuda.isAvailable()) throwsTorch(() => torch.zeros(2, { device: 'cuda' }), 'aten::zeros', /CUDA/);
  }));

test('wrong argument types are TypeErrors naming the argument', () =>
  noLeak(() => {
    const a = torch.randn(2, 3);
    throwsType(() => a.add('x' as any), /argument 'other' \(Scalar\) must be a number, got string/);
    throwsType(() => torch.zeros('a' as any), /argument 'size'.*must be an integer, got string/);
    throwsType(() => a.sum(0, 'yes' as any), /argument 'keepdim' \(bool\) must be a boolean, got string/);
    throwsType(() => a.sum('x' as any), /argument 'dim'.*must be an array, got string/);
    throwsType(() => a.select('0' as any, 1), /argument 'dim' \(int\) must be an integer, got string/);
    throwsType(() => a.view(1.5, 4), /argument 'size'.*must be an integer, got 1\.5/);
    throwsType(() => torch.zeros(NaN), /argument 'size'.*must be an integer, got nan/);
    throwsType(() => torch.full([2], 'x' as any), /argument 'fill_value' \(Scalar\) must be a number, got string/);
    throwsType(() => anyAten.sum.dim_IntList(a, [0], 1), /argument 'keepdim' \(bool\) must be a boolean, got number/);
    throwsType(() => anyAten.add.Tensor(a), /missing argument 'other' \(Tensor\)/);
    throwsType(() => anyAten.add.Tensor(a, a, 1, 2, 3), /aten::add\.Tensor takes 3 arguments, got 5/);
    throwsType(() => anyAten.sum.dim_IntList(a, { dim: [0], bogus: 1 }), /unexpected keyword argument 'bogus'/);
    throwsType(() => anyAten.neg(Symbol('x')), /argument 'self' \(Tensor\) must be a Tensor, got symbol/);
    throwsType(() => anyAten.neg([1, 2]), /argument 'self' \(Tensor\) must be a Tensor, got object/);
    throwsType(() => torch.randn(3, { generator: { _g: 99 } as any }), /generator must be a torch.Generator/);
    throwsType(() => F.mseLoss(a, a, 'avg' as any), /reduction must be 'none', 'mean' or 'sum'/);
    throwsType(() => torch.setNumThreads(0), /thread count must be >= 1/);
    throwsType(() => torch.manualSeed(-1), /seed must be a non-negative integer/);
  }));

test('a number where a Tensor is expected is a TypeError naming the argument, not a handle', () =>
  noLeak(() => {
    const a = torch.randn(2, 3);
    throwsType(() => anyAten.mm(a, 5), /'mat2'/);
    // A number that happens to encode a live handle must not be read as that tensor.
    throwsType(() => anyAten.neg(a._h), /'self' \(Tensor\) must be a Tensor, got number/);
  }));

test('null or a number passed to a Tensor method is a TypeError naming the argument', () =>
  noLeak(() => {
    const a = torch.randn(2, 3);
    throwsType(() => a.matmul(null as any), /'other'.*Tensor/);
    throwsType(() => a.matmul(5 as any), /'other'.*must be a Tensor/);
  }));

test('integers beyond int64 are rejected, not wrapped', () =>
  noLeak(() => {
    const a = torch.randn(2, 3);
    throwsType(() => a.select(0, 2 ** 63), /'index'/);
  }));

test('torch.tensor() rejects non-numeric data', () =>
  noLeak(() => {
    throwsType(() => torch.tensor('abc' as any), /tensor\(\)/);
    throwsType(() => torch.tensor({} as any), /tensor\(\)/);
    throwsType(() => torch.tensor([1, 'x'] as any), /tensor\(\)/);
  }));

test('use after dispose throws, in every position', () => {
  const a = torch.randn(2, 3);
  const t = torch.ones(2, 3);
  t.dispose();
  const gone = /disposed/;
  throwsType(() => t.add(1), gone);
  throwsType(() => a.add(t), gone);
  throwsType(() => torch.cat([a, t]), gone);
  throwsType(() => torch.ops.aten.neg(t), gone);
  throwsType(() => t.shape, gone);
  throwsType(() => t.dtype, gone);
  throwsType(() => t.item(), gone);
  throwsType(() => t.toTypedArray(), gone);
  throwsType(() => t.backward(), gone);
  throwsType(() => t.requiresGrad, gone);
  assert.equal(t.isDisposed, true);
  t.dispose(); // harmless
  // A tensor freed by its scope is just as dead.
  let escaped!: torch.Tensor;
  torch.scope(() => {
    escaped = torch.zeros(3);
  });
  assert.equal(escaped.isDisposed, true);
  throwsType(() => escaped.sum(), gone);
  a.dispose();
});

test('autograd errors: backward without grad, non-scalar backward, twice, wrong gradient shape', () =>
  noLeak(() => {
    const a = torch.randn(2, 3);
    throwsTorch(() => a.sum().backward(), 'backward', /does not require grad and does not have a grad_fn/);
    throwsTorch(() => torch.randn(3, { requiresGrad: true }).mul(2).backward(), 'backward', /grad can be implicitly created only for scalar outputs/);
    const x = torch.ones(3, { requiresGrad: true });
    const y = x.exp().sum();
    y.backward();
    throwsTorch(() => y.backward(), 'backward', /backward through the graph a second time/);
    throwsTorch(() => x.mul(2).backward(torch.ones(4)), 'backward', /invalid gradient at index 0 - got \[4\] but expected shape compatible with \[3\]/);
    throwsTorch(() => torch.autograd.grad([a.sum()], [a]), 'autogradGrad', /does not require grad/);
    throwsTorch(
      () => torch.ones(3, { requiresGrad: true }).add_(1),
      'aten::add_.Scalar',
      /leaf Variable that requires grad is being used in an in-place operation/,
    );
    // grad mode is restored after a throw inside noGrad
    assert.throws(
      () =>
        torch.noGrad(() => {
          torch.randn(2).matmul(torch.randn(3));
        }),
      torch.TorchError,
    );
    assert.equal(torch.isGradEnabled(), true);
    assert.throws(
      () =>
        torch.autocast({}, () => {
          throw new Error('inside');
        }),
      /inside/,
    );
    assert.equal(torch.isAutocastEnabled(), false);
  }));

test('assigning a gradient of the wrong shape is rejected', () =>
  noLeak(() => {
    const x = torch.ones(3, { requiresGrad: true });
    assert.throws(() => {
      x.grad = torch.ones(4);
    }, /size|shape/);
  }));

test('failed ops leak nothing and leave the dispatcher usable', () => {
  const a = torch.randn(2, 3),
    b = torch.randn(4, 5);
  const before = torch.memory().numTensors;
  for (let i = 0; i < 50; i++) {
    assert.throws(() => a.matmul(b), torch.TorchError);
    // fails while converting the 3rd argument, after the first two were converted
    assert.throws(() => anyAten.sum.dim_IntList(a, [0], 'no'), TypeError);
    assert.throws(() => torch.cat([a, b]), torch.TorchError);
  }
  assert.equal(torch.memory().numTensors, before);
  const c = torch.ops.aten.sum.dim_IntList(a, [0], true);
  assert.deepEqual(c.shape, [1, 3]);
  torch.dispose(a, b, c);
});

test("a thrown error inside torch.scope still frees the scope's tensors", async () => {
  const before = torch.memory().numTensors;
  assert.throws(
    () =>
      torch.scope(() => {
        const x = torch.ones(1000);
        x.mul(2).add(1);
        x.view(7, 7); // TorchError
      }),
    (e: unknown) => e instanceof torch.TorchError && e.op === 'aten::view',
  );
  assert.equal(torch.memory().numTensors, before);

  // nested: the inner scope's tensors go at once, the outer keeps its own until it ends
  torch.scope(() => {
    const outer = torch.ones(3);
    const mid = torch.memory().numTensors;
    assert.throws(
      () =>
        torch.scope(() => {
          torch.zeros(5);
          torch.zeros(5).matmul(torch.zeros(4));
        }),
      torch.TorchError,
    );
    assert.equal(torch.memory().numTensors, mid);
    assert.equal(outer.isDisposed, false);
  });
  assert.equal(torch.memory().numTensors, before);

  // async: a rejection after an await frees everything created before and after the await
  await assert.rejects(
    torch.scope(async () => {
      const x = torch.ones(4);
      await new Promise((r) => setTimeout(r, 1));
      x.add(1).reshape(3);
    }),
    torch.TorchError,
  );
  assert.equal(torch.memory().numTensors, before);

  // errors during backward inside a scope
  assert.throws(
    () =>
      torch.scope(() => {
        const w = torch.randn(3, { requiresGrad: true });
        w.mul(2).backward();
      }),
    torch.TorchError,
  );
  assert.equal(torch.memory().numTensors, before);
});

test('a child process survives ~40 different errors in a row (no abort, no segfault)', () => {
  const script = resolve(fixtures, 'many-errors.mjs');
  const r = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.signal, null, `child killed by ${r.signal}; stderr:\n${r.stderr}`);
  assert.equal(r.status, 0, `child exited ${r.status}; stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  const m = /caught (\d+) of (\d+)/.exec(r.stdout);
  assert.ok(m, `no count printed: ${r.stdout}`);
  assert.equal(m[1], m[2]);
  assert.ok(Number(m[1]) >= 30, `only ${m[1]} errors triggered`);
});
