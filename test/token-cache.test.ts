// The AR token cache: every view of every image encoded once into flat files (rows image-major),
// reused for the same key without encoding again, rebuilt for another key or after an interrupted
// build; rows and labels read back exactly; per-epoch draws with replacement from seed 42+rank+epoch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import * as torch from '../lib/torch.js';
import { TokenCache, type CacheSource } from '../lib/train/token-cache.js';

const B = 3,
  V = 2,
  C = 1,
  H = 4,
  W = 4,
  K = 5,
  D = 3;
const NB = 3; // batches → 9 images, 18 rows
/** Image i, view v: every pixel = i + v / 10. Label of image i: i % 4. */
function source(): CacheSource {
  return (async function* () {
    for (let b = 0; b < NB; b++) {
      const vals: number[] = [];
      for (let i = 0; i < B; i++) for (let v = 0; v < V; v++) for (let p = 0; p < C * H * W; p++) vals.push(b * B + i + v / 10);
      yield { images: torch.tensor(vals).reshape(B, V, C, H, W), labels: torch.tensor(Array.from({ length: B }, (_, i) => (b * B + i) % 4)) };
    }
  })();
}
/** Tokens (N, K + 2, D): token k, channel d of an image with pixel value x = x·10 + k + d/10 (more tokens than cached). */
let encodeCalls = 0;
const encode = (images: torch.Tensor) => {
  encodeCalls++;
  const x = images.flatten(1).mean(1).mul(10); // (N)
  const kd = torch
    .arange(K + 2)
    .unsqueeze(1)
    .add(torch.arange(D).unsqueeze(0).div(10)); // (K+2, D)
  return x.reshape(-1, 1, 1).add(kd.unsqueeze(0));
};
const expected = (row: number, k: number, d: number) => {
  const img = Math.floor(row / V),
    v = row % V;
  return (img + v / 10) * 10 + k + d / 10;
};

test('build, read back, reuse for the same key, rebuild for another key or after an interrupted build', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tokcache-'));
  const key = { tokenizer: 'ckpt-a', dataset: 'fake', aug: 'centercrop_cached', numTokens: K };
  encodeCalls = 0;
  const { cache, built } = await TokenCache.openOrBuild(source(), { dir, key, numTokens: K, encode });
  assert.equal(built, true);
  assert.equal(encodeCalls, NB);
  assert.deepEqual([cache.numImages, cache.views, cache.numTokens, cache.slotDim, cache.numRows], [9, V, K, D, 18]);
  torch.scope(() => {
    const rows = [0, 1, 7, 17, 7];
    const { tokens, labels } = cache.rows(rows);
    assert.deepEqual(tokens.shape, [rows.length, K, D]);
    const got = tokens.tolist() as number[][][];
    rows.forEach((r, i) => {
      for (let k = 0; k < K; k++) for (let d = 0; d < D; d++) assert.ok(Math.abs(got[i][k][d] - expected(r, k, d)) < 1e-4, `row ${r} token ${k}.${d}`);
    });
    assert.deepEqual(
      labels.tolist(),
      rows.map((r) => Math.floor(r / V) % 4),
    );
    assert.equal(labels.dtype, 'int64');
  });
  assert.throws(() => cache.rows([18]), /row 18 is outside 0..17/);
  cache.close();

  // same key: opened, nothing encoded
  encodeCalls = 0;
  const again = await TokenCache.openOrBuild(source(), { dir, key, numTokens: K, encode });
  assert.equal(again.built, false);
  assert.equal(encodeCalls, 0);
  again.cache.close();
  // another tokenizer: rebuilt
  const other = await TokenCache.openOrBuild(source(), { dir, key: { ...key, tokenizer: 'ckpt-b' }, numTokens: K, encode });
  assert.equal(other.built, true);
  other.cache.close();
  // an interrupted build (manifest missing) is not reused
  assert.equal(TokenCache.open(dir, { ...key, tokenizer: 'ckpt-b' }) !== null, true);
  rmSync(join(dir, 'cache_rank0_of_1.json'));
  assert.equal(TokenCache.open(dir, { ...key, tokenizer: 'ckpt-b' }), null);
  // files are per rank
  const r1 = await TokenCache.openOrBuild(source(), { dir, key, numTokens: K, encode, rank: 1, worldSize: 2 });
  assert.ok(existsSync(join(dir, 'slots_rank1_of_2.f32')));
  assert.ok(readdirSync(dir).includes('cache_rank1_of_2.json'));
  r1.cache.close();
});

test('epoch draws: numImages rows with replacement, fixed by (rank, epoch), batches drop the remainder', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tokcache-'));
  const key = { k: 1 };
  const { cache } = await TokenCache.openOrBuild(source(), { dir, key, numTokens: K, encode });
  const e0 = cache.epochRows(0),
    e0b = cache.epochRows(0),
    e1 = cache.epochRows(1);
  assert.equal(e0.length, 9);
  assert.deepEqual(e0, e0b);
  assert.notDeepEqual(e0, e1);
  assert.ok(e0.every((r) => Number.isInteger(r) && r >= 0 && r < 18));
  const batches = cache.epochBatches(2, 4);
  assert.deepEqual(
    batches.map((b) => b.length),
    [4, 4],
  );
  assert.deepEqual(batches.flat(), cache.epochRows(2).slice(0, 8));
  cache.close();
  const { cache: c1 } = await TokenCache.openOrBuild(source(), { dir, key, numTokens: K, encode, rank: 1, worldSize: 2 });
  assert.notDeepEqual(c1.epochRows(0), e0, 'another rank draws another order');
  c1.close();
});

test('errors name the problem: encoder output too short, mixed view counts, empty source', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tokcache-'));
  await assert.rejects(TokenCache.build(source(), { dir, key: {}, numTokens: K + 3, encode }), /encode gave \(6, 7, 3\), expected \(6, ≥ 8, D\)/);
  const empty: CacheSource = (async function* () {
    /* nothing */
  })();
  await assert.rejects(TokenCache.build(empty, { dir, key: {}, numTokens: K, encode }), /yielded no images/);
  const mixed: CacheSource = (async function* () {
    yield { images: torch.rand(2, 2, 1, 4, 4), labels: torch.tensor([0, 1]) };
    yield { images: torch.rand(2, 1, 4, 4), labels: torch.tensor([0, 1]) };
  })();
  await assert.rejects(TokenCache.build(mixed, { dir, key: {}, numTokens: K, encode }), /1 views per image, earlier ones 2/);
  assert.equal(TokenCache.open(dir, {}), null, 'a failed build leaves no usable cache');
});
