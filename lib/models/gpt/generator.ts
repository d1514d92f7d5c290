// Class → tokens → images with ϵLlamaGen and the Semanticist tokenizer (SPEC §4.5; upstream
// gen_demo.py / ar_gen.ipynb / GPTTrainer.evaluate), holding both models:
//
//   const g = ImageGenerator.fromPretrained({ config: 'configs/autoregressive_l.yaml',
//     checkpoint: 'semanticist_ar_gen_L_on_tok_L.pkl', tokenizerCheckpoint: 'semanticist_tok_L.pkl',
//     vae: 'weights/mar-vae-kl16' });
//   const tokens = g.generateTokens([229, 207], { cfg: 6, cfgSchedule: 'linear', seed: 0 });  // (2, 32, 16)
//   const images = g.tokensToImages(tokens, { aeCfg: 1 });                                    // (2, 3, 256, 256) in [0, 1]
//   const byPrefix = g.generate([229], { prefixes: [1, 2, 4, 8, 16, 32] });                  // Map k → images
//   g.dispose();
//
// tokensToImages follows upstream: the n generated tokens get null_cond[:, n:numSlots] appended
// (the tokenizer decodes numSlots tokens), then DiffuseSlot.sample with drop_mask None — the null
// tokens act as a first-n mask — and the VAE decode. Decoding only a prefix k < n uses the first-k
// drop mask (as the demo and notebook do), so positions ≥ k take null_cond. Both give the same
// result for k = n: the DiT's embed_cond replaces masked positions by null_cond, which is what they
// already hold.
//
// The class is named ImageGenerator, not Generator: torch.Generator (lib/torch.ts, the RNG) already
// owns that name.
//
// Checkpoints are read as they are: the official semanticist_ar_gen_L*.pkl (a flat torch.save dict
// of the EMA weights), upstream step folders (custom_checkpoint_1.pkl: the EMA dict), our trainer's
// step folders (ema.safetensors), model.safetensors, or a dict nesting the weights under an EMA /
// model entry (picked and reported). `_orig_mod` (torch.compile) and `module` (DDP) key segments are
// removed; the weights are loaded non-strictly, as upstream, and `loadReport` lists what was
// loaded, missing or ignored. A file none of whose keys is a GPT weight is an error.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor } from '../../core/tensor.js';
import { scope } from '../../core/scope.js';
import { noGrad, autocast } from '../../core/modes.js';
import { cat } from '../../core/functions.js';
import { tensor } from '../../core/creation.js';
import { seededGenerator, type Generator as TorchGenerator } from '../../core/random.js';
import { deviceType } from '../../core/device.js';
import type { DType } from '../../core/dtype.js';
import { load, mapKeys, CheckpointError } from '../../serialization/index.js';
import { Tokenizer, type SampleOptions } from '../tokenizer/tokenizer.js';
import type { GPT } from './gpt.js';
import type { DiffLoss } from './diffloss.js';
import { generate as arGenerate } from './generate.js';
import { loadArConfig, buildGptFromConfig, noneToNull, type ArConfig } from './config.js';

const shapeStr = (t: Tensor) => `(${t.shape.join(', ')})`;

/** Files a step folder may hold, in order of preference (EMA first, as upstream's test mode). */
const STEP_FOLDER_FILES: [string, string][] = [
  ['ema.safetensors', 'the EMA weights (our trainer)'],
  ['custom_checkpoint_1.pkl', 'the EMA weights (upstream trainer)'],
  ['model.safetensors', 'the raw (non-EMA) weights'],
];

/** A weights file, or the preferred file of a step folder (noted in `notes`). */
export function resolveWeightsFile(path: string, notes: string[] = [], what = 'weights'): string {
  if (!existsSync(path)) throw new Error(`${what} not found: ${path}`);
  if (!statSync(path).isDirectory()) return path;
  for (const [name, why] of STEP_FOLDER_FILES) {
    const f = join(path, name);
    if (existsSync(f)) { notes.push(`${path} is a step folder: using ${name}, ${why}`); return f; }
  }
  throw new Error(`${path}: a folder without ${what} (looked for ${STEP_FOLDER_FILES.map(([n]) => n).join(', ')})`);
}

/** Sub-dicts a checkpoint may nest its weights under: EMA entries first, then the raw model. */
const EMA_ENTRIES = ['ema', 'ema_state_dict', 'model_ema', 'ema_model', 'ema_params'];
const MODEL_ENTRIES = ['state_dict', 'model', 'model_state_dict', 'module', 'gpt', 'gpt_model'];

const describe = (x: unknown) => (x === null ? 'None' : Array.isArray(x) ? 'a list' : x instanceof Tensor ? 'a tensor' : typeof x);

/**
 * A GPT checkpoint (file or step folder) as a flat state dict with upstream's key conventions undone:
 * an EMA / model sub-dict is picked when the file nests one, `_orig_mod` and `module` key segments
 * are removed, KV-cache buffers are set aside. `notes` says what was done.
 */
export function readGptCheckpoint(path: string): { sd: Map<string, Tensor>; file: string; notes: string[] } {
  const notes: string[] = [];
  const file = resolveWeightsFile(path, notes, 'GPT weights');
  let dict: unknown = load(file, { mapLocation: 'cpu' });
  for (let depth = 0; ; depth++) {
    if (!(dict instanceof Map)) throw new CheckpointError(file, `not a state dict: the checkpoint holds ${describe(dict)}`);
    const d = dict as Map<unknown, unknown>;
    if (![...d.values()].some((v) => v instanceof Map)) break;
    const entry = [...EMA_ENTRIES, ...MODEL_ENTRIES].find((k) => d.get(k) instanceof Map);
    if (!entry || depth >= 2)
      throw new CheckpointError(file, `no state dict found among the entries ${[...d.keys()].map(String).join(', ')} (expected name → tensor, or the weights under one of ${[...EMA_ENTRIES, ...MODEL_ENTRIES].join(', ')})`);
    const others = [...d.keys()].filter((k) => k !== entry).map(String);
    notes.push(`${file}: the weights are the '${entry}' entry${EMA_ENTRIES.includes(entry) ? ' (the EMA weights)' : ''}${others.length ? `; ignored: ${others.join(', ')}` : ''}`);
    dict = d.get(entry);
  }
  const flat = new Map<string, Tensor>();
  const nonTensor: string[] = [];
  for (const [k, v] of dict as Map<unknown, unknown>) {
    if (typeof k !== 'string') throw new CheckpointError(file, `not a state dict: key ${String(k)} is not a string`);
    if (v instanceof Tensor) flat.set(k, v); else nonTensor.push(`${k} (${describe(v)})`);
  }
  if (nonTensor.length) notes.push(`${nonTensor.length} non-tensor entr${nonTensor.length === 1 ? 'y' : 'ies'} ignored: ${nonTensor.join(', ')}`);
  let renamed = 0;
  const sd = mapKeys(flat, (k) => {
    const nk = k.split('.').filter((s) => s !== '_orig_mod' && s !== 'module').join('.');
    if (nk !== k) renamed++;
    return nk;
  });
  if (renamed) notes.push(`${renamed} key(s) renamed: '_orig_mod.' / 'module.' segments removed (torch.compile / DDP wrappers)`);
  const cacheKeys = [...sd.keys()].filter((k) => /(^|\.)kv_cache\./.test(k) || k === 'causal_mask');
  for (const k of cacheKeys) { sd.get(k)!.dispose(); sd.delete(k); }
  if (cacheKeys.length) notes.push(`${cacheKeys.length} KV-cache buffer(s) ignored (rebuilt for each generation)`);
  return { sd, file, notes };
}

/** Loads a GPT checkpoint into gpt (non-strict, dtype-cast); returns the report lines. */
export function loadGptCheckpoint(gpt: GPT, path: string): string[] {
  return scope(() => {
    const { sd, file, notes } = readGptCheckpoint(path);
    const r = gpt.loadStateDict(sd, { strict: false, castDtype: true });
    const loaded = sd.size - r.unexpectedKeys.length;
    if (loaded === 0)
      throw new Error(`${file}: none of its ${sd.size} keys is a GPT weight (first keys: ${[...sd.keys()].slice(0, 4).join(', ')}); is it a GPT checkpoint?`);
    const report = [`${file}: ${loaded} tensors loaded`, ...notes];
    if (r.missingKeys.length) report.push(`missing (kept at their initial values): ${r.missingKeys.join(', ')}`);
    if (r.unexpectedKeys.length) report.push(`unexpected (ignored): ${r.unexpectedKeys.join(', ')}`);
    return report;
  });
}

/**
 * An AR config's ae_model entry → the tokenizer config and its ckpt_path (null when None or absent).
 * Upstream's ae_model params carry cond_method, an unused leftover DiffuseSlot swallows in **kwargs:
 * it is dropped here (after a type check).
 */
export function aeModelTokenizerConfig(aeModel: { target?: string; params?: Record<string, any> }): { config: Record<string, any>; ckptPath: unknown } {
  const { cond_method: condMethod, ...params } = aeModel.params ?? {};
  if (condMethod !== undefined && typeof condMethod !== 'string')
    throw new TypeError(`trainer.params.ae_model.params.cond_method must be a string, got ${JSON.stringify(condMethod)}`);
  const model = { ...(aeModel.target !== undefined ? { target: aeModel.target } : {}), params };
  return { config: { trainer: { params: { model } } }, ckptPath: noneToNull(params.ckpt_path) };
}

/** The GPT's tokens must be the tokenizer's: same channels, no more tokens than it decodes. */
export function checkGptTokenizerCompat(gpt: { numSlots: number; slotDim: number }, tok: { numSlots: number; slotDim: number }): void {
  if (gpt.slotDim !== tok.slotDim)
    throw new Error(`the GPT and the tokenizer disagree on the token width: the GPT models tokens of slot_dim ${gpt.slotDim} (gpt_model.params.slot_dim), the tokenizer's tokens have slot_dim ${tok.slotDim} (ae_model.params.slot_dim)`);
  if (gpt.numSlots > tok.numSlots)
    throw new Error(`the GPT models ${gpt.numSlots} tokens (gpt_model.params.num_slots) but the tokenizer decodes at most ${tok.numSlots} (ae_model.params.num_slots)`);
}

export interface ImageGeneratorFromPretrainedOptions {
  /** The AR config (upstream layout: trainer.params.{gpt_model, ae_model, cfg, ...}), a file or object. */
  config: string | Record<string, any>;
  /**
   * The GPT's weights (a file: semanticist_ar_gen_L.pkl, ema.safetensors, ...; or a step folder).
   * Default: gpt_model.params.ckpt_path. null: freshly initialised weights (tests).
   */
  checkpoint?: string | null;
  /**
   * The tokenizer: a tokenizer config (file or object, e.g. configs/tokenizer_xl.yaml) instead of
   * the AR config's ae_model, or a built Tokenizer (the generator takes it over: its dispose() frees
   * it; if fromPretrained throws, it is left to the caller).
   */
  tokenizer?: string | Record<string, any> | Tokenizer;
  /**
   * The tokenizer's weights (semanticist_tok_L.pkl, a step folder, ...). Default: ae_model.params.ckpt_path
   * when the tokenizer comes from the AR config. null: freshly initialised weights (tests).
   */
  tokenizerCheckpoint?: string | null;
  /** VAE weights (diffusers folder or checkpoint file); default: the tokenizer config's vae_checkpoint. */
  vae?: string;
  device?: string;
}

/** Amp for generation / decoding: upstream runs both under bf16 autocast. */
export type AutocastChoice = boolean | 'bfloat16' | 'float16';

export interface GenerateTokensOptions {
  /** Tokens to generate (default: the config's test_num_slots, as upstream; at most the GPT's num_slots). */
  numTokens?: number;
  /** The GPT's CFG scale (default: the config's cfg — 6.0 for L, 5.0 for XL). */
  cfg?: number;
  /** 'linear' or 'constant' (default: the config's cfg_schedule). */
  cfgSchedule?: 'linear' | 'constant';
  /** Scales the head's SDE noise (default: the config's temperature, 1.0). */
  temperature?: number;
  /** Seeds a generator for the head's draws (default: the global generator). */
  seed?: number;
  generator?: TorchGenerator;
  /** Run under autocast (true: bfloat16), with the KV cache in that dtype, as upstream. Default false. */
  autocast?: AutocastChoice;
}

export interface TokensToImagesOptions {
  /** Decode only the first k tokens (positions ≥ k take null_cond); default all n given. */
  numTokens?: number;
  /** The decoder's CFG scale (default: the config's ae_cfg, 1.0: none). */
  aeCfg?: number;
  /** Decoder respacing ('250', '25', ...; default: the tokenizer's num_sampling_steps). */
  steps?: string;
  /** Seed for the decoder's noise (default: the global generator). */
  seed?: number;
  sampler?: SampleOptions['sampler'];
  /** Replayed decoder draws (tests). */
  noise?: Tensor;
  stepNoise?: SampleOptions['stepNoise'];
  progress?: SampleOptions['progress'];
  /** Clamp the images to [0, 1] (default true; upstream's sample() returns them unclamped). */
  clamp?: boolean;
  autocast?: AutocastChoice;
}

export interface GenerateImagesOptions extends GenerateTokensOptions, Omit<TokensToImagesOptions, 'numTokens'> {
  /** Prefixes k to decode (each ≤ numTokens; default [numTokens]). The same tokens serve every k. */
  prefixes?: readonly number[];
}

export interface ImageGeneratorDefaults {
  numTokens: number;
  cfg: number;
  cfgSchedule: 'linear' | 'constant';
  temperature: number;
  aeCfg: number;
}

const ampDtype = (a: AutocastChoice | undefined): DType | null => (a === true ? 'bfloat16' : a ? a : null);

/** ϵLlamaGen + tokenizer (see the file header). */
export class ImageGenerator {
  readonly gpt: GPT<DiffLoss>;
  readonly tokenizer: Tokenizer;
  /** The AR config it came from (null when built from models). */
  readonly config: ArConfig | null;
  readonly defaults: ImageGeneratorDefaults;
  /** What loading did: files, sub-dicts, renamed / missing / ignored keys, of both models. */
  loadReport: string[];

  /**
   * Holds the two models (and takes them over: dispose() frees both), in eval mode. Throws when
   * the GPT's tokens are not the tokenizer's (slot_dim differs, or more tokens than it decodes).
   */
  constructor(gpt: GPT<DiffLoss>, tokenizer: Tokenizer, o: { config?: ArConfig | null; defaults?: Partial<ImageGeneratorDefaults>; loadReport?: string[] } = {}) {
    if (!gpt.diffloss) throw new Error('ImageGenerator: the GPT has no diffusion head (diffloss)');
    checkGptTokenizerCompat(gpt, { numSlots: tokenizer.numSlots, slotDim: tokenizer.options.slotDim });
    this.gpt = gpt;
    this.tokenizer = tokenizer;
    this.config = o.config ?? null;
    const P = this.config?.params;
    this.defaults = {
      numTokens: P ? ImageGenerator.upstreamNumTokens(P, gpt.numSlots, tokenizer.numSlots) : gpt.numSlots,
      cfg: P?.cfg ?? 1, cfgSchedule: P?.cfg_schedule ?? 'linear', temperature: P?.temperature ?? 1, aeCfg: P?.ae_cfg ?? 1,
      ...Object.fromEntries(Object.entries(o.defaults ?? {}).filter(([, v]) => v !== undefined)),
    };
    this.loadReport = o.loadReport ?? [];
    gpt.eval();
    tokenizer.eval();
  }

  /** Upstream's num_slots_to_gen: min(test_num_slots, train_num_slots), train_num_slots capped by the tokenizer; and ≤ the GPT's num_slots. */
  private static upstreamNumTokens(P: Record<string, any>, gptSlots: number, tokSlots: number): number {
    const train = Math.min(P.train_num_slots ?? tokSlots, tokSlots);
    const test = P.test_num_slots !== null && P.test_num_slots !== undefined ? Math.min(P.test_num_slots, train) : train;
    return Math.min(test, gptSlots);
  }

  /**
   * Builds both models from an AR config and loads their weights (see the options). The tokenizer
   * comes from Tokenizer.fromPretrained (its report lines are prefixed 'tokenizer: ').
   */
  static fromPretrained(o: ImageGeneratorFromPretrainedOptions): ImageGenerator {
    const cfg = loadArConfig(o.config);
    const report: string[] = [];
    let tok: Tokenizer;
    const given = o.tokenizer instanceof Tokenizer;
    if (o.tokenizer instanceof Tokenizer) {
      tok = o.tokenizer;
      if (o.device) tok.to(o.device);
      report.push('tokenizer: given as a built model');
    } else {
      tok = ImageGenerator.loadTokenizer(cfg, o, report);
    }
    let gpt: GPT<DiffLoss> | null = null;
    try {
      checkGptTokenizerCompat(cfg.gptModel.gpt as { numSlots: number; slotDim: number }, { numSlots: tok.numSlots, slotDim: tok.options.slotDim });
      gpt = buildGptFromConfig(cfg.gptModel);
      const ckpt = o.checkpoint !== undefined ? o.checkpoint : cfg.gptModel.ckptPath;
      if (ckpt === undefined || ckpt === null) {
        if (o.checkpoint !== null)
          throw new Error('ImageGenerator.fromPretrained: no GPT weights: give checkpoint (e.g. semanticist_ar_gen_L.pkl) or set gpt_model.params.ckpt_path (checkpoint: null for fresh weights)');
        report.push('gpt: no checkpoint: weights are freshly initialised');
      } else {
        report.push(...loadGptCheckpoint(gpt, ckpt).map((l) => `gpt: ${l}`));
      }
      if (o.device) gpt.to(o.device);
      return new ImageGenerator(gpt, tok, { config: cfg, loadReport: report });
    } catch (e) {
      gpt?.dispose();
      if (!given) tok.dispose();   // a tokenizer handed in stays the caller's until the generator exists
      throw e;
    }
  }

  private static loadTokenizer(cfg: ArConfig, o: ImageGeneratorFromPretrainedOptions, report: string[]): Tokenizer {
    let tokConfig: string | Record<string, any>;
    let defaultCkpt: unknown = null;
    let where: string;
    if (o.tokenizer !== undefined) {
      tokConfig = o.tokenizer as string | Record<string, any>;
      where = typeof o.tokenizer === 'string' ? o.tokenizer : 'the tokenizer config';
    } else {
      ({ config: tokConfig, ckptPath: defaultCkpt } = aeModelTokenizerConfig(cfg.aeModel));
      where = 'trainer.params.ae_model.params.ckpt_path';
    }
    const ckpt = o.tokenizerCheckpoint !== undefined ? o.tokenizerCheckpoint : defaultCkpt;
    let file: string | undefined;
    if (ckpt === null) {
      if (o.tokenizerCheckpoint !== null)
        throw new Error(`ImageGenerator.fromPretrained: no tokenizer weights${o.tokenizer !== undefined ? '' : ` (${where} is None)`}: give tokenizerCheckpoint (e.g. semanticist_tok_L.pkl or a step folder; null for fresh weights)`);
    } else {
      if (typeof ckpt !== 'string') throw new TypeError(`${where} must be a path, got ${JSON.stringify(ckpt)}`);
      if (!existsSync(ckpt))
        throw new Error(`tokenizer weights not found: ${ckpt}${o.tokenizerCheckpoint === undefined ? ` (${where}; upstream's configs point to result_folder/stepN/, without the models/ folder its trainer writes)` : ''}; pass tokenizerCheckpoint`);
      const notes: string[] = [];
      file = resolveWeightsFile(ckpt, notes, 'tokenizer weights');
      report.push(...notes.map((l) => `tokenizer: ${l}`));
    }
    let tok: Tokenizer & { loadReport: string[] };
    try {
      tok = Tokenizer.fromPretrained({ config: tokConfig, checkpoint: file, vae: o.vae, device: o.device });
    } catch (e) {
      // name the AR config's entry in schema errors
      if (o.tokenizer === undefined && e instanceof Error) e.message = e.message.replace(/trainer\.params\.model\b/g, 'trainer.params.ae_model');
      throw e;
    }
    report.push(...tok.loadReport.map((l) => `tokenizer: ${l}`));
    return tok;
  }

  get device(): string { return this.gpt.z_proj.weight.device; }

  /** Class labels (B) → generated tokens (B, n, slotDim), n = numTokens (upstream generate()). */
  generateTokens(labels: Tensor | readonly number[], o: GenerateTokensOptions = {}): Tensor {
    const n = o.numTokens ?? this.defaults.numTokens;
    if (!Number.isInteger(n) || n < 1 || n > this.gpt.numSlots)
      throw new Error(`ImageGenerator.generateTokens: numTokens must be an integer in 1..${this.gpt.numSlots} (the GPT's num_slots), got ${n}`);
    const device = this.device;
    const generator = o.generator ?? (o.seed !== undefined ? seededGenerator(device, o.seed) ?? undefined : undefined);
    const amp = ampDtype(o.autocast);
    return noGrad(() => scope(() => {
      const lab = labels instanceof Tensor ? labels.to({ device }) : tensor([...labels], { dtype: 'int64', device });
      const run = () => arGenerate(this.gpt, lab, n, {
        cfgScale: o.cfg ?? this.defaults.cfg, cfgSchedule: o.cfgSchedule ?? this.defaults.cfgSchedule,
        temperature: o.temperature ?? this.defaults.temperature, generator, cacheDtype: amp ?? undefined,
      });
      return amp ? autocast({ device: deviceType(device), dtype: amp }, run) : run();
    }));
  }

  /**
   * Generated tokens (B, n, slotDim) → images (B, C, H, W) in [0, 1] (SPEC §4.5): null_cond[:, n:]
   * appended, decoded with drop_mask None when all n tokens are used (upstream), with the first-k
   * mask for a prefix k < n, then the VAE decode.
   */
  tokensToImages(tokens: Tensor, o: TokensToImagesOptions = {}): Tensor {
    const tok = this.tokenizer;
    const K = tok.numSlots, D = tok.options.slotDim;
    if (tokens.ndim !== 3 || tokens.shape[2] !== D || tokens.shape[1] < 1 || tokens.shape[1] > K)
      throw new Error(`ImageGenerator.tokensToImages: tokens must be (B, n, ${D}) with 1 ≤ n ≤ ${K}, got ${shapeStr(tokens)}`);
    const [B, n] = tokens.shape;
    const k = o.numTokens ?? n;
    if (!Number.isInteger(k) || k < 1 || k > n)
      throw new Error(`ImageGenerator.tokensToImages: numTokens must be an integer in 1..${n} (the tokens given), got ${k}`);
    const amp = ampDtype(o.autocast);
    return noGrad(() => scope(() => {
      const nc = tok.dit.null_cond;
      let full = tokens.to({ dtype: nc.dtype, device: nc.device });
      if (n < K) full = cat([full, nc.narrow(1, n, K - n).expand(B, -1, -1)], 1);
      const dropMask = k < n ? tok.firstKMask(B, k, nc.device) : null;
      const run = () => tok.sample(full, {
        dropMask, cfg: o.aeCfg ?? this.defaults.aeCfg, steps: o.steps, seed: o.seed, sampler: o.sampler,
        noise: o.noise, stepNoise: o.stepNoise, progress: o.progress,
      });
      let images = amp ? autocast({ device: deviceType(nc.device), dtype: amp }, run) : run();
      if (images.dtype !== 'float32') images = images.float();
      return (o.clamp ?? true) ? images.clamp(0, 1) : images;
    }));
  }

  /**
   * Labels → tokens (once) → images for each prefix k: Map k → (B, C, H, W). Every prefix is
   * decoded with the same decoder seed, so the images differ only by the tokens used.
   */
  generate(labels: Tensor | readonly number[], o: GenerateImagesOptions = {}): Map<number, Tensor> {
    const n = o.numTokens ?? this.defaults.numTokens;
    const prefixes = o.prefixes ?? [n];
    for (const k of prefixes)
      if (!Number.isInteger(k) || k < 1 || k > n)
        throw new Error(`ImageGenerator.generate: prefix ${k} is not in 1..${n} (the ${n} generated tokens)`);
    return scope(() => {
      const tokens = this.generateTokens(labels, { ...o, numTokens: n });
      const out = new Map<number, Tensor>();
      for (const k of prefixes) if (!out.has(k)) out.set(k, this.tokensToImages(tokens, { ...o, numTokens: k }));
      return out;
    });
  }

  /** Frees both models (and the GPT's KV caches). */
  dispose(): void {
    this.gpt.dispose();
    this.tokenizer.dispose();
  }
  [Symbol.dispose](): void { this.dispose(); }
}

/** The issue's and upstream demo's name for it (`torch.Generator` is the RNG; import this one from here). */
export { ImageGenerator as Generator };
