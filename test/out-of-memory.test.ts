// Running out of memory is an error, never a crash: torch.OutOfMemoryError (a TorchError with the
// op) from the CPU allocator here, and from CUDA's caching allocator (with its figures and each
// device's allocated/reserved bytes) on a CUDA machine. Nothing leaks and the next op works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../lib/torch.js';

function throwsOom(fn: () => unknown, op: string, msg: RegExp): void {
  const before = torch.memory().numTensors;
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof torch.OutOfMemoryError, `expected an OutOfMemoryError, got ${String(e)}`);
    assert.ok(e instanceof torch.TorchError);
    assert.equal(e.name, 'OutOfMemoryError');
    assert.equal(e.op, op);
    assert.match(e.message, msg);
    assert.ok(e.message.startsWith(`${op}: `), `message should start with the op: ${e.message}`);
    return true;
  });
  assert.equal(torch.memory().numTensors, before, 'live tensors after the failed allocation');
  assert.equal(torch.ones(4).sum().item(), 4, 'the library still works');
}

test('CPU allocations beyond memory are OutOfMemoryErrors naming the op and the size', () => {
  // Sizes far beyond RAM + overcommit, so the allocator fails at once (nothing is touched).
  throwsOom(() => torch.empty([1e15]), 'aten::empty.memory_format', /CPU out of memory: tried to allocate 4000000000000000 bytes/);
  throwsOom(() => torch.zeros(1e7, 1e7), 'aten::zeros', /CPU out of memory: tried to allocate 400000000000000 bytes/);
  throwsOom(() => torch.ones([1e12], { dtype: 'int64' }), 'aten::ones', /CPU out of memory: tried to allocate 8000000000000 bytes/);
  throwsOom(() => torch.randn(2 ** 40, 2 ** 20), 'aten::randn', /CPU out of memory: tried to allocate/);
  assert.equal(torch.cuda.OutOfMemoryError, torch.OutOfMemoryError);
});

test("a CUDA allocation beyond the device is an OutOfMemoryError with the allocator's figures", { skip: !torch.cuda.isAvailable() && 'no CUDA device' }, () => {
  // 4 PB: more than any GPU; the caching allocator's message, then ours with each device's bytes.
  throwsOom(
    () => torch.empty([1e15], { device: 'cuda' }),
    'aten::empty.memory_format',
    /CUDA out of memory[\s\S]*\[torch\.cuda memory now: cuda:0 \d+\.\d\d GiB allocated, \d+\.\d\d GiB reserved/,
  );
});
