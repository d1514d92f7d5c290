// The device and precision of a job, on a machine without CUDA: the device path is the only path
// (jobs run with an explicit device: 'cpu' through the same code); asking for CUDA fails before
// any work with one clear error; fp16 is refused where autocast cannot do it, and where it can
// (CPU fp16 autocast in PyTorch 2.x's libtorch) it trains differently from fp32 with a loss scaler.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import * as torch from '../lib/torch.js';
import { resolveDevice } from '../lib/core/device.js';
import { resolvePrecision, autocastComputesIn } from '../lib/train/precision.js';
import { setUpJobDevice } from '../lib/train/job-device.js';
import { setUpOptimization, optimizerStep } from '../lib/train/optimization.js';
import { loggedByStep } from './run-log.js';
import { checkParams } from '../lib/config/schema.js';
import { TOKENIZER_TRAINER_SCHEMA } from '../lib/train/tokenizer-trainer-config.js';

/** Checked tokenizer-trainer params: the schema's defaults, then these values. */
const trainerParams = (p: Record<string, unknown>) => checkParams(TOKENIZER_TRAINER_SCHEMA, p, { path: 'trainer.params' });

const root = fileURLToPath(new URL('../../', import.meta.url));
const cuda = torch.cuda.isAvailable();
const noCuda = cuda ? 'CUDA is available here: the CUDA-absent errors cannot be checked' : false;
const version = torch.config().torchVersion.replace(/\./g, '\\.');

test('resolveDevice: canonical names, the default, and named errors', () => {
  assert.equal(resolveDevice('cpu'), 'cpu');
  assert.equal(resolveDevice('meta'), 'meta');
  assert.equal(resolveDevice(undefined), cuda ? 'cuda:0' : 'cpu');
  assert.throws(() => resolveDevice('gpu', { what: '--device' }), /--device 'gpu' is not a device: expected 'cpu', 'cuda', 'cuda:N' or 'meta'/);
  assert.throws(() => resolveDevice('cpu:1'), /the cpu device has no index 1/);
});

test('asking for CUDA without it names what was asked and the libtorch found', { skip: noCuda }, () => {
  for (const d of ['cuda', 'cuda:1']) {
    assert.throws(
      () => resolveDevice(d, { what: 'trainer.params.device' }),
      new RegExp(`trainer\\.params\\.device '${d}': CUDA is not available: the addon is linked to libtorch ${version} in /\\S+, without CUDA`),
    );
  }
  assert.throws(() => setUpJobDevice(trainerParams({ device: 'cuda', precision: 'fp32' })), /trainer\.params\.device 'cuda': CUDA is not available/);
});

function tinyConfig(dir: string, params: Record<string, unknown> = {}): string {
  const file = join(dir, 'tiny.yaml');
  writeFileSync(
    file,
    stringify({
      trainer: {
        target: 'DiffusionTrainer',
        params: {
          num_epoch: 1,
          max_steps: 3,
          valid_size: 8,
          blr: 2e-3,
          warmup_epochs: 0.001,
          batch_size: 8,
          num_workers: 0,
          save_every: 100,
          sample_every: 100,
          eval_num_tokens: [1, 4],
          seed: 1,
          threads: 1,
          result_folder: join(dir, 'run'),
          precision: 'fp32',
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
              enable_nest: true,
              num_sampling_steps: '5',
            },
          },
          dataset: { target: 'FashionMNIST', params: { split: 'test', img_size: 32 } },
          ...params,
        },
      },
    }),
  );
  return file;
}

test('train.js --device cuda fails at once, before any work, naming the flag and the libtorch', { skip: noCuda }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'device-'));
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [join(root, 'train.js'), '--cfg', tinyConfig(dir), '--device', 'cuda'], { encoding: 'utf8' });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`--device 'cuda': CUDA is not available: the addon is linked to libtorch ${version}`));
  assert.ok(Date.now() - t0 < 15_000, 'fails quickly');
  assert.ok(!existsSync(join(dir, 'run')), 'no run folder was made');
  // the same from the config key, named as such
  const r2 = spawnSync(process.execPath, [join(root, 'train.js'), '--cfg', tinyConfig(dir, { device: 'cuda:0' })], { encoding: 'utf8' });
  assert.equal(r2.status, 1);
  assert.match(r2.stderr, /trainer\.params\.device 'cuda:0': CUDA is not available/);
});

test('reconstruct.js and sample.js --device cuda fail with the same error before loading anything', { skip: noCuda }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'device-'));
  for (const [script, args] of [
    ['reconstruct.js', ['--config', join(dir, 'absent.yaml'), '--image', 'x.png', '--out', join(dir, 'o.png')]],
    ['sample.js', ['--config', join(dir, 'absent.yaml'), '--checkpoint', 'x', '--out', join(dir, 'o.png')]],
  ] as const) {
    // sample.js checks the config path first; reconstruct.js the device first: either way a named error
    const r = spawnSync(process.execPath, [join(root, script), ...args, '--device', 'cuda'], { encoding: 'utf8' });
    assert.equal(r.status, 1, `${script}: ${r.stderr}`);
    assert.match(r.stderr, script === 'sample.js' ? /config not found/ : /--device 'cuda': CUDA is not available/, script);
  }
});

test('train.js --device cpu: the run states device and precision first, and trains', () => {
  const dir = mkdtempSync(join(tmpdir(), 'device-'));
  const r = spawnSync(process.execPath, [join(root, 'train.js'), '--cfg', tinyConfig(dir), '--device', 'cpu'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /^cpu, fp32; lr /m);
  assert.equal(loggedByStep(join(dir, 'run'), 'semanticist', 'diff_loss').size, 3);
});

const cpuFp16 = autocastComputesIn('cpu', 'float16');

test('fp16 on a CPU whose libtorch has no float16 autocast is an error naming the key', {
  skip: cpuFp16 ? `libtorch ${torch.config().torchVersion} has CPU fp16 autocast (checked by the next test)` : false,
}, () => {
  assert.throws(
    () => resolvePrecision('fp16', 'cpu', 'trainer.params.precision'),
    /trainer\.params\.precision 'fp16' on cpu: cpu autocast to float16 is not supported by this libtorch/,
  );
  const dir = mkdtempSync(join(tmpdir(), 'device-'));
  const r = spawnSync(process.execPath, [join(root, 'train.js'), '--cfg', tinyConfig(dir, { precision: 'fp16' })], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /trainer\.params\.precision 'fp16' on cpu/);
});

test('fp16 on the CPU (libtorch with float16 CPU autocast): losses differ from fp32, a loss scaler runs', {
  skip: cpuFp16 ? false : `libtorch ${torch.config().torchVersion} has no CPU fp16 autocast (the previous test checks the error)`,
}, () => {
  const runs: Record<string, Map<number, number>> = {};
  for (const precision of ['fp32', 'fp16']) {
    const dir = mkdtempSync(join(tmpdir(), 'device-'));
    const r = spawnSync(process.execPath, [join(root, 'train.js'), '--cfg', tinyConfig(dir, { precision, max_steps: 6 })], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    if (precision === 'fp16') assert.match(r.stderr, /^cpu, fp16 \(autocast float16, fp32 master weights, dynamic loss scale 65536\)/m);
    runs[precision] = loggedByStep(join(dir, 'run'), 'semanticist', 'diff_loss');
  }
  // Step 1 is the same in both: the DiT's final layer starts at zero (DiT init), so its output,
  // and the loss, do not depend on the precision until the first update; while that output stays
  // small the loss is dominated by the target's energy, so the runs part only after a few steps.
  assert.equal(runs.fp16.get(1), runs.fp32.get(1));
  const steps = [2, 3, 4, 5, 6];
  assert.ok(
    steps.some((s) => runs.fp16.get(s) !== runs.fp32.get(s)),
    'fp16 trains differently from fp32',
  );
  for (const s of steps) {
    const [a, b] = [runs.fp32.get(s)!, runs.fp16.get(s)!];
    assert.ok(Number.isFinite(b) && Math.abs(a - b) < 0.05 * Math.abs(a), `step ${s}: fp16 ${b} within fp16 rounding of fp32 ${a}`);
  }
});

test('optimizerStep with a loss scaler skips the step on an injected inf gradient, then steps', () =>
  torch.scope(() => {
    torch.manualSeed(0);
    const model = new torch.nn.Linear(3, 2);
    const P = trainerParams({ batch_size: 1, grad_accum_steps: 1, blr: 256, warmup_epochs: 0, max_steps: 10, cosine_lr: false, enable_ema: false });
    const opt = setUpOptimization(model, P, 10, 1);
    const scaler = new torch.optim.GradScaler({ initScale: 1024 });
    const before = model.weight.clone();
    const lossOf = () => scaler.scale(model.forward(torch.ones([4, 3])).sum());
    lossOf().backward();
    model.weight.grad!.index(0, 0).fill_(Infinity); // an overflow in fp16
    assert.equal(optimizerStep(model, opt, 1, 1.0, scaler), false, 'skipped');
    assert.equal(model.weight.sub(before).abs().max().item(), 0, 'weights unchanged by the skipped step');
    assert.equal(scaler.getScale(), 512, 'scale backed off');
    lossOf().backward();
    assert.equal(optimizerStep(model, opt, 2, 1.0, scaler), true, 'stepped');
    assert.ok(model.weight.sub(before).abs().max().item() > 0, 'weights changed');
  }));
