// Every key of every config schema acts, or is refused (nothing accepted and ignored). The test
// walks each schema's keys and requires a probe for each; a key without one fails the test.
// Probes:
//   observe  changing the key (from → to, on a base) changes what the consuming code computes:
//            the model options (the two model schemas), the LR schedule, EMA, device, DDP options
//            and run folders (the parts of the trainers that are pure functions of the params);
//   refuse   the value (on a base) is refused by an error naming the key;
//   read     loop settings observable only in a training run (checkpoint cadence, grids, data
//            workers, ...): the trainer's source must read `P.<key>`, so a key cannot sit unread
//            in a schema as log_dir once did. The end-to-end runs of test/train-*.test.ts exercise them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import * as torch from '../lib/torch.js';
import { checkParams, type Schema } from '../lib/config/schema.js';
import { TOKENIZER_TRAINER_SCHEMA } from '../lib/train/tokenizer-trainer-config.js';
import { AR_TRAINER_SCHEMA } from '../lib/train/ar-trainer-config.js';
import { GPT_PARAM_KEYS, gptOptionsFromParams } from '../lib/models/gpt/gpt-model-config.js';
import { TOKENIZER_PARAM_KEYS, tokenizerOptionsFromParams } from '../lib/models/tokenizer/config.js';
import { setUpOptimization } from '../lib/train/optimization.js';
import { setUpJobDevice } from '../lib/train/job-device.js';
import { ddpOptions } from '../lib/train/distributed.js';
import { startRun } from '../lib/train/run-start.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const source = (f: string) => readFileSync(join(root, f), 'utf8');

type Params = Record<string, unknown>;
type Probe = { observe: (p: any) => unknown; from?: unknown; to: unknown; base?: Params } | { refuse: unknown; base?: Params } | { read: string[] };

/** What the trainers compute from their params without running: schedule, EMA, device, DDP, folders. */
function trainerView(P: any): unknown {
  return torch.scope(() => {
    const model = new torch.nn.Linear(2, 2);
    const opt = setUpOptimization(model, P, 10, 1);
    const lrs = [0, 1, 3, 7, 15, 40, 90, 150].map((s) => {
      opt.scheduler.stepUpdate(s);
      return opt.optimizer.paramGroups[0].lr;
    });
    const view = { lrs, total: opt.totalSteps, ema: opt.ema ? (opt.ema as any).decay : null };
    model.dispose();
    return view;
  });
}
const jobView = (P: any) => setUpJobDevice(P).summary;
const runView = (P: any) => {
  const before = torch.getNumThreads();
  const dirs = startRun(P, '', 1); // rank 1 writes nothing
  const seeded = torch.scope(() => torch.rand([1]).item());
  const threads = torch.getNumThreads();
  torch.setNumThreads(before);
  return { ...dirs, seeded, threads };
};

const trainerCommon = (trainer: string): Record<string, Probe | Probe[]> => ({
  blr: { observe: trainerView, to: 3e-3 },
  cosine_lr: { observe: trainerView, to: 'flip' },
  lr_min: [
    { observe: trainerView, to: 1e-5, base: { cosine_lr: true } },
    { refuse: 1e-5, base: { cosine_lr: false } },
  ],
  warmup_epochs: { observe: trainerView, to: 3 },
  warmup_steps: [
    { observe: trainerView, to: 5, base: { warmup_epochs: null } },
    { refuse: 5, base: { warmup_epochs: 1 } },
  ],
  warmup_lr_init: { observe: trainerView, to: 1e-6, base: { warmup_epochs: 2 } },
  decay_steps: [
    { observe: trainerView, to: 50, base: { cosine_lr: true, warmup_epochs: 0 } },
    { refuse: 50, base: { cosine_lr: false } },
  ],
  num_epoch: { observe: trainerView, to: 3, base: { max_steps: null } },
  max_steps: { observe: trainerView, to: 20 },
  batch_size: { observe: trainerView, to: 64 },
  grad_accum_steps: { observe: trainerView, to: 2 },
  enable_ema: { observe: trainerView, to: 'flip' },
  ema_decay: [
    { observe: trainerView, to: 0.9, base: { enable_ema: true } },
    { refuse: 0.9, base: { enable_ema: false } },
  ],
  precision: { observe: jobView, to: 'bf16', base: { device: 'cpu', precision: 'fp32' } },
  device: { observe: jobView, from: 'cpu', to: 'meta', base: { precision: 'fp32' } },
  pin_memory: { refuse: 'flip', base: { device: 'cpu' } },
  allow_tf32: { refuse: false, base: { device: 'cpu' } },
  cudnn_benchmark: { refuse: false, base: { device: 'cpu' } },
  ddp_bucket_cap_mb: { observe: ddpOptions, to: 4 },
  find_unused_parameters: { observe: ddpOptions, to: true },
  result_folder: { observe: runView, to: '/tmp/config-keys-a' },
  log_dir: { observe: runView, to: '/tmp/config-keys-logs' },
  threads: { observe: runView, from: 1, to: 2 },
  seed: { observe: runView, to: 7 },
  compile: { refuse: true },
  eval_fid: { refuse: true },
  fid_stats: { refuse: 'stats.npz' },
  fid_every: { refuse: 1000 },
  num_workers: { read: [trainer] },
  save_every: { read: [trainer] },
  sample_every: { read: [trainer] },
  keep_last: { read: [trainer] },
  max_grad_norm: { read: [trainer] },
  eval_steps: { read: [trainer] },
  eval_sampler: { read: [trainer] },
  dataset: { read: [trainer] },
  cfg: { read: [trainer] },
});

const TOKENIZER_TRAINER_PROBES: Record<string, Probe | Probe[]> = {
  ...trainerCommon('lib/train/train-tokenizer.ts'),
  model: { read: ['lib/train/train-tokenizer.ts'] },
  test_dataset: { read: ['lib/train/train-tokenizer.ts'] },
  valid_size: { read: ['lib/train/train-tokenizer.ts'] },
  eval_num_tokens: [{ read: ['lib/train/train-tokenizer.ts'] }, { refuse: [0, 2] }],
  eval_size: [{ read: ['lib/train/train-tokenizer.ts'] }, { refuse: 8, base: { test_dataset: null } }],
};

const AR_TRAINER_PROBES: Record<string, Probe | Probe[]> = {
  ...trainerCommon('lib/train/train-gpt.ts'),
  test_only: { refuse: true },
  num_test_images: { refuse: 100 },
  test_bs: { refuse: 10 },
  cache_bs: [{ read: ['lib/train/train-gpt.ts'] }, { refuse: 4, base: { enable_cache_latents: false } }],
  cache_dir: [{ read: ['lib/train/train-gpt.ts'] }, { refuse: '/tmp/c', base: { enable_cache_latents: false } }],
  ae_model: { read: ['lib/train/train-gpt.ts'] },
  gpt_model: { read: ['lib/train/train-gpt.ts'] },
  eval_classes: [{ read: ['lib/train/train-gpt.ts'] }, { refuse: ['cat'] }],
  ae_cfg: { read: ['lib/train/train-gpt.ts'] },
  cfg_schedule: { read: ['lib/train/train-gpt.ts'] },
  temperature: { read: ['lib/train/train-gpt.ts'] },
  train_num_slots: { read: ['lib/train/train-gpt.ts'] },
  test_num_slots: { read: ['lib/train/load-image-generator.ts'] }, // upstreamNumTokens, called by train-gpt.ts for the grids
  enable_cache_latents: { read: ['lib/train/train-gpt.ts'] },
};

const gptBase = { dim: 32, n_layer: 1, n_head: 2, num_slots: 4, slot_dim: 4, num_classes: 10, diffloss_d: 1, diffloss_w: 16 };
const gptView = (p: Params) => gptOptionsFromParams('Transformer', p);
const GPT_PROBES: Record<string, Probe | Probe[]> = {
  dim: { observe: gptView, to: 64 },
  n_layer: { observe: gptView, to: 2 },
  n_head: { observe: gptView, to: 4 },
  attn_dropout_p: { observe: gptView, to: 0.2 },
  resid_dropout_p: { observe: gptView, to: 0.2 },
  ffn_dropout_p: { observe: gptView, to: 0.2 },
  drop_path_rate: { observe: gptView, to: 0.2 },
  num_classes: { observe: gptView, to: 20 },
  class_dropout_prob: { observe: gptView, to: 0.2 },
  cls_token_num: { observe: gptView, to: 2 },
  num_slots: { observe: gptView, to: 8 },
  slot_dim: { observe: gptView, to: 8 },
  diffloss_d: { observe: gptView, to: 2 },
  diffloss_w: { observe: gptView, to: 32 },
  num_sampling_steps: [
    { observe: gptView, to: '50', base: { use_si: false } },
    { refuse: '50', base: { use_si: true } },
  ],
  diffusion_batch_mul: { observe: gptView, to: 2 },
  predict_xstart: [
    { observe: gptView, to: true, base: { use_si: false } },
    { refuse: true, base: { use_si: true } },
  ],
  use_si: { observe: gptView, to: true },
  cond_method: { observe: gptView, to: 'concat' },
  ckpt_path: { observe: gptView, to: 'gpt.pt' },
  multiple_of: { observe: gptView, to: 64 },
  ffn_dim_multiplier: { observe: gptView, to: 1.5 },
  norm_eps: { observe: gptView, to: 1e-6 },
};

const tokView = (p: Params) => tokenizerOptionsFromParams(p);
const TOKENIZER_PROBES: Record<string, Probe | Probe[]> = {
  encoder: { observe: tokView, to: 'vit_small_patch16' },
  enc_img_size: { observe: tokView, to: 64 },
  enc_causal: { observe: tokView, to: false },
  drop_path_rate: { observe: tokView, to: 0.2 },
  num_slots: { observe: tokView, to: 8 },
  slot_dim: { observe: tokView, to: 8 },
  norm_slots: { observe: tokView, to: true },
  enable_nest: { observe: tokView, to: true },
  enable_nest_after: { observe: tokView, to: 3 },
  vae: { observe: tokView, to: 'none' },
  dit_model: { observe: tokView, to: 'DiT-B-4' },
  num_sampling_steps: { observe: tokView, to: '25' },
  use_repa: { observe: tokView, to: true },
  repa_encoder_depth: { observe: tokView, to: 2 },
  repa_loss_weight: { observe: tokView, to: 0.5 },
  enc_use_mlp: { refuse: true },
  eval_fid: { refuse: true },
  fid_stats: { refuse: 'stats.npz' },
  ckpt_path: { observe: tokView, to: 'tok.pkl' },
  repa_z_dim: { observe: tokView, to: 64 },
  projector_dim: { observe: tokView, to: 64 },
  image_channels: { observe: tokView, to: 1 },
  predict_xstart: { observe: tokView, to: true },
  vae_checkpoint: { observe: tokView, to: 'vae.ckpt' },
  dinov2_checkpoint: { observe: tokView, to: 'dino.pth' },
  vae_config: { observe: tokView, to: { z_channels: 4 } },
};

const SCHEMAS: [string, Schema, Record<string, Probe | Probe[]>, Params, string][] = [
  ['tokenizer trainer.params', TOKENIZER_TRAINER_SCHEMA, TOKENIZER_TRAINER_PROBES, { warmup_epochs: 1, max_steps: 100, device: 'cpu' }, 'trainer.params'],
  ['AR trainer.params', AR_TRAINER_SCHEMA, AR_TRAINER_PROBES, { warmup_epochs: 1, max_steps: 100, device: 'cpu' }, 'trainer.params'],
  ['gpt_model.params', GPT_PARAM_KEYS, GPT_PROBES, gptBase, 'gpt_model.params'],
  ['tokenizer model.params', TOKENIZER_PARAM_KEYS, TOKENIZER_PROBES, {}, 'model.params'],
];

for (const [name, schema, probes, base, path] of SCHEMAS) {
  test(`${name}: every key acts or is refused (${Object.keys(schema).length} keys)`, () => {
    const missing = Object.keys(schema).filter((k) => !(k in probes));
    assert.deepEqual(missing, [], `keys without a probe: ${missing.join(', ')}`);
    const stale = Object.keys(probes).filter((k) => !(k in schema));
    assert.deepEqual(stale, [], `probes of keys the schema does not have: ${stale.join(', ')}`);
    const isModel = path !== 'trainer.params';
    const check = (p: Params) => (isModel ? p : checkParams(schema, p, { path }));
    for (const [key, probeOrList] of Object.entries(probes)) {
      for (const probe of Array.isArray(probeOrList) ? probeOrList : [probeOrList]) {
        const b = { ...base, ...('base' in probe ? probe.base : {}) };
        const flip = (v: unknown) => (v === 'flip' ? !(checkParams(schema, b, { path }) as Params)[key] : v);
        if ('read' in probe) {
          for (const f of probe.read) assert.ok(new RegExp(`\\bP\\.${key}\\b`).test(source(f)), `${name}.${key}: ${f} never reads P.${key}`);
        } else if ('refuse' in probe) {
          const given = { ...b, [key]: flip(probe.refuse) };
          const run = () => (isModel && path === 'gpt_model.params' ? gptView(given) : isModel ? tokView(given) : checkParams(schema, given, { path }));
          assert.throws(run, (e: Error) => e.message.includes(`${path}.${key}`), `${name}.${key} = ${JSON.stringify(probe.refuse)} is accepted`);
        } else {
          const from = 'from' in probe && probe.from !== undefined ? { [key]: probe.from } : {};
          const a = probe.observe(check({ ...b, ...from }));
          const c = probe.observe(check({ ...b, [key]: flip(probe.to) }));
          assert.notDeepEqual(c, a, `${name}.${key}: changing it to ${JSON.stringify(probe.to)} changes nothing observed`);
        }
      }
    }
  });
}
