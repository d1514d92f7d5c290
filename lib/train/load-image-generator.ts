// ϵLlamaGen + tokenizer from an AR config and checkpoints (upstream gen_demo.py / ar_gen.ipynb /
// GPTTrainer's test mode):
//
//   const g = loadImageGenerator({ config: 'configs/autoregressive_l.yaml',
//     checkpoint: 'semanticist_ar_gen_L_on_tok_L.pkl', tokenizerCheckpoint: 'semanticist_tok_L.pkl',
//     vae: 'weights/mar-vae-kl16' });
//
// Checkpoints are read as they are: the official semanticist_ar_gen_L*.pkl (a flat torch.save dict
// of the EMA weights), upstream step folders (custom_checkpoint_1.pkl: the EMA dict), our trainer's
// step folders (ema.safetensors), model.safetensors, or a dict nesting the weights under an EMA /
// model entry (lib/models/weights-file.ts). The weights are loaded non-strictly, as upstream, and
// `loadReport` lists what was loaded, missing or ignored. The generator's defaults (tokens, CFG,
// schedule, temperature, decoder CFG) are the config's.
import { existsSync } from 'node:fs';
import { Tokenizer } from '../models/tokenizer/tokenizer.js';
import type { GPT } from '../models/gpt/gpt.js';
import type { DiffLoss } from '../models/gpt/diffloss.js';
import { ImageGenerator, type ImageGeneratorDefaults } from '../models/gpt/image-generator.js';
import { loadGptCheckpoint, checkGptTokenizerCompat } from '../models/gpt/gpt-checkpoint.js';
import { buildGptFromConfig } from '../models/gpt/gpt-model-config.js';
import { resolveWeightsFile } from '../models/weights-file.js';
import { loadArConfig, aeModelTokenizerConfig, type ArConfig, type ArTrainerParams } from './ar-trainer-config.js';

export interface LoadImageGeneratorOptions {
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
   * it; if loading throws, it is left to the caller).
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

export function loadImageGenerator(o: LoadImageGeneratorOptions): ImageGenerator {
  const cfg = loadArConfig(o.config);
  const report: string[] = [];
  let tok: Tokenizer;
  const given = o.tokenizer instanceof Tokenizer;
  if (o.tokenizer instanceof Tokenizer) {
    tok = o.tokenizer;
    if (o.device) tok.to(o.device);
    report.push('tokenizer: given as a built model');
  } else {
    tok = loadTokenizer(cfg, o, report);
  }
  let gpt: GPT<DiffLoss> | null = null;
  try {
    checkGptTokenizerCompat(cfg.gptModel.gpt as { numSlots: number; slotDim: number }, { numSlots: tok.numSlots, slotDim: tok.options.slotDim });
    gpt = buildGptFromConfig(cfg.gptModel);
    const ckpt = o.checkpoint !== undefined ? o.checkpoint : cfg.gptModel.ckptPath;
    if (ckpt === undefined || ckpt === null) {
      if (o.checkpoint !== null)
        throw new Error(
          'loadImageGenerator: no GPT weights: give checkpoint (e.g. semanticist_ar_gen_L.pkl) or set gpt_model.params.ckpt_path (checkpoint: null for fresh weights)',
        );
      report.push('gpt: no checkpoint: weights are freshly initialised');
    } else {
      report.push(...loadGptCheckpoint(gpt, ckpt).map((l) => `gpt: ${l}`));
    }
    if (o.device) gpt.to(o.device);
    return new ImageGenerator(gpt, tok, { defaults: configDefaults(cfg.params, gpt.numSlots, tok.numSlots), loadReport: report });
  } catch (e) {
    gpt?.dispose();
    if (!given) tok.dispose(); // a tokenizer handed in stays the caller's until the generator exists
    throw e;
  }
}

function loadTokenizer(cfg: ArConfig, o: LoadImageGeneratorOptions, report: string[]): Tokenizer {
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
      throw new Error(
        `loadImageGenerator: no tokenizer weights${o.tokenizer !== undefined ? '' : ` (${where} is None)`}: give tokenizerCheckpoint (e.g. semanticist_tok_L.pkl or a step folder; null for fresh weights)`,
      );
  } else {
    if (typeof ckpt !== 'string') throw new TypeError(`${where} must be a path, got ${JSON.stringify(ckpt)}`);
    if (!existsSync(ckpt))
      throw new Error(
        `tokenizer weights not found: ${ckpt}${o.tokenizerCheckpoint === undefined ? ` (${where}; upstream's configs point to result_folder/stepN/, without the models/ folder its trainer writes)` : ''}; pass tokenizerCheckpoint`,
      );
    const notes: string[] = [];
    file = resolveWeightsFile(ckpt, notes, 'tokenizer weights');
    report.push(...notes.map((l) => `tokenizer: ${l}`));
  }
  let tok: Tokenizer & { loadReport: string[] };
  try {
    tok = Tokenizer.fromPretrained({ config: tokConfig, checkpoint: file ?? null, vae: o.vae, device: o.device });
  } catch (e) {
    // name the AR config's entry in schema errors
    if (o.tokenizer === undefined && e instanceof Error) e.message = e.message.replace(/trainer\.params\.model\b/g, 'trainer.params.ae_model');
    throw e;
  }
  report.push(...tok.loadReport.map((l) => `tokenizer: ${l}`));
  return tok;
}

/** Upstream's num_slots_to_gen: min(test_num_slots, train_num_slots), train_num_slots capped by the tokenizer; and ≤ the GPT's num_slots. */
export function upstreamNumTokens(P: Pick<ArTrainerParams, 'train_num_slots' | 'test_num_slots'>, gptSlots: number, tokSlots: number): number {
  const train = Math.min(P.train_num_slots ?? tokSlots, tokSlots);
  const test = P.test_num_slots !== null ? Math.min(P.test_num_slots, train) : train;
  return Math.min(test, gptSlots);
}

/** The generator's defaults from an AR config's trainer.params. */
function configDefaults(P: ArTrainerParams, gptSlots: number, tokSlots: number): ImageGeneratorDefaults {
  return { numTokens: upstreamNumTokens(P, gptSlots, tokSlots), cfg: P.cfg, cfgSchedule: P.cfg_schedule, temperature: P.temperature, aeCfg: P.ae_cfg };
}
