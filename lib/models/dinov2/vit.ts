// DINOv2 vision transformer (facebookresearch/dinov2 DinoVisionTransformer, as the torch.hub
// backbones build it): config + presets (ViT-S/B/L/14 as data), LayerScale, the pre-norm block with
// layer scale, and the model with DINOv2's position-embedding interpolation and forwardFeatures.
// Parameter names are the official checkpoint keys (cls_token, pos_embed, [register_tokens],
// mask_token, patch_embed.proj.*, blocks.N.{norm1,attn.qkv,attn.proj,ls1.gamma,norm2,mlp.fc1,
// mlp.fc2,ls2.gamma}, norm.*), so dinov2_vitb14_pretrain.pth loads with strict key matching.
// Only what the hub models use is implemented: the "mlp" FFN, block_chunks = 0, no drop path.
import type { Tensor } from '../../core/tensor.js';
import { scope } from '../../core/scope.js';
import { cat, where } from '../../core/functions.js';
import { Module } from '../../nn/module.js';
import { Parameter } from '../../nn/parameter.js';
import { ModuleList } from '../../nn/containers.js';
import { Linear, Identity } from '../../nn/layers/linear.js';
import { LayerNorm } from '../../nn/layers/normalization.js';
import type { FactoryOptions } from '../../nn/layers/options.js';
import { interpolate } from '../../nn/functional.js';
import * as init from '../../nn/init.js';
import { Attention } from '../layers/attention.js';
import { Mlp } from '../layers/mlp.js';
import { PatchEmbed } from '../layers/patch-embed.js';

export interface Dinov2Config {
  /** Training image size: the learned pos_embed covers (imgSize / patchSize)² patches (518 → 37²). */
  imgSize: number;
  patchSize: number;
  inChans: number;
  embedDim: number;
  depth: number;
  numHeads: number;
  mlpRatio: number;
  qkvBias: boolean;
  projBias: boolean;
  ffnBias: boolean;
  /** LayerScale init value; null or 0: no layer scale (ls1/ls2 are Identity, no gamma keys). */
  initValues: number | null;
  numRegisterTokens: number;
  interpolateAntialias: boolean;
  /** Added to the target grid size in the scale factor of the pos-embed resize; 0: resize by size. */
  interpolateOffset: number;
}

const HUB_COMMON = {
  imgSize: 518,
  patchSize: 14,
  inChans: 3,
  mlpRatio: 4,
  qkvBias: true,
  projBias: true,
  ffnBias: true,
  initValues: 1.0,
  numRegisterTokens: 0,
  interpolateAntialias: false,
  interpolateOffset: 0.1,
} as const;

/** torch.hub dinov2_vits14 / vitb14 / vitl14 (no registers). vitb14 is Semanticist's REPA target. */
export const DINOV2_VITS14: Dinov2Config = { ...HUB_COMMON, embedDim: 384, depth: 12, numHeads: 6 };
export const DINOV2_VITB14: Dinov2Config = { ...HUB_COMMON, embedDim: 768, depth: 12, numHeads: 12 };
export const DINOV2_VITL14: Dinov2Config = { ...HUB_COMMON, embedDim: 1024, depth: 24, numHeads: 16 };
export const DINOV2_PRESETS: Readonly<Record<string, Dinov2Config>> = {
  dinov2_vits14: DINOV2_VITS14,
  dinov2_vitb14: DINOV2_VITB14,
  dinov2_vitl14: DINOV2_VITL14,
};

/**
 * A config from DinoVisionTransformer's Python keyword arguments (snake_case, as in fixtures.json
 * `config.dinov2.class_kwargs`); missing ones take the hub values. block_fn / act_layer strings
 * are ignored (the hub's NestedTensorBlock + exact GELU is what this file implements).
 */
export function dinov2ConfigFromKwargs(kw: Record<string, unknown>, base: Dinov2Config = DINOV2_VITB14): Dinov2Config {
  const num = (k: string, d: number): number => (kw[k] === undefined || kw[k] === null ? d : Number(kw[k]));
  const bool = (k: string, d: boolean): boolean => (kw[k] === undefined || kw[k] === null ? d : Boolean(kw[k]));
  const ffn = kw.ffn_layer ?? 'mlp';
  if (ffn !== 'mlp') throw new Error(`dinov2: ffn_layer '${String(ffn)}' is not supported (only 'mlp')`);
  if (num('block_chunks', 0) !== 0) throw new Error('dinov2: block_chunks > 0 (chunked block keys) is not supported');
  if (num('drop_path_rate', 0) !== 0) throw new Error('dinov2: drop_path_rate > 0 is not supported');
  return {
    imgSize: num('img_size', base.imgSize),
    patchSize: num('patch_size', base.patchSize),
    inChans: num('in_chans', base.inChans),
    embedDim: num('embed_dim', base.embedDim),
    depth: num('depth', base.depth),
    numHeads: num('num_heads', base.numHeads),
    mlpRatio: num('mlp_ratio', base.mlpRatio),
    qkvBias: bool('qkv_bias', base.qkvBias),
    projBias: bool('proj_bias', base.projBias),
    ffnBias: bool('ffn_bias', base.ffnBias),
    initValues: kw.init_values === undefined ? base.initValues : kw.init_values === null ? null : Number(kw.init_values),
    numRegisterTokens: num('num_register_tokens', base.numRegisterTokens),
    interpolateAntialias: bool('interpolate_antialias', base.interpolateAntialias),
    interpolateOffset: num('interpolate_offset', base.interpolateOffset),
  };
}

/** x · gamma, gamma a learned per-channel scale initialised to initValues. */
export class LayerScale extends Module {
  gamma: Parameter;
  readonly initValues: number;

  constructor(dim: number, initValues = 1e-5, o: FactoryOptions = {}) {
    super();
    this.initValues = initValues;
    this.gamma = Parameter.empty([dim], o);
    this.resetParameters();
  }

  resetParameters(): void {
    init.constant_(this.gamma, this.initValues);
  }
  override forward(x: Tensor): Tensor {
    return x.mul(this.gamma);
  }
}

const scaled = (ls: LayerScale | Identity, x: Tensor): Tensor => (ls instanceof LayerScale ? ls.forward(x) : x);

/** Pre-norm block: x + ls1(attn(norm1(x))), then x + ls2(mlp(norm2(x))). LayerNorm eps 1e-6. */
export class Dinov2Block extends Module {
  norm1: LayerNorm;
  attn: Attention;
  ls1: LayerScale | Identity;
  norm2: LayerNorm;
  mlp: Mlp;
  ls2: LayerScale | Identity;

  constructor(c: Dinov2Config) {
    super();
    const D = c.embedDim;
    this.norm1 = new LayerNorm(D, { eps: 1e-6 });
    this.attn = new Attention(D, c.numHeads, { qkvBias: c.qkvBias, projBias: c.projBias });
    this.ls1 = c.initValues ? new LayerScale(D, c.initValues) : new Identity();
    this.norm2 = new LayerNorm(D, { eps: 1e-6 });
    this.mlp = new Mlp(D, Math.floor(D * c.mlpRatio), { bias: c.ffnBias });
    this.ls2 = c.initValues ? new LayerScale(D, c.initValues) : new Identity();
  }

  override forward(x: Tensor): Tensor {
    return scope(() => {
      const h = x.add(scaled(this.ls1, this.attn.forward(this.norm1.forward(x))));
      return h.add(scaled(this.ls2, this.mlp.forward(this.norm2.forward(h))));
    });
  }
}

export interface Dinov2Features {
  /** norm(x)[:, 0]: (B, D) */
  xNormClstoken: Tensor;
  /** norm(x)[:, 1 : 1 + registers]: (B, R, D) */
  xNormRegtokens: Tensor;
  /** norm(x)[:, 1 + registers :]: (B, N, D), patches row-major — the REPA target */
  xNormPatchtokens: Tensor;
  /** the last block's output, before the final norm: (B, 1 + R + N, D) */
  xPrenorm: Tensor;
}

export class DinoVisionTransformer extends Module {
  // own parameters, in the official state-dict order
  cls_token: Parameter;
  pos_embed: Parameter;
  register_tokens: Parameter | null;
  mask_token: Parameter;
  // children
  patch_embed: PatchEmbed;
  blocks: ModuleList<Dinov2Block>;
  norm: LayerNorm;

  readonly config: Readonly<Dinov2Config>;

  constructor(config: Dinov2Config) {
    super();
    const c = { ...config };
    if (c.imgSize % c.patchSize !== 0) throw new Error(`dinov2: imgSize ${c.imgSize} is not a multiple of patchSize ${c.patchSize}`);
    this.config = Object.freeze(c);
    const D = c.embedDim;
    const numPatches = (c.imgSize / c.patchSize) ** 2;
    this.cls_token = Parameter.empty([1, 1, D]);
    this.pos_embed = Parameter.empty([1, numPatches + 1, D]);
    this.register_tokens = c.numRegisterTokens > 0 ? Parameter.empty([1, c.numRegisterTokens, D]) : null;
    this.mask_token = Parameter.empty([1, D]);
    this.patch_embed = new PatchEmbed(c.patchSize, c.inChans, D);
    this.blocks = new ModuleList(Array.from({ length: c.depth }, () => new Dinov2Block(c)));
    this.norm = new LayerNorm(D, { eps: 1e-6 });
    this.initWeights();
  }

  get embedDim(): number {
    return this.config.embedDim;
  }
  get patchSize(): number {
    return this.config.patchSize;
  }
  get numRegisterTokens(): number {
    return this.config.numRegisterTokens;
  }

  /** Upstream init_weights: pos_embed trunc-normal(0.02), cls/register tokens N(0, 1e-6²), Linear trunc-normal(0.02) + zero bias, mask_token 0. */
  initWeights(): void {
    scope(() => {
      init.truncNormal_(this.pos_embed, 0, 0.02);
      init.normal_(this.cls_token, 0, 1e-6);
      if (this.register_tokens) init.normal_(this.register_tokens, 0, 1e-6);
      init.zeros_(this.mask_token);
      for (const m of this.modules()) {
        if (m instanceof Linear) {
          init.truncNormal_(m.weight, 0, 0.02);
          if (m.bias) init.zeros_(m.bias);
        }
      }
    });
  }

  /**
   * The position embedding for tokens x = [cls, patches] (B, 1 + npatch, D) of an image of height w
   * and width h (DINOv2's names: w = x.shape[2]). As upstream: the stored table itself when npatch
   * equals its patch count and w == h; otherwise the 37×37 (for 518/14) patch grid is resized in
   * float32 with bicubic (align_corners False, antialias per config) to (w // p, h // p): with
   * interpolateOffset > 0 by scale factor ((w0 + offset) / M, (h0 + offset) / M) — PyTorch then
   * maps output i to source (i + 0.5)·M/(w0 + offset) − 0.5 — else by size. Cast to x's dtype.
   */
  interpolatePosEncoding(x: Tensor, w: number, h: number): Tensor {
    const npatch = x.size(1) - 1;
    const N = this.pos_embed.size(1) - 1;
    if (npatch === N && w === h) return this.pos_embed;
    return scope(() => {
      const pe = this.pos_embed.float();
      const D = pe.size(2);
      const M = Math.floor(Math.sqrt(N));
      if (M * M !== N) throw new Error(`dinov2: pos_embed has ${N} patch rows, not a square grid`);
      const p = this.config.patchSize;
      const w0 = Math.floor(w / p),
        h0 = Math.floor(h / p);
      const grid = pe.narrow(1, 1, N).reshape(1, M, M, D).permute(0, 3, 1, 2);
      const off = this.config.interpolateOffset;
      const resized = interpolate(grid, {
        mode: 'bicubic',
        alignCorners: false,
        antialias: this.config.interpolateAntialias,
        ...(off ? { scaleFactor: [(w0 + off) / M, (h0 + off) / M] as [number, number] } : { size: [w0, h0] as [number, number] }),
      });
      if (resized.size(2) !== w0 || resized.size(3) !== h0)
        throw new Error(`dinov2: pos-embed resize gave ${resized.size(2)}×${resized.size(3)}, expected ${w0}×${h0}`);
      const patchPe = resized.permute(0, 2, 3, 1).reshape(1, w0 * h0, D);
      return cat([pe.narrow(1, 0, 1), patchPe], 1).to(x.dtype);
    });
  }

  /**
   * Images (B, C, H, W) → tokens [cls, (registers), patches] + pos-embed (registers get none).
   * masks: optional boolean (B, N); masked patches are replaced by mask_token before the pos-embed.
   */
  prepareTokensWithMasks(x: Tensor, masks?: Tensor | null): Tensor {
    return scope(() => {
      const [B, , w, h] = x.shape;
      let t = this.patch_embed.forward(x);
      if (masks) t = where(masks.unsqueeze(-1), this.mask_token.to(t.dtype).unsqueeze(0), t);
      t = cat([this.cls_token.expand(B, -1, -1), t], 1);
      t = t.add(this.interpolatePosEncoding(t, w, h));
      if (this.register_tokens) {
        const n = t.size(1) - 1;
        t = cat([t.narrow(1, 0, 1), this.register_tokens.expand(B, -1, -1), t.narrow(1, 1, n)], 1);
      }
      return t;
    });
  }

  /** prepareTokensWithMasks → blocks → norm, split as upstream's forward_features dict. */
  forwardFeatures(x: Tensor, masks?: Tensor | null): Dinov2Features {
    return scope(() => {
      let t = this.prepareTokensWithMasks(x, masks);
      for (const blk of this.blocks) t = blk.forward(t);
      const xn = this.norm.forward(t);
      const R = this.config.numRegisterTokens;
      return {
        xNormClstoken: xn.select(1, 0),
        xNormRegtokens: xn.narrow(1, 1, R),
        xNormPatchtokens: xn.narrow(1, 1 + R, xn.size(1) - 1 - R),
        xPrenorm: t,
      };
    });
  }

  /** As upstream forward (is_training False, head = Identity): the normalised CLS token (B, D). */
  override forward(x: Tensor, masks?: Tensor | null): Tensor {
    return scope(() => this.forwardFeatures(x, masks).xNormClstoken);
  }
}
