// train.js with an AR config end to end, at tiny sizes on Fashion-MNIST's test split: the frozen
// tokenizer (weights from a file) fills the token cache once (reused by a second run), the GPT trains
// with logged losses, checkpoints and a class-by-prefix sample grid; a run stopped at step 3 and
// resumed with --resume logs the same losses for steps 4..6 as an uninterrupted run; sample.js draws
// a class × prefix grid from the run folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import * as torch from '../lib/torch.js';
import { safetensors } from '../lib/serialization/index.js';
import { Tokenizer } from '../lib/models/tokenizer/tokenizer.js';
import { loggedByStep } from './run-log.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'train-gpt-'));
const tokParams = {
  encoder: { patch_size: 8, embed_dim: 32, depth: 1, num_heads: 2, mlp_ratio: 2, qkv_bias: true },
  enc_img_size: 32,
  image_channels: 1,
  num_slots: 4,
  slot_dim: 4,
  norm_slots: true,
  dit_model: { depth: 1, hidden_size: 32, num_heads: 2, patch_size: 8 },
  vae: 'none',
  predict_xstart: true,
  num_sampling_steps: '2',
};
// a tokenizer checkpoint to start from (random weights: what matters here is the pipeline)
torch.manualSeed(0);
const tok = Tokenizer.fromConfig({ trainer: { params: { model: { params: tokParams } } } });
safetensors.saveFile(tok.stateDict(), join(dir, 'tok.safetensors'));
tok.dispose();

const config = join(dir, 'ar.yaml');
writeFileSync(
  config,
  stringify({
    trainer: {
      target: 'semanticist.engine.gpt_trainer.GPTTrainer',
      params: {
        num_epoch: 1,
        max_steps: 6,
        blr: 2e-3,
        cosine_lr: false,
        warmup_epochs: 0.001,
        batch_size: 16,
        num_workers: 0,
        precision: 'fp32',
        max_grad_norm: 1.0,
        enable_ema: true,
        ema_decay: 0.9,
        save_every: 3,
        sample_every: 6,
        cfg: 2.0,
        cfg_schedule: 'linear',
        train_num_slots: 4,
        enable_cache_latents: true,
        cache_bs: 500,
        cache_dir: join(dir, 'cache'),
        eval_classes: [0, 3, 9],
        eval_steps: '2',
        seed: 1,
        threads: 1,
        keep_last: 3,
        ae_model: { target: 'DiffuseSlot', params: { ...tokParams, cond_method: 'token', ckpt_path: join(dir, 'tok.safetensors') } },
        gpt_model: {
          target: 'GPT',
          params: {
            dim: 32,
            n_layer: 1,
            n_head: 2,
            num_slots: 4,
            slot_dim: 4,
            num_classes: 10,
            cls_token_num: 1,
            diffloss_d: 1,
            diffloss_w: 32,
            diffusion_batch_mul: 2,
            use_si: true,
            cond_method: 'concat',
          },
        },
        dataset: { target: 'FashionMNIST', params: { split: 'test', img_size: 32 } },
      },
    },
  }),
);

const run = (out: string, extra: string[] = []) => {
  const r = spawnSync(process.execPath, [join(root, 'train.js'), '--cfg', config, '--opt', `trainer.params.result_folder=${out}`, ...extra], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stderr;
};
const losses = (out: string) => loggedByStep(out, 'gpt', 'loss');

test('train.js trains the GPT from a token cache, checkpoints, samples, and resumes exactly', { timeout: 600_000 }, () => {
  const a = join(dir, 'a');
  const errA = run(a);
  assert.match(errA, /token cache built in [\d.]+ s: 10000 images × 1 views/);
  const ref = losses(a);
  assert.deepEqual([...ref.keys()], [1, 2, 3, 4, 5, 6]);
  assert.ok([...ref.values()].every(Number.isFinite));
  assert.ok(existsSync(join(a, 'models', 'step3', 'complete.json')) && existsSync(join(a, 'models', 'step6', 'ema.safetensors')));
  assert.ok(
    readdirSync(join(a, 'images')).some((f) => f.startsWith('samples_by_class_and_prefix_0000006')),
    'sample grid written',
  );
  assert.match(errA, /samples \(rows: classes 0, 3, 9; columns: first 1, 2, 4 tokens\)/);

  // sample.js on the run folder: a class × prefix grid from the newest checkpoint's EMA weights
  const png = join(dir, 'grid.png');
  const s = spawnSync(
    process.execPath,
    [join(root, 'sample.js'), '--model', a, '--classes', '0,3', '--prefixes', '1,4', '--steps', '2', '--cfg', '2', '--out', png],
    { encoding: 'utf8' },
  );
  assert.equal(s.status, 0, s.stderr);
  assert.match(s.stdout, /classes 0, 3 × first 1, 4 tokens/);
  assert.match(s.stderr, /step6/);
  assert.ok(readFileSync(png).subarray(1, 4).toString() === 'PNG');
  const bad = spawnSync(process.execPath, [join(root, 'sample.js'), '--model', a, '--classes', 'x', '--out', png], { encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--classes: expected comma-separated non-negative integers, got 'x'/);
  const far = spawnSync(process.execPath, [join(root, 'sample.js'), '--model', a, '--prefixes', '9', '--out', png], { encoding: 'utf8' });
  assert.match(far.stderr, /prefix 9 is not in 1..4/);

  // a second run: the cache is reused; stopped at step 3, then resumed to 6
  const b = join(dir, 'b');
  const errB = run(b, ['--opt', 'trainer.params.max_steps=3']);
  assert.match(errB, /token cache reused/);
  run(b, ['--resume']);
  const got = losses(b);
  for (const s of [1, 2, 3, 4, 5, 6]) assert.equal(got.get(s), ref.get(s), `loss at step ${s}`);
});

test('the AR trainer runs under bf16 autocast (the default precision): finite losses, fp32 weights', { timeout: 600_000 }, () => {
  const c = join(dir, 'bf16');
  const err = run(c, ['--opt', 'trainer.params.precision=bf16', '--opt', 'trainer.params.max_steps=3', '--opt', 'trainer.params.sample_every=3']);
  assert.match(err, /^cpu, bf16 \(autocast bfloat16, fp32 master weights\)/m);
  const l = losses(c);
  assert.deepEqual([...l.keys()], [1, 2, 3]);
  assert.ok([...l.values()].every(Number.isFinite));
  const { entries } = safetensors.readHeader(join(c, 'models', 'step3', 'model.safetensors'));
  for (const e of entries) assert.equal(e.dtype, 'float32', `${e.name} saved as fp32`);
  assert.ok(
    readdirSync(join(c, 'images')).some((f) => f.startsWith('samples_by_class_and_prefix_0000003')),
    'bf16 generation and decoding ran',
  );
});

test('the AR trainer computes tokens on the fly without the cache (enable_cache_latents False; the cache keys back at their defaults, since they would have no effect)', {
  timeout: 600_000,
}, () => {
  const d = join(dir, 'nocache');
  const err = run(d, [
    '--opt',
    'trainer.params.enable_cache_latents=false',
    '--opt',
    'trainer.params.cache_bs=8',
    '--opt',
    'trainer.params.cache_dir=null',
    '--opt',
    'trainer.params.max_steps=2',
    '--opt',
    'trainer.params.sample_every=100',
  ]);
  assert.doesNotMatch(err, /token cache/);
  const l = losses(d);
  assert.deepEqual([...l.keys()], [1, 2]);
  assert.ok([...l.values()].every(Number.isFinite));
});

test('the AR trainer data-parallel: 2 ranks through launch.js, a token cache per rank, losses averaged over ranks', { timeout: 600_000 }, () => {
  const out = join(dir, 'ddp');
  const r = spawnSync(
    process.execPath,
    [
      join(root, 'launch.js'),
      '--nproc-per-node',
      '2',
      '--standalone',
      join(root, 'train.js'),
      '--cfg',
      config,
      '--opt',
      `trainer.params.result_folder=${out}`,
      `trainer.params.cache_dir=${join(dir, 'cache-ddp')}`,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /\[rank0\]: finished at step 6/);
  assert.match(r.stderr, /\[rank0\]: cpu, fp32; lr .* \(blr 0\.002 × 32 \/ 256\)/, 'lr from the global batch 2 × 16');
  for (const rank of [0, 1]) assert.ok(existsSync(join(dir, 'cache-ddp', `slots_rank${rank}_of_2.f32`)), `rank ${rank}'s cache`);
  const l = losses(out);
  assert.equal(l.size, 6);
  for (const v of l.values()) assert.ok(Number.isFinite(v));
  assert.ok(existsSync(join(out, 'models', 'step6', 'complete.json')));
});
