// The tokenizer trainer's config (upstream DiffusionTrainer, configs/tokenizer_*.yaml):
// trainer.target / trainer.params with model, dataset and test_dataset, checked by the one schema
// mechanism (lib/config/schema.ts): unknown keys, wrong types and settings that would have no
// effect are errors naming the key. `--opt a.b.c=value` overrides.
import { checkParams, defineSchema, type KeySpec, type ParamsOf } from '../config/schema.js';
import { readConfig, trainerEntry } from '../config/config-file.js';
import { scheduleKeys, loopKeys, fidKeys, DDP_KEYS, DEVICE_KEYS } from './trainer-keys.js';

/** Names accepted for trainer.target of a tokenizer config. */
export const TOKENIZER_TRAINER_TARGETS = ['semanticist.engine.diffusion_trainer.DiffusionTrainer', 'DiffusionTrainer', 'TokenizerTrainer'];

/** trainer.params of a tokenizer config; defaults are upstream's configs' values (docs/upstream/configs.md). */
export const TOKENIZER_TRAINER_SCHEMA = defineSchema({
  model: { kind: 'object', doc: '{target, params} of the tokenizer (checked by its own schema)' },
  dataset: { kind: 'object', doc: '{target, params} of the training data' },
  test_dataset: { kind: 'object', nullable: true, doc: '{target, params} of the test data (the final PSNR/SSIM table)' },
  valid_size: { kind: 'integer', default: 64, doc: 'images held out from train for the reconstruction grids (seed 42)' },
  cfg: { kind: 'number', default: 3.0, doc: 'decoder CFG of the reconstruction grids and the final table' },
  ...scheduleKeys({ blr: 2.5e-5, cosine_lr: true }),
  ...loopKeys({
    batch_size: 256,
    num_workers: 16,
    pin_memory: true,
    max_grad_norm: 3.0,
    enable_ema: true,
    sample_every: 5000,
    result_folder: './output/tokenizer',
  }),
  ...fidKeys(),
  // ours
  eval_num_tokens: {
    kind: 'list',
    nullable: true,
    doc: 'ours: token counts of the grids and the final table (default: powers of two up to num_slots)',
    refuse: (v) =>
      Array.isArray(v) && v.every((k) => Number.isInteger(k) && k >= 1) ? null : 'expected a list of positive integers, e.g. [1, 4, 16, 64, 256]',
  },
  eval_size: {
    kind: 'integer',
    default: 64,
    doc: 'ours: test images in the final PSNR/SSIM table',
    inert: (p) => (p.test_dataset ? null : 'there is no test_dataset, so no final table'),
  },
  ...DDP_KEYS,
  ...DEVICE_KEYS,
} satisfies Record<string, KeySpec>);

/** The checked trainer.params (model and dataset are required). */
export type TokenizerTrainerParams = ParamsOf<typeof TOKENIZER_TRAINER_SCHEMA> & { model: Record<string, any>; dataset: Record<string, any> };

export interface TrainerConfig {
  target: string;
  params: TokenizerTrainerParams;
  raw: Record<string, any>;
  /** The config as used (written to the run folder). */
  text: string;
}

/** Reads, overrides and validates a tokenizer training config (a file or an object). */
export function loadTrainerConfig(config: string | Record<string, any>, overrides: readonly string[] = []): TrainerConfig {
  const src = readConfig(config, overrides);
  const { target, params } = trainerEntry(src);
  if (target !== undefined && !TOKENIZER_TRAINER_TARGETS.includes(target))
    throw new Error(`${src.file}: trainer.target '${target}' is not the tokenizer trainer (expected ${TOKENIZER_TRAINER_TARGETS.join(' or ')})`);
  const P = checkParams(TOKENIZER_TRAINER_SCHEMA, params, { file: src.file, path: 'trainer.params' });
  if (!P.model) throw new Error(`${src.file}: trainer.params.model is required`);
  if (!P.dataset) throw new Error(`${src.file}: trainer.params.dataset is required`);
  return { target: String(target ?? ''), params: P as TokenizerTrainerParams, raw: src.raw, text: src.text };
}
