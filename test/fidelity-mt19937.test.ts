// MT19937 and numpy's legacy RandomState(seed).permutation(n), which torch-fidelity's Inception
// Score uses to shuffle its rows. Every expected value in test/fixtures/mt19937-permutations.json
// was generated with numpy 2.x's RandomState (numpy 2.4.6; the file says how); the comparison is
// exact, since a permutation is either numpy's or wrong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MT19937, randomStatePermutation } from '../lib/eval/fidelity/mt19937.js';
import { LOCAL_FIXTURES } from './fixture-paths.js';

interface PermCase {
  seed: number;
  n: number;
  perm?: number[];
  head?: number[];
  tail?: number[];
  sha256_int64_le?: string;
}
const fx: { raw: Record<string, number[]>; permutations: PermCase[] } = JSON.parse(readFileSync(join(LOCAL_FIXTURES, 'mt19937-permutations.json'), 'utf8'));

test('MT19937 outputs equal numpy MT19937 with legacy seeding (outputs 0..7 and 1006..1007)', () => {
  assert.ok(Object.keys(fx.raw).length >= 4);
  for (const [seed, want] of Object.entries(fx.raw)) {
    const g = new MT19937(Number(seed));
    const got: number[] = [];
    for (let i = 0; i < 1008; i++) {
      const v = g.nextUint32();
      if (i < 8 || i >= 1006) got.push(v);
    }
    assert.deepEqual(got, want, `seed ${seed}`);
  }
});

test('randomStatePermutation equals numpy RandomState(seed).permutation(n)', () => {
  assert.ok(fx.permutations.length >= 20);
  for (const c of fx.permutations) {
    const p = randomStatePermutation(c.n, c.seed);
    const what = `seed ${c.seed}, n ${c.n}`;
    assert.equal(p.length, c.n, what);
    if (c.perm) assert.deepEqual(Array.from(p), c.perm, what);
    else {
      assert.deepEqual(Array.from(p.subarray(0, c.head!.length)), c.head, `${what}: head`);
      assert.deepEqual(Array.from(p.subarray(c.n - c.tail!.length)), c.tail, `${what}: tail`);
      const bytes = Buffer.from(new BigInt64Array(Array.from(p, BigInt)).buffer);
      assert.equal(createHash('sha256').update(bytes).digest('hex'), c.sha256_int64_le, `${what}: sha256`);
    }
    // A permutation: every index once.
    const seen = new Uint8Array(c.n);
    for (const v of p) seen[v]++;
    assert.ok(
      seen.every((s) => s === 1),
      `${what}: not a permutation`,
    );
  }
});

test('seeds outside [0, 2^32) and bad lengths are refused', () => {
  assert.throws(() => new MT19937(-1), /seed must be an integer in \[0, 2\*\*32 - 1\]/);
  assert.throws(() => new MT19937(2 ** 32), /seed/);
  assert.throws(() => new MT19937(1.5), /seed/);
  assert.throws(() => randomStatePermutation(-1, 0), /non-negative integer/);
});
