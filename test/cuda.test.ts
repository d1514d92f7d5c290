// torch.cuda: on a libtorch without CUDA (this CI) the honest answers (not available, no devices)
// and a clear error from everything that needs a device; no made-up memory figures. On a CUDA
// machine the same file checks the real thing (device facts, memory figures that move with
// allocations, synchronize, seeds).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../lib/torch.js';

const cuda = torch.cuda;
const needsDevice: [string, () => unknown][] = [
  ['currentDevice', () => cuda.currentDevice()],
  ['setDevice', () => cuda.setDevice(0)],
  ['synchronize', () => cuda.synchronize()],
  ['memoryAllocated', () => cuda.memoryAllocated()],
  ['memoryReserved', () => cuda.memoryReserved(0)],
  ['maxMemoryAllocated', () => cuda.maxMemoryAllocated('cuda:0')],
  ['resetPeakMemoryStats', () => cuda.resetPeakMemoryStats()],
  ['emptyCache', () => cuda.emptyCache()],
  ['getDeviceName', () => cuda.getDeviceName()],
  ['getDeviceCapability', () => cuda.getDeviceCapability()],
];

test('without CUDA: not available, no devices, and config says the same', { skip: cuda.isBuilt() && 'this libtorch has CUDA' }, () => {
  assert.equal(cuda.isAvailable(), false);
  assert.equal(cuda.deviceCount(), 0);
  assert.equal(torch.config().cuda, false);
  assert.equal(torch.config().cudaDevices, 0);
});

test("without CUDA: each device function throws a TorchError naming CUDA's absence and the libtorch", {
  skip: cuda.isBuilt() && 'this libtorch has CUDA',
}, () => {
  const version = torch.config().torchVersion;
  for (const [name, fn] of needsDevice) {
    assert.throws(fn, (e: unknown) => {
      assert.ok(e instanceof torch.TorchError, `${name}: expected a TorchError, got ${String(e)}`);
      assert.equal(e.op, `torch.cuda.${name}`);
      assert.equal(e.message, `torch.cuda.${name}: CUDA is not available: this addon was built against libtorch ${version} without CUDA`);
      return true;
    });
  }
});

test('manualSeedAll seeds only CUDA generators (none here): the CPU stream is untouched', () => {
  torch.manualSeed(7);
  const a = torch.randn(4).tolist();
  torch.manualSeed(7);
  cuda.manualSeedAll(123);
  assert.deepEqual(torch.randn(4).tolist(), a);
  assert.throws(() => cuda.manualSeedAll(-1), TypeError);
});

test('torch.memory() reports CUDA bytes only where there are CUDA devices', () => {
  const m = torch.memory();
  assert.equal(typeof m.numTensors, 'number');
  assert.equal(typeof m.allocatedBytes, 'number');
  if (cuda.deviceCount() === 0) {
    assert.equal(m.cudaAllocatedBytes, null);
    assert.equal(m.cudaReservedBytes, null);
  } else {
    assert.equal(typeof m.cudaAllocatedBytes, 'number');
    assert.ok(m.cudaReservedBytes! >= m.cudaAllocatedBytes!);
  }
});

test('with a CUDA device: device facts, memory figures follow allocations, synchronize', { skip: !cuda.isAvailable() && 'no CUDA device' }, () => {
  const n = cuda.deviceCount();
  assert.ok(n >= 1);
  assert.equal(cuda.currentDevice(), 0);
  assert.match(cuda.getDeviceName(), /\S/);
  const [major, minor] = cuda.getDeviceCapability('cuda:0');
  assert.ok(Number.isInteger(major) && major >= 3 && Number.isInteger(minor));
  cuda.synchronize();
  cuda.emptyCache();
  cuda.resetPeakMemoryStats();
  const before = cuda.memoryAllocated();
  const x = torch.empty([1024, 1024], { device: 'cuda' }); // 4 MiB of float32
  assert.ok(cuda.memoryAllocated() - before >= 4 * 2 ** 20);
  assert.ok(cuda.memoryReserved() >= cuda.memoryAllocated());
  const peak = cuda.maxMemoryAllocated();
  x.dispose();
  cuda.synchronize(0);
  assert.equal(cuda.memoryAllocated(), before);
  assert.equal(cuda.maxMemoryAllocated(), peak);
  cuda.resetPeakMemoryStats(0);
  assert.equal(cuda.maxMemoryAllocated(), before);
  const total = Array.from({ length: n }, (_, d) => cuda.memoryAllocated(d)).reduce((a, b) => a + b);
  assert.equal(torch.memory().cudaAllocatedBytes, total);
  assert.throws(
    () => cuda.memoryAllocated(n),
    (e: unknown) => e instanceof torch.TorchError && /CUDA device \d+ does not exist/.test(e.message),
  );
  // Seeds: manualSeedAll makes CUDA draws repeat.
  cuda.manualSeedAll(3);
  const a = torch.randn(8, { device: 'cuda' }).tolist();
  cuda.manualSeedAll(3);
  assert.deepEqual(torch.randn(8, { device: 'cuda' }).tolist(), a);
});
