// The ADM/DiT Gaussian diffusion: forward noising, the model's posterior p(x_{t-1}|x_t), ancestral
// and DDIM sampling, and the hybrid training loss (MSE on eps + VB term with the mean detached).
// One module shared by every model in the project (the tokenizer's DiT decoder, the DDPM variant
// of the AR head). Numerics follow upstream: schedule arrays in float64, gathered per timestep and
// cast to float32, then combined in float32.
import type { Tensor } from '../core/tensor.js';
import { tensor, randn, randnLike } from '../core/creation.js';
import { cat, where } from '../core/functions.js';
import { scope, keep } from '../core/scope.js';
import { noGrad } from '../core/modes.js';
import type { Schedule } from './schedule.js';
import { normalKl, discretizedGaussianLogLikelihood, meanFlat } from './losses.js';

export type MeanType = 'epsilon' | 'start_x';
export type VarType = 'learned_range' | 'fixed_large' | 'fixed_small';
export type LossType = 'mse' | 'rescaled_mse';

/** The denoiser: (x_t, original integer timesteps) → output (C or 2C channels). */
export type ModelFn = (x: Tensor, t: Tensor) => Tensor;

export interface DiffusionOptions {
  meanType?: MeanType;
  varType?: VarType;
  lossType?: LossType;
}

export interface MeanVariance {
  mean: Tensor;
  variance: Tensor;
  logVariance: Tensor;
  predXstart: Tensor;
}

export interface SampleLoopOptions {
  /** Initial noise x_T (default: randn of `shape`). */
  noise?: Tensor;
  /** Noise for the step at loop index i (default: randn_like). */
  stepNoise?: (i: number, like: Tensor) => Tensor;
  /** Called after each step with the loop index and the new sample (do not keep it without cloning). */
  progress?: (i: number, total: number, sample: Tensor) => void;
  /** DDIM's eta (0 = deterministic); used by ddimSampleLoop only. */
  eta?: number;
  /** Clamp each step's predicted x_0 to [-1, 1] (ADM's clip_denoised, for pixel-space data; default false). */
  clipDenoised?: boolean;
  /** Scales the ancestral steps' noise (MAR's DiffLoss temperature; default 1); pSampleLoop only. */
  temperature?: number;
  /** Device of the initial noise when `noise` is not given (default cpu). */
  device?: string;
}

export class GaussianDiffusion {
  readonly meanType: MeanType;
  readonly varType: VarType;
  readonly lossType: LossType;
  /** Schedule tables as tensors, by name and device (one copy per device used). */
  private readonly cache = new Map<string, Tensor>();

  constructor(
    readonly schedule: Schedule,
    o: DiffusionOptions = {},
  ) {
    this.meanType = o.meanType ?? 'epsilon';
    this.varType = o.varType ?? 'learned_range';
    this.lossType = o.lossType ?? 'mse';
  }

  get numTimesteps(): number {
    return this.schedule.numTimesteps;
  }

  /** arr[t] as float32, shaped (B, 1, 1, ...) to broadcast against `like`. */
  extract(name: keyof Schedule | 'fixedLargeVariance' | 'fixedLargeLogVariance', t: Tensor, like: Tensor): Tensor {
    const key = `${String(name)}@${t.device}`;
    let table = this.cache.get(key);
    if (!table) {
      table = keep(tensor(this.array(name), { dtype: 'float64', device: t.device }));
      this.cache.set(key, table);
    }
    return scope(() =>
      table!
        .indexSelect(0, t)
        .float()
        .reshape([t.shape[0], ...Array(like.ndim - 1).fill(1)]),
    );
  }

  private array(name: string): Float64Array {
    const s = this.schedule;
    if (name === 'fixedLargeVariance' || name === 'fixedLargeLogVariance') {
      const v = Float64Array.from(s.betas, (b, i) => (i === 0 ? (s.numTimesteps > 1 ? s.posteriorVariance[1] : b) : b));
      return name === 'fixedLargeVariance' ? v : v.map(Math.log);
    }
    const a = (s as any)[name];
    if (!(a instanceof Float64Array)) throw new Error(`no schedule array '${name}'`);
    return a;
  }

  /** Respaced indices → the original timesteps the model was trained on. */
  mapTimesteps(t: Tensor): Tensor {
    const key = `timestepMap@${t.device}`;
    let map = this.cache.get(key);
    if (!map) {
      map = keep(tensor(this.schedule.timestepMap, { dtype: 'int64', device: t.device }));
      this.cache.set(key, map);
    }
    return map.indexSelect(0, t.to('int64'));
  }

  /** Wraps a model so that it receives original timesteps (SpacedDiffusion's _WrappedModel). */
  private wrap(model: ModelFn): ModelFn {
    return (x, t) => model(x, this.mapTimesteps(t));
  }

  /** x_t = √ᾱ_t x_0 + √(1-ᾱ_t) ε */
  qSample(xStart: Tensor, t: Tensor, noise?: Tensor): Tensor {
    return scope(() => {
      const n = noise ?? randnLike(xStart);
      return this.extract('sqrtAlphasCumprod', t, xStart)
        .mul(xStart)
        .add(this.extract('sqrtOneMinusAlphasCumprod', t, xStart).mul(n));
    });
  }

  /** Mean, variance and clipped log-variance of q(x_{t-1} | x_t, x_0). */
  qPosteriorMeanVariance(xStart: Tensor, xT: Tensor, t: Tensor): { mean: Tensor; variance: Tensor; logVarianceClipped: Tensor } {
    return scope(() => ({
      mean: this.extract('posteriorMeanCoef1', t, xT)
        .mul(xStart)
        .add(this.extract('posteriorMeanCoef2', t, xT).mul(xT)),
      variance: this.extract('posteriorVariance', t, xT),
      logVarianceClipped: this.extract('posteriorLogVarianceClipped', t, xT),
    }));
  }

  predictXstartFromEps(xT: Tensor, t: Tensor, eps: Tensor): Tensor {
    return scope(() =>
      this.extract('sqrtRecipAlphasCumprod', t, xT)
        .mul(xT)
        .sub(this.extract('sqrtRecipm1AlphasCumprod', t, xT).mul(eps)),
    );
  }

  predictEpsFromXstart(xT: Tensor, t: Tensor, predXstart: Tensor): Tensor {
    return scope(() =>
      this.extract('sqrtRecipAlphasCumprod', t, xT)
        .mul(xT)
        .sub(predXstart)
        .div(this.extract('sqrtRecipm1AlphasCumprod', t, xT)),
    );
  }

  /** p(x_{t-1} | x_t) from a model output (t are respaced indices). */
  pMeanVarianceFromOutput(output: Tensor, x: Tensor, t: Tensor, clipDenoised = false): MeanVariance {
    return scope(() => {
      const C = x.shape[1];
      let eps = output;
      let variance: Tensor, logVariance: Tensor;
      if (this.varType === 'learned_range') {
        if (output.shape[1] !== 2 * C) throw new Error(`learned_range needs ${2 * C} output channels, got ${output.shape[1]}`);
        const [o, v] = output.split(C, 1);
        eps = o;
        const minLog = this.extract('posteriorLogVarianceClipped', t, x);
        const maxLog = this.extract('logBetas', t, x);
        const frac = v.add(1).div(2);
        logVariance = frac.mul(maxLog).add(frac.rsub(1).mul(minLog));
        variance = logVariance.exp();
      } else if (this.varType === 'fixed_large') {
        variance = this.extract('fixedLargeVariance', t, x).expandAs(x);
        logVariance = this.extract('fixedLargeLogVariance', t, x).expandAs(x);
      } else {
        variance = this.extract('posteriorVariance', t, x).expandAs(x);
        logVariance = this.extract('posteriorLogVarianceClipped', t, x).expandAs(x);
      }
      let predXstart = this.meanType === 'start_x' ? eps : this.predictXstartFromEps(x, t, eps);
      if (clipDenoised) predXstart = predXstart.clamp(-1, 1);
      const { mean } = this.qPosteriorMeanVariance(predXstart, x, t);
      return { mean, variance, logVariance, predXstart };
    });
  }

  pMeanVariance(model: ModelFn, x: Tensor, t: Tensor, clipDenoised = false): MeanVariance {
    return scope(() => this.pMeanVarianceFromOutput(this.wrap(model)(x, t), x, t, clipDenoised));
  }

  /** One ancestral step: mean + [t ≠ 0]·exp(½ log σ²)·noise. */
  pSample(
    model: ModelFn,
    x: Tensor,
    t: Tensor,
    o: { noise?: Tensor; clipDenoised?: boolean; temperature?: number } = {},
  ): { sample: Tensor; predXstart: Tensor } {
    return scope(() => {
      const out = this.pMeanVariance(model, x, t, o.clipDenoised ?? false);
      let noise = o.noise ?? randnLike(x);
      if (o.temperature !== undefined && o.temperature !== 1) noise = noise.mul(o.temperature);
      const nonzero = t
        .ne(0)
        .float()
        .reshape([t.shape[0], ...Array(x.ndim - 1).fill(1)]);
      const sample = out.mean.add(nonzero.mul(out.logVariance.mul(0.5).exp()).mul(noise));
      return { sample, predXstart: out.predXstart };
    });
  }

  /** Ancestral sampling from x_T ~ N(0, I) through every (respaced) step, under noGrad. */
  pSampleLoop(model: ModelFn, shape: number[], o: SampleLoopOptions = {}): Tensor {
    return this.loop(
      shape,
      o,
      (img, t, i) => this.pSample(model, img, t, { noise: o.stepNoise?.(i, img), clipDenoised: o.clipDenoised, temperature: o.temperature }).sample,
    );
  }

  /** One DDIM step (eta = 0: deterministic). */
  ddimSample(model: ModelFn, x: Tensor, t: Tensor, o: { noise?: Tensor; eta?: number; clipDenoised?: boolean } = {}): { sample: Tensor; predXstart: Tensor } {
    return scope(() => {
      const eta = o.eta ?? 0;
      const out = this.pMeanVariance(model, x, t, o.clipDenoised ?? false);
      const eps = this.predictEpsFromXstart(x, t, out.predXstart);
      const abar = this.extract('alphasCumprod', t, x);
      const abarPrev = this.extract('alphasCumprodPrev', t, x);
      const sigma = abarPrev.rsub(1).div(abar.rsub(1)).sqrt().mul(abar.div(abarPrev).rsub(1).sqrt()).mul(eta);
      const meanPred = out.predXstart.mul(abarPrev.sqrt()).add(abarPrev.rsub(1).sub(sigma.pow(2)).sqrt().mul(eps));
      const nonzero = t
        .ne(0)
        .float()
        .reshape([t.shape[0], ...Array(x.ndim - 1).fill(1)]);
      let sample = meanPred;
      if (eta > 0) sample = meanPred.add(nonzero.mul(sigma).mul(o.noise ?? randnLike(x)));
      return { sample, predXstart: out.predXstart };
    });
  }

  ddimSampleLoop(model: ModelFn, shape: number[], o: SampleLoopOptions = {}): Tensor {
    return this.loop(
      shape,
      o,
      (img, t, i) => this.ddimSample(model, img, t, { eta: o.eta, noise: o.stepNoise?.(i, img), clipDenoised: o.clipDenoised }).sample,
    );
  }

  private loop(shape: number[], o: SampleLoopOptions, step: (img: Tensor, t: Tensor, i: number) => Tensor): Tensor {
    return noGrad(() => {
      let img = o.noise ? o.noise.clone() : randn(shape, { device: o.device });
      const T = this.numTimesteps;
      for (let i = 0; i < T; i++) {
        const tIdx = T - 1 - i;
        const next = scope(() => step(img, tensor(Array(shape[0]).fill(tIdx), { dtype: 'int64', device: img.device }), i));
        img.dispose();
        img = next;
        o.progress?.(i, T, img);
      }
      return img;
    });
  }

  /**
   * The hybrid loss per sample: mse = mean (ε − ε̂)², vb = KL(q ‖ p) in bits/dim with ε̂ detached
   * (the decoder NLL at t = 0), loss = mse + vb. `output` is the model's raw output at x_t.
   */
  trainingLossesFromOutput(output: Tensor, xStart: Tensor, xT: Tensor, t: Tensor, noise: Tensor): { mse: Tensor; vb: Tensor; loss: Tensor } {
    return scope(() => {
      const C = xT.shape[1];
      let eps = output;
      let vb: Tensor | null = null;
      if (this.varType === 'learned_range') {
        const [o, v] = output.split(C, 1);
        eps = o;
        const frozen = cat([o.detach(), v], 1);
        vb = this.vbTermsBpd(frozen, xStart, xT, t);
        if (this.lossType === 'rescaled_mse') vb = vb.mul(this.numTimesteps / 1000);
      }
      const target = this.meanType === 'start_x' ? xStart : noise;
      const mse = meanFlat(target.sub(eps).pow(2));
      return { mse, vb: vb ?? mse.mul(0), loss: vb ? mse.add(vb) : mse };
    });
  }

  /** Draws noise if not given, noises x_0 to x_t, runs the model, and returns the loss terms. */
  trainingLosses(model: ModelFn, xStart: Tensor, t: Tensor, o: { noise?: Tensor } = {}) {
    return scope(() => {
      const noise = o.noise ?? randnLike(xStart);
      const xT = this.qSample(xStart, t, noise);
      const output = this.wrap(model)(xT, t);
      return { ...this.trainingLossesFromOutput(output, xStart, xT, t, noise), xT, output };
    });
  }

  private vbTermsBpd(frozenOutput: Tensor, xStart: Tensor, xT: Tensor, t: Tensor): Tensor {
    const trueP = this.qPosteriorMeanVariance(xStart, xT, t);
    const out = this.pMeanVarianceFromOutput(frozenOutput, xT, t, false);
    const kl = meanFlat(normalKl(trueP.mean, trueP.logVarianceClipped, out.mean, out.logVariance)).div(Math.LN2);
    const nll = meanFlat(discretizedGaussianLogLikelihood(xStart, out.mean, out.logVariance.mul(0.5)).neg()).div(Math.LN2);
    return where(t.eq(0).reshape([-1]), nll, kl);
  }

  /** Frees the cached schedule tensors. */
  dispose(): void {
    for (const t of this.cache.values()) t.dispose();
    this.cache.clear();
  }
}
