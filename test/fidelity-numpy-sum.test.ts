// numpy's pairwise float64 sum, mean and std, compared exactly with values numpy 2.4.6 computed
// (test/fixtures/numpy-sums.json; inputs from an exact formula spanning 41 binary orders of
// magnitude, so the summation order shows in the last bits).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { numpyMean, numpyStd, numpySum } from '../lib/eval/fidelity/numpy-sum.js';
import { LOCAL_FIXTURES } from './fixture-paths.js';

interface Case {
  n: number;
  k: number;
  sum: number;
  mean?: number;
  std?: number;
  sequential_sum?: number;
}
const { cases }: { cases: Case[] } = JSON.parse(readFileSync(join(LOCAL_FIXTURES, 'numpy-sums.json'), 'utf8'));
const xs = (n: number, k: number) =>
  Float64Array.from({ length: n }, (_, i) => (((i * 2654435761 + k * 40503) % 2 ** 32) / 2 ** 32 - 0.5) * 2 ** (((i * 40503 + k) % 41) - 20));

test('numpySum, numpyMean and numpyStd equal numpy bit for bit', () => {
  let orderMatters = 0;
  for (const c of cases) {
    const x = xs(c.n, c.k);
    assert.equal(numpySum(x), c.sum, `sum n=${c.n} k=${c.k}`);
    if (c.n === 0) {
      assert.ok(Number.isNaN(numpyMean(x)));
      continue;
    }
    assert.equal(numpyMean(x), c.mean, `mean n=${c.n} k=${c.k}`);
    assert.equal(numpyStd(x), c.std, `std n=${c.n} k=${c.k}`);
    if (c.sequential_sum !== c.sum) orderMatters++;
  }
  assert.ok(orderMatters >= 10, `the fixture distinguishes pairwise from sequential summation (${orderMatters} cases)`);
});

test('numpySum with a start and a stride (np.trace sums a diagonal)', () => {
  const m = xs(9, 1); // a 3 x 3 matrix
  assert.equal(numpySum(m, 0, 4, 3), m[0] + m[4] + m[8]);
  assert.equal(numpySum(m, 1, 3), m[1] + m[4] + m[7]);
});
