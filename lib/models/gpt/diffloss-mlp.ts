// The ϵLlamaGen diffusion head's denoiser: MAR's `SimpleMLPAdaLN` as Semanticist modifies it
// (semanticist/stage2/diffloss.py; docs/upstream/gpt.md#diffusion-head). It maps one noisy token x_t (N, C), a float time
// t (N) in [0, 1] and the AR condition z (N, zDim) to a velocity (N, outChannels).
//
// Pieces, with upstream names (the field names are the checkpoint keys, in upstream's order):
//   time_embed    TimestepEmbedder(width): 256 sinusoidal frequencies (max_period 1e4) of the
//                 float t, then Linear → SiLU → Linear (`mlp.0`, `mlp.2`)
//   cond_embed    Linear(zDim → width)
//   input_proj    Linear(C → width)
//   res_blocks    ResBlock × depth: `in_ln` (affine LayerNorm, eps 1e-6) modulated by
//                 (shift, scale) from `adaLN_modulation` = SiLU → Linear(width → 3·width) of the
//                 time embedding; with cond_method 'concat' the condition embedding is
//                 concatenated to that (width → 2·width), then `mlp` = Linear(→ width) → SiLU →
//                 Linear(width → width), and x += gate ⊙ mlp(...)
//   final_layer   `norm_final` (non-affine LayerNorm, eps 1e-6) modulated by (shift, scale) from
//                 `adaLN_modulation` = SiLU → Linear(width → 2·width), concat the condition
//                 ('concat'), then `linear` (→ outChannels)
//
// cond_method: 'concat' (the Semanticist configs): only t drives adaLN, the condition enters by
// concatenation in every block and in the final layer. 'adaln' (upstream's constructor default,
// MAR's original head): adaLN is driven by t_emb + c_emb and nothing is concatenated.
//
// Init (initialize_weights): xavier-uniform on every Linear with zero bias, N(0, 0.02) on the two
// t-MLP weights, zeros on every adaLN Linear and on the final Linear — so a fresh head outputs 0.
import type { Tensor } from '../../core/tensor.js';
import { scope } from '../../core/scope.js';
import { cat } from '../../core/functions.js';
import { Module } from '../../nn/module.js';
import { Sequential, ModuleList } from '../../nn/containers.js';
import { Linear } from '../../nn/layers/linear.js';
import { LayerNorm } from '../../nn/layers/normalization.js';
import { SiLU } from '../../nn/layers/activation.js';
import * as init from '../../nn/init.js';
import { TimestepEmbedder } from '../layers/timestep-embedder.js';

export type CondMethod = 'concat' | 'adaln';
const COND_METHODS: readonly CondMethod[] = ['concat', 'adaln'];

export function checkCondMethod(m: string): CondMethod {
  if (!(COND_METHODS as readonly string[]).includes(m))
    throw new Error(`SimpleMLPAdaLN: unsupported cond_method '${m}' (supported: ${COND_METHODS.join(', ')})`);
  return m as CondMethod;
}

/** adaLN modulation on rows: x·(1 + scale) + shift, all (N, D). */
export function modulate(x: Tensor, shift: Tensor, scale: Tensor): Tensor {
  return scope(() => x.mul(scale.add(1)).add(shift));
}

const shapeStr = (t: Tensor) => `(${t.shape.join(', ')})`;

/** One residual MLP block, adaLN on t (and on c too with 'adaln'), the condition concatenated with 'concat'. */
export class ResBlock extends Module {
  in_ln: LayerNorm;
  adaLN_modulation: Sequential;
  mlp: Sequential;
  readonly channels: number;
  readonly condMethod: CondMethod;

  constructor(channels: number, condMethod: CondMethod = 'adaln') {
    super();
    this.channels = channels;
    this.condMethod = checkCondMethod(condMethod);
    this.in_ln = new LayerNorm(channels, { eps: 1e-6 });
    this.adaLN_modulation = new Sequential(new SiLU(), new Linear(channels, 3 * channels));
    const mlpIn = this.condMethod === 'concat' ? 2 * channels : channels;
    this.mlp = new Sequential(new Linear(mlpIn, channels), new SiLU(), new Linear(channels, channels));
  }

  /** x (N, w); t: the adaLN vector (N, w); c: the condition embedding to concatenate (N, w) or null. */
  override forward(x: Tensor, t: Tensor, c: Tensor | null = null): Tensor {
    return scope(() => {
      const [shift, scale, gate] = (this.adaLN_modulation.forward(t) as Tensor).chunk(3, -1);
      let h = modulate(this.in_ln.forward(x), shift, scale);
      if (this.condMethod === 'concat' && c) h = cat([h, c], -1);
      h = this.mlp.forward(h) as Tensor;
      return x.add(gate.mul(h));
    });
  }
}

/** The output layer: non-affine LayerNorm modulated by (shift, scale), optional concat, Linear. */
export class FinalLayer extends Module {
  norm_final: LayerNorm;
  adaLN_modulation: Sequential;
  linear: Linear;
  readonly condMethod: CondMethod;

  constructor(modelChannels: number, outChannels: number, condMethod: CondMethod = 'adaln') {
    super();
    this.condMethod = checkCondMethod(condMethod);
    this.norm_final = new LayerNorm(modelChannels, { elementwiseAffine: false, eps: 1e-6 });
    this.adaLN_modulation = new Sequential(new SiLU(), new Linear(modelChannels, 2 * modelChannels));
    const linIn = this.condMethod === 'concat' ? 2 * modelChannels : modelChannels;
    this.linear = new Linear(linIn, outChannels);
  }

  override forward(x: Tensor, t: Tensor, c: Tensor | null = null): Tensor {
    return scope(() => {
      const [shift, scale] = (this.adaLN_modulation.forward(t) as Tensor).chunk(2, -1);
      let h = modulate(this.norm_final.forward(x), shift, scale);
      if (this.condMethod === 'concat' && c) h = cat([h, c], -1);
      return this.linear.forward(h);
    });
  }
}

export interface SimpleMLPAdaLNOptions {
  /** Token channels C (upstream in_channels = the tokenizer's slot_dim). */
  inChannels: number;
  /** Width w (upstream model_channels = diffloss_w). */
  modelChannels: number;
  /** Output channels (C for the velocity head with use_si; 2C for the DDPM head with learned sigma). */
  outChannels: number;
  /** Width of the AR condition z (upstream z_channels = the GPT dim). */
  zChannels: number;
  /** Number of residual blocks (upstream num_res_blocks = diffloss_d). */
  numResBlocks: number;
  /** 'concat' (Semanticist) or 'adaln' (upstream's default, MAR's original). */
  condMethod?: CondMethod;
}

/** The head's MLP denoiser (see the file header). */
export class SimpleMLPAdaLN extends Module {
  // Field order = upstream registration order = checkpoint key order.
  time_embed: TimestepEmbedder;
  cond_embed: Linear;
  input_proj: Linear;
  res_blocks: ModuleList<ResBlock>;
  final_layer: FinalLayer;

  readonly inChannels: number;
  readonly modelChannels: number;
  readonly outChannels: number;
  readonly zChannels: number;
  readonly numResBlocks: number;
  readonly condMethod: CondMethod;

  constructor(o: SimpleMLPAdaLNOptions) {
    super();
    for (const k of ['inChannels', 'modelChannels', 'outChannels', 'zChannels', 'numResBlocks'] as const)
      if (!Number.isInteger(o[k]) || o[k] < (k === 'numResBlocks' ? 0 : 1)) throw new Error(`SimpleMLPAdaLN: ${k} must be a positive integer, got ${o[k]}`);
    this.inChannels = o.inChannels;
    this.modelChannels = o.modelChannels;
    this.outChannels = o.outChannels;
    this.zChannels = o.zChannels;
    this.numResBlocks = o.numResBlocks;
    this.condMethod = checkCondMethod(o.condMethod ?? 'adaln');
    const w = this.modelChannels;
    this.time_embed = new TimestepEmbedder(w);
    this.cond_embed = new Linear(this.zChannels, w);
    this.input_proj = new Linear(this.inChannels, w);
    this.res_blocks = new ModuleList(Array.from({ length: this.numResBlocks }, () => new ResBlock(w, this.condMethod)));
    this.final_layer = new FinalLayer(w, this.outChannels, this.condMethod);
    this.initializeWeights();
  }

  /** Upstream initialize_weights (see the file header). */
  initializeWeights(): void {
    scope(() => {
      this.apply((m) => {
        if (m instanceof Linear) {
          init.xavierUniform_(m.weight);
          if (m.bias) init.zeros_(m.bias);
        }
      });
      init.normal_((this.time_embed.mlp.at(0) as Linear).weight, 0, 0.02);
      init.normal_((this.time_embed.mlp.at(2) as Linear).weight, 0, 0.02);
      const zeroLinear = (l: Linear) => {
        init.zeros_(l.weight);
        if (l.bias) init.zeros_(l.bias);
      };
      for (const b of this.res_blocks) zeroLinear(b.adaLN_modulation.at(-1) as Linear);
      zeroLinear(this.final_layer.adaLN_modulation.at(-1) as Linear);
      zeroLinear(this.final_layer.linear);
    });
  }

  /** Throws a clear error unless x is (N, inChannels), t is (N) and c is (N, zChannels). */
  checkInputs(x: Tensor, t: Tensor, c: Tensor, what = 'SimpleMLPAdaLN.forward'): void {
    const N = x.shape[0];
    if (x.ndim !== 2 || x.shape[1] !== this.inChannels) throw new Error(`${what}: x must be (N, ${this.inChannels}), got ${shapeStr(x)}`);
    if (t.ndim !== 1 || t.shape[0] !== N) throw new Error(`${what}: t must be (N) = (${N}) float times, got ${shapeStr(t)}`);
    if (c.ndim !== 2 || c.shape[0] !== N || c.shape[1] !== this.zChannels)
      throw new Error(`${what}: c must be (N, ${this.zChannels}) = (${N}, ${this.zChannels}), got ${shapeStr(c)}`);
  }

  /** x (N, inChannels), t (N) float times in [0, 1], c (N, zChannels) → (N, outChannels). */
  override forward(x: Tensor, t: Tensor, c: Tensor): Tensor {
    this.checkInputs(x, t, c);
    return scope(() => {
      let h = this.input_proj.forward(x);
      const tEmb = this.time_embed.forward(t);
      const cEmb = this.cond_embed.forward(c);
      const [ada, concat] = this.condMethod === 'adaln' ? [tEmb.add(cEmb), null] : [tEmb, cEmb];
      for (const block of this.res_blocks) h = block.forward(h, ada, concat);
      return this.final_layer.forward(h, ada, concat);
    });
  }

  /**
   * Upstream forward_with_cfg: rows [0, N/2) of x are used for both halves (the second half of x is
   * ignored), c = [c_cond; c_uncond]; the first inChannels output channels become
   * v_u + s·(v_c − v_u) on both halves, any further channels pass through per row. → (N, outChannels).
   */
  forwardWithCfg(x: Tensor, t: Tensor, c: Tensor, cfgScale: number): Tensor {
    const N = x.shape[0];
    if (N % 2) throw new Error(`SimpleMLPAdaLN.forwardWithCfg: the batch (${N}) must be even (conditional rows, then unconditional rows); x is ${shapeStr(x)}`);
    return scope(() => {
      const half = x.narrow(0, 0, N / 2);
      const out = this.forward(cat([half, half], 0), t, c);
      const C = this.inChannels;
      const v = out.narrow(1, 0, C),
        rest = out.narrow(1, C, out.shape[1] - C);
      const [vc, vu] = v.split(N / 2, 0);
      const halfV = vu.add(vc.sub(vu).mul(cfgScale));
      return cat([cat([halfV, halfV], 0), rest], 1);
    });
  }
}
