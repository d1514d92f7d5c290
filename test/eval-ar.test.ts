// eval.js on a tiny ϵLlamaGen run trained here (upstream's AR test mode): per-class generation
// with the labels shuffled, gFID against a statistics file and IS (the fidelity fixtures' formula
// Inception weights and stats_b.npz stand in for ADM's ImageNet reference), seconds per image, a
// grid over the GPT's CFG; and the AR-specific flags checked by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import * as torch from '../lib/torch.js';
import { safetensors } from '../lib/serialization/index.js';
import { Tokenizer } from '../lib/models/tokenizer/tokenizer.js';
import { shuffledLabels } from '../lib/eval/generation-eval.js';
import { FIDELITY_FIXTURES } from './fixture-paths.js';
import { saveFidelityWeights } from './fidelity-weights.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'eval-ar-'));
const weights = saveFidelityWeights(dir);
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
torch.manualSeed(0);
{
  const tok = Tokenizer.fromConfig({ trainer: { params: { model: { params: tokParams } } } });
  safetensors.saveFile(tok.stateDict(), join(dir, 'tok.safetensors'));
  tok.dispose();
}
const run = join(dir, 'ar');
const config = join(dir, 'ar.yaml');
writeFileSync(
  config,
  stringify({
    trainer: {
      target: 'semanticist.engine.gpt_trainer.GPTTrainer',
      params: {
        num_epoch: 1,
        max_steps: 2,
        blr: 2e-3,
        cosine_lr: false,
        warmup_epochs: 0.001,
        batch_size: 16,
        num_workers: 0,
        precision: 'fp32',
        enable_ema: true,
        ema_decay: 0.9,
        save_every: 2,
        sample_every: 100,
        cfg: 2.0,
        cfg_schedule: 'linear',
        train_num_slots: 4,
        enable_cache_latents: false,
        eval_classes: [0],
        eval_steps: '2',
        seed: 1,
        threads: 1,
        result_folder: run,
        device: 'cpu',
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
const trained = spawnSync(process.execPath, [join(root, 'train.js'), '--cfg', config], { encoding: 'utf8' });
assert.equal(trained.status, 0, trained.stderr);

test('the shuffled label list holds each class perClass times, in a seeded order', () => {
  const a = shuffledLabels(10, 3, 0);
  assert.equal(a.length, 30);
  for (let c = 0; c < 10; c++) assert.equal(a.filter((x) => x === c).length, 3);
  assert.deepEqual(shuffledLabels(10, 3, 0), a);
  assert.notDeepEqual(shuffledLabels(10, 3, 1), a);
});

test('eval.js on an AR run: per-class generation, gFID against a statistics file, IS, seconds per image, a CFG grid', { timeout: 600_000 }, () => {
  const out = join(dir, 'eval');
  const r = spawnSync(
    process.execPath,
    [
      join(root, 'eval.js'),
      '--model',
      run,
      '--per-class',
      '2',
      '--batch-size',
      '10',
      '--cfg_value',
      '1,2',
      '--ae_cfg',
      '1',
      '--test_num_slots',
      '4',
      '--steps',
      '2',
      '--fid_statistics_file',
      join(FIDELITY_FIXTURES, 'stats_b.npz'),
      '--feature-extractor-weights-path',
      weights,
      '--device',
      'cpu',
      '--out',
      out,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  const rows = readFileSync(join(out, 'results.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    rows.map((x) => x.cfg),
    [1, 2],
  );
  for (const x of rows) {
    assert.equal(x.images, 20);
    assert.equal(x.tokens, 4);
    assert.equal(x.schedule, 'linear');
    assert.ok(x.sec_per_image > 0, `sec_per_image ${x.sec_per_image}`);
    assert.ok(Number.isFinite(x.fid) && x.fid > 0, `gFID ${x.fid}`);
    assert.ok(x.isc_mean >= 1 - 1e-9, `IS ${x.isc_mean}`);
  }
  assert.match(r.stdout, /generated 20 images \(2 per class, cfg 1 linear, decoder cfg 1, 4 tokens, temperature 1\)/);
  assert.match(r.stdout, /gFID \S+, IS \S+ ± \S+/);
  assert.ok(!readdirSync(out).some((f) => f.startsWith('gen_')), 'samples removed after their metrics');
});

test('eval.js refuses what it cannot do, by name', () => {
  const bad = (args: string[], re: RegExp) => {
    const r = spawnSync(process.execPath, [join(root, 'eval.js'), ...args], { encoding: 'utf8' });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, re);
  };
  bad([], /give --model RUN_DIR… \(training runs\) or --config FILE with --checkpoint/);
  bad(['--model', run, '--cfg_schedule', 'cosine'], /--cfg_schedule: expected linear or constant, got 'cosine'/);
  bad(['--model', run, '--step', '7'], /--step 7: .*step7 is not a complete checkpoint/);
  bad(['--model', dir], /no config\.yaml/);
  bad(['--model', run, '--cfg_value', 'x'], /--cfg_value: 'x' is not a number/);
});
