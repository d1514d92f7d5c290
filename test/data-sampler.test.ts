// The epoch sampler (DistributedSampler's order, padding and trimming, per-epoch reshuffle, ranks,
// resumable position) and the seed-42 validation split.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../lib/torch.js';
import { DistributedSampler } from '../lib/data/sampler.js';
import { randomSplit, holdOutValidation } from '../lib/data/split.js';
import type { Dataset } from '../lib/data/dataset.js';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const sorted = (a: number[]) => [...a].sort((x, y) => x - y);
const fake = (n: number): Dataset => ({ length: n, classes: ['x'], get: (i) => ({ image: `img${i}`, label: i % 3 }) });

test('each epoch is a permutation; epochs differ; the same seed gives the same order', () => {
  const s = new DistributedSampler(1000, { seed: 3 });
  const e0 = s.indices(0),
    e1 = s.indices(1),
    e2 = s.indices(2);
  for (const e of [e0, e1, e2]) assert.deepEqual(sorted(e), range(1000));
  assert.notDeepEqual(e0, e1);
  assert.notDeepEqual(e1, e2);
  assert.deepEqual(new DistributedSampler(1000, { seed: 3 }).indices(1), e1);
  assert.notDeepEqual(new DistributedSampler(1000, { seed: 4 }).indices(0), e0);
  // epoch e uses seed + e, as DistributedSampler: seed 3 epoch 1 = seed 4 epoch 0
  assert.deepEqual(new DistributedSampler(1000, { seed: 4 }).indices(0), e1);
  assert.deepEqual(new DistributedSampler(5, { shuffle: false }).indices(7), [0, 1, 2, 3, 4]);
});

test("PyTorch's order: randperm(10, generator=manual_seed(42)) = [2, 6, 1, 8, 4, 5, 0, 9, 3, 7]", () => {
  assert.deepEqual(new DistributedSampler(10, { seed: 42 }).indices(0), [2, 6, 1, 8, 4, 5, 0, 9, 3, 7]);
  assert.deepEqual(new DistributedSampler(10, { seed: 40 }).indices(2), [2, 6, 1, 8, 4, 5, 0, 9, 3, 7]);
});

test('ranks partition the epoch when the world size divides it; padding and dropLast otherwise', () => {
  const W = 4;
  const parts = range(W).map((rank) => new DistributedSampler(100, { seed: 1, rank, worldSize: W }).indices(5));
  assert.ok(parts.every((p) => p.length === 25));
  assert.deepEqual(sorted(parts.flat()), range(100));
  const full = new DistributedSampler(100, { seed: 1 }).indices(5);
  assert.deepEqual(
    parts[2],
    full.filter((_, i) => i % W === 2),
  ); // rank r takes every W-th from r
  // 10 over 4 ranks: padded to 12 with the permutation's first two (as DistributedSampler)
  const perm = new DistributedSampler(10, { seed: 0 }).indices(0);
  const padded = range(4).map((rank) => new DistributedSampler(10, { seed: 0, rank, worldSize: 4 }));
  assert.ok(padded.every((s) => s.numSamples === 3 && s.totalSize === 12));
  const ext = [...perm, perm[0], perm[1]];
  padded.forEach((s, r) => assert.deepEqual(s.indices(0), [ext[r], ext[r + 4], ext[r + 8]]));
  // dropLast: trimmed to 8, 2 each, the last two of the permutation unseen
  const trimmed = range(4).map((rank) => new DistributedSampler(10, { seed: 0, rank, worldSize: 4, dropLast: true }).indices(0));
  assert.deepEqual(sorted(trimmed.flat()), sorted(perm.slice(0, 8)));
  // tiny dataset, large world: padding wraps more than once
  assert.deepEqual(
    range(5).map((rank) => new DistributedSampler(2, { shuffle: false, rank, worldSize: 5 }).indices(0)),
    [[0], [1], [0], [1], [0]],
  );
  assert.throws(() => new DistributedSampler(10, { rank: 4, worldSize: 4 }), /rank 4 outside \[0, 4\)/);
});

test('batches, position, state: setEpoch starts at batch 0; loadState resumes; mismatches are refused', () => {
  const s = new DistributedSampler(10, { seed: 5 });
  assert.equal(s.numBatches(4, false), 3);
  assert.equal(s.numBatches(4, true), 2);
  assert.deepEqual([...s.batch(0, 4), ...s.batch(1, 4), ...s.batch(2, 4)], s.indices(0));
  assert.equal(s.batch(2, 4).length, 2);
  s.setEpoch(3);
  assert.deepEqual(s.position, { epoch: 3, batch: 0 });
  assert.deepEqual(s.batch(1, 4), s.indices(3).slice(4, 8));
  s.position = { epoch: 3, batch: 2 };
  const st = s.state();
  assert.deepEqual(st, { epoch: 3, batch: 2, seed: 5, length: 10, rank: 0, worldSize: 1, shuffle: true, dropLast: false });
  const t = new DistributedSampler(10, { seed: 5 });
  t.loadState(JSON.parse(JSON.stringify(st)));
  assert.deepEqual(t.position, { epoch: 3, batch: 2 });
  assert.throws(() => new DistributedSampler(10, { seed: 6 }).loadState(st), /saved seed 5 differs/);
  assert.throws(() => new DistributedSampler(11, { seed: 5 }).loadState(st), /saved length 10 differs/);
  // no tensors left behind by the permutations
  const before = torch.memory().numTensors;
  new DistributedSampler(500, { seed: 1 }).indices(9);
  assert.equal(torch.memory().numTensors, before);
});

test('holdOutValidation: random_split(ds, [n − v, v], manual_seed(42)) — the last v of the seed-42 permutation', () => {
  const ds = fake(10);
  const { train, valid } = holdOutValidation(ds, 3);
  assert.deepEqual(train.indices, [2, 6, 1, 8, 4, 5, 0]);
  assert.deepEqual(valid.indices, [9, 3, 7]);
  assert.deepEqual(valid.get(1), { image: 'img3', label: 0 });
  assert.equal(train.classes, ds.classes);
  const big = holdOutValidation(fake(1000), 64);
  assert.deepEqual([big.train.length, big.valid.length], [936, 64]);
  assert.deepEqual(sorted([...big.train.indices, ...big.valid.indices]), range(1000));
  assert.deepEqual(holdOutValidation(fake(1000), 64).valid.indices, big.valid.indices);
  const [a, b, c] = randomSplit(ds, [5, 3, 2], 42);
  assert.deepEqual(
    [a.indices, b.indices, c.indices],
    [
      [2, 6, 1, 8, 4],
      [5, 0, 9],
      [3, 7],
    ],
  );
  assert.throws(() => randomSplit(ds, [5, 4], 42), /sum to 9, the dataset has 10/);
  assert.throws(() => holdOutValidation(ds, 10), /valid size 10/);
});
