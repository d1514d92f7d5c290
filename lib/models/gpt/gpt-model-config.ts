// ϵLlamaGen's gpt_model entry in the upstream schema (configs/autoregressive_*.yaml,
// docs/upstream/configs.md): {target, params} → the backbone's and the diffusion head's options.
//
//   gptOptionsFromConfig(config)  gpt_model → { gpt: GptOptions, head: DiffLossOptions, ... }
//   buildGptFromConfig(config)    → GPT<DiffLoss> (freshly initialised, as upstream GPT_models[target](**params))
//
// The whole AR config (trainer.params of GPTTrainer) is lib/train/ar-trainer-config.ts.
//
// gpt_model.target is a GPT_SIZES preset ('GPT-L', ...; upstream's GPT_models keys), also spelled as
// upstream's factory functions ('GPT_L', 'semanticist.stage2.gpt.GPT_L'); or the class itself
// ('Transformer', 'semanticist.stage2.gpt.Transformer', 'GPT'), which needs dim, n_layer and n_head
// in params. gpt_model.params are upstream Transformer's keyword arguments, snake_case; a key that
// is absent takes upstream Transformer's default — including use_si False (the cosine-DDPM head) and
// cond_method 'adaln' (both upstream configs set use_si: True and concat) and num_slots 16 /
// slot_dim 256. The keys are checked by lib/config/schema.ts: an unknown or misspelled key is an
// error that names it (upstream's **kwargs swallows it silently), values are type-checked, and a
// setting that would have no effect (num_sampling_steps with the SiT head) is refused.
import { readConfig } from '../../config/config-file.js';
import { checkParams, type KeySpec } from '../../config/schema.js';
import { GPT, GPT_SIZES, gptBackboneParamCount, type GptName, type GptOptions } from './gpt.js';
import { DiffLoss, type DiffLossOptions } from './diffloss.js';

interface GptKeySpec extends KeySpec {
  /** Where the value goes: a GptOptions field, a DiffLossOptions field, or null (used by the loader, not the model). */
  readonly to: readonly ['gpt', keyof GptOptions] | readonly ['head', keyof DiffLossOptions] | null;
}

const withSi = (p: Readonly<Record<string, unknown>>) => (p.use_si ? 'use_si is true: the SiT head samples with its own 250-step SDE' : null);

/** gpt_model.params: upstream Transformer's keyword arguments (defaults are upstream's) and ckpt_path, then ours. */
export const GPT_PARAM_KEYS = {
  dim: { to: ['gpt', 'dim'], kind: 'integer', doc: "width (only with target 'Transformer'; a preset sets it)" },
  n_layer: { to: ['gpt', 'nLayer'], kind: 'integer', doc: "blocks (only with target 'Transformer')" },
  n_head: { to: ['gpt', 'nHead'], kind: 'integer', doc: "attention heads (only with target 'Transformer')" },
  attn_dropout_p: { to: ['gpt', 'attnDropoutP'], kind: 'number', default: 0.0, doc: 'attention-probability dropout' },
  resid_dropout_p: { to: ['gpt', 'residDropoutP'], kind: 'number', default: 0.1, doc: 'dropout after wo' },
  ffn_dropout_p: { to: ['gpt', 'ffnDropoutP'], kind: 'number', default: 0.1, doc: 'dropout after w2' },
  drop_path_rate: { to: ['gpt', 'dropPathRate'], kind: 'number', default: 0.0, doc: 'stochastic depth' },
  num_classes: { to: ['gpt', 'numClasses'], kind: 'integer', default: 1000, doc: 'class count (the null class is num_classes)' },
  class_dropout_prob: { to: ['gpt', 'classDropoutProb'], kind: 'number', default: 0.1, doc: 'label drop for CFG in training' },
  cls_token_num: { to: ['gpt', 'clsTokenNum'], kind: 'integer', default: 1, doc: 'class-embedding copies at the start' },
  num_slots: { to: ['gpt', 'numSlots'], kind: 'integer', default: 16, doc: 'tokens per image the GPT models' },
  slot_dim: { to: ['gpt', 'slotDim'], kind: 'integer', default: 256, doc: "token channels (the tokenizer's slot_dim)" },
  diffloss_d: { to: ['head', 'depth'], kind: 'integer', default: 3, doc: "the diffusion head's residual blocks" },
  diffloss_w: { to: ['head', 'width'], kind: 'integer', default: 1024, doc: "the diffusion head's width" },
  num_sampling_steps: { to: ['head', 'numSamplingSteps'], kind: 'steps', default: '100', doc: 'DDPM head sampling steps (use_si False)', inert: withSi },
  diffusion_batch_mul: { to: ['head', 'diffusionBatchMul'], kind: 'integer', default: 4, doc: 'repeats of each (token, condition) row in the loss' },
  predict_xstart: {
    to: ['head', 'predictXstart'],
    kind: 'boolean',
    default: false,
    doc: 'DDPM head: the network predicts x0 instead of the noise',
    inert: withSi,
  },
  use_si: { to: ['head', 'useSi'], kind: 'boolean', default: false, doc: 'the SiT flow-matching head (True, both configs) or the cosine-DDPM head (False)' },
  cond_method: { to: ['head', 'condMethod'], kind: 'string', values: ['concat', 'adaln'], default: 'adaln', doc: "'concat' (the configs) or 'adaln'" },
  ckpt_path: { to: null, kind: 'string', nullable: true, doc: 'GPT weights to load (a file or a step folder; None: none)' },
  // ours (upstream never forwards them; its values are the defaults)
  multiple_of: { to: ['gpt', 'multipleOf'], kind: 'integer', doc: 'ours: SwiGLU width rounding (256)' },
  ffn_dim_multiplier: { to: ['gpt', 'ffnDimMultiplier'], kind: 'number', nullable: true, doc: "ours: LlamaGen's FFN width multiplier (none)" },
  norm_eps: { to: ['gpt', 'normEps'], kind: 'number', doc: 'ours: RMSNorm eps (1e-5)' },
} as const satisfies Record<string, GptKeySpec>;

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
  throw new Error(
    `${where}: unknown GPT '${target}' (valid: ${Object.keys(GPT_SIZES).join(', ')}; upstream's GPT_L-style names and ${GPT_CLASS_TARGETS.join(', ')} with dim/n_layer/n_head in params)`,
  );
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

/** target + params (snake_case) of a gpt_model entry → options. */
export function gptOptionsFromParams(target: unknown, params: Record<string, unknown> | null | undefined, where = 'gpt_model', file = ''): GptModelConfig {
  const preset = gptPresetOfTarget(target, `${where}.target`);
  const given = params ?? {};
  const p = checkParams(GPT_PARAM_KEYS, params, { file, path: `${where}.params` });
  const gpt: Record<string, unknown> = {};
  const head: Record<string, unknown> = {};
  for (const k of ['dim', 'n_layer', 'n_head'] as const) {
    if (preset && k in given)
      throw new Error(
        `${where}.params.${k}: target '${String(target)}' sets dim, n_layer and n_head (${JSON.stringify(GPT_SIZES[preset])}); give them only with target 'Transformer'`,
      );
    if (!preset && p[k] === null)
      throw new Error(`${where}.params.${k} is required with target '${String(target)}' (or name a preset: ${Object.keys(GPT_SIZES).join(', ')})`);
  }
  for (const [key, spec] of Object.entries(GPT_PARAM_KEYS) as [keyof typeof GPT_PARAM_KEYS, GptKeySpec][]) {
    const v = p[key];
    if (!spec.to || v === null) continue;
    (spec.to[0] === 'gpt' ? gpt : head)[spec.to[1]] = v;
  }
  if (preset) Object.assign(gpt, GPT_SIZES[preset]);
  const gptOpts = gpt as unknown as GptOptions;
  return {
    target: target as string,
    preset,
    gpt: gptOpts,
    head: { ...(head as Omit<DiffLossOptions, 'targetChannels' | 'zChannels'>), targetChannels: gptOpts.slotDim, zChannels: gptOpts.dim } as DiffLossOptions,
    ckptPath: p.ckpt_path,
  };
}

/**
 * The GPT of a config: a file or object in the upstream layout (trainer.params.gpt_model), an
 * object with a top-level gpt_model, or a bare gpt_model entry ({target, params}).
 */
export function gptOptionsFromConfig(config: string | Record<string, any>): GptModelConfig {
  const { raw: cfg, file } = readConfig(config);
  let entry: any, where: string;
  if (cfg?.trainer) {
    entry = cfg.trainer?.params?.gpt_model;
    where = 'trainer.params.gpt_model';
  } else if (cfg?.gpt_model) {
    entry = cfg.gpt_model;
    where = 'gpt_model';
  } else {
    entry = cfg;
    where = 'gpt_model';
  }
  if (!entry || typeof entry !== 'object' || Array.isArray(entry)) throw new Error(`${where}: missing (expected {target, params})`);
  for (const k of Object.keys(entry)) if (k !== 'target' && k !== 'params') throw new Error(`${where}: unknown key '${k}' (valid: target, params)`);
  if (entry.target === undefined) throw new Error(`${where}.target: missing (a GPT preset such as 'GPT-L')`);
  return gptOptionsFromParams(entry.target, entry.params, where, file === '<config>' ? '' : file);
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
  const w = h.width,
    C = h.targetChannels,
    zD = h.zChannels;
  const concat = (h.condMethod ?? 'concat') === 'concat';
  const lin = (i: number, o: number) => i * o + o;
  const block = 2 * w + lin(w, 3 * w) + lin(concat ? 2 * w : w, w) + lin(w, w);
  return (
    lin(256, w) +
    lin(w, w) + // time_embed.mlp.{0,2}
    lin(zD, w) +
    lin(C, w) + // cond_embed, input_proj
    h.depth * block + // res_blocks
    lin(w, 2 * w) +
    lin(concat ? 2 * w : w, C)
  ); // final_layer (norm_final has no affine)
}

/** Backbone + head parameter counts of a gpt_model entry, from the sizes alone. */
export function gptParamCount(config: string | Record<string, any> | GptModelConfig): { backbone: number; head: number; total: number } {
  const c = isModelConfig(config) ? config : gptOptionsFromConfig(config);
  const backbone = gptBackboneParamCount(c.gpt),
    head = diffLossParamCount(c.head);
  return { backbone, head, total: backbone + head };
}
