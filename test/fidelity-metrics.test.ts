// FID statistics, FID and Inception Score against the torch-fidelity fixture set
// (FIDELITY_FIXTURES: features of two image folders, their torch-fidelity statistics, metrics and
// pieces, and torch-fidelity's statistics file of the second folder). Inputs and expected values
// all come from the fixture files.
//
// Tolerances are the fixture README's, each with a wide margin over what it measured:
// - mu is compared exactly: it is numpy's row-by-row float32 sum divided by N, which we do in
//   plain JS, with no BLAS or thread-dependent rounding in it.
// - sigma's diagonal and leading block: max|a - ref| <= 1e-5 max|ref| (the products come from BLAS;
//   any summation order is ~1e-16 relative, far inside).
// - FID: relative 1e-5. The eigen-solver's null-space noise and float32 d.d differ between LAPACK
//   builds and change the FID by ~5e-8 relative (numpy vs torch's solver on this data); batch effects
//   in the features by ~1e-7. The pieces that add up to the FID are held to the same 1e-5.
// - eigenvalues: within 1e-5 of the largest, the solver's rounding being relative to the matrix norm.
// - ISC split scores and mean: relative 1e-5; std: relative 1e-4, since the std of ten scores near
//   1.6 is a difference of nearly equal numbers and amplifies their relative error (~20x here).
// - the ISC permutation: exact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../lib/torch.js';
import type { Tensor } from '../lib/torch.js';
import * as st from '../lib/serialization/safetensors.js';
import { fidStatistics, loadFidStatistics, saveFidStatistics } from '../lib/eval/fidelity/statistics.js';
import { frechetDistance, frechetDistanceParts, sqrtRe, type FidParts } from '../lib/eval/fidelity/fid.js';
import { frechetDistanceLowRank } from '../lib/eval/fidelity/low-rank.js';
import { inceptionScore } from '../lib/eval/fidelity/isc.js';
import { saveNpz } from '../lib/eval/fidelity/npz.js';
import { FIDELITY_FIXTURES } from './fixture-paths.js';

const fx = JSON.parse(readFileSync(join(FIDELITY_FIXTURES, 'fixtures.json'), 'utf8'));
const cm = fx.case_metrics;
// Loaded outside every test's scope, so the scopes leave them alone.
const T = st.loadFile(join(FIDELITY_FIXTURES, cm.file));
const get = (k: string): Tensor => {
  const t = T.get(k);
  assert.ok(t, `${cm.file} has no ${k}`);
  return t;
};
const statsPath = join(FIDELITY_FIXTURES, cm.stats_file.name);

const relClose = (got: number, want: number, rel: number, what: string) =>
  assert.ok(Math.abs(got - want) <= rel * Math.abs(want), `${what}: got ${got}, want ${want} (relative ${Math.abs(got - want) / Math.abs(want)} > ${rel})`);
/** max|a - ref| <= rel * max|ref| over a tensor. */
const scaleClose = (a: Tensor, ref: Tensor, rel: number, what: string) => {
  assert.deepEqual(a.shape, ref.shape, `${what} shape`);
  const d = a.sub(ref).abs().max().item(),
    m = ref.abs().max().item();
  assert.ok(d <= rel * m, `${what}: max diff ${d} > ${rel} x ${m}`);
};

// Computed once and shared: each general-solver FID takes ~10 s on two cores.
const statsA = fidStatistics(get('out.a.2048'));
const statsB = fidStatistics(get('out.b.2048'));
let partsAB: FidParts | undefined, partsAFile: FidParts | undefined;
const fidAB = () => (partsAB ??= frechetDistanceParts(statsA, statsB));
const fidAFile = () => (partsAFile ??= torch.scope(() => frechetDistanceParts(statsA, loadFidStatistics(statsPath))));

test("mu equals torch-fidelity's bit for bit; sigma's diagonal and block within 1e-5 of their scale", () =>
  torch.scope(() => {
    for (const [s, stats] of [
      ['a', statsA],
      ['b', statsB],
    ] as const) {
      assert.equal(stats.mu.dtype, 'float32');
      assert.equal(stats.sigma.dtype, 'float64');
      const n = get(`out.${s}.2048`).shape[1];
      assert.deepEqual(stats.sigma.shape, [n, n]);
      assert.ok(torch.equal(stats.mu, get(`out.${s}.mu`)), `mu of ${s}`);
      scaleClose(torch.ops.aten.diagonal(stats.sigma), get(`out.${s}.sigma_diag`), 1e-5, `sigma diagonal of ${s}`);
      const block = get(`out.${s}.sigma_block`);
      scaleClose(stats.sigma.narrow(0, 0, block.shape[0]).narrow(1, 0, block.shape[1]), block, 1e-5, `sigma block of ${s}`);
      assert.ok(torch.equal(stats.sigma, stats.sigma.t()), `sigma of ${s} is exactly symmetric`);
    }
  }));

function checkFid(p: FidParts, want: number, parts: any, eigTop: Tensor, what: string) {
  relClose(p.fid, want, 1e-5, `${what}: FID`);
  relClose(p.fid, parts.fid, 1e-5, `${what}: FID (pieces table)`);
  relClose(p.muTerm, parts.mu_term, 1e-5, `${what}: d.d`);
  relClose(p.traceSigma1, parts.trace_sigma1, 1e-5, `${what}: tr S1`);
  relClose(p.traceSigma2, parts.trace_sigma2, 1e-5, `${what}: tr S2`);
  relClose(p.trCovmean, parts.tr_covmean, 1e-5, `${what}: tr covmean`);
  const d = get('out.a.2048').shape[1];
  assert.equal(p.eigenvalues.length, 2 * d, `${what}: all ${d} eigenvalues`);
  const re = Array.from({ length: d }, (_, i) => p.eigenvalues[2 * i]).sort((x, y) => y - x);
  const top = eigTop.toTypedArray() as Float64Array;
  const tol = 1e-5 * Math.abs(top[0]);
  for (let i = 0; i < top.length; i++) assert.ok(Math.abs(re[i] - top[i]) <= tol, `${what}: eigenvalue ${i}: ${re[i]} vs ${top[i]} (tol ${tol})`);
}

test('FID(images_a, images_b) as torch-fidelity: value, pieces and leading eigenvalues', () =>
  torch.scope(() => {
    const threads = torch.getNumThreads();
    fidAB();
    assert.equal(torch.getNumThreads(), threads, 'the solver restores the thread count');
    checkFid(fidAB(), cm.fid_ab, cm.fid_components_ab, get('out.fid_ab.eig_top'), 'a vs b');
  }));

test('FID(images_a, stats_b.npz) as torch-fidelity: value, pieces and leading eigenvalues', () =>
  torch.scope(() => {
    checkFid(fidAFile(), cm.fid_a_vs_stats_file, cm.fid_components_a_vs_stats_file, get('out.fid_a_stats.eig_top'), 'a vs stats file');
  }));

test('the low-rank route gives the exact trace (README: small-matrix method) and FID(a, a) = 0', () =>
  torch.scope(() => {
    const ab = frechetDistanceLowRank(get('out.a.2048'), get('out.b.2048'));
    relClose(ab.trCovmean, cm.fid_components_ab.tr_covmean_exact, 1e-5, 'a vs b: exact trace');
    relClose(ab.fid, cm.fid_components_ab.fid_exact, 1e-5, 'a vs b: exact FID');
    relClose(ab.fid, cm.fid_ab, 1e-5, "a vs b: exact FID vs torch-fidelity's");
    const af = frechetDistanceLowRank(get('out.a.2048'), loadFidStatistics(statsPath));
    relClose(af.trCovmean, cm.fid_components_a_vs_stats_file.tr_covmean_exact, 1e-5, 'a vs file: exact trace');
    relClose(af.fid, cm.fid_components_a_vs_stats_file.fid_exact, 1e-5, 'a vs file: exact FID');
    // Identical sets: tr S + tr S - 2 tr S, zero up to float64 rounding of sums of ~50 terms of size tr S.
    const aa = frechetDistanceLowRank(get('out.a.2048'), get('out.a.2048'));
    assert.ok(Math.abs(aa.fid) <= 1e-10 * aa.traceSigma1, `FID(a, a) = ${aa.fid}`);
  }));

test('Inception Score of images_a: permutation exact, split scores and mean within 1e-5, std within 1e-4', () =>
  torch.scope(() => {
    const r = inceptionScore(get('out.a.logits_unbiased'));
    assert.deepEqual(Array.from(r.perm!), Array.from(get('out.isc.perm').toTypedArray() as BigInt64Array, Number));
    assert.deepEqual(r.splitSizes, cm.isc_split_sizes);
    const stored = Array.from(get('out.isc.split_scores').toTypedArray() as Float64Array);
    assert.equal(r.splitScores.length, cm.isc_split_scores.length);
    r.splitScores.forEach((s, i) => {
      relClose(s, cm.isc_split_scores[i], 1e-5, `split ${i}`);
      relClose(s, stored[i], 1e-5, `split ${i} (tensor)`);
    });
    relClose(r.mean, cm.isc_mean, 1e-5, 'ISC mean');
    relClose(r.std, cm.isc_std, 1e-4, 'ISC std');
  }));

test('ISC options: shuffling is a row permutation; splits and seed are used', () =>
  torch.scope(() => {
    const x = get('out.a.logits_unbiased');
    const r = inceptionScore(x);
    const pre = x.indexSelect(0, torch.fromTypedArray(r.perm!, [r.perm!.length]).long());
    const same = inceptionScore(pre, { shuffle: false });
    assert.equal(same.perm, null);
    assert.deepEqual(same.splitScores, r.splitScores);
    const other = inceptionScore(x, { rngSeed: 1, splits: 5 });
    assert.deepEqual(other.splitSizes, [10, 10, 10, 10, 10]);
    assert.notDeepEqual(Array.from(other.perm!), Array.from(r.perm!));
    assert.throws(() => inceptionScore(x, { splits: 0 }), /splits must be a positive integer/);
    assert.throws(() => inceptionScore(x.reshape(-1)), /N x C/);
  }));

test('ISC is NaN as in torch-fidelity: fewer images than splits, a class probability underflowing to 0', () =>
  torch.scope(() => {
    const few = inceptionScore(get('out.a.logits_unbiased').narrow(0, 0, 9));
    assert.ok(few.splitSizes.includes(0));
    assert.ok(Number.isNaN(few.mean) && Number.isNaN(few.std));
    // exp(-800) is 0 in float64: class 1 has p = 0 in every row, so 0 * (log p - log q) = 0 * inf.
    const logits = torch
      .tensor(
        [
          [0, -800],
          [0, -801],
        ],
        { dtype: 'float32' },
      )
      .repeat(10, 1);
    const under = inceptionScore(logits, { splits: 2 });
    assert.ok(under.splitScores.every(Number.isNaN), `scores ${under.splitScores}`);
    // Not NaN with a gap of 700 (exp(-700) > 0).
    assert.ok(
      !Number.isNaN(
        inceptionScore(
          torch
            .tensor(
              [
                [0, -700],
                [-700, 0],
              ],
              { dtype: 'float32' },
            )
            .repeat(10, 1),
          { splits: 2 },
        ).mean,
      ),
    );
  }));

test("statistics files: save/load round trip, torch-fidelity's dtype rule, shape errors", () =>
  torch.scope(() => {
    const dir = mkdtempSync(join(tmpdir(), 'fidstats-'));
    try {
      const p = join(dir, 'b.npz');
      saveFidStatistics(p, statsB);
      const back = loadFidStatistics(p);
      assert.equal(back.source, p);
      assert.ok(torch.equal(back.mu, statsB.mu) && torch.equal(back.sigma, statsB.sigma));
      const f64 = join(dir, 'mu64.npz');
      saveNpz(f64, { mu: statsB.mu.double(), sigma: statsB.sigma });
      assert.throws(
        () => loadFidStatistics(f64),
        (e: Error) => e.message.includes(f64) && /mu float64 and sigma float64/.test(e.message) && /mu1\.dtype == mu2\.dtype/.test(e.message),
      );
      const bad = join(dir, 'shape.npz');
      saveNpz(bad, { mu: statsB.mu.narrow(0, 0, 10), sigma: statsB.sigma });
      assert.throws(() => loadFidStatistics(bad), /mu \[10\] and sigma \[2048,2048\]/);
      const noSigma = join(dir, 'nosigma.npz');
      saveNpz(noSigma, { mu: statsB.mu });
      assert.throws(() => loadFidStatistics(noSigma), /no array "sigma"/);
      assert.throws(() => frechetDistance(statsA, { mu: statsB.mu.double(), sigma: statsB.sigma }), /mu float64/);
      const small = fidStatistics(get('out.b.2048').narrow(1, 0, 16));
      assert.throws(() => frechetDistance(statsA, small), /D = 2048 features but the second statistics has 16/);
      assert.throws(() => fidStatistics(get('out.b.2048').double()), /must be float32/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }));

test('Re sqrt on the principal branch', () => {
  assert.equal(sqrtRe(4, 0), 2);
  assert.equal(sqrtRe(-4, 0), 0);
  assert.equal(sqrtRe(0, 0), 0);
  // sqrt(3 + 4i) = 2 + i, sqrt(-3 + 4i) = 1 + 2i, sqrt(-3 - 4i) = 1 - 2i.
  assert.ok(Math.abs(sqrtRe(3, 4) - 2) < 1e-15 && Math.abs(sqrtRe(-3, 4) - 1) < 1e-15 && Math.abs(sqrtRe(-3, -4) - 1) < 1e-15);
  assert.ok(Number.isNaN(sqrtRe(NaN, 0)));
});
