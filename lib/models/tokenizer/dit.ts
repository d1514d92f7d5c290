// The Semanticist tokenizer's decoder: a DiT (Peebles & Xie, "Scalable Diffusion Models with
// Transformers") with in-context token conditioning — upstream `DiT_with_autoenc_cond`
// (semanticist/stage1/diffuse_slot.py over stage1/diffusion_transfomer.py). Described in
// docs/upstream/tokenizer.md#dit-decoder, with its guidance in docs/upstream/tokenizer.md#decoder-cfg
// and the projector in docs/upstream/tokenizer.md#repa.
//
// Pieces, with the paper's / upstream names (the field names are the checkpoint keys):
//   modulate(x, shift, scale)   adaLN: x·(1 + scale) + shift, per sample
//   DiTBlock                    adaLN-Zero block: norm1/attn/norm2/mlp (non-affine LayerNorms,
//                               eps 1e-6; qkv bias; tanh-GELU MLP) gated by `adaLN_modulation.1`
//   FinalLayer                  norm_final → modulate → `linear` (p²·outChannels per token)
//   DiT                         x_embedder (patches) + frozen 2-D sin-cos `pos_embed` (a
//                               non-persistent buffer: not in checkpoints), t_embedder, blocks,
//                               final_layer, `autoenc_cond_embedder` Linear(slotDim → hidden),
//                               per-position `null_cond` (1, numSlots, slotDim), and the REPA
//                               `projector` MLP; y_embedder is an Identity (no class labels).
//   DIT_SIZES / createDiT       the DiT-{S,B,L,XL}-{2,4,8} size registry, as data.
//
// Conditioning: embed_cond replaces dropped token positions by null_cond BEFORE the Linear, the
// embedded condition tokens are appended after the latent tokens (no position embedding on them),
// every block attends over the whole sequence, and the final layer + unpatchify see only the
// latent tokens. The adaLN vector c is the timestep embedding alone.
//
// REPA hook: with useRepa, projector(hidden after block `encoderDepth`, 1-based) on the latent
// tokens is `forwardWithRepa(...).repa`; forward() stores it in the field `repaHook` (upstream's
// `_repa_hook`), which the module owns: it is freed and replaced by the next forward (or by
// dispose()); clone it to keep it longer.
import type { Tensor } from '../../core/tensor.js';
import { scope, keep } from '../../core/scope.js';
import { cat, where } from '../../core/functions.js';
import { rand } from '../../core/creation.js';
import { Module } from '../../nn/module.js';
import { Parameter } from '../../nn/parameter.js';
import { Sequential, ModuleList } from '../../nn/containers.js';
import { Linear, Identity } from '../../nn/layers/linear.js';
import { LayerNorm } from '../../nn/layers/normalization.js';
import { SiLU } from '../../nn/layers/activation.js';
import * as init from '../../nn/init.js';
import { Attention } from '../layers/attention.js';
import { Mlp } from '../layers/mlp.js';
import { PatchEmbed } from '../layers/patch-embed.js';
import { sincos2d } from '../layers/sincos.js';
import { TimestepEmbedder, timestepEmbedding } from '../layers/timestep-embedder.js';

/** adaLN modulation: x·(1 + scale) + shift, with shift/scale (B, D) broadcast over the tokens of x (B, N, D). */
export function modulate(x: Tensor, shift: Tensor, scale: Tensor): Tensor {
  return scope(() => x.mul(scale.unsqueeze(1).add(1)).add(shift.unsqueeze(1)));
}

/** A DiT block with adaLN-Zero conditioning (the gates start at zero, so the block starts as the identity). */
export class DiTBlock extends Module {
  norm1: LayerNorm;
  attn: Attention;
  norm2: LayerNorm;
  mlp: Mlp;
  adaLN_modulation: Sequential;

  constructor(hiddenSize: number, numHeads: number, mlpRatio = 4) {
    super();
    this.norm1 = new LayerNorm(hiddenSize, { elementwiseAffine: false, eps: 1e-6 });
    this.attn = new Attention(hiddenSize, numHeads, { qkvBias: true });
    this.norm2 = new LayerNorm(hiddenSize, { elementwiseAffine: false, eps: 1e-6 });
    this.mlp = new Mlp(hiddenSize, Math.trunc(hiddenSize * mlpRatio), { approximate: 'tanh' });
    this.adaLN_modulation = new Sequential(new SiLU(), new Linear(hiddenSize, 6 * hiddenSize));
  }

  /** x: (B, N, D) tokens; c: (B, D) conditioning vector. */
  override forward(x: Tensor, c: Tensor): Tensor {
    return scope(() => {
      const [shiftMsa, scaleMsa, gateMsa, shiftMlp, scaleMlp, gateMlp] = (this.adaLN_modulation.forward(c) as Tensor).chunk(6, 1);
      let h = x.add(gateMsa.unsqueeze(1).mul(this.attn.forward(modulate(this.norm1.forward(x), shiftMsa, scaleMsa))));
      h = h.add(gateMlp.unsqueeze(1).mul(this.mlp.forward(modulate(this.norm2.forward(h), shiftMlp, scaleMlp))));
      return h;
    });
  }
}

/** The DiT output head: adaLN-modulated non-affine LayerNorm, then a Linear to p²·outChannels. */
export class FinalLayer extends Module {
  norm_final: LayerNorm;
  linear: Linear;
  adaLN_modulation: Sequential;

  constructor(hiddenSize: number, patchSize: number, outChannels: number) {
    super();
    this.norm_final = new LayerNorm(hiddenSize, { elementwiseAffine: false, eps: 1e-6 });
    this.linear = new Linear(hiddenSize, patchSize * patchSize * outChannels);
    this.adaLN_modulation = new Sequential(new SiLU(), new Linear(hiddenSize, 2 * hiddenSize));
  }

  override forward(x: Tensor, c: Tensor): Tensor {
    return scope(() => {
      const [shift, scale] = (this.adaLN_modulation.forward(c) as Tensor).chunk(2, 1);
      return this.linear.forward(modulate(this.norm_final.forward(x), shift, scale));
    });
  }
}

/** Backbone sizes of the DiT family (upstream DiT_with_autoenc_cond_models, keys 'DiT-XL-2' etc.). */
export interface DiTSize {
  depth: number;
  hiddenSize: number;
  numHeads: number;
  patchSize: number;
}

const FAMILIES: Record<string, Omit<DiTSize, 'patchSize'>> = {
  XL: { depth: 28, hiddenSize: 1152, numHeads: 16 },
  L: { depth: 24, hiddenSize: 1024, numHeads: 16 },
  B: { depth: 12, hiddenSize: 768, numHeads: 12 },
  S: { depth: 12, hiddenSize: 384, numHeads: 6 },
};

/** 'DiT-XL-2', 'DiT-XL-4', ..., 'DiT-S-8' → size (the tokenizer configs use DiT-L-2 and DiT-XL-2). */
export const DIT_SIZES: Readonly<Record<string, Readonly<DiTSize>>> = Object.freeze(
  Object.fromEntries(Object.entries(FAMILIES).flatMap(([f, s]) => [2, 4, 8].map((p) => [`DiT-${f}-${p}`, Object.freeze({ ...s, patchSize: p })]))),
);

/** The size for a name; accepts upstream's 'DiT-L-2' and the original DiT repo's 'DiT-L/2'. */
export function ditSize(name: string): DiTSize {
  const s = DIT_SIZES[name.replace('/', '-')];
  if (!s) throw new Error(`unknown DiT model '${name}' (known: ${Object.keys(DIT_SIZES).join(', ')})`);
  return { ...s };
}

export interface DiTOptions {
  /** Latent side length (upstream input_size; the tokenizer uses enc_img_size/16 for the MAR VAE). */
  inputSize?: number;
  patchSize?: number;
  /** Latent channels (16 for the MAR KL-16 VAE). */
  inChannels?: number;
  hiddenSize?: number;
  depth?: number;
  numHeads?: number;
  mlpRatio?: number;
  /** Output 2·inChannels channels (eps, then the variance interpolation values). */
  learnSigma?: boolean;
  /** Number of condition tokens (upstream num_autoenc = the tokenizer's num_slots). */
  numSlots?: number;
  /** Width of a condition token (upstream autoenc_dim = slot_dim). */
  slotDim?: number;
  /** Build the REPA projector and compute the hook. */
  useRepa?: boolean;
  /** The REPA hook reads the hidden state after this block (1-based). */
  encoderDepth?: number;
  projectorDim?: number;
  /** REPA target width (DINOv2-B: 768). */
  zDim?: number;
}

export interface DiTForwardOptions {
  /** (B, numSlots) keep mask (bool or 0/1; True = keep the token); positions not kept get null_cond. */
  dropMask?: Tensor | null;
  /**
   * Train mode with no dropMask only: the uniform draws standing in for upstream's
   * torch.rand(B, 1, 1) (a sample whose draw is < condDropProb gets null_cond at every position).
   */
  dropRand?: Tensor | null;
  /**
   * Called with (block index, hidden (B, N + numSlots, D)) after each block. It runs inside the
   * forward's scope: the hidden and any tensor made in the callback are freed with it (keep() what you need).
   */
  onBlock?: (index: number, hidden: Tensor) => void;
}

export interface DiTCfgOptions extends DiTForwardOptions {
  /** Guidance scale s: eps = eps_u + s·(eps_c − eps_u) (default 1). */
  cfgScale?: number;
}

/** DiT_with_autoenc_cond: the tokenizer's diffusion decoder (see the file header). */
export class DiT extends Module {
  // Field order = upstream's registration order, so that stateDict() lists the keys as its
  // named_parameters: null_cond (the one own parameter) first, then x_embedder ... projector.
  x_embedder: PatchEmbed;
  t_embedder: TimestepEmbedder;
  y_embedder: Identity;
  blocks: ModuleList<DiTBlock>;
  final_layer: FinalLayer;
  null_cond: Parameter;
  autoenc_cond_embedder: Linear;
  projector: Sequential | null;
  /** Frozen 2-D sin-cos table (1, (inputSize/patch)², hidden); a non-persistent buffer. */
  declare readonly pos_embed: Tensor;
  /** The REPA projection of the last forward() (B, numPatches, zDim), or null; owned by the module. */
  repaHook: Tensor | null = null;

  readonly inputSize: number;
  readonly patchSize: number;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly hiddenSize: number;
  readonly depth: number;
  readonly numHeads: number;
  readonly learnSigma: boolean;
  readonly numSlots: number;
  readonly slotDim: number;
  readonly useRepa: boolean;
  readonly encoderDepth: number;
  /** Per-sample probability of the all-null condition drop in train mode without a dropMask. */
  condDropProb = 0.1;

  /** Defaults are upstream's constructor defaults (DiT-XL/2 on a 32² 4-channel latent, 32 tokens of 4). */
  constructor(o: DiTOptions = {}) {
    super();
    this.inputSize = o.inputSize ?? 32;
    this.patchSize = o.patchSize ?? 2;
    this.inChannels = o.inChannels ?? 4;
    this.hiddenSize = o.hiddenSize ?? 1152;
    this.depth = o.depth ?? 28;
    this.numHeads = o.numHeads ?? 16;
    this.learnSigma = o.learnSigma ?? true;
    this.outChannels = this.learnSigma ? 2 * this.inChannels : this.inChannels;
    this.numSlots = o.numSlots ?? 32;
    this.slotDim = o.slotDim ?? 4;
    this.useRepa = o.useRepa ?? false;
    this.encoderDepth = o.encoderDepth ?? 8;
    const mlpRatio = o.mlpRatio ?? 4;
    const projectorDim = o.projectorDim ?? 2048,
      zDim = o.zDim ?? 768;
    if (this.inputSize % this.patchSize) throw new Error(`DiT: inputSize ${this.inputSize} is not divisible by patchSize ${this.patchSize}`);
    if (this.hiddenSize % 4) throw new Error(`DiT: hiddenSize ${this.hiddenSize} must be divisible by 4 (2-D sin-cos embedding)`);
    if (this.useRepa && !(Number.isInteger(this.encoderDepth) && this.encoderDepth >= 1 && this.encoderDepth <= this.depth))
      throw new Error(`DiT: encoderDepth ${this.encoderDepth} must be a block index in 1..${this.depth} (1-based)`);

    const D = this.hiddenSize;
    this.x_embedder = new PatchEmbed(this.patchSize, this.inChannels, D);
    this.t_embedder = new TimestepEmbedder(D);
    this.y_embedder = new Identity();
    this.blocks = new ModuleList(Array.from({ length: this.depth }, () => new DiTBlock(D, this.numHeads, mlpRatio)));
    this.final_layer = new FinalLayer(D, this.patchSize, this.outChannels);
    const grid = this.inputSize / this.patchSize;
    this.registerBuffer(
      'pos_embed',
      scope(() => sincos2d(D, grid).unsqueeze(0)),
      { persistent: false },
    );
    this.initializeDiTWeights();
    // Added after the DiT init, so they keep PyTorch's default init
    // (docs/upstream/tokenizer.md#dit-decoder).
    this.null_cond = Parameter.empty([1, this.numSlots, this.slotDim]);
    init.normal_(this.null_cond, 0, 0.02);
    this.autoenc_cond_embedder = new Linear(this.slotDim, D);
    this.projector = this.useRepa
      ? new Sequential(new Linear(D, projectorDim), new SiLU(), new Linear(projectorDim, projectorDim), new SiLU(), new Linear(projectorDim, zDim))
      : null;
  }

  /** DiT's initialize_weights: xavier-uniform Linears (bias 0), the patch conv as a Linear, N(0, 0.02) t-MLP weights, zero adaLN and output layers. */
  private initializeDiTWeights(): void {
    scope(() => {
      this.apply((m) => {
        if (m instanceof Linear) {
          init.xavierUniform_(m.weight);
          if (m.bias) init.zeros_(m.bias);
        }
      });
      // xavier on the conv weight viewed as (out, in·p·p)
      const w = this.x_embedder.proj.weight;
      const [fanOut, fanIn] = [w.shape[0], w.shape.slice(1).reduce((a, b) => a * b, 1)];
      const bound = Math.sqrt(6 / (fanIn + fanOut));
      init.uniform_(w, -bound, bound);
      if (this.x_embedder.proj.bias) init.zeros_(this.x_embedder.proj.bias);
      init.normal_((this.t_embedder.mlp.at(0) as Linear).weight, 0, 0.02);
      init.normal_((this.t_embedder.mlp.at(2) as Linear).weight, 0, 0.02);
      const zeroLinear = (l: Linear) => {
        init.zeros_(l.weight);
        if (l.bias) init.zeros_(l.bias);
      };
      for (const b of this.blocks) zeroLinear(b.adaLN_modulation.at(-1) as Linear);
      zeroLinear(this.final_layer.adaLN_modulation.at(-1) as Linear);
      zeroLinear(this.final_layer.linear);
    });
  }

  /** Number of latent tokens ((inputSize/patch)²). */
  get numPatches(): number {
    return (this.inputSize / this.patchSize) ** 2;
  }

  /**
   * Upstream embed_cond: tokens (B, numSlots, slotDim) → (B, numSlots, hidden). With a dropMask
   * (True = keep), positions not kept take null_cond; without one, in train mode each sample is
   * replaced whole by null_cond with probability condDropProb (draws: dropRand or torch.rand(B,1,1));
   * in eval nothing is dropped. The replacement happens before the Linear.
   */
  embedCond(tokens: Tensor, dropMask?: Tensor | null, dropRand?: Tensor | null): Tensor {
    return scope(() => {
      const [B, K, C] = tokens.shape;
      if (K !== this.numSlots || C !== this.slotDim)
        throw new Error(`DiT.embedCond: tokens must be (B, ${this.numSlots}, ${this.slotDim}), got (${tokens.shape.join(', ')})`);
      let cond = tokens;
      if (dropMask) {
        if (dropMask.shape.length !== 2 || dropMask.shape[0] !== B || dropMask.shape[1] !== K)
          throw new Error(`DiT.embedCond: dropMask must be (${B}, ${K}), got (${dropMask.shape.join(', ')})`);
        cond = where(dropMask.bool().unsqueeze(2), tokens, this.null_cond);
      } else if (this.training) {
        const u = dropRand ? dropRand.reshape(B, 1, 1) : rand([B, 1, 1], { device: tokens.device });
        cond = where(u.lt(this.condDropProb), this.null_cond, tokens);
      }
      return this.autoenc_cond_embedder.forward(cond);
    });
  }

  /** The timestep embedding c (B, hidden): t_embedder, with the frequencies cast to its weight dtype as upstream. */
  embedTimesteps(t: Tensor): Tensor {
    return scope(() => {
      const first = this.t_embedder.mlp.at(0) as Linear;
      return this.t_embedder.mlp.forward(timestepEmbedding(t, this.t_embedder.frequencyEmbeddingSize).to(first.weight.dtype)) as Tensor;
    });
  }

  /** (B, numPatches, p²·outChannels) → (B, outChannels, H, W). */
  unpatchify(x: Tensor): Tensor {
    return scope(() => {
      const [B, T] = x.shape;
      const c = this.outChannels,
        p = this.patchSize;
      const h = Math.round(Math.sqrt(T));
      if (h * h !== T) throw new Error(`DiT.unpatchify: ${T} tokens do not form a square grid`);
      return x
        .reshape(B, h, h, p, p, c)
        .permute(0, 5, 1, 3, 2, 4)
        .reshape(B, c, h * p, h * p);
    });
  }

  /**
   * The forward pass, returning the output (B, outChannels, H, W) and the REPA projection
   * (B, numPatches, zDim) of the hidden state after block encoderDepth (null without useRepa).
   * x: (B, inChannels, inputSize, inputSize); t: (B) timesteps (original integers 0..999);
   * tokens: (B, numSlots, slotDim).
   */
  forwardWithRepa(x: Tensor, t: Tensor, tokens: Tensor, o: DiTForwardOptions = {}): { output: Tensor; repa: Tensor | null } {
    return scope(() => {
      const [, , H, W] = x.shape;
      if (H !== this.inputSize || W !== this.inputSize) throw new Error(`DiT: input is ${H}×${W}, the model was built for ${this.inputSize}×${this.inputSize}`);
      let h = this.x_embedder.forward(x).add(this.pos_embed);
      const c = this.embedTimesteps(t);
      const cond = this.embedCond(tokens, o.dropMask, o.dropRand);
      const n = h.shape[1];
      h = cat([h, cond], 1);
      let repa: Tensor | null = null;
      for (let i = 0; i < this.blocks.length; i++) {
        h = this.blocks.at(i).forward(h, c);
        o.onBlock?.(i, h);
        if (this.projector && i + 1 === this.encoderDepth) repa = this.projector.forward(h.narrow(1, 0, n)) as Tensor;
      }
      const output = this.unpatchify(this.final_layer.forward(h.narrow(1, 0, n), c));
      return { output, repa };
    });
  }

  /** The model output (B, outChannels, H, W); the REPA projection goes to `repaHook` (see the file header). */
  override forward(x: Tensor, t: Tensor, tokens: Tensor, o: DiTForwardOptions = {}): Tensor {
    const { output, repa } = this.forwardWithRepa(x, t, tokens, o);
    this.setRepaHook(repa);
    return output;
  }

  private setRepaHook(repa: Tensor | null): void {
    const old = this.repaHook;
    this.repaHook = repa ? keep(repa) : null;
    if (old && old !== repa) old.dispose();
  }

  /**
   * Classifier-free guidance in one batch (upstream forward_with_cfg): the first half of x is used
   * for both halves (x's second half is ignored), t and tokens (and dropMask) are passed as they
   * are — conditional tokens first, null tokens second. eps (the first inChannels channels) =
   * eps_u + s·(eps_c − eps_u) on both halves; the remaining (variance) channels pass through per half.
   */
  forwardWithCfg(x: Tensor, t: Tensor, tokens: Tensor, o: DiTCfgOptions = {}): Tensor {
    return scope(() => {
      const B = x.shape[0];
      if (B % 2) throw new Error(`DiT.forwardWithCfg: the batch (${B}) must be even (conditional half, then unconditional half)`);
      const half = x.narrow(0, 0, B / 2);
      const out = this.forward(cat([half, half], 0), t, tokens, o);
      const C = this.inChannels;
      const eps = out.narrow(1, 0, C),
        rest = out.narrow(1, C, out.shape[1] - C);
      const [condEps, uncondEps] = eps.split(B / 2, 0);
      const halfEps = uncondEps.add(condEps.sub(uncondEps).mul(o.cfgScale ?? 1));
      return cat([cat([halfEps, halfEps], 0), rest], 1);
    });
  }

  /** Frees the parameters, buffers and the REPA hook. */
  override dispose(): void {
    this.setRepaHook(null);
    super.dispose();
  }
}

/** A DiT of a registered size ('DiT-L-2', ...) with the other options given. */
export function createDiT(name: string, o: Omit<DiTOptions, keyof DiTSize> = {}): DiT {
  return new DiT({ ...o, ...ditSize(name) });
}
