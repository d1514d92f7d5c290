// Tokenizer: the Semanticist tokenizer (upstream DiffuseSlot; docs/upstream/tokenizer.md). A causal
// slot ViT encodes an image into ordered tokens (B, K, D); a DiT decodes the VAE latent from the
// first k tokens by diffusion (later positions take learned null tokens); REPA aligns a DiT hidden
// state with DINOv2.
//
//   encode(images)                → tokens (B, K, D), standardised
//   decode(tokens, {numTokens, cfg, steps, seed}) → images in [0, 1]
//   reconstruct(images, {numTokens: [1, 4, 16], cfg}) → Map k → images
//   loss(images, {epoch})          → { diff_loss, repa_loss }
//
// The VAE and the DINOv2 target are frozen and held privately: they are not trainable, not in
// stateDict() (the official checkpoints hold trainable weights only), and to() moves them along.
// `vae: 'none'` runs the DiT on pixels scaled to [-1, 1] (for small datasets without a VAE).
import type { Tensor } from '../../core/tensor.js';
import { scope, keep } from '../../core/scope.js';
import { noGrad } from '../../core/modes.js';
import { randint, randn, randnLike, onesLike } from '../../core/creation.js';
import { cat } from '../../core/functions.js';
import { seededGenerator } from '../../core/random.js';
import type { DType, DeviceLike } from '../../core/dtype.js';
import { Module } from '../../nn/module.js';
import { Linear } from '../../nn/layers/linear.js';
import { createDiffusion, type GaussianDiffusion, type ModelFn } from '../../diffusion/index.js';
import { VisionTransformer, VIT_SIZES, type VitSize } from './vit-encoder.js';
import { encodeSlots } from './slot-tokens.js';
import { NestedSampler, nestEnabled } from './nested-sampler.js';
import { DiT, ditSize, type DiTSize } from './dit.js';
import type { FrozenVAE } from '../vae/frozen-vae.js';
import { repaLoss, type Dinov2Target } from '../dinov2/repa.js';
import { tokenizerOptionsFromConfig } from './config.js';
import { loadFrozenVae, loadDinov2, readTokenizerCheckpoint } from './frozen-parts.js';

export interface FromPretrainedOptions {
  /** Config file (upstream YAML layout) or object. */
  config: string | Record<string, any>;
  /**
   * Tokenizer weights: the official semanticist_tok_*.pkl (EMA, trainable params), model.safetensors,
   * a step folder, ... Default: the config's ckpt_path (upstream's model.params.ckpt_path);
   * null: freshly initialised weights.
   */
  checkpoint?: string | null;
  /** VAE weights (diffusers folder or checkpoint file); default: the config's vae_checkpoint. */
  vae?: string;
  /** DINOv2 weights for REPA (training only); default: the config's dinov2_checkpoint. */
  dinov2?: string;
  device?: string;
}

export interface TokenizerOptions {
  /** Encoder preset ('vit_base_patch16', ...) or explicit sizes. */
  encoder?: string | VitSize;
  encImgSize?: number;
  encCausal?: boolean;
  dropPathRate?: number;
  numSlots?: number;
  slotDim?: number;
  /** Standardise each token (unbiased std, no eps). */
  normSlots?: boolean;
  enableNest?: boolean;
  /** Epoch from which the nested first-k mask is always used (-1: never switch); the trainer passes the epoch with its fraction done, so 0.25 switches a quarter into the first epoch. */
  enableNestAfter?: number;
  /** The VAE's name: a MAR KL-16 ('mar' in the name: 16 channels, stride 16), an SD-VAE (4, /8), or 'none' (pixels). */
  vae?: string;
  /** DiT preset ('DiT-L-2', ...) or explicit sizes. */
  ditModel?: string | DiTSize;
  /** Decoder sampling steps: '250', '25', 'ddim25', ... (respacing of the 1000 training steps). */
  numSamplingSteps?: string;
  useRepa?: boolean;
  /** REPA reads the DiT hidden state after this block (1-based). */
  repaEncoderDepth?: number;
  repaLossWeight?: number;
  /** Width of the REPA target features (DINOv2-B: 768). */
  repaZDim?: number;
  projectorDim?: number;
  /** Image channels (3; 1 for grayscale data with vae 'none'). */
  imageChannels?: number;
  /**
   * The DiT predicts x_0 instead of the noise (create_diffusion's predict_xstart; upstream: false).
   * Our extension for small pixel-space runs: the x_0 loss weighs the high-noise steps, where only
   * the tokens can tell the image, as much as the low-noise ones, so the decoder learns to use the
   * tokens within minutes instead of hours.
   */
  predictXstart?: boolean;
}

const DEFAULTS: Required<Omit<TokenizerOptions, 'encoder' | 'ditModel'>> & { encoder: string; ditModel: string } = {
  // upstream DiffuseSlot's own defaults; the configs override most of them
  encoder: 'vit_base_patch16',
  encImgSize: 256,
  encCausal: true,
  dropPathRate: 0.1,
  numSlots: 16,
  slotDim: 256,
  normSlots: false,
  enableNest: false,
  enableNestAfter: -1,
  vae: 'stabilityai/sd-vae-ft-ema',
  ditModel: 'DiT-B-4',
  numSamplingSteps: 'ddim25',
  useRepa: false,
  repaEncoderDepth: 8,
  repaLossWeight: 1,
  repaZDim: 768,
  projectorDim: 2048,
  imageChannels: 3,
  predictXstart: false,
};

/** Random draws a caller may fix (tests replay upstream's recorded draws). */
export interface LossDraws {
  t?: Tensor;
  k?: Tensor;
  noise?: Tensor;
  dropRand?: Tensor;
}

export interface SampleOptions {
  /** (B, numSlots) keep mask (true = keep); null: all tokens. */
  dropMask?: Tensor | null;
  /** Decoder classifier-free guidance scale (1: none). */
  cfg?: number;
  /** Respacing for this call (default the configured numSamplingSteps). */
  steps?: string;
  /** Seed for the initial and per-step noise (default: the global generator). */
  seed?: number;
  /** Initial noise z_T (B, C, h, w) and per-step noise (tests replay recorded draws). */
  noise?: Tensor;
  stepNoise?: (i: number, like: Tensor) => Tensor;
  /**
   * 'ddpm': ancestral sampling with the learned variance (upstream DiffuseSlot.sample); 'ddim':
   * deterministic DDIM (eta 0) over the same respaced steps, which ignores the learned variance.
   */
  sampler?: 'ddpm' | 'ddim';
  /** Clamp each step's predicted x_0 to [-1, 1] (default: true for pixels, vae 'none'; false for VAE latents, as upstream). */
  clipDenoised?: boolean;
  /** Called after each step with the (both-halves) sample; copy it to keep it. */
  progress?: (step: number, total: number, sample: Tensor) => void;
}

export class Tokenizer extends Module {
  // Field order = upstream's registration order of trainable modules: dit, encoder, encoder2slot.
  dit: DiT;
  encoder: VisionTransformer;
  encoder2slot: Linear;
  readonly nestedSampler: NestedSampler;
  readonly options: typeof DEFAULTS;
  /** Sticky: switches on at enableNestAfter (see loss()). */
  enableNest: boolean;
  readonly latentSize: number;
  readonly latentChannels: number;
  /** 1000-step diffusion for training. */
  readonly diffusion: GaussianDiffusion;
  #vae: FrozenVAE | null = null;
  #repa: Dinov2Target | null = null;
  readonly #genDiffusions = new Map<string, GaussianDiffusion>();

  constructor(opts: TokenizerOptions = {}) {
    super();
    const o = { ...DEFAULTS, ...opts } as typeof DEFAULTS & TokenizerOptions;
    this.options = o as typeof DEFAULTS;
    const pixel = o.vae === 'none';
    const mar = o.vae.includes('mar');
    this.latentSize = pixel ? o.encImgSize : mar ? o.encImgSize / 16 : o.encImgSize / 8;
    this.latentChannels = pixel ? o.imageChannels : mar ? 16 : 4;
    if (!Number.isInteger(this.latentSize)) throw new Error(`Tokenizer: encImgSize ${o.encImgSize} does not divide by the VAE stride`);
    const ditSizes = typeof o.ditModel === 'string' ? ditSize(o.ditModel) : o.ditModel;
    this.dit = new DiT({
      ...ditSizes,
      inputSize: this.latentSize,
      inChannels: this.latentChannels,
      numSlots: o.numSlots,
      slotDim: o.slotDim,
      useRepa: o.useRepa,
      encoderDepth: o.repaEncoderDepth,
      zDim: o.repaZDim,
      projectorDim: o.projectorDim,
    });
    const enc = typeof o.encoder === 'string' ? VIT_SIZES[o.encoder as keyof typeof VIT_SIZES] : o.encoder;
    if (!enc) throw new Error(`Tokenizer: unknown encoder '${String(o.encoder)}' (known: ${Object.keys(VIT_SIZES).join(', ')})`);
    this.encoder = new VisionTransformer({ ...enc, imgSize: o.encImgSize, numSlots: o.numSlots, dropPathRate: o.dropPathRate, inChans: o.imageChannels });
    this.encoder2slot = new Linear(enc.embedDim, o.slotDim);
    this.nestedSampler = new NestedSampler(o.numSlots);
    this.enableNest = o.enableNest;
    this.diffusion = createDiffusion('', { predictXstart: o.predictXstart });
  }

  // ---- frozen parts ----------------------------------------------------------------------

  /** Attaches the frozen VAE (required unless vae is 'none'). */
  setVae(vae: FrozenVAE | null): this {
    this.#vae = vae;
    return this;
  }
  get vae(): FrozenVAE | null {
    return this.#vae;
  }
  /** Attaches the frozen DINOv2 REPA target (training only; without it the REPA loss is off). */
  setRepaEncoder(t: Dinov2Target | null): this {
    this.#repa = t;
    return this;
  }
  get repaEncoder(): Dinov2Target | null {
    return this.#repa;
  }

  get numSlots(): number {
    return this.options.numSlots;
  }

  /** Images in [0, 1] → diffusion data: scaled VAE latents, or pixels in [-1, 1] with vae 'none'. */
  vaeEncode(images: Tensor, o: { noise?: Tensor } = {}): Tensor {
    if (this.options.vae === 'none') return noGrad(() => scope(() => images.mul(2).sub(1)));
    if (!this.#vae) throw new Error(`Tokenizer: no VAE attached (config vae '${this.options.vae}'); load one with setVae() or fromPretrained({vae})`);
    return this.#vae.encode(images, { noise: o.noise });
  }

  /** Diffusion data → images in about [0, 1] (not clamped, as upstream). */
  vaeDecode(latents: Tensor): Tensor {
    if (this.options.vae === 'none') return noGrad(() => scope(() => latents.add(1).div(2)));
    if (!this.#vae) throw new Error('Tokenizer: no VAE attached');
    return this.#vae.decode(latents);
  }

  // ---- encoding --------------------------------------------------------------------------

  /** Images in [0, 1] (B, C, H, W) → tokens (B, numSlots, slotDim) (upstream encode_slots). */
  encode(images: Tensor): Tensor {
    return encodeSlots(this.encoder, this.encoder2slot, images, { isCausal: this.options.encCausal, normSlots: this.options.normSlots });
  }

  /** The first-K keep mask (B, numSlots) for decoding with K tokens (K ≥ numSlots or -1: all). */
  firstKMask(batch: number, numTokens: number, device = 'cpu'): Tensor {
    const was = this.nestedSampler.training;
    this.nestedSampler.training = false;
    try {
      return this.nestedSampler.forward(batch, { device, inferenceWithNSlots: Math.min(numTokens, this.numSlots) });
    } finally {
      this.nestedSampler.training = was;
    }
  }

  // ---- decoding --------------------------------------------------------------------------

  private genDiffusion(steps: string): GaussianDiffusion {
    let d = this.#genDiffusions.get(steps);
    if (!d) {
      d = createDiffusion(steps, { predictXstart: this.options.predictXstart });
      this.#genDiffusions.set(steps, d);
    }
    return d;
  }

  /** Upstream DiffuseSlot.sample: tokens → images by ancestral sampling of the DiT (noGrad). */
  sample(tokens: Tensor, o: SampleOptions = {}): Tensor {
    return noGrad(() => scope(() => this.vaeDecode(this.sampleLatents(tokens, o))));
  }

  /** sample() before the VAE decode: the conditional half's final latents (B, C, h, w). */
  sampleLatents(tokens: Tensor, o: SampleOptions = {}): Tensor {
    return noGrad(() =>
      scope(() => {
        const B = tokens.shape[0];
        const cfg = o.cfg ?? 1;
        const gen = o.seed === undefined ? undefined : (seededGenerator(tokens.device, o.seed) ?? undefined);
        const shape = [B, this.latentChannels, this.latentSize, this.latentSize];
        let z = o.noise ?? randn(shape, { generator: gen, device: tokens.device });
        let slots = tokens;
        let mask = o.dropMask ?? null;
        let model: ModelFn;
        if (cfg !== 1) {
          z = cat([z, z], 0);
          slots = cat([tokens, this.dit.null_cond.expand(B, -1, -1)], 0);
          if (mask) mask = cat([mask, onesLike(mask)], 0);
          model = (x, t) => this.dit.forwardWithCfg(x, t, slots, { dropMask: mask, cfgScale: cfg });
        } else {
          model = (x, t) => this.dit.forward(x, t, slots, { dropMask: mask });
        }
        const stepNoise = o.stepNoise ?? (gen ? (_i: number, like: Tensor) => randn(like.shape, { generator: gen, device: like.device }) : undefined);
        const diffusion = this.genDiffusion(o.steps ?? this.options.numSamplingSteps);
        // Pixels (vae 'none') are known to lie in [-1, 1]: clamp each step's x_0 there, as ADM's
        // pixel-space models sample; latents (upstream) are not clamped.
        const clipDenoised = o.clipDenoised ?? this.options.vae === 'none';
        const loopOptions = {
          noise: z,
          stepNoise,
          clipDenoised,
          progress: o.progress ? (i: number, n: number, img: Tensor) => o.progress!(i + 1, n, img) : undefined,
        };
        const sampler = o.sampler ?? 'ddpm';
        if (sampler !== 'ddpm' && sampler !== 'ddim') throw new Error(`Tokenizer.sample: unknown sampler '${String(sampler)}' (known: ddpm, ddim)`);
        const samples = sampler === 'ddim' ? diffusion.ddimSampleLoop(model, z.shape, loopOptions) : diffusion.pSampleLoop(model, z.shape, loopOptions);
        return cfg !== 1 ? samples.narrow(0, 0, B) : samples;
      }),
    );
  }

  /** Tokens → images in [0, 1] from the first numTokens tokens (the rest take the null tokens). */
  decode(tokens: Tensor, o: Omit<SampleOptions, 'dropMask'> & { numTokens?: number } = {}): Tensor {
    return scope(() => {
      const K = o.numTokens ?? this.numSlots;
      const mask = this.firstKMask(tokens.shape[0], K, tokens.device);
      return this.sample(tokens, { ...o, dropMask: mask });
    });
  }

  /** Encodes once and decodes with each number of tokens: Map K → images (B, C, H, W). */
  reconstruct(images: Tensor, o: Omit<SampleOptions, 'dropMask'> & { numTokens?: number[] } = {}): Map<number, Tensor> {
    const out = new Map<number, Tensor>();
    const tokens = noGrad(() => this.encode(images));
    try {
      for (const K of o.numTokens ?? [this.numSlots]) out.set(K, keep(this.decode(tokens, { ...o, numTokens: K })));
    } finally {
      tokens.dispose();
    }
    return out;
  }

  // ---- training --------------------------------------------------------------------------

  /**
   * Upstream forward_with_latents without sampling: the diffusion loss of the DiT given the
   * latents and tokens, with the nested mask when nesting is on, and the REPA loss against the
   * target features z (when useRepa). Draws in upstream's order: t, k, noise, condition drop.
   */
  lossFromLatents(xVae: Tensor, tokens: Tensor, z: Tensor | null, o: { epoch?: number | null; draws?: LossDraws } = {}) {
    return scope(() => {
      const B = xVae.shape[0];
      const d = o.draws ?? {};
      this.enableNest = nestEnabled(o.epoch ?? null, this.options.enableNestAfter, this.enableNest);
      const t = d.t ?? randint(0, 1000, [B], { device: xVae.device });
      let dropMask: Tensor | null = null;
      if (this.enableNest) dropMask = this.nestedSampler.forward(B, { device: xVae.device, k: d.k });
      // training_losses, with the DiT called here so its REPA hidden state stays in this scope
      const noise = d.noise ?? randnLike(xVae);
      const xT = this.diffusion.qSample(xVae, t, noise);
      const { output, repa: repaHidden } = this.dit.forwardWithRepa(xT, this.diffusion.mapTimesteps(t), tokens, { dropMask, dropRand: d.dropRand });
      const terms = { ...this.diffusion.trainingLossesFromOutput(output, xVae, xT, t, noise), xT, output };
      const diff_loss = terms.loss.mean();
      let repa_loss: Tensor | null = null;
      if (this.options.useRepa && z) {
        if (!repaHidden) throw new Error('Tokenizer: useRepa but the DiT produced no REPA hidden state');
        repa_loss = repaLoss(repaHidden, z, this.options.repaLossWeight);
      }
      return { diff_loss, repa_loss, terms, repaHook: repaHidden };
    });
  }

  /** The training losses for images in [0, 1]: { diff_loss, repa_loss (null without a REPA target) }. */
  loss(images: Tensor, o: { epoch?: number | null; draws?: LossDraws } = {}): { diff_loss: Tensor; repa_loss: Tensor | null } {
    return scope(() => {
      const xVae = this.vaeEncode(images);
      const z = this.options.useRepa && this.#repa ? this.#repa.encode(images) : null;
      const tokens = this.encode(images);
      const { diff_loss, repa_loss } = this.lossFromLatents(xVae, tokens, z, o);
      return { diff_loss, repa_loss };
    });
  }

  // ---- construction from files ---------------------------------------------------------

  /** A freshly initialised tokenizer from a config, with the frozen parts the config names loaded. */
  static fromConfig(config: string | Record<string, any>, o: { vae?: string; dinov2?: string; device?: string } = {}): Tokenizer {
    const { vaeCheckpoint, dinov2Checkpoint, vaeConfig, ckptPath: _weights, ...opts } = tokenizerOptionsFromConfig(config);
    const tok = new Tokenizer(opts);
    const vaePath = o.vae ?? vaeCheckpoint;
    if (tok.options.vae !== 'none') {
      if (!vaePath)
        throw new Error(`config vae '${tok.options.vae}': give its weights (a diffusers folder or checkpoint file) as vae_checkpoint in the config or --vae`);
      tok.setVae(loadFrozenVae(vaePath, { config: vaeConfig }));
    }
    const dinoPath = o.dinov2 ?? dinov2Checkpoint;
    if (tok.options.useRepa && dinoPath) tok.setRepaEncoder(loadDinov2(dinoPath));
    if (o.device) tok.to(o.device);
    return tok;
  }

  /**
   * The tokenizer of a config with trained weights (upstream tok_demo): the checkpoint is loaded
   * non-strictly after removing `_orig_mod.` segments; `loadReport` says which keys were absent or
   * set aside and why. Official checkpoints hold only trainable weights, so nothing should be missing.
   */
  static fromPretrained(o: FromPretrainedOptions): Tokenizer & { loadReport: string[] } {
    const checkpoint = o.checkpoint !== undefined ? o.checkpoint : (tokenizerOptionsFromConfig(o.config).ckptPath ?? null);
    const tok = Tokenizer.fromConfig(o.config, { vae: o.vae, dinov2: o.dinov2 }) as Tokenizer & { loadReport: string[] };
    const report: string[] = [];
    if (checkpoint) {
      scope(() => {
        const { sd, file, notes } = readTokenizerCheckpoint(checkpoint);
        const r = tok.loadStateDict(sd, { strict: false, castDtype: true });
        report.push(`${file}: ${sd.size} tensors loaded`, ...notes);
        if (r.missingKeys.length) report.push(`missing (kept at their initial values): ${r.missingKeys.join(', ')}`);
        if (r.unexpectedKeys.length) report.push(`unexpected (ignored): ${r.unexpectedKeys.join(', ')}`);
      });
    } else report.push('no checkpoint: weights are freshly initialised');
    if (tok.options.useRepa && !tok.repaEncoder) report.push('no DINOv2 weights: the REPA loss is off (it is used in training only)');
    tok.loadReport = report;
    if (o.device) tok.to(o.device);
    return tok;
  }

  // ---- housekeeping ----------------------------------------------------------------------

  /** Moves the trainable modules and the frozen VAE / DINOv2 target. */
  override to(target: DType | DeviceLike | { dtype?: DType | string; device?: DeviceLike }): this {
    super.to(target);
    const device = typeof target === 'string' ? (/^(cpu|cuda|meta)/.test(target) ? target : undefined) : target.device;
    if (device) {
      this.#vae?.to({ device });
      this.#repa?.to(device);
    }
    return this;
  }

  override dispose(): void {
    this.#vae?.dispose();
    this.#repa?.model.dispose();
    for (const d of this.#genDiffusions.values()) d.dispose();
    this.diffusion.dispose();
    super.dispose();
  }
}
