// ϵLlamaGen's configs in the upstream schema (configs/autoregressive_*.yaml, SPEC §3.2):
//
//   trainer:
//     target: semanticist.engine.gpt_trainer.GPTTrainer
//     params: { ...GPTTrainer arguments..., ae_model: {target, params}, gpt_model: {target, params}, dataset }
//
//   gptOptionsFromConfig(config)  gpt_model → { gpt: GptOptions, head: DiffLossOptions, ... }
//   buildGptFromConfig(config)    → GPT<DiffLoss> (freshly initialised, as upstream GPT_models[target](**params))
//   loadArConfig(config)          the whole file, trainer.params checked against AR_TRAINER_KEYS
//                                 (upstream GPTTrainer's arguments; a schema separate from the
//                                 tokenizer trainer's TRAINER_KEYS in lib/train/config.ts)
//
// gpt_model.target is a GPT_SIZES preset ('GPT-L', ...; upstream's GPT_models keys), also spelled as
// upstream's factory functions ('GPT_L', 'semanticist.stage2.gpt.GPT_L'); or the class itself
// ('Transformer', 'semanticist.stage2.gpt.Transformer', 'GPT'), which needs dim, n_layer and n_head
// in params. gpt_model.params are upstream Transformer's keyword arguments, snake_case; a key that
// is absent takes upstream Transformer's default — including use_si False (the cosine-DDPM head) and
// cond_method 'adaln' (both upstream configs set use_si: True and concat) and num_slots 16 /
// slot_dim 256. An unknown or misspelled key is an error that names
// it and lists the valid ones (upstream's **kwargs swallows it silently), and every value is
// type-checked.
import { readFileSync, existsSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { GPT, GPT_SIZES, gptBackboneParamCount, type GptName, type GptOptions } from './gpt.js';
import { DiffLoss, type DiffLossOptions } from './diffloss.js';
import { applyOverride, DDP_KEYS, DEVICE_KEYS } from '../../train/config.js';

type Kind = 'integer' | 'number' | 'boolean' | 'string' | 'steps' | 'object' | 'any';

interface KeySpec {
  /** Where the value goes: a GptOptions field, a DiffLossOptions field, or null (accepted, no effect on the model). */
  to: ['gpt', keyof GptOptions] | ['head', keyof DiffLossOptions] | null;
  kind: Kind;
  /** Upstream Transformer's default, applied when the key is absent. */
  upstreamDefault?: unknown;
  nullable?: boolean;
  doc: string;
}

/** gpt_model.params: upstream Transformer's keyword arguments (and ckpt_path), then ours. */
export const GPT_PARAM_KEYS: Record<string, KeySpec> = {
  dim: { to: ['gpt', 'dim'], kind: 'integer', doc: "width (only with target 'Transformer'; a preset sets it)" },
  n_layer: { to: ['gpt', 'nLayer'], kind: 'integer', doc: "blocks (only with target 'Transformer')" },
  n_head: { to: ['gpt', 'nHead'], kind: 'integer', doc: "attention heads (only with target 'Transformer')" },
  attn_dropout_p: { to: ['gpt', 'attnDropoutP'], kind: 'number', upstreamDefault: 0.0, doc: 'attention-probability dropout' },
  resid_dropout_p: { to: ['gpt', 'residDropoutP'], kind: 'number', upstreamDefault: 0.1, doc: 'dropout after wo' },
  ffn_dropout_p: { to: ['gpt', 'ffnDropoutP'], kind: 'number', upstreamDefault: 0.1, doc: 'dropout after w2' },
  drop_path_rate: { to: ['gpt', 'dropPathRate'], kind: 'number', upstreamDefault: 0.0, doc: 'stochastic depth' },
  num_classes: { to: ['gpt', 'numClasses'], kind: 'integer', upstreamDefault: 1000, doc: 'class count (the null class is num_classes)' },
  class_dropout_prob: { to: ['gpt', 'classDropoutProb'], kind: 'number', upstreamDefault: 0.1, doc: 'label drop for CFG in training' },
  cls_token_num: { to: ['gpt', 'clsTokenNum'], kind: 'integer', upstreamDefault: 1, doc: 'class-embedding copies at the start' },
  num_slots: { to: ['gpt', 'numSlots'], kind: 'integer', upstreamDefault: 16, doc: 'tokens per image the GPT models' },
  slot_dim: { to: ['gpt', 'slotDim'], kind: 'integer', upstreamDefault: 256, doc: "token channels (the tokenizer's slot_dim)" },
  diffloss_d: { to: ['head', 'depth'], kind: 'integer', upstreamDefault: 3, doc: "the diffusion head's residual blocks" },
  diffloss_w: { to: ['head', 'width'], kind: 'integer', upstreamDefault: 1024, doc: "the diffusion head's width" },
  num_sampling_steps: { to: ['head', 'numSamplingSteps'], kind: 'steps', upstreamDefault: '100', doc: 'DDPM head sampling steps (use_si False); unused with use_si (the SDE takes 250)' },
  diffusion_batch_mul: { to: ['head', 'diffusionBatchMul'], kind: 'integer', upstreamDefault: 4, doc: 'repeats of each (token, condition) row in the loss' },
  predict_xstart: { to: ['head', 'predictXstart'], kind: 'boolean', upstreamDefault: false, doc: 'DDPM head only' },
  use_si: { to: ['head', 'useSi'], kind: 'boolean', upstreamDefault: false, doc: 'the SiT flow-matching head (True, both configs) or the cosine-DDPM head (False)' },
  cond_method: { to: ['head', 'condMethod'], kind: 'string', upstreamDefault: 'adaln', doc: "'concat' (the configs) or 'adaln'" },
  ckpt_path: { to: null, kind: 'any', nullable: true, doc: 'GPT weights to load (a file or a step folder; None: none)' },
  // ours (upstream never forwards them; its values are the defaults)
  multiple_of: { to: ['gpt', 'multipleOf'], kind: 'integer', doc: 'SwiGLU width rounding (256)' },
  ffn_dim_multiplier: { to: ['gpt', 'ffnDimMultiplier'], kind: 'number', nullable: true, doc: "LlamaGen's FFN width multiplier (none)" },
  norm_eps: { to: ['gpt', 'normEps'], kind: 'number', doc: 'RMSNorm eps (1e-5)' },
};

/** Targets naming the Transformer class itself: dim, n_layer and n_head come from params. */
export const GPT_CLASS_TARGETS = ['semanticist.stage2.gpt.Transformer', 'Transformer', 'GPT'];

/**
 * gpt_model.target → the GPT_SIZES preset it names ('GPT-L', 'GPT_L', 'semanticist.stage2.gpt.GPT_L'
 * all give 'GPT-L'), null for the class itself; unknown → error listing the valid targets.
 */
export function gptPresetOfTarget(target: unknown, where = 'gpt_model.target'): GptName | null {
  if (typeof target !== 'string') throw new TypeError(`${where}: expected a string (a GPT preset such as 'GPT-L'), got ${JSON.stringify(target)}`);
  if (GPT_CLASS_TARGETS.includes(target)) return null;
  const bare = target.startsWith('semanticist.stage2.gpt.') ? target.slice('semanticist.stage2.gpt.'.length) : target;
  const name = bare.replace(/_/g, '-');
  if (name in GPT_SIZES) return name as GptName;
  throw new Error(`${where}: unknown GPT '${target}' (valid: ${Object.keys(GPT_SIZES).join(', ')}; upstream's GPT_L-style names and ${GPT_CLASS_TARGETS.join(', ')} with dim/n_layer/n_head in params)`);
}

/** What a gpt_model entry describes. */
export interface GptModelConfig {
  /** The target as written. */
  target: string;
  /** The preset it names, or null for the Transformer class with explicit sizes. */
  preset: GptName | null;
  /** The backbone's options (every upstream default filled in). */
  gpt: GptOptions;
  /** The diffusion head's options, targetChannels = slot_dim and zChannels = dim included. */
  head: DiffLossOptions;
  /** params.ckpt_path, with YAML's None / null / '' as null. */
  ckptPath: string | null;
}

function typeOk(kind: Kind, v: unknown): boolean {
  switch (kind) {
    case 'integer': return Number.isInteger(v);
    case 'number': return typeof v === 'number' && Number.isFinite(v);
    case 'boolean': return typeof v === 'boolean';
    case 'string': return typeof v === 'string';
    case 'steps': return typeof v === 'string' || Number.isInteger(v);
    case 'object': return v !== null && typeof v === 'object' && !Array.isArray(v);
    case 'any': return true;
  }
}

const kindName = (k: Kind) => (k === 'integer' ? 'an integer' : k === 'steps' ? "a step count ('100' or 100)" : k === 'object' ? 'a mapping' : `a ${k}`);

/** YAML's None / null / '' / 'none' → null (upstream writes `ckpt_path: None`, which YAML reads as the string 'None'). */
export function noneToNull(v: unknown): unknown {
  return v === undefined || v === null || v === '' || (typeof v === 'string' && v.toLowerCase() === 'none') ? null : v;
}

/** target + params (snake_case) of a gpt_model entry → options. */
export function gptOptionsFromParams(target: unknown, params: Record<string, unknown> | null | undefined, where = 'gpt_model'): GptModelConfig {
  const preset = gptPresetOfTarget(target, `${where}.target`);
  if (params !== undefined && params !== null && (typeof params !== 'object' || Array.isArray(params)))
    throw new TypeError(`${where}.params: expected a mapping, got ${JSON.stringify(params)}`);
  const p = params ?? {};
  const gpt: Record<string, unknown> = {};
  const head: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(p)) {
    const spec = GPT_PARAM_KEYS[key];
    if (!spec) throw new Error(`${where}.params: unknown key '${key}' (valid: ${Object.keys(GPT_PARAM_KEYS).join(', ')})`);
    if (!(spec.nullable && noneToNull(value) === null) && !typeOk(spec.kind, value))
      throw new TypeError(`${where}.params.${key} must be ${kindName(spec.kind)}, got ${JSON.stringify(value)}`);
    if (preset && (key === 'dim' || key === 'n_layer' || key === 'n_head'))
      throw new Error(`${where}.params.${key}: target '${target}' sets dim, n_layer and n_head (${JSON.stringify(GPT_SIZES[preset])}); give them only with target 'Transformer'`);
  }
  for (const [key, spec] of Object.entries(GPT_PARAM_KEYS)) {
    if (!spec.to) continue;
    let v = key in p ? p[key] : spec.upstreamDefault;
    if (v === undefined) continue;
    if (spec.nullable) v = noneToNull(v);
    if (key === 'num_sampling_steps') v = String(v);
    (spec.to[0] === 'gpt' ? gpt : head)[spec.to[1]] = v;
  }
  if (preset) Object.assign(gpt, GPT_SIZES[preset]);
  else for (const k of ['dim', 'n_layer', 'n_head'] as const)
    if (!(k in p)) throw new Error(`${where}.params.${k} is required with target '${target}' (or name a preset: ${Object.keys(GPT_SIZES).join(', ')})`);
  const gptOpts = gpt as unknown as GptOptions;
  if (head.condMethod !== 'concat' && head.condMethod !== 'adaln')
    throw new Error(`${where}.params.cond_method: '${String(head.condMethod)}' is not supported (valid: concat, adaln)`);
  const ckpt = noneToNull(p.ckpt_path);
  if (ckpt !== null && typeof ckpt !== 'string') throw new TypeError(`${where}.params.ckpt_path must be a path or None, got ${JSON.stringify(p.ckpt_path)}`);
  return {
    target: target as string, preset, gpt: gptOpts,
    head: { ...(head as Omit<DiffLossOptions, 'targetChannels' | 'zChannels'>), targetChannels: gptOpts.slotDim, zChannels: gptOpts.dim } as DiffLossOptions,
    ckptPath: ckpt as string | null,
  };
}

function readConfig(config: string | Record<string, any>): Record<string, any> {
  if (typeof config !== 'string') return config;
  if (!existsSync(config)) throw new Error(`config file not found: ${config}`);
  return parse(readFileSync(config, 'utf8')) ?? {};
}

/**
 * The GPT of a config: a file or object in the upstream layout (trainer.params.gpt_model), an
 * object with a top-level gpt_model, or a bare gpt_model entry ({target, params}).
 */
export function gptOptionsFromConfig(config: string | Record<string, any>): GptModelConfig {
  const cfg = readConfig(config);
  let entry: any, where: string;
  if (cfg?.trainer) { entry = cfg.trainer?.params?.gpt_model; where = 'trainer.params.gpt_model'; }
  else if (cfg?.gpt_model) { entry = cfg.gpt_model; where = 'gpt_model'; }
  else { entry = cfg; where = 'gpt_model'; }
  if (!entry || typeof entry !== 'object' || Array.isArray(entry)) throw new Error(`${where}: missing (expected {target, params})`);
  for (const k of Object.keys(entry)) if (k !== 'target' && k !== 'params') throw new Error(`${where}: unknown key '${k}' (valid: target, params)`);
  if (entry.target === undefined) throw new Error(`${where}.target: missing (a GPT preset such as 'GPT-L')`);
  return gptOptionsFromParams(entry.target, entry.params, where);
}

/** A freshly initialised GPT with its diffusion head, as upstream GPT_models[target](**params). */
export function buildGptFromConfig(config: string | Record<string, any> | GptModelConfig): GPT<DiffLoss> {
  const c = isModelConfig(config) ? config : gptOptionsFromConfig(config);
  return new GPT<DiffLoss>(c.gpt, () => new DiffLoss(c.head));
}

function isModelConfig(x: unknown): x is GptModelConfig {
  return !!x && typeof x === 'object' && 'gpt' in x && 'head' in x && 'preset' in x;
}

/**
 * The diffusion head's parameter count from its sizes (no model is built): SimpleMLPAdaLN with a
 * 256-frequency time MLP. GPT-L's head (12 × 1536, concat, 16 channels, z 1024): 179,125,264.
 */
export function diffLossParamCount(h: DiffLossOptions): number {
  const w = h.width, C = h.targetChannels, zD = h.zChannels;
  const concat = (h.condMethod ?? 'concat') === 'concat';
  const lin = (i: number, o: number) => i * o + o;
  const block = 2 * w + lin(w, 3 * w) + lin(concat ? 2 * w : w, w) + lin(w, w);
  return lin(256, w) + lin(w, w)            // time_embed.mlp.{0,2}
    + lin(zD, w) + lin(C, w)                // cond_embed, input_proj
    + h.depth * block                       // res_blocks
    + lin(w, 2 * w) + lin(concat ? 2 * w : w, C); // final_layer (norm_final has no affine)
}

/** Backbone + head parameter counts of a gpt_model entry, from the sizes alone. */
export function gptParamCount(config: string | Record<string, any> | GptModelConfig): { backbone: number; head: number; total: number } {
  const c = isModelConfig(config) ? config : gptOptionsFromConfig(config);
  const backbone = gptBackboneParamCount(c.gpt), head = diffLossParamCount(c.head);
  return { backbone, head, total: backbone + head };
}

// ---- the whole AR config -----------------------------------------------------------------------

/** Names accepted for trainer.target of an AR config. */
export const AR_TRAINER_TARGETS = ['semanticist.engine.gpt_trainer.GPTTrainer', 'GPTTrainer'];

interface TrainerKey { kind: Kind; default?: unknown; nullable?: boolean; doc: string }

/** trainer.params of an AR config: upstream GPTTrainer's arguments and defaults (SPEC §3.2). */
export const AR_TRAINER_KEYS: Record<string, TrainerKey> = {
  ae_model: { kind: 'object', doc: '{target, params} of the frozen tokenizer (params.ckpt_path: its weights)' },
  gpt_model: { kind: 'object', doc: '{target, params} of the GPT' },
  dataset: { kind: 'object', doc: '{target, params} of the training data' },
  test_only: { kind: 'boolean', default: false, doc: 'evaluation only' },
  num_test_images: { kind: 'integer', default: 50000, doc: 'images generated for FID in test mode' },
  num_epoch: { kind: 'integer', default: 400, doc: 'epochs to train' },
  eval_classes: { kind: 'any', default: [1, 7, 282, 604, 724, 207, 250, 751, 404, 850], doc: 'classes of the sample grids' },
  blr: { kind: 'number', default: 1e-4, doc: 'base lr; lr = blr · effective batch / 256' },
  cosine_lr: { kind: 'boolean', default: false, doc: 'cosine decay after warmup (else constant)' },
  lr_min: { kind: 'number', default: 0, doc: 'final lr of the cosine schedule' },
  warmup_epochs: { kind: 'number', default: 100, nullable: true, doc: 'warmup length in epochs' },
  warmup_steps: { kind: 'integer', nullable: true, doc: 'warmup length in steps (overridden by warmup_epochs upstream)' },
  warmup_lr_init: { kind: 'number', default: 0, doc: 'lr at the start of the warmup' },
  decay_steps: { kind: 'integer', nullable: true, doc: 'StepLR period (constant schedule)' },
  batch_size: { kind: 'integer', default: 32, doc: 'per-process batch size' },
  cache_bs: { kind: 'integer', default: 8, doc: 'images per batch while building the token cache' },
  test_bs: { kind: 'integer', default: 100, doc: 'batch size in test mode' },
  num_workers: { kind: 'integer', default: 8, doc: 'data-loading workers' },
  pin_memory: { kind: 'boolean', default: false, doc: 'batches pass through pinned host memory and are copied to a CUDA device asynchronously (CUDA jobs only)' },
  max_grad_norm: { kind: 'number', nullable: true, doc: 'gradient clipping norm (None: none)' },
  grad_accum_steps: { kind: 'integer', default: 1, doc: 'micro-batches per optimizer step' },
  precision: { kind: 'string', default: 'bf16', doc: "'bf16' (autocast on the job's device, fp32 master weights), 'fp16' (autocast + dynamic loss scaling: CUDA, or CPU where libtorch has fp16 autocast) or 'fp32' ('no' = fp32)" },
  save_every: { kind: 'integer', default: 10000, doc: 'checkpoint every N steps' },
  sample_every: { kind: 'integer', default: 1000, doc: 'sample grid every N steps' },
  fid_every: { kind: 'integer', default: 50000, doc: 'FID every N steps (with eval_fid)' },
  result_folder: { kind: 'string', default: './output/autoregressive', doc: 'run folder (models/, images/, logs/)' },
  log_dir: { kind: 'string', default: './log', doc: 'TensorBoard folder' },
  ae_cfg: { kind: 'number', default: 1.0, doc: "the tokenizer decoder's CFG scale" },
  cfg: { kind: 'number', default: 6.0, doc: "the GPT's CFG scale" },
  cfg_schedule: { kind: 'string', default: 'linear', doc: "'linear' or 'constant'" },
  temperature: { kind: 'number', default: 1.0, doc: "scales the head's SDE noise" },
  train_num_slots: { kind: 'integer', nullable: true, doc: 'tokens trained on (default: the tokenizer\'s num_slots)' },
  test_num_slots: { kind: 'integer', nullable: true, doc: 'tokens generated (at most train_num_slots)' },
  eval_fid: { kind: 'boolean', default: false, doc: 'compute FID during training' },
  fid_stats: { kind: 'string', nullable: true, doc: 'reference statistics for FID' },
  enable_ema: { kind: 'boolean', default: false, doc: 'EMA of the weights (0.999)' },
  compile: { kind: 'boolean', default: false, doc: 'accepted for compatibility (no compiler here)' },
  enable_cache_latents: { kind: 'boolean', default: true, doc: 'encode the dataset once into a token cache' },
  cache_dir: { kind: 'string', nullable: true, doc: "token cache folder (default result_folder/slot_cache; upstream: /dev/shm/slot_cache)" },
  // ours (as the tokenizer trainer's)
  seed: { kind: 'integer', default: 0, doc: 'seed for init, data order and noise' },
  ema_decay: { kind: 'number', default: 0.999, doc: 'EMA decay' },
  keep_last: { kind: 'integer', default: 3, doc: 'checkpoints to keep' },
  max_steps: { kind: 'integer', nullable: true, doc: 'stop after this many steps (default: num_epoch epochs)' },
  threads: { kind: 'integer', nullable: true, doc: 'intra-op threads (default: cores)' },
  eval_steps: { kind: 'string', nullable: true, doc: "tokenizer decoder steps for sample grids (default: the tokenizer's)" },
  eval_sampler: { kind: 'string', default: 'ddpm', doc: "tokenizer decoder sampler for sample grids: 'ddpm' or 'ddim'" },
  ...DDP_KEYS,
  ...DEVICE_KEYS,
};

export interface ArConfig {
  target: string;
  /** trainer.params with GPTTrainer's defaults filled in (None → null). */
  params: Record<string, any>;
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
 * GPT trainer, trainer.params keys are AR_TRAINER_KEYS (unknown → error naming the key and listing
 * the valid ones; values type-checked), gpt_model is checked by gptOptionsFromParams. ae_model is
 * checked when the tokenizer is built (Tokenizer's config schema).
 */
export function loadArConfig(config: string | Record<string, any>, overrides: string[] = []): ArConfig {
  const file = typeof config === 'string' ? config : '<config>';
  const raw = structuredClone(readConfig(config));
  for (const o of overrides) applyOverride(raw, o);
  const trainer = raw?.trainer;
  if (!trainer || typeof trainer !== 'object') throw new Error(`${file}: missing 'trainer' (expected trainer.target and trainer.params)`);
  for (const k of Object.keys(raw)) if (k !== 'trainer') throw new Error(`${file}: unknown top-level key '${k}' (valid: trainer)`);
  for (const k of Object.keys(trainer)) if (k !== 'target' && k !== 'params') throw new Error(`${file}: unknown key 'trainer.${k}' (valid: target, params)`);
  if (trainer.target !== undefined && !AR_TRAINER_TARGETS.includes(trainer.target))
    throw new Error(`${file}: trainer.target '${trainer.target}' is not the AR trainer (expected ${AR_TRAINER_TARGETS.join(' or ')})`);
  const params: Record<string, any> = {};
  for (const [k, spec] of Object.entries(AR_TRAINER_KEYS)) params[k] = spec.default ?? null;
  for (const [k, v] of Object.entries(trainer.params ?? {})) {
    const spec = AR_TRAINER_KEYS[k];
    if (!spec) throw new Error(`${file}: unknown key 'trainer.params.${k}' (valid: ${Object.keys(AR_TRAINER_KEYS).join(', ')})`);
    const value = spec.nullable ? noneToNull(v) : v;
    if (!(spec.nullable && value === null) && !typeOk(spec.kind, value))
      throw new TypeError(`${file}: trainer.params.${k} must be ${kindName(spec.kind)}, got ${JSON.stringify(v)}`);
    params[k] = value;
  }
  if (!['bf16', 'fp16', 'fp32', 'no'].includes(params.precision)) throw new Error(`${file}: trainer.params.precision must be 'bf16', 'fp16' or 'fp32', got '${params.precision}'`);
  if (!['linear', 'constant'].includes(params.cfg_schedule)) throw new Error(`${file}: trainer.params.cfg_schedule must be 'linear' or 'constant', got '${params.cfg_schedule}'`);
  if (!params.gpt_model) throw new Error(`${file}: trainer.params.gpt_model is required`);
  if (!params.ae_model) throw new Error(`${file}: trainer.params.ae_model is required`);
  const gm = params.gpt_model;
  for (const k of Object.keys(gm)) if (k !== 'target' && k !== 'params') throw new Error(`${file}: unknown key 'trainer.params.gpt_model.${k}' (valid: target, params)`);
  const gptModel = gptOptionsFromParams(gm.target, gm.params, 'trainer.params.gpt_model');
  const ae = params.ae_model;
  for (const k of Object.keys(ae)) if (k !== 'target' && k !== 'params') throw new Error(`${file}: unknown key 'trainer.params.ae_model.${k}' (valid: target, params)`);
  if (ae.params !== undefined && (typeof ae.params !== 'object' || ae.params === null || Array.isArray(ae.params)))
    throw new TypeError(`${file}: trainer.params.ae_model.params must be a mapping`);
  const text = typeof config === 'string' && !overrides.length ? readFileSync(config, 'utf8')
    : `${typeof config === 'string' ? `# ${config} with --opt ${overrides.join(' --opt ')}\n` : ''}${stringify(raw)}`;
  return { target: String(trainer.target ?? ''), params, gptModel, aeModel: { target: ae.target, params: ae.params ?? {} }, raw, text };
}
