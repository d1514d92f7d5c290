// fidelity.js as torch-fidelity's `fidelity` command, on the fidelity fixture folders with the
// formula weights saved as a .pth: the JSON keys and values of both recorded calls (input2 given:
// the statistics file is ignored and said so; no input2: the statistics file is the reference),
// at the fixtures' tolerances (FID and ISC mean relative 1e-5, ISC std relative 1e-4), the plain
// `key: value` output, --save-stats, and named errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as torch from '../lib/torch.js';
import { loadFidStatistics } from '../lib/eval/fidelity/statistics.js';
import { FIDELITY_FIXTURES, fidelityFixturesJson } from './fixture-paths.js';
import { saveFidelityWeights } from './fidelity-weights.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const fx = fidelityFixturesJson();
const dir = mkdtempSync(join(tmpdir(), 'fidelity-cli-'));
const weights = saveFidelityWeights(dir);
const a = join(FIDELITY_FIXTURES, 'images_a'),
  b = join(FIDELITY_FIXTURES, 'images_b'),
  stats = join(FIDELITY_FIXTURES, 'stats_b.npz');
const fidelity = (args: string[]) =>
  spawnSync(process.execPath, [join(root, 'fidelity.js'), '--feature-extractor-weights-path', weights, '--device', 'cpu', ...args], { encoding: 'utf8' });
const rel = (x: number, ref: number) => Math.abs(x - ref) / Math.abs(ref);

test("fidelity.js --input1 a --input2 b --fid --isc --json: torch-fidelity's keys and values (call 1)", { timeout: 600_000 }, () => {
  const r = fidelity(['--input1', a, '--input2', b, '--fid_statistics_file', stats, '--fid', '--isc', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(out), ['inception_score_mean', 'inception_score_std', 'frechet_inception_distance']);
  const m = fx.case_metrics;
  assert.ok(rel(out.frechet_inception_distance, m.fid_ab) < 1e-5, `FID ${out.frechet_inception_distance} vs ${m.fid_ab}`);
  assert.ok(rel(out.inception_score_mean, m.isc_mean) < 1e-5, `ISC ${out.inception_score_mean} vs ${m.isc_mean}`);
  assert.ok(rel(out.inception_score_std, m.isc_std) < 1e-4, `ISC std ${out.inception_score_std} vs ${m.isc_std}`);
  assert.match(r.stderr, /fid_statistics_file .*stats_b\.npz is ignored: input2 is given/);
});

test('fidelity.js without --input2 takes the statistics file as the reference (call 2); plain output; --save-stats', { timeout: 600_000 }, () => {
  const saved = join(dir, 'a_stats.npz');
  const r = fidelity(['--input1', a, '--fid_statistics_file', stats, '--fid', '--save-stats', saved]);
  assert.equal(r.status, 0, r.stderr);
  const m = /^frechet_inception_distance: (\S+)$/m.exec(r.stdout);
  assert.ok(m, r.stdout);
  assert.ok(rel(Number(m![1]), fx.case_metrics.fid_a_vs_stats_file) < 1e-5, `FID ${m![1]} vs ${fx.case_metrics.fid_a_vs_stats_file}`);
  assert.ok(existsSync(saved));
  const s = loadFidStatistics(saved);
  assert.equal(s.mu.dtype, 'float32');
  assert.equal(s.sigma.dtype, 'float64');
  assert.deepEqual(s.sigma.shape, [2048, 2048]);
  torch.dispose(s.mu, s.sigma);
});

test('fidelity.js names what is wrong', () => {
  const r1 = fidelity(['--input1', a, '--fid']);
  assert.equal(r1.status, 1);
  assert.match(r1.stderr, /FID needs a second input: input2 \(a folder\) or fid_statistics_file/);
  const r2 = fidelity(['--input1', a]);
  assert.match(r2.stderr, /nothing to compute: give --fid and\/or --isc/);
  const r3 = spawnSync(process.execPath, [join(root, 'fidelity.js'), '--input1', a, '--isc', '--feature-extractor-weights-path', join(dir, 'absent.pth')], {
    encoding: 'utf8',
  });
  assert.equal(r3.status, 1);
  assert.match(r3.stderr, /absent\.pth/);
  const r4 = fidelity(['--input1', join(dir, 'no-such-folder'), '--isc']);
  assert.equal(r4.status, 1);
  assert.match(r4.stderr, /no-such-folder/);
});
