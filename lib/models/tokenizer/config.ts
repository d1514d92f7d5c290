// The tokenizer's config in the upstream schema (configs/tokenizer_*.yaml: trainer.params.model =
// {target, params}) → TokenizerOptions, with our extensions (explicit sizes, vae 'none',
// image_channels, predict_xstart, weight files), checked by lib/config/schema.ts: unknown keys,
// wrong types and upstream keys this project cannot honour are errors that name the key.
import { readConfig } from '../../config/config-file.js';
import { checkParams, type KeySpec } from '../../config/schema.js';
import type { TokenizerOptions } from './tokenizer.js';
import type { VitSize } from './vit-encoder.js';
import type { DiTSize } from './dit.js';

/** Names accepted for the tokenizer in a config's `target`. */
export const TOKENIZER_TARGETS = ['semanticist.stage1.diffuse_slot.DiffuseSlot', 'DiffuseSlot', 'Tokenizer'];

/** Where the frozen parts' weights come from (our extension; upstream downloads them from the hub). */
export interface TokenizerWeightFiles {
  vaeCheckpoint?: string;
  dinov2Checkpoint?: string;
  /** VAE sizes for a checkpoint file that is not MAR KL-16 sized (snake_case, as fixtures.json `config.vae`). */
  vaeConfig?: Record<string, unknown>;
  /** Weights to start from (upstream's model.params.ckpt_path): a file, or a step folder. */
  ckptPath?: string;
}

interface TokKeySpec extends KeySpec {
  /** The option the value becomes (null: used by the loaders, not the model). */
  readonly to: keyof TokenizerOptions | keyof TokenizerWeightFiles | null;
}

const size = (v: unknown) =>
  typeof v === 'string' || (v !== null && typeof v === 'object' && !Array.isArray(v)) ? null : 'expected a preset name or a mapping of sizes';

/**
 * model.params (snake_case, upstream DiffuseSlot's names), then ours. No defaults here: an absent
 * key takes the Tokenizer's own default (upstream DiffuseSlot's, in tokenizer.ts).
 */
export const TOKENIZER_PARAM_KEYS = {
  encoder: { to: 'encoder', kind: 'any', doc: "encoder preset ('vit_base_patch16') or a mapping of sizes", refuse: size },
  enc_img_size: { to: 'encImgSize', kind: 'integer', doc: 'encoder input size' },
  enc_causal: { to: 'encCausal', kind: 'boolean', doc: 'causal attention among the slot tokens' },
  drop_path_rate: { to: 'dropPathRate', kind: 'number', doc: "the encoder's stochastic depth" },
  num_slots: { to: 'numSlots', kind: 'integer', doc: 'tokens per image' },
  slot_dim: { to: 'slotDim', kind: 'integer', doc: 'channels per token' },
  norm_slots: { to: 'normSlots', kind: 'boolean', doc: 'standardise each token (unbiased std, no eps)' },
  enable_nest: { to: 'enableNest', kind: 'boolean', doc: 'nested first-k masks from the start' },
  enable_nest_after: { to: 'enableNestAfter', kind: 'number', doc: 'epoch from which the nested masks are used (-1: never)' },
  vae: { to: 'vae', kind: 'string', doc: "the VAE's name (MAR KL-16, SD-VAE) or 'none' (pixels)" },
  dit_model: { to: 'ditModel', kind: 'any', doc: "DiT preset ('DiT-L-2') or a mapping of sizes", refuse: size },
  num_sampling_steps: { to: 'numSamplingSteps', kind: 'steps', doc: "decoder sampling steps ('250', 'ddim25', ...)" },
  use_repa: { to: 'useRepa', kind: 'boolean', doc: 'the REPA loss (needs dinov2_checkpoint to train)' },
  repa_encoder_depth: { to: 'repaEncoderDepth', kind: 'integer', doc: 'DiT block (1-based) whose output REPA aligns' },
  repa_loss_weight: { to: 'repaLossWeight', kind: 'number', doc: "the REPA loss's weight" },
  // upstream keys the model does not use
  enc_use_mlp: {
    to: null,
    kind: 'boolean',
    default: false,
    doc: 'upstream: an ignored keyword; refused when true',
    refuse: (v) => (v ? 'upstream ignores it too (its encoder has no MLP head to switch on)' : null),
  },
  eval_fid: {
    to: null,
    kind: 'boolean',
    default: false,
    doc: "upstream's FID during training; refused when true (eval.js computes it)",
    refuse: (v) => (v ? 'train.js does not compute FID while training; evaluate the saved checkpoints with eval.js (rFID as test_net.py)' : null),
  },
  fid_stats: {
    to: null,
    kind: 'string',
    nullable: true,
    doc: 'reference statistics for eval_fid',
    inert: (p) => (p.eval_fid ? null : 'eval_fid is false (give the statistics to eval.js --fid_statistics_file)'),
  },
  ckpt_path: {
    to: 'ckptPath',
    kind: 'string',
    nullable: true,
    doc: 'weights to start from: a weights file, or a step folder (the trainer resumes from it, as upstream)',
  },
  // ours
  repa_z_dim: { to: 'repaZDim', kind: 'integer', doc: 'ours: width of the REPA target features (DINOv2-B: 768)' },
  projector_dim: { to: 'projectorDim', kind: 'integer', doc: "ours: the REPA projector's width" },
  image_channels: { to: 'imageChannels', kind: 'integer', doc: 'ours: image channels (1 for grayscale data with vae none)' },
  predict_xstart: { to: 'predictXstart', kind: 'boolean', doc: 'ours: the DiT predicts x_0 instead of the noise' },
  vae_checkpoint: { to: 'vaeCheckpoint', kind: 'string', nullable: true, doc: 'ours: VAE weights (diffusers folder or checkpoint file)' },
  dinov2_checkpoint: { to: 'dinov2Checkpoint', kind: 'string', nullable: true, doc: 'ours: DINOv2 weights (the REPA target)' },
  vae_config: { to: 'vaeConfig', kind: 'object', nullable: true, doc: 'ours: VAE sizes for a checkpoint not MAR KL-16 sized' },
} as const satisfies Record<string, TokKeySpec>;

const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_, ch: string) => ch.toUpperCase());

function sizeObject(v: unknown): VitSize | DiTSize | string {
  if (typeof v === 'string') return v;
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [camel(k), x])) as unknown as VitSize;
}

/** model params (snake_case, upstream names) → TokenizerOptions + weight files. */
export function tokenizerOptionsFromParams(params: Record<string, unknown>, where = 'model.params'): TokenizerOptions & TokenizerWeightFiles {
  const p = checkParams(TOKENIZER_PARAM_KEYS, params, { path: where });
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(TOKENIZER_PARAM_KEYS) as [keyof typeof TOKENIZER_PARAM_KEYS, TokKeySpec][]) {
    const v = p[key];
    if (spec.to === null || v === null) continue;
    out[spec.to] = key === 'encoder' || key === 'dit_model' ? sizeObject(v) : v;
  }
  return out as TokenizerOptions & TokenizerWeightFiles;
}

/**
 * A config file or object in the upstream layout (trainer.params.model) or just the model part
 * ({target, params}) → options. The target must name the tokenizer.
 */
export function tokenizerOptionsFromConfig(config: string | Record<string, any>): TokenizerOptions & TokenizerWeightFiles {
  const cfg = readConfig(config).raw;
  const model = cfg?.trainer?.params?.model ?? cfg?.model ?? cfg;
  const where = cfg?.trainer ? 'trainer.params.model' : 'model';
  if (!model || typeof model !== 'object') throw new Error(`${where}: missing`);
  if (model.target !== undefined && !TOKENIZER_TARGETS.includes(model.target))
    throw new Error(`${where}.target: '${model.target}' is not a tokenizer (expected one of ${TOKENIZER_TARGETS.join(', ')})`);
  return tokenizerOptionsFromParams(model.params ?? {}, `${where}.params`);
}
