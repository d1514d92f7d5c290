// The Semanticist concept encoder (docs/upstream/tokenizer.md#encoder; upstream
// semanticist/stage1/vision_transformer.py, `VisionTransformer`): a DINO/timm-style pre-norm ViT
// over [CLS, patch tokens, learned slot tokens] with a learned pos_embed on all of them, a boolean
// causal mask in which the slots see CLS, every patch and the slots up to their own index
// (CLS/patches never see a slot), and the final LayerNorm'd slot tokens as output. Also the size
// registry (vit_*_patch*) as plain data.
// Field names are the checkpoint keys: cls_token, pos_embed, slot_embed, patch_embed.proj,
// blocks.N.{norm1, attn.qkv, attn.proj, norm2, mlp.fc1, mlp.fc2}, norm.
import type { Tensor } from '../../core/tensor.js';
import { scope } from '../../core/scope.js';
import { arange, linspace } from '../../core/creation.js';
import { cat } from '../../core/functions.js';
import { Module } from '../../nn/module.js';
import { Parameter } from '../../nn/parameter.js';
import { ModuleList } from '../../nn/containers.js';
import { Linear } from '../../nn/layers/linear.js';
import { LayerNorm } from '../../nn/layers/normalization.js';
import { DropPath } from '../../nn/layers/dropout.js';
import { interpolate } from '../../nn/functional.js';
import * as init from '../../nn/init.js';
import { Attention } from '../layers/attention.js';
import { Mlp } from '../layers/mlp.js';
import { PatchEmbed } from '../layers/patch-embed.js';

/** One preset of upstream's registry (vit_tiny_patch16 ... vit_huge_patch14). */
export interface VitSize {
  readonly patchSize: number;
  readonly embedDim: number;
  readonly depth: number;
  readonly numHeads: number;
  readonly mlpRatio: number;
  readonly qkvBias: boolean;
}

/** Upstream's `__all__` presets; every one uses qkv bias and LayerNorm eps 1e-6. Semanticist uses vit_base_patch16. */
export const VIT_SIZES = {
  vit_tiny_patch16: { patchSize: 16, embedDim: 192, depth: 12, numHeads: 3, mlpRatio: 4, qkvBias: true },
  vit_small_patch16: { patchSize: 16, embedDim: 384, depth: 12, numHeads: 6, mlpRatio: 4, qkvBias: true },
  vit_base_patch16: { patchSize: 16, embedDim: 768, depth: 12, numHeads: 12, mlpRatio: 4, qkvBias: true },
  vit_large_patch16: { patchSize: 16, embedDim: 1024, depth: 24, numHeads: 16, mlpRatio: 4, qkvBias: true },
  vit_huge_patch14: { patchSize: 14, embedDim: 1280, depth: 32, numHeads: 16, mlpRatio: 4, qkvBias: true },
} as const satisfies Record<string, VitSize>;
export type VitName = keyof typeof VIT_SIZES;

export interface VitEncoderOptions {
  /** Square training image side (upstream img_size[0]); pos_embed holds (imgSize/patchSize)² patch rows. */
  imgSize: number;
  patchSize: number;
  /** Image channels (default 3). */
  inChans?: number;
  embedDim: number;
  depth: number;
  numHeads: number;
  /** MLP hidden = floor(embedDim·mlpRatio) (default 4). */
  mlpRatio?: number;
  /** Bias on the fused qkv Linear (default true, as every preset; upstream's class default is false). */
  qkvBias?: boolean;
  /** Learned slot tokens appended after the patches (upstream num_slots). */
  numSlots: number;
  /** Stochastic depth, ramped linearly from 0 (block 0) to this (last block) (default 0). */
  dropPathRate?: number;
}

/** Pre-norm transformer block: x + dp(attn(norm1(x), mask)); x + dp(mlp(norm2(x))). */
export class VitBlock extends Module {
  norm1: LayerNorm;
  attn: Attention;
  drop_path: DropPath;
  norm2: LayerNorm;
  mlp: Mlp;

  constructor(dim: number, numHeads: number, o: { mlpRatio: number; qkvBias: boolean; dropPath: number }) {
    super();
    this.norm1 = new LayerNorm(dim, { eps: 1e-6 });
    this.attn = new Attention(dim, numHeads, { qkvBias: o.qkvBias });
    this.drop_path = new DropPath(o.dropPath);
    this.norm2 = new LayerNorm(dim, { eps: 1e-6 });
    this.mlp = new Mlp(dim, Math.floor(dim * o.mlpRatio)); // exact GELU
  }

  /** x: (B, T, D); attnMask: boolean (T, T), true = may attend, or null for full attention. */
  override forward(x: Tensor, attnMask: Tensor | null = null): Tensor {
    return scope(() => {
      const h = x.add(this.drop_path.forward(this.attn.forward(this.norm1.forward(x), attnMask)));
      return h.add(this.drop_path.forward(this.mlp.forward(this.norm2.forward(h))));
    });
  }
}

/**
 * The encoder's boolean (T, T) mask, true = may attend, for T tokens of which the last numSlots are
 * slots: key j is visible from query i iff j is CLS/patch (j < T − numSlots) or j ≤ i. So CLS and
 * patch rows see only CLS and patches, and slot rows see CLS, all patches and slots ≤ their own.
 */
export function slotCausalMask(numTokens: number, numSlots: number, device = 'cpu'): Tensor {
  return scope(() => {
    const idx = arange(numTokens, { device });
    const row = idx.unsqueeze(1),
      col = idx.unsqueeze(0);
    return col.lt(numTokens - numSlots).logicalOr(col.le(row));
  });
}

export interface VitForwardOptions {
  /** Apply the slot-causal mask (default true, upstream is_causal / enc_causal); false = full attention. */
  isCausal?: boolean;
  /**
   * Called after each block with its output (B, T, D) and the mask it got. The tensors are freed
   * when forward returns: copy what you need (e.g. torch.keep(x.clone())).
   */
  onBlock?: (index: number, output: Tensor, attnMask: Tensor | null) => void;
}

/** Upstream `VisionTransformer` with num_slots learned slot queries (the Semanticist encoder). */
export class VisionTransformer extends Module {
  patch_embed: PatchEmbed;
  cls_token: Parameter;
  pos_embed: Parameter;
  slot_embed: Parameter;
  blocks: ModuleList<VitBlock>;
  norm: LayerNorm;
  readonly imgSize: number;
  readonly patchSize: number;
  readonly embedDim: number;
  readonly numSlots: number;
  /** Patch tokens at imgSize: (imgSize/patchSize)². */
  readonly numPatches: number;
  /** Per-block drop-path probabilities (float32 linspace(0, dropPathRate, depth), as upstream). */
  readonly dpr: number[];

  constructor(o: VitEncoderOptions) {
    super();
    const { imgSize, patchSize, embedDim, depth, numHeads, numSlots } = o;
    const grid = Math.floor(imgSize / patchSize);
    this.imgSize = imgSize;
    this.patchSize = patchSize;
    this.embedDim = embedDim;
    this.numSlots = numSlots;
    this.numPatches = grid * grid;
    this.patch_embed = new PatchEmbed(patchSize, o.inChans ?? 3, embedDim); // PyTorch default conv init
    this.cls_token = Parameter.empty([1, 1, embedDim]);
    this.pos_embed = Parameter.empty([1, 1 + this.numPatches + numSlots, embedDim]);
    this.slot_embed = Parameter.empty([1, numSlots, embedDim]);
    this.dpr = scope(() => linspace(0, o.dropPathRate ?? 0, depth, { dtype: 'float32' }).tolist() as number[]);
    this.blocks = new ModuleList(
      this.dpr.map((dp) => new VitBlock(embedDim, numHeads, { mlpRatio: o.mlpRatio ?? 4, qkvBias: o.qkvBias ?? true, dropPath: dp })),
    );
    this.norm = new LayerNorm(embedDim, { eps: 1e-6 });
    this.initWeights();
  }

  /**
   * Upstream's init (docs/upstream/tokenizer.md#encoder): trunc-normal(0.02) on pos/cls/slot embeds
   * and Linear weights, zero Linear bias, LayerNorm 1/0.
   */
  initWeights(): void {
    scope(() => {
      init.truncNormal_(this.pos_embed, 0, 0.02);
      init.truncNormal_(this.cls_token, 0, 0.02);
      init.truncNormal_(this.slot_embed, 0, 0.02);
      this.apply((m) => {
        if (m instanceof Linear) {
          init.truncNormal_(m.weight, 0, 0.02);
          if (m.bias) init.zeros_(m.bias);
        } else if (m instanceof LayerNorm) {
          if (m.weight) init.ones_(m.weight);
          if (m.bias) init.zeros_(m.bias);
        }
      });
    });
  }

  /** Channel width of the output tokens (upstream num_features). */
  get numFeatures(): number {
    return this.embedDim;
  }

  /**
   * pos_embed for an image of height h and width w: pos_embed itself at the native grid; otherwise
   * [CLS row, the patch grid resized bicubically (DINO's interpolate_pos_encoding: scale factor
   * (g + 0.1)/n per axis, align_corners false), slot rows], of shape (1, 1 + gh·gw + numSlots, D).
   */
  interpolatePosEncoding(h: number, w: number): Tensor {
    const n = Math.round(Math.sqrt(this.numPatches));
    const gh = Math.floor(h / this.patchSize),
      gw = Math.floor(w / this.patchSize);
    if (gh === n && gw === n) return this.pos_embed;
    return scope(() => {
      const D = this.embedDim;
      const clsPos = this.pos_embed.narrow(1, 0, 1);
      const slotPos = this.pos_embed.narrow(1, 1 + this.numPatches, this.numSlots);
      const gridPos = this.pos_embed.narrow(1, 1, this.numPatches).reshape(1, n, n, D).permute(0, 3, 1, 2);
      const resized = interpolate(gridPos, { scaleFactor: [(gh + 0.1) / n, (gw + 0.1) / n], mode: 'bicubic', alignCorners: false });
      const [, , rh, rw] = resized.shape;
      if (rh !== gh || rw !== gw) throw new Error(`interpolatePosEncoding: got a ${rh}×${rw} grid, expected ${gh}×${gw}`);
      return cat([clsPos, resized.permute(0, 2, 3, 1).reshape(1, gh * gw, D), slotPos], 1);
    });
  }

  /** [CLS, patch tokens (row-major), slot tokens] + pos_embed: (B, 1 + P + numSlots, D). */
  prepareTokens(images: Tensor): Tensor {
    return scope(() => {
      const [B, , H, W] = images.shape;
      const patches = this.patch_embed.forward(images);
      const x = cat([this.cls_token.expand(B, -1, -1), patches, this.slot_embed.expand(B, -1, -1)], 1);
      return x.add(this.interpolatePosEncoding(H, W));
    });
  }

  /** The mask forward uses for T tokens (see slotCausalMask). */
  attnMask(numTokens: number, device = this.pos_embed.device): Tensor {
    return slotCausalMask(numTokens, this.numSlots, device);
  }

  /** images (B, C, H, W) in [0, 1] → the final-LayerNorm'd slot tokens (B, numSlots, D). */
  override forward(images: Tensor, o: VitForwardOptions = {}): Tensor {
    return scope(() => {
      let x = this.prepareTokens(images);
      const T = x.size(1);
      const mask = (o.isCausal ?? true) ? this.attnMask(T, x.device) : null;
      this.blocks.map((blk, i) => {
        x = blk.forward(x, mask);
        o.onBlock?.(i, x, mask);
      });
      return this.norm.forward(x).narrow(1, T - this.numSlots, this.numSlots);
    });
  }
}

/** A preset of VIT_SIZES at the given image size, slot count and drop-path rate (upstream vit_*(**kwargs)). */
export function createVitEncoder(name: VitName, o: { imgSize: number; numSlots: number; dropPathRate?: number; inChans?: number }): VisionTransformer {
  const size = VIT_SIZES[name];
  if (!size) throw new Error(`unknown ViT preset '${name}' (known: ${Object.keys(VIT_SIZES).join(', ')})`);
  return new VisionTransformer({ ...size, ...o });
}
