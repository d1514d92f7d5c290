// eval.js end to end on a tiny tokenizer run trained here, with the fidelity fixtures' formula
// Inception weights: a grid of (cfg, tokens) points, each with PSNR/SSIM and rFID/IS against the
// test images written once (reused by the next run), results appended to eval/results.{jsonl,md};
// 2 ranks through launch.js give the 1-rank numbers (per-image noise); without the weights it
// still reports PSNR/SSIM and says once why FID/IS are missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, readdirSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { saveFidelityWeights } from './fidelity-weights.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'eval-cli-'));
const weights = saveFidelityWeights(dir);
const run = join(dir, 'run');
const cfg = join(dir, 'tiny.yaml');
writeFileSync(
  cfg,
  stringify({
    trainer: {
      target: 'DiffusionTrainer',
      params: {
        num_epoch: 1,
        max_steps: 4,
        valid_size: 8,
        blr: 2e-3,
        warmup_epochs: 0.001,
        batch_size: 8,
        num_workers: 0,
        precision: 'fp32',
        save_every: 4,
        sample_every: 100,
        eval_size: 8,
        eval_num_tokens: [4],
        seed: 1,
        threads: 1,
        result_folder: run,
        device: 'cpu',
        model: {
          target: 'DiffuseSlot',
          params: {
            encoder: { patch_size: 8, embed_dim: 32, depth: 1, num_heads: 2, mlp_ratio: 2, qkv_bias: true },
            enc_img_size: 32,
            image_channels: 1,
            num_slots: 4,
            slot_dim: 4,
            norm_slots: true,
            dit_model: { depth: 1, hidden_size: 32, num_heads: 2, patch_size: 8 },
            vae: 'none',
            predict_xstart: true,
            enable_nest: true,
            num_sampling_steps: '5',
          },
        },
        dataset: { target: 'FashionMNIST', params: { split: 'test', img_size: 32 } },
        test_dataset: { target: 'FashionMNIST', params: { split: 'test', img_size: 32 } },
      },
    },
  }),
);
const trained = spawnSync(process.execPath, [join(root, 'train.js'), '--cfg', cfg], { encoding: 'utf8' });
assert.equal(trained.status, 0, trained.stderr);

test('the tokenizer trainer ends by printing the grid and the PSNR/SSIM plot, both PNGs written', () => {
  const grid = /test images and their reconstructions by number of tokens: (\S+\.png)/.exec(trained.stderr);
  const plot = /PSNR and SSIM against the number of tokens: (\S+\.png)/.exec(trained.stderr);
  assert.ok(grid && plot, trained.stderr.slice(-2000));
  for (const f of [grid[1], plot[1]]) assert.ok(existsSync(f), `${f} exists`);
  // the grid's 32 px images are enlarged 4× (nearest): the PNG is at least 4 × 32 px tall per row
  const h = readFileSync(grid[1]).readUInt32BE(20);
  assert.ok(h >= 3 * 4 * 32, `grid height ${h} (input, k = 4, cfg row)`);
  const log = readFileSync(join(run, 'logs', 'semanticist.jsonl'), 'utf8');
  assert.match(log, /"test\/psnr_k4"/);
});

const evalArgs = [
  '--model',
  run,
  '--cfg_value',
  '1,2',
  '--test_num_slots',
  '1,4',
  '--steps',
  '3',
  '--sampler',
  'ddim',
  '--num-images',
  '20',
  '--batch-size',
  '6',
  '--device',
  'cpu',
];
const results = (out: string) =>
  readFileSync(join(out, 'results.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

test('eval.js: a (cfg × tokens) grid with PSNR/SSIM, rFID and IS; the real images written once and reused', { timeout: 600_000 }, () => {
  const out = join(dir, 'eval1');
  const r = spawnSync(process.execPath, [join(root, 'eval.js'), ...evalArgs, '--feature-extractor-weights-path', weights, '--out', out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const rows = results(out);
  assert.deepEqual(
    rows.map((x) => [x.cfg, x.tokens]),
    [
      [1, 1],
      [1, 4],
      [2, 1],
      [2, 4],
    ],
  );
  for (const x of rows) {
    assert.equal(x.images, 20);
    assert.equal(x.step, 4);
    assert.ok(x.psnr > 3 && x.psnr < 60 && x.ssim > -1 && x.ssim <= 1, JSON.stringify(x));
    assert.ok(Number.isFinite(x.fid) && x.fid >= -1e-3, `rFID ${x.fid}`);
    assert.ok(x.isc_mean >= 1 - 1e-9 && Number.isFinite(x.isc_std), `IS ${x.isc_mean}`);
  }
  const real = readdirSync(join(out, 'real_20')).filter((f) => f.endsWith('.png'));
  assert.equal(real.length, 20);
  assert.deepEqual(real.slice(0, 2), ['00000.png', '00001.png']);
  assert.ok(!readdirSync(out).some((f) => f.startsWith('rec_')), 'reconstructions removed after their metrics');
  const md = readFileSync(join(out, 'results.md'), 'utf8').trim().split('\n');
  assert.equal(md.length, 2 + 4, 'header, rule and one row per grid point');
  assert.match(r.stdout, /rFID \S+, IS \S+ ± \S+/);
  // a second evaluation of one point reuses the real images and their cached features
  const again = spawnSync(
    process.execPath,
    [
      join(root, 'eval.js'),
      ...evalArgs.map((a) => (a === '1,2' ? '2' : a === '1,4' ? '4' : a)),
      '--feature-extractor-weights-path',
      weights,
      '--out',
      out,
      '--keep-samples',
    ],
    { encoding: 'utf8' },
  );
  assert.equal(again.status, 0, again.stderr);
  const last = results(out).at(-1);
  assert.equal(last.fid, rows[3].fid, 'the same point gives the same rFID');
  assert.ok(existsSync(join(out, 'rec_step4_cfg2_tokens4', '00019.png')), '--keep-samples keeps the PNGs');
});

test('eval.js on 2 ranks (launch.js) gives the 1-rank PSNR/SSIM and rFID', { timeout: 600_000 }, () => {
  const one = join(dir, 'one'),
    two = join(dir, 'two');
  // 11 images: an odd count (rank 1's shard is padded) and at least one per IS split
  const args = [
    '--model',
    run,
    '--cfg_value',
    '2',
    '--test_num_slots',
    '4',
    '--steps',
    '3',
    '--sampler',
    'ddpm',
    '--num-images',
    '11',
    '--batch-size',
    '3',
    '--device',
    'cpu',
    '--feature-extractor-weights-path',
    weights,
  ];
  const r1 = spawnSync(process.execPath, [join(root, 'eval.js'), ...args, '--out', one], { encoding: 'utf8' });
  assert.equal(r1.status, 0, r1.stderr);
  const r2 = spawnSync(process.execPath, [join(root, 'launch.js'), '--nproc-per-node', '2', '--standalone', join(root, 'eval.js'), ...args, '--out', two], {
    encoding: 'utf8',
  });
  assert.equal(r2.status, 0, r2.stdout + r2.stderr);
  const [a] = results(one),
    [b] = results(two);
  // per-image noise: the same images whatever the sharding; the numbers differ at most by BLAS
  // rounding between batch shapes (relative 1e-4 is far above float32 rounding of these sums)
  for (const k of ['psnr', 'ssim', 'fid', 'isc_mean']) {
    assert.ok(Number.isFinite(a[k]) && Number.isFinite(b[k]), `${k}: ${a[k]}, ${b[k]}`);
    assert.ok(Math.abs(a[k] - b[k]) <= 1e-4 * Math.max(1, Math.abs(a[k])), `${k}: ${a[k]} vs ${b[k]}`);
  }
});

test('eval.js without the Inception weights reports PSNR/SSIM and says once why FID/IS are missing', { timeout: 300_000 }, () => {
  const out = join(dir, 'noweights');
  const home = join(dir, 'emptyhome');
  mkdirSync(home, { recursive: true });
  const r = spawnSync(process.execPath, [join(root, 'eval.js'), ...evalArgs, '--out', out], {
    encoding: 'utf8',
    env: { ...process.env, HOME: home, TORCH_HOME: join(home, 'torch') },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr.match(/FID and IS are not computed/g)?.length, 1);
  assert.match(r.stderr, /weights-inception-2015-12-05-6726825d\.pth/);
  const rows = results(out);
  assert.equal(rows.length, 4);
  for (const x of rows) {
    assert.ok(Number.isFinite(x.psnr));
    assert.equal(x.fid, undefined);
  }
});

test('eval.js --config --checkpoint (official files) evaluates the same weights as the run folder', { timeout: 300_000 }, () => {
  const home = join(dir, 'emptyhome2');
  mkdirSync(home, { recursive: true });
  const env = { ...process.env, HOME: home, TORCH_HOME: join(home, 'torch') };
  const common = ['--cfg_value', '1', '--test_num_slots', '4', '--steps', '3', '--sampler', 'ddim', '--num-images', '6', '--device', 'cpu'];
  const viaRun = spawnSync(process.execPath, [join(root, 'eval.js'), '--model', run, ...common, '--out', join(dir, 'via-run')], { encoding: 'utf8', env });
  const viaConfig = spawnSync(
    process.execPath,
    [join(root, 'eval.js'), '--config', cfg, '--checkpoint', join(run, 'models', 'step4', 'ema.safetensors'), ...common, '--out', join(dir, 'via-config')],
    { encoding: 'utf8', env },
  );
  assert.equal(viaRun.status, 0, viaRun.stderr);
  assert.equal(viaConfig.status, 0, viaConfig.stderr);
  const [a] = results(join(dir, 'via-run')),
    [b] = results(join(dir, 'via-config'));
  assert.equal(b.psnr, a.psnr);
  assert.equal(b.ssim, a.ssim);
  assert.equal(b.step, null);
});
