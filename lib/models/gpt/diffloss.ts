// ϵLlamaGen's continuous-token diffusion head: upstream `DiffLoss` (semanticist/stage2/diffloss.py;
// docs/upstream/gpt.md#diffusion-head, #sampling) — the MLP denoiser `net` (SimpleMLPAdaLN, ./diffloss-mlp.ts) trained and sampled
// with the SiT linear velocity transport (./transport.ts).
//
// Mounted as the GPT's `diffloss` field, its state-dict keys are the checkpoint's `diffloss.net.*`.
//
// forward(target, z): the training loss. Unlike upstream's DiffLoss.forward, it also does the
// repeat that upstream's Transformer.forward_loss does before calling it:
//   rows = target.reshape(N, C).repeat(diffusionBatchMul, 1), z likewise (row r ↔ source row r mod N),
// so the GPT must pass its (B, L, C) targets and (B, L, D) conditions un-repeated. Then
// Transport.training_losses (x0 = randn_like first, then t = rand), loss = mean of the per-row losses.
//
// sample(z): upstream DiffLoss.sample with use_si. With cfg ≠ 1 the rows of z are
// [conditional; unconditional], the initial noise is randn(N/2, C) duplicated (cat([n, n])), the
// model is net.forwardWithCfg, and only the FIRST half (N/2 rows, the guided samples) is returned,
// as upstream's `.chunk(2)[0]`; with cfg = 1 all N rows are sampled and returned. The sampler is
// always the 250-step Euler–Maruyama SDE (diffusion_form 'sigma', last step 'Mean' of 0.04):
// upstream ignores num_sampling_steps when use_si is set, and so does this module
// (`numSamplingSteps` is accepted and stored only). An ODE sampler can be chosen instead (not upstream).
//
// use_si = false (no Semanticist config uses it): MAR's cosine-DDPM head — the net outputs 2C
// channels (eps and the learned-variance interpolation), training draws t = randint(0, 1000) then
// the noise per row and takes the hybrid loss of the project's Gaussian diffusion on the cosine
// schedule; sampling is ancestral over numSamplingSteps respaced steps (default '100'), with the
// temperature scaling the step noise and CFG on the eps channels.
import type { Tensor } from '../../core/tensor.js';
import { scope } from '../../core/scope.js';
import { noGrad } from '../../core/modes.js';
import { cat } from '../../core/functions.js';
import { randn, randint } from '../../core/creation.js';
import { createDiffusion, type GaussianDiffusion } from '../../diffusion/index.js';
import type { Generator } from '../../core/random.js';
import { Module } from '../../nn/module.js';
import { SimpleMLPAdaLN, checkCondMethod, type CondMethod } from './diffloss-mlp.js';
import { trainingLosses, sampleSde, sampleOde, type OdeOptions, type SdeOptions } from './transport.js';

export interface DiffLossOptions {
  /** Token channels C (the tokenizer's slot_dim). */
  targetChannels: number;
  /** Condition width (the GPT's dim). */
  zChannels: number;
  /** Residual blocks (diffloss_d). */
  depth: number;
  /** MLP width (diffloss_w). */
  width: number;
  /** Upstream's num_sampling_steps; ignored with useSi (the SDE always takes 250 steps). */
  numSamplingSteps?: string | number;
  /** Each (target, condition) row is repeated this many times with independent noise and t (default 1; the GPT configs use 4). */
  diffusionBatchMul?: number;
  /** 'concat' (default here and in every Semanticist config) or 'adaln' (upstream's constructor default). */
  condMethod?: CondMethod;
  /** Must be true (default here; upstream's constructor default is false, the configs set true). */
  useSi?: boolean;
  /** DDPM only; must be false or absent. */
  predictXstart?: boolean;
}

export interface DiffLossDraws {
  /** Noise x0 for the repeated rows (N·mul, C), instead of randn_like (the DDPM head: its noise). */
  x0?: Tensor;
  /** Times t (N·mul), instead of rand (the DDPM head: integer steps, instead of randint). */
  t?: Tensor;
  generator?: Generator;
  /** Per-row weights in the un-repeated layout ((B, L) or (N)); loss = Σ(loss·mask)/Σmask as upstream. */
  mask?: Tensor;
}

export interface DiffLossResult {
  /** The scalar loss: the mean of lossRows (or the masked mean). */
  loss: Tensor;
  /** Per-row loss (N·mul): mean over C of (pred − (x1 − x0))². */
  lossRows: Tensor;
  /** The head's velocity on the repeated rows (N·mul, C). */
  pred: Tensor;
  x0: Tensor;
  t: Tensor;
}

export interface DiffLossSampleOptions {
  /** Scales the SDE noise only (default 1). */
  temperature?: number;
  /** Guidance scale (default 1: no CFG). With cfg ≠ 1, z is [cond; uncond] and N/2 rows come back. */
  cfg?: number;
  /** The initial draw: (N/2, C) with CFG (it is duplicated), (N, C) without, instead of randn. */
  noise?: Tensor;
  /** The EM noise of step i, shaped like x (N, C), instead of randn. */
  stepNoise?: (i: number, like: Tensor) => Tensor;
  generator?: Generator;
  /** Called after every SDE step with all N rows (see sampleSde). */
  onStep?: (i: number, x: Tensor) => void;
  /** 'twice' (default, upstream's cost) or 'once': same samples. */
  modelCalls?: SdeOptions['modelCalls'];
  /** Use the deterministic ODE sampler instead of the SDE (not upstream; ignores temperature's SDE meaning). */
  ode?: OdeOptions;
}

const shapeStr = (t: Tensor) => `(${t.shape.join(', ')})`;

/**
 * CFG scale of token k of n (upstream generate.get_cfg as generate() calls it: token 0 in the
 * prefill with get_cfg(cfg, 0, n), token k ≥ 1 with get_cfg(cfg, k, n)): 'linear' gives
 * 1 + (cfg − 1)·(k + 1)/n — token 0 already gets 1 + (cfg − 1)/n and the last token the full cfg;
 * 'constant' gives cfg.
 */
export function cfgSchedule(cfg: number, k: number, n: number, schedule: 'linear' | 'constant' = 'constant'): number {
  if (schedule === 'linear') return 1 + ((cfg - 1) * (k + 1)) / n;
  if (schedule === 'constant') return cfg;
  throw new Error(`cfgSchedule: unknown schedule '${schedule}' (supported: linear, constant)`);
}

/** The diffusion head (see the file header). */
export class DiffLoss extends Module {
  net: SimpleMLPAdaLN;
  readonly inChannels: number;
  readonly zChannels: number;
  readonly diffusionBatchMul: number;
  readonly numSamplingSteps: string | number | undefined;
  readonly useSi: boolean;
  /** The DDPM head's diffusions (useSi false): 1000 cosine steps for training, respaced for sampling. */
  readonly trainDiffusion: GaussianDiffusion | null = null;
  readonly genDiffusion: GaussianDiffusion | null = null;

  constructor(o: DiffLossOptions) {
    super();
    this.useSi = o.useSi ?? true;
    if (this.useSi && o.predictXstart) throw new Error('DiffLoss: predictXstart applies to the DDPM head (useSi false) only');
    if (!this.useSi) {
      // MAR's DDPM head: the cosine schedule, 1000 training steps, learned sigma (2C outputs),
      // sampled by ancestral steps over the respaced numSamplingSteps
      const steps = String(o.numSamplingSteps ?? '100');
      this.trainDiffusion = createDiffusion('', { noiseSchedule: 'cosine', predictXstart: o.predictXstart });
      this.genDiffusion = createDiffusion(steps, { noiseSchedule: 'cosine', predictXstart: o.predictXstart });
    }
    const mul = o.diffusionBatchMul ?? 1;
    if (!Number.isInteger(mul) || mul < 1) throw new Error(`DiffLoss: diffusionBatchMul must be a positive integer, got ${mul}`);
    this.inChannels = o.targetChannels;
    this.zChannels = o.zChannels;
    this.diffusionBatchMul = mul;
    this.numSamplingSteps = o.numSamplingSteps;
    this.net = new SimpleMLPAdaLN({
      inChannels: o.targetChannels,
      modelChannels: o.width,
      outChannels: this.useSi ? o.targetChannels : 2 * o.targetChannels,
      zChannels: o.zChannels,
      numResBlocks: o.depth,
      condMethod: checkCondMethod(o.condMethod ?? 'concat'),
    });
  }

  /** (…, C) targets and (…, D) conditions with equal leading dims → (N, C), (N, D). */
  private flatten(target: Tensor, z: Tensor): [Tensor, Tensor] {
    const C = this.inChannels,
      D = this.zChannels;
    const ts = target.shape,
      zs = z.shape;
    const lead = ts.slice(0, -1);
    if (ts.length < 2 || ts.length > 3 || ts[ts.length - 1] !== C)
      throw new Error(`DiffLoss.forward: target must be (B, L, ${C}) or (N, ${C}), got ${shapeStr(target)}`);
    if (zs.length !== ts.length || zs[zs.length - 1] !== D || zs.slice(0, -1).some((d, i) => d !== lead[i]))
      throw new Error(`DiffLoss.forward: z must be (${[...lead, D].join(', ')}) to match target ${shapeStr(target)}, got ${shapeStr(z)}`);
    const N = lead.reduce((a, b) => a * b, 1);
    return [target.reshape(N, C), z.reshape(N, D)];
  }

  /** The training loss (see the file header): target (B, L, C) or (N, C), z (B, L, D) or (N, D). */
  override forward(target: Tensor, z: Tensor, o: DiffLossDraws = {}): DiffLossResult {
    return scope(() => {
      const [t2, z2] = this.flatten(target, z);
      const mul = this.diffusionBatchMul;
      const x1 = t2.repeat(mul, 1),
        c = z2.repeat(mul, 1);
      const r = this.trainDiffusion
        ? this.ddpmLosses(x1, c, o)
        : trainingLosses((x, t, cc) => this.net.forward(x, t, cc), x1, c, { x0: o.x0, t: o.t, generator: o.generator });
      let loss: Tensor;
      if (o.mask) {
        if (o.mask.numel() !== t2.shape[0])
          throw new Error(`DiffLoss.forward: mask must have one entry per target row (${t2.shape[0]}), got ${shapeStr(o.mask)}`);
        const m = o.mask.reshape(-1).repeat(mul).to(r.loss.dtype);
        loss = r.loss.mul(m).sum().div(m.sum());
      } else {
        loss = r.loss.mean();
      }
      return { loss, lossRows: r.loss, pred: r.pred, x0: r.x0, t: r.t };
    });
  }

  /**
   * The DDPM head's training terms (upstream use_si false): t = randint(0, 1000) per row, then the
   * hybrid loss (eps MSE + VB) of the cosine diffusion; pred is the raw 2C output, x0 the noise drawn.
   */
  private ddpmLosses(x1: Tensor, c: Tensor, o: DiffLossDraws): { loss: Tensor; pred: Tensor; x0: Tensor; t: Tensor } {
    const d = this.trainDiffusion!;
    const t = o.t ?? randint(0, d.numTimesteps, [x1.shape[0]], { generator: o.generator, device: x1.device });
    const noise = o.x0 ?? randn(x1.shape, { generator: o.generator, device: x1.device });
    const r = d.trainingLosses((x, tt) => this.net.forward(x, tt, c), x1, t, { noise });
    return { loss: r.loss, pred: r.output, x0: noise, t };
  }

  /** Samples one token per condition row (see the file header). z: (N, zChannels). */
  sample(z: Tensor, o: DiffLossSampleOptions = {}): Tensor {
    const C = this.inChannels,
      D = this.zChannels;
    if (z.ndim !== 2 || z.shape[1] !== D) throw new Error(`DiffLoss.sample: z must be (N, ${D}), got ${shapeStr(z)}`);
    const N = z.shape[0];
    const cfg = o.cfg ?? 1;
    const guided = cfg !== 1;
    if (guided && N % 2)
      throw new Error(`DiffLoss.sample: with cfg ${cfg} the rows of z must be [conditional; unconditional] (an even count), got ${shapeStr(z)}`);
    const rows = guided ? N / 2 : N;
    if (o.noise && (o.noise.ndim !== 2 || o.noise.shape[0] !== rows || o.noise.shape[1] !== C))
      throw new Error(
        `DiffLoss.sample: noise must be (${rows}, ${C}) (the ${guided ? 'draw for the conditional half, duplicated for CFG' : 'initial noise'}), got ${shapeStr(o.noise)}`,
      );
    return noGrad(() =>
      scope(() => {
        let init = o.noise ?? randn([rows, C], { device: z.device, generator: o.generator });
        if (guided) init = cat([init, init], 0);
        const model = guided ? (x: Tensor, t: Tensor) => this.net.forwardWithCfg(x, t, z, cfg) : (x: Tensor, t: Tensor) => this.net.forward(x, t, z);
        const gen = o.generator;
        const out = this.genDiffusion
          ? this.genDiffusion.pSampleLoop(model, init.shape, {
              noise: init,
              temperature: o.temperature ?? 1,
              clipDenoised: false,
              stepNoise: o.stepNoise ?? (gen ? (_i: number, like: Tensor) => randn(like.shape, { generator: gen, device: like.device }) : undefined),
            })
          : o.ode
            ? sampleOde(model, init, o.ode)
            : sampleSde(model, init, {
                temperature: o.temperature ?? 1,
                stepNoise: o.stepNoise,
                generator: o.generator,
                onStep: o.onStep,
                modelCalls: o.modelCalls,
              });
        return guided ? out.narrow(0, 0, rows).clone() : out;
      }),
    );
  }

  /** Frees the DDPM head's schedule tensors, then the parameters. */
  override dispose(): void {
    this.trainDiffusion?.dispose();
    this.genDiffusion?.dispose();
    super.dispose();
  }
}
