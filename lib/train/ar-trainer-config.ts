// ϵLlamaGen's training config (upstream GPTTrainer, configs/autoregressive_*.yaml):
//
//   trainer:
//     target: semanticist.engine.gpt_trainer.GPTTrainer
//     params: { ...GPTTrainer arguments..., ae_model: {target, params}, gpt_model: {target, params}, dataset }
//
// trainer.params is checked by the one schema mechanism (lib/config/schema.ts), gpt_model by the
// GPT's schema (lib/models/gpt/gpt-model-config.ts), ae_model by the tokenizer's when it is built.
import { checkParams, defineSchema, noneToNull, type KeySpec, type ParamsOf } from '../config/schema.js';
import { readConfig, trainerEntry, targetParams } from '../config/config-file.js';
import { gptOptionsFromParams, type GptModelConfig } from '../models/gpt/gpt-model-config.js';
import { scheduleKeys, loopKeys, fidKeys, DDP_KEYS, DEVICE_KEYS } from './trainer-keys.js';

/** Names accepted for trainer.target of an AR config. */
export const AR_TRAINER_TARGETS = ['semanticist.engine.gpt_trainer.GPTTrainer', 'GPTTrainer'];

const testMode = (p: Readonly<Record<string, unknown>>) =>
  p.test_only ? null : "only upstream's test mode (test_only) reads it; eval.js takes it as --per-class / --batch-size";
const cached = (p: Readonly<Record<string, unknown>>) => (p.enable_cache_latents ? null : 'enable_cache_latents is false (no token cache)');

/** trainer.params of an AR config: upstream GPTTrainer's arguments and defaults (docs/upstream/configs.md). */
export const AR_TRAINER_SCHEMA = defineSchema({
  ae_model: { kind: 'object', doc: '{target, params} of the frozen tokenizer (params.ckpt_path: its weights)' },
  gpt_model: { kind: 'object', doc: '{target, params} of the GPT' },
  dataset: { kind: 'object', doc: '{target, params} of the training data' },
  test_only: {
    kind: 'boolean',
    default: false,
    doc: "upstream's test mode (generate num_test_images for FID); refused: train.js trains, eval.js evaluates",
    refuse: (v) =>
      v
        ? "train.js only trains; upstream's test mode is eval.js --config FILE --checkpoint GPT_WEIGHTS (gFID/IS of num_test_images images, as test_net.py)"
        : null,
  },
  num_test_images: { kind: 'integer', default: 50000, doc: 'images generated for FID in test mode', inert: testMode },
  test_bs: { kind: 'integer', default: 100, doc: 'batch size in test mode', inert: testMode },
  eval_classes: {
    kind: 'list',
    default: [1, 7, 282, 604, 724, 207, 250, 751, 404, 850],
    doc: 'classes of the sample grids (one row each)',
    refuse: (v) => (Array.isArray(v) && v.every((k) => Number.isInteger(k) && k >= 0) ? null : 'expected a list of class indices'),
  },
  ...scheduleKeys({ blr: 1e-4, cosine_lr: false }),
  ...loopKeys({
    batch_size: 32,
    num_workers: 8,
    pin_memory: false,
    max_grad_norm: null,
    enable_ema: false,
    sample_every: 1000,
    result_folder: './output/autoregressive',
  }),
  cache_bs: { kind: 'integer', default: 8, doc: 'images per batch while building the token cache', inert: cached },
  ae_cfg: { kind: 'number', default: 1.0, doc: "the tokenizer decoder's CFG scale (sample grids)" },
  cfg: { kind: 'number', default: 6.0, doc: "the GPT's CFG scale (sample grids)" },
  cfg_schedule: { kind: 'string', values: ['linear', 'constant'] as const, default: 'linear', doc: "'linear' or 'constant'" },
  temperature: { kind: 'number', default: 1.0, doc: "scales the head's SDE noise (sample grids)" },
  train_num_slots: { kind: 'integer', nullable: true, doc: "tokens trained on (default: the tokenizer's num_slots)" },
  test_num_slots: { kind: 'integer', nullable: true, doc: 'tokens generated in the sample grids (at most train_num_slots)' },
  ...fidKeys(),
  enable_cache_latents: { kind: 'boolean', default: true, doc: 'encode the dataset once into a token cache' },
  cache_dir: { kind: 'string', nullable: true, doc: 'token cache folder (default result_folder/slot_cache; upstream: /dev/shm/slot_cache)', inert: cached },
  ...DDP_KEYS,
  ...DEVICE_KEYS,
} satisfies Record<string, KeySpec>);

/** The checked trainer.params (gpt_model and ae_model are required; dataset only to train). */
export type ArTrainerParams = ParamsOf<typeof AR_TRAINER_SCHEMA> & { gpt_model: Record<string, any>; ae_model: Record<string, any> };

export interface ArConfig {
  target: string;
  /** trainer.params with GPTTrainer's defaults filled in (None → null). */
  params: ArTrainerParams;
  /** The GPT (trainer.params.gpt_model). */
  gptModel: GptModelConfig;
  /** trainer.params.ae_model as written ({target, params}). */
  aeModel: { target?: string; params: Record<string, any> };
  raw: Record<string, any>;
  /** The config as used (the file's text, or the YAML of the object / overridden file). */
  text: string;
}

/**
 * Reads (a file, with `a.b.c=value` overrides) and checks an AR config: trainer.target must be the
 * GPT trainer, trainer.params keys are AR_TRAINER_SCHEMA's, gpt_model is checked by
 * gptOptionsFromParams. ae_model is checked when the tokenizer is built (the tokenizer's schema).
 */
export function loadArConfig(config: string | Record<string, any>, overrides: readonly string[] = []): ArConfig {
  const src = readConfig(config, overrides);
  const file = src.file;
  const { target, params: given } = trainerEntry(src);
  if (target !== undefined && !AR_TRAINER_TARGETS.includes(target))
    throw new Error(`${file}: trainer.target '${target}' is not the AR trainer (expected ${AR_TRAINER_TARGETS.join(' or ')})`);
  const params = checkParams(AR_TRAINER_SCHEMA, given, { file, path: 'trainer.params' });
  if (!params.gpt_model) throw new Error(`${file}: trainer.params.gpt_model is required`);
  if (!params.ae_model) throw new Error(`${file}: trainer.params.ae_model is required`);
  const gm = targetParams(params.gpt_model, 'trainer.params.gpt_model');
  const gptModel = gptOptionsFromParams(gm.target, gm.params, 'trainer.params.gpt_model', file === '<config>' ? '' : file);
  const ae = targetParams(params.ae_model, 'trainer.params.ae_model');
  return {
    target: String(target ?? ''),
    params: params as ArTrainerParams,
    gptModel,
    aeModel: { target: ae.target, params: ae.params ?? {} },
    raw: src.raw,
    text: src.text,
  };
}

/**
 * An AR config's ae_model entry → the tokenizer config and its ckpt_path (null when None or absent).
 * Upstream's ae_model params carry cond_method: 'token', a leftover that DiffuseSlot swallows in
 * **kwargs (the tokenizer always conditions the decoder on its tokens): that value is accepted and
 * dropped; any other is refused, since no other conditioning exists.
 */
export function aeModelTokenizerConfig(aeModel: { target?: string; params?: Record<string, any> }): { config: Record<string, any>; ckptPath: string | null } {
  const { cond_method: condMethod, ...params } = aeModel.params ?? {};
  if (condMethod !== undefined && condMethod !== 'token')
    throw new Error(
      `trainer.params.ae_model.params.cond_method = ${JSON.stringify(condMethod)}: the tokenizer's decoder is always conditioned on its tokens ('token', upstream's only value, which it ignores)`,
    );
  const ckpt = noneToNull(params.ckpt_path);
  if (ckpt !== null && typeof ckpt !== 'string')
    throw new TypeError(`trainer.params.ae_model.params.ckpt_path must be a path or None, got ${JSON.stringify(params.ckpt_path)}`);
  const model = { ...(aeModel.target !== undefined ? { target: aeModel.target } : {}), params };
  return { config: { trainer: { params: { model } } }, ckptPath: ckpt };
}
