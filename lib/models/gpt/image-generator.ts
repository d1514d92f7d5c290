// Class → tokens → images with ϵLlamaGen and the Semanticist tokenizer (docs/upstream/gpt.md#class-to-image; upstream
// gen_demo.py / ar_gen.ipynb / GPTTrainer.evaluate), holding both models:
//
//   const g = loadImageGenerator({ config: 'configs/autoregressive_l.yaml',     // lib/train/load-image-generator.ts
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
// The class is named ImageGenerator, not Generator: torch.Generator (the RNG) already owns that name.
//
// Loading both models from an AR config and checkpoints is lib/train/load-image-generator.ts
// (it reads the trainer's config); this file only holds the built models.
import { Tensor } from '../../core/tensor.js';
import { scope } from '../../core/scope.js';
import { noGrad, autocast } from '../../core/modes.js';
import { cat } from '../../core/functions.js';
import { tensor } from '../../core/creation.js';
import { seededGenerator, type Generator as TorchGenerator } from '../../core/random.js';
import { deviceType } from '../../core/device.js';
import type { DType } from '../../core/dtype.js';
import type { Tokenizer, SampleOptions } from '../tokenizer/tokenizer.js';
import type { GPT } from './gpt.js';
import type { DiffLoss } from './diffloss.js';
import { generate as arGenerate } from './generate.js';
import { checkGptTokenizerCompat } from './gpt-checkpoint.js';

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

const shapeStr = (t: Tensor) => `(${t.shape.join(', ')})`;
const ampDtype = (a: AutocastChoice | undefined): DType | null => (a === true ? 'bfloat16' : a ? a : null);

/** ϵLlamaGen + tokenizer (see the file header). */
export class ImageGenerator {
  readonly gpt: GPT<DiffLoss>;
  readonly tokenizer: Tokenizer;
  /** The defaults of generateTokens / tokensToImages (from the AR config when loaded from one). */
  readonly defaults: ImageGeneratorDefaults;
  /** What loading did: files, sub-dicts, renamed / missing / ignored keys, of both models. */
  loadReport: string[];

  /**
   * Holds the two models (and takes them over: dispose() frees both), in eval mode. Throws when
   * the GPT's tokens are not the tokenizer's (slot_dim differs, or more tokens than it decodes).
   * Defaults not given: all the GPT's tokens, CFG 1 (none), linear schedule, temperature 1, decoder CFG 1.
   */
  constructor(gpt: GPT<DiffLoss>, tokenizer: Tokenizer, o: { defaults?: Partial<ImageGeneratorDefaults>; loadReport?: string[] } = {}) {
    if (!gpt.diffloss) throw new Error('ImageGenerator: the GPT has no diffusion head (diffloss)');
    checkGptTokenizerCompat(gpt, { numSlots: tokenizer.numSlots, slotDim: tokenizer.options.slotDim });
    this.gpt = gpt;
    this.tokenizer = tokenizer;
    this.defaults = {
      numTokens: gpt.numSlots,
      cfg: 1,
      cfgSchedule: 'linear',
      temperature: 1,
      aeCfg: 1,
      ...Object.fromEntries(Object.entries(o.defaults ?? {}).filter(([, v]) => v !== undefined)),
    };
    this.loadReport = o.loadReport ?? [];
    gpt.eval();
    tokenizer.eval();
  }

  get device(): string {
    return this.gpt.z_proj.weight.device;
  }

  /** Class labels (B) → generated tokens (B, n, slotDim), n = numTokens (upstream generate()). */
  generateTokens(labels: Tensor | readonly number[], o: GenerateTokensOptions = {}): Tensor {
    const n = o.numTokens ?? this.defaults.numTokens;
    if (!Number.isInteger(n) || n < 1 || n > this.gpt.numSlots)
      throw new Error(`ImageGenerator.generateTokens: numTokens must be an integer in 1..${this.gpt.numSlots} (the GPT's num_slots), got ${n}`);
    const device = this.device;
    const generator = o.generator ?? (o.seed !== undefined ? (seededGenerator(device, o.seed) ?? undefined) : undefined);
    const amp = ampDtype(o.autocast);
    return noGrad(() =>
      scope(() => {
        const lab = labels instanceof Tensor ? labels.to({ device }) : tensor([...labels], { dtype: 'int64', device });
        const run = () =>
          arGenerate(this.gpt, lab, n, {
            cfgScale: o.cfg ?? this.defaults.cfg,
            cfgSchedule: o.cfgSchedule ?? this.defaults.cfgSchedule,
            temperature: o.temperature ?? this.defaults.temperature,
            generator,
            cacheDtype: amp ?? undefined,
          });
        return amp ? autocast({ device: deviceType(device), dtype: amp }, run) : run();
      }),
    );
  }

  /**
   * Generated tokens (B, n, slotDim) → images (B, C, H, W) in [0, 1] (docs/upstream/gpt.md#class-to-image): null_cond[:, n:]
   * appended, decoded with drop_mask None when all n tokens are used (upstream), with the first-k
   * mask for a prefix k < n, then the VAE decode.
   */
  tokensToImages(tokens: Tensor, o: TokensToImagesOptions = {}): Tensor {
    const tok = this.tokenizer;
    const K = tok.numSlots,
      D = tok.options.slotDim;
    if (tokens.ndim !== 3 || tokens.shape[2] !== D || tokens.shape[1] < 1 || tokens.shape[1] > K)
      throw new Error(`ImageGenerator.tokensToImages: tokens must be (B, n, ${D}) with 1 ≤ n ≤ ${K}, got ${shapeStr(tokens)}`);
    const [B, n] = tokens.shape;
    const k = o.numTokens ?? n;
    if (!Number.isInteger(k) || k < 1 || k > n)
      throw new Error(`ImageGenerator.tokensToImages: numTokens must be an integer in 1..${n} (the tokens given), got ${k}`);
    const amp = ampDtype(o.autocast);
    return noGrad(() =>
      scope(() => {
        const nc = tok.dit.null_cond;
        let full = tokens.to({ dtype: nc.dtype, device: nc.device });
        if (n < K) full = cat([full, nc.narrow(1, n, K - n).expand(B, -1, -1)], 1);
        const dropMask = k < n ? tok.firstKMask(B, k, nc.device) : null;
        const run = () =>
          tok.sample(full, {
            dropMask,
            cfg: o.aeCfg ?? this.defaults.aeCfg,
            steps: o.steps,
            seed: o.seed,
            sampler: o.sampler,
            noise: o.noise,
            stepNoise: o.stepNoise,
            progress: o.progress,
          });
        let images = amp ? autocast({ device: deviceType(nc.device), dtype: amp }, run) : run();
        if (images.dtype !== 'float32') images = images.float();
        return (o.clamp ?? true) ? images.clamp(0, 1) : images;
      }),
    );
  }

  /**
   * Labels → tokens (once) → images for each prefix k: Map k → (B, C, H, W). Every prefix is
   * decoded with the same decoder seed, so the images differ only by the tokens used.
   */
  generate(labels: Tensor | readonly number[], o: GenerateImagesOptions = {}): Map<number, Tensor> {
    const n = o.numTokens ?? this.defaults.numTokens;
    const prefixes = o.prefixes ?? [n];
    for (const k of prefixes)
      if (!Number.isInteger(k) || k < 1 || k > n) throw new Error(`ImageGenerator.generate: prefix ${k} is not in 1..${n} (the ${n} generated tokens)`);
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
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** The and upstream demo's name for it (`torch.Generator` is the RNG; import this one from here). */
