// The feature cache: hits return what was stored; editing, adding or removing an image, or changing
// the extractor, makes a miss; files torch-fidelity does not read do not; writes leave no temporary
// files; a folder that changes during extraction is not cached.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../lib/torch.js';
import { FeatureCache, imageFiles, type CacheInput } from '../lib/eval/fidelity/feature-cache.js';

function setup() {
  const root = mkdtempSync(join(tmpdir(), 'fcache-'));
  const folder = join(root, 'images');
  mkdirSync(folder);
  for (let i = 0; i < 3; i++) writeFileSync(join(folder, `${i}.png`), `image ${i}`);
  const weights = join(root, 'weights.pth');
  writeFileSync(weights, 'weights v1');
  const cache = new FeatureCache(join(root, 'cache'));
  const input: CacheInput = { folder, extractor: weights, features: ['2048', 'logits_unbiased'] };
  const tensors = () => ({ '2048': torch.randn([3, 8]), logits_unbiased: torch.randn([3, 5]).double() });
  return { root, folder, weights, cache, input, tensors, done: () => rmSync(root, { recursive: true, force: true }) };
}
/** Moves a file's mtime by `s` seconds, so a rewrite with equal size still changes the fingerprint. */
const touch = (p: string, s: number) => utimesSync(p, new Date(), new Date(Date.now() + s * 1000));

test('put then get returns the stored tensors; no entry and no temporary file otherwise', () =>
  torch.scope(() => {
    const s = setup();
    try {
      assert.equal(s.cache.get(s.input), null);
      const t = s.tensors();
      const path = s.cache.put(s.input, t);
      const got = s.cache.get(s.input)!;
      assert.ok(got);
      assert.ok(torch.equal(got.get('2048')!, t['2048']) && torch.equal(got.get('logits_unbiased')!, t.logits_unbiased));
      assert.equal(got.get('logits_unbiased')!.dtype, 'float64');
      assert.deepEqual(readdirSync(join(s.root, 'cache')), [path.split('/').pop()], 'one entry, no temporary files');
      // The same folder through a symlink is the same entry.
      symlinkSync(s.folder, join(s.root, 'link'));
      assert.ok(s.cache.get({ ...s.input, folder: join(s.root, 'link') }));
    } finally {
      s.done();
    }
  }));

test('editing, adding or removing an image, or replacing the weights, invalidates the entry', () =>
  torch.scope(() => {
    const s = setup();
    try {
      const changes: [string, () => void][] = [
        [
          'an image rewritten (same size, new mtime)',
          () => {
            writeFileSync(join(s.folder, '1.png'), 'image 9');
            touch(join(s.folder, '1.png'), 5);
          },
        ],
        ['an image added', () => writeFileSync(join(s.folder, '3.JPG'), 'new')],
        ['an image removed', () => unlinkSync(join(s.folder, '0.png'))],
        [
          'the weights replaced',
          () => {
            writeFileSync(s.weights, 'weights v2');
            touch(s.weights, 10);
          },
        ],
      ];
      for (const [what, change] of changes) {
        s.cache.put(s.input, s.tensors());
        assert.ok(s.cache.get(s.input), `hit before: ${what}`);
        change();
        assert.equal(s.cache.get(s.input), null, `miss after: ${what}`);
      }
      // Files torch-fidelity does not read leave the entry valid.
      s.cache.put(s.input, s.tensors());
      writeFileSync(join(s.folder, 'notes.txt'), 'x');
      mkdirSync(join(s.folder, 'sub'));
      writeFileSync(join(s.folder, 'sub', 'deep.png'), 'x');
      assert.ok(s.cache.get(s.input), 'still a hit');
      assert.deepEqual(
        imageFiles(s.folder)
          .map((p) => p.split('/').pop())
          .sort(),
        ['1.png', '2.png', '3.JPG'],
      );
    } finally {
      s.done();
    }
  }));

test('entries are per extractor and per feature names; an id names an extractor too', () =>
  torch.scope(() => {
    const s = setup();
    try {
      const a = s.cache.put(s.input, s.tensors());
      const b = s.cache.put({ ...s.input, features: ['mu', 'sigma'] }, { mu: torch.zeros([8]), sigma: torch.eye(8, { dtype: 'float64' }) });
      const c = s.cache.put({ ...s.input, extractor: { id: 'sha256:abc' } }, s.tensors());
      assert.equal(new Set([a, b, c]).size, 3);
      assert.ok(s.cache.get(s.input) && s.cache.get({ ...s.input, features: ['mu', 'sigma'] }));
      assert.equal(s.cache.get({ ...s.input, extractor: { id: 'sha256:def' } }), null);
      assert.throws(() => s.cache.put(s.input, { '2048': torch.zeros([1]) }), /lack "logits_unbiased"/);
    } finally {
      s.done();
    }
  }));

test('getOrCompute computes once; a folder changed during the computation is not cached', () =>
  torch.scope(() => {
    const s = setup();
    try {
      let calls = 0;
      const compute = () => {
        calls++;
        return s.tensors();
      };
      assert.equal(s.cache.getOrCompute(s.input, compute).hit, false);
      const second = s.cache.getOrCompute(s.input, compute);
      assert.equal(second.hit, true);
      assert.equal(calls, 1);
      writeFileSync(join(s.folder, '5.png'), 'added');
      const racing = s.cache.getOrCompute(s.input, () => {
        calls++;
        writeFileSync(join(s.folder, '6.png'), 'during');
        return s.tensors();
      });
      assert.equal(racing.hit, false);
      assert.equal(s.cache.get(s.input), null, 'not stored');
      assert.equal(calls, 2);
    } finally {
      s.done();
    }
  }));

test('getOrComputeAsync', async () => {
  const s = setup();
  try {
    const r1 = await s.cache.getOrComputeAsync(s.input, async () => s.tensors());
    const r2 = await s.cache.getOrComputeAsync(s.input, async () => {
      throw new Error('must not run');
    });
    assert.deepEqual([r1.hit, r2.hit], [false, true]);
    assert.ok(torch.equal(r1.tensors.get('2048')!, r2.tensors.get('2048')!));
  } finally {
    s.done();
  }
});
