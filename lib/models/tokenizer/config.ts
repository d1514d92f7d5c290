// The tokenizer's config in the upstream schema (configs/tokenizer_*.yaml: trainer.params.model =
// {target, params}) → TokenizerOptions, with our extensions (explicit sizes, vae 'none',
// image_channels, predict_xstart, weight files). Unknown keys are errors that name the key and list the valid ones.
import { readFileSync, existsSync } from 'node:fs';
import { parse } from 'yaml';
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
}

type Spec = [keyof TokenizerOptions | keyof TokenizerWeightFiles | null, 'number' | 'boolean' | 'string' | 'size' | 'any'];
/** snake_case config key → option (null: accepted and ignored, as upstream ignores it). */
const KEYS: Record<string, Spec> = {
  encoder: ['encoder', 'size'], enc_img_size: ['encImgSize', 'number'], enc_causal: ['encCausal', 'boolean'],
  drop_path_rate: ['dropPathRate', 'number'], num_slots: ['numSlots', 'number'], slot_dim: ['slotDim', 'number'],
  norm_slots: ['normSlots', 'boolean'], enable_nest: ['enableNest', 'boolean'], enable_nest_after: ['enableNestAfter', 'number'],
  vae: ['vae', 'string'], dit_model: ['ditModel', 'size'], num_sampling_steps: ['numSamplingSteps', 'string'],
  use_repa: ['useRepa', 'boolean'], repa_encoder_depth: ['repaEncoderDepth', 'number'], repa_loss_weight: ['repaLossWeight', 'number'],
  repa_z_dim: ['repaZDim', 'number'], projector_dim: ['projectorDim', 'number'], image_channels: ['imageChannels', 'number'],
  predict_xstart: ['predictXstart', 'boolean'],
  vae_checkpoint: ['vaeCheckpoint', 'string'], dinov2_checkpoint: ['dinov2Checkpoint', 'string'], vae_config: ['vaeConfig', 'any'],
  // upstream keys with no effect on the model
  enc_use_mlp: [null, 'any'], eval_fid: [null, 'any'], fid_stats: [null, 'any'], ckpt_path: [null, 'any'],
};

const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_, ch: string) => ch.toUpperCase());

function sizeObject(v: unknown, where: string): VitSize | DiTSize | string {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && !Array.isArray(v))
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [camel(k), x])) as unknown as VitSize;
  throw new TypeError(`${where}: expected a preset name or a mapping of sizes, got ${JSON.stringify(v)}`);
}

/** model params (snake_case, upstream names) → TokenizerOptions + weight files. */
export function tokenizerOptionsFromParams(params: Record<string, unknown>, where = 'model.params'): TokenizerOptions & TokenizerWeightFiles {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(params ?? {})) {
    const spec = KEYS[key];
    if (!spec) throw new Error(`${where}: unknown key '${key}' (valid: ${Object.keys(KEYS).join(', ')})`);
    const [name, type] = spec;
    if (name === null) continue;
    let v: unknown = value;
    if (type === 'size') v = sizeObject(value, `${where}.${key}`);
    else if (type === 'string' && typeof value === 'number') v = String(value);   // num_sampling_steps: 250
    else if (type !== 'any' && typeof value !== type)
      throw new TypeError(`${where}.${key}: expected a ${type}, got ${JSON.stringify(value)}`);
    out[name] = v;
  }
  return out as TokenizerOptions & TokenizerWeightFiles;
}

/**
 * A config file or object in the upstream layout (trainer.params.model) or just the model part
 * ({target, params}) → options. The target must name the tokenizer.
 */
export function tokenizerOptionsFromConfig(config: string | Record<string, any>): TokenizerOptions & TokenizerWeightFiles {
  let cfg: Record<string, any>;
  if (typeof config === 'string') {
    if (!existsSync(config)) throw new Error(`config file not found: ${config}`);
    cfg = parse(readFileSync(config, 'utf8'));
  } else cfg = config;
  const model = cfg?.trainer?.params?.model ?? cfg?.model ?? cfg;
  const where = cfg?.trainer ? 'trainer.params.model' : 'model';
  if (!model || typeof model !== 'object') throw new Error(`${where}: missing`);
  if (model.target !== undefined && !TOKENIZER_TARGETS.includes(model.target))
    throw new Error(`${where}.target: '${model.target}' is not a tokenizer (expected one of ${TOKENIZER_TARGETS.join(', ')})`);
  return tokenizerOptionsFromParams(model.params ?? {}, `${where}.params`);
}
