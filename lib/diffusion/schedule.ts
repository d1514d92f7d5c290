// Noise schedules of the ADM/DiT Gaussian diffusion, in float64 as numpy computes them upstream:
// linear betas, timestep respacing ("250", "25", "ddim25", "10,20,30"), and the derived arrays.
import { roundHalfEven } from '../core/py-round.js';

/** numpy.linspace(start, stop, num) with numpy's rounding: start + i*step, last element = stop. */
function linspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  const step = (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) out[i] = i * step + start;
  if (num > 1) out[num - 1] = stop;
  return out;
}

/** ADM's "linear" schedule, scaled so any step count spans the same range as 1000 steps. */
export function linearBetas(numTimesteps: number): Float64Array {
  const scale = 1000 / numTimesteps;
  return linspace(scale * 0.0001, scale * 0.02, numTimesteps);
}

/**
 * ADM's "cosine" schedule (Nichol & Dhariwal): betas discretising alpha_bar(t) = cos((t + 0.008) / 1.008 · π/2)²,
 * each capped at 0.999 (upstream betas_for_alpha_bar).
 */
export function cosineBetas(numTimesteps: number, maxBeta = 0.999): Float64Array {
  const alphaBar = (t: number) => Math.cos((((t + 0.008) / 1.008) * Math.PI) / 2) ** 2;
  const out = new Float64Array(numTimesteps);
  for (let i = 0; i < numTimesteps; i++) out[i] = Math.min(1 - alphaBar((i + 1) / numTimesteps) / alphaBar(i / numTimesteps), maxBeta);
  return out;
}

/**
 * Which of numTimesteps original steps to keep: "250" (evenly strided, first and last kept),
 * "ddimN" (a fixed integer stride giving exactly N steps), or comma-separated counts per section.
 */
export function spaceTimesteps(numTimesteps: number, sectionCounts: string): number[] {
  if (sectionCounts.startsWith('ddim')) {
    const desired = Number(sectionCounts.slice(4));
    for (let stride = 1; stride < numTimesteps; stride++) {
      const steps: number[] = [];
      for (let i = 0; i < numTimesteps; i += stride) steps.push(i);
      if (steps.length === desired) return steps;
    }
    throw new Error(`cannot create exactly ${desired} steps with an integer stride from ${numTimesteps}`);
  }
  const counts = sectionCounts.split(',').map(Number);
  if (counts.some((c) => !Number.isInteger(c) || c < 1)) throw new Error(`bad timestep respacing '${sectionCounts}'`);
  const sizePer = Math.floor(numTimesteps / counts.length);
  const extra = numTimesteps % counts.length;
  const all: number[] = [];
  let start = 0;
  counts.forEach((count, i) => {
    const size = sizePer + (i < extra ? 1 : 0);
    if (size < count) throw new Error(`cannot divide section of ${size} steps into ${count}`);
    const fracStride = count <= 1 ? 1 : (size - 1) / (count - 1);
    let cur = 0;
    for (let k = 0; k < count; k++) {
      all.push(start + roundHalfEven(cur));
      cur += fracStride;
    }
    start += size;
  });
  return [...new Set(all)].sort((a, b) => a - b);
}

/** The float64 arrays GaussianDiffusion derives from betas (names as upstream, camelCased). */
export class Schedule {
  readonly numTimesteps: number;
  readonly betas: Float64Array;
  readonly alphasCumprod: Float64Array;
  readonly alphasCumprodPrev: Float64Array;
  readonly alphasCumprodNext: Float64Array;
  readonly sqrtAlphasCumprod: Float64Array;
  readonly sqrtOneMinusAlphasCumprod: Float64Array;
  readonly logOneMinusAlphasCumprod: Float64Array;
  readonly sqrtRecipAlphasCumprod: Float64Array;
  readonly sqrtRecipm1AlphasCumprod: Float64Array;
  readonly posteriorVariance: Float64Array;
  readonly posteriorLogVarianceClipped: Float64Array;
  readonly posteriorMeanCoef1: Float64Array;
  readonly posteriorMeanCoef2: Float64Array;
  readonly logBetas: Float64Array;
  /** Original timestep of each (respaced) index; the model is given these. */
  readonly timestepMap: number[];

  constructor(betas: Float64Array, timestepMap?: number[]) {
    const T = betas.length;
    this.numTimesteps = T;
    this.betas = betas;
    this.timestepMap = timestepMap ?? Array.from({ length: T }, (_, i) => i);
    const map = (f: (i: number) => number) => Float64Array.from({ length: T }, (_, i) => f(i));
    const ac = new Float64Array(T);
    let p = 1;
    for (let i = 0; i < T; i++) {
      p *= 1 - betas[i];
      ac[i] = p;
    }
    this.alphasCumprod = ac;
    this.alphasCumprodPrev = map((i) => (i === 0 ? 1 : ac[i - 1]));
    this.alphasCumprodNext = map((i) => (i === T - 1 ? 0 : ac[i + 1]));
    this.sqrtAlphasCumprod = map((i) => Math.sqrt(ac[i]));
    this.sqrtOneMinusAlphasCumprod = map((i) => Math.sqrt(1 - ac[i]));
    this.logOneMinusAlphasCumprod = map((i) => Math.log(1 - ac[i]));
    this.sqrtRecipAlphasCumprod = map((i) => Math.sqrt(1 / ac[i]));
    this.sqrtRecipm1AlphasCumprod = map((i) => Math.sqrt(1 / ac[i] - 1));
    const prev = this.alphasCumprodPrev;
    this.posteriorVariance = map((i) => (betas[i] * (1 - prev[i])) / (1 - ac[i]));
    // log of the posterior variance, with the t=0 entry (0) replaced by the t=1 one
    const pv = this.posteriorVariance;
    this.posteriorLogVarianceClipped = map((i) => Math.log(T > 1 && i === 0 ? pv[1] : pv[i]));
    this.posteriorMeanCoef1 = map((i) => (betas[i] * Math.sqrt(prev[i])) / (1 - ac[i]));
    this.posteriorMeanCoef2 = map((i) => ((1 - prev[i]) * Math.sqrt(1 - betas[i])) / (1 - ac[i]));
    this.logBetas = map((i) => Math.log(betas[i]));
  }

  /** The schedule restricted to useTimesteps: betas'_i = 1 - ᾱ(τ_i)/ᾱ(τ_{i-1}). */
  respace(useTimesteps: number[]): Schedule {
    const keep = new Set(useTimesteps);
    const betas: number[] = [];
    const map: number[] = [];
    let last = 1;
    for (let i = 0; i < this.numTimesteps; i++) {
      if (!keep.has(i)) continue;
      betas.push(1 - this.alphasCumprod[i] / last);
      last = this.alphasCumprod[i];
      map.push(this.timestepMap[i]);
    }
    return new Schedule(Float64Array.from(betas), map);
  }
}
