// The SiT transport used by Semanticist's diffusion head (semanticist/stage1/transport, as
// `create_transport()` builds it: Linear path, velocity prediction, no loss weight,
// train_eps = sample_eps = 0; docs/upstream/gpt.md#transport-and-loss). Only that configuration is implemented.
//
// Linear path (upstream ICPlan): x_t = t·x1 + (1 − t)·x0, with x1 the data token and x0 ~ N(0, I);
// alpha_t = t, sigma_t = 1 − t; the velocity target is u = x1 − x0.
//
// Training (Transport.training_losses): x0 = randn_like(x1) FIRST, then t = rand(N) (U[0, 1));
// loss per row = mean over the non-batch dims of (v − u)².
//
// SDE sampling (Sampler.sample_sde as DiffLoss.sample calls it: Euler–Maruyama,
// diffusion_form "sigma", last_step "Mean", last_step_size 0.04, num_steps 250):
//   grid t_n = linspace(0, 1 − lastStepSize, numSteps) in float32 (PyTorch's rounding: linspaceF32),
//   dt = grid[1] − grid[0];
//   for each t in grid[:-1]: ε = randn(x.shape) (drawn first), dw = ε·√dt,
//     drift = v(x, t) + D(t)·score(x, t), D(t) = 1 − t ('sigma'),
//     score = (t·v − x) / ((1 − t)² + t(1 − t))   (get_score_from_velocity; = (t·v − x)/(1 − t)),
//     x ← x + drift·dt + √(2·D(t))·dw·temperature
//   last step ('Mean') at t = 1 − lastStepSize: x ← x + drift(x, t)·lastStepSize, no noise.
// As upstream, the model is called twice per drift evaluation (once for v, once inside the
// score); the two calls give the same output for a deterministic model, so `modelCalls: 'once'`
// halves the cost without changing the result. The float32 operations follow upstream's order.
//
// ODE sampling (`sampleOde`): upstream's Sampler.sample_ode integrates the velocity from t = 0
// to 1 with torchdiffeq (default dopri5); DiffLoss never uses it. This module offers two
// fixed-grid solvers over linspace(0, 1, numSteps) (numSteps − 1 steps): 'euler'
// (x ← x + h·v(x, t)) and 'heun' (Heun's second-order / explicit trapezoid: k1 = v(x, t),
// k2 = v(x + h·k1, t + h), x ← x + h/2·(k1 + k2)). The velocity is divided by `temperature` as
// upstream's ode does. Not parity-tested (no fixture exercises it).
import type { Tensor } from '../../core/tensor.js';
import { scope } from '../../core/scope.js';
import { noGrad } from '../../core/modes.js';
import { randn, rand, ones, tensor, fromTypedArray } from '../../core/creation.js';
import type { Generator } from '../../core/random.js';

/** The head as the transport calls it: (x_t (N, C), t (N) float, c (N, zDim)) → velocity (N, C). */
export type HeadFn = (x: Tensor, t: Tensor, c: Tensor) => Tensor;

const shapeStr = (s: readonly number[]) => `(${s.join(', ')})`;

/** t (N) → (N, 1, ...) to broadcast against x (upstream expand_t_like_x). */
export function expandTLikeX(t: Tensor, x: Tensor): Tensor {
  return t.reshape([t.shape[0], ...Array(x.ndim - 1).fill(1)]);
}

/** The linear path's plan: x_t = t·x1 + (1 − t)·x0 and u_t = x1 − x0 (upstream ICPlan.plan). */
export function linearPlan(t: Tensor, x0: Tensor, x1: Tensor): { xt: Tensor; ut: Tensor } {
  return scope(() => {
    const te = expandTLikeX(t, x1);
    const xt = te.mul(x1).add(te.rsub(1).mul(x0)); // alpha_t·x1 + sigma_t·x0
    const ut = x1.add(x0.mul(-1)); // d_alpha·x1 + d_sigma·x0 with d_alpha = 1, d_sigma = −1
    return { xt, ut };
  });
}

/** Score from velocity on the linear path: (t·v − x) / ((1 − t)² − (t·(−1))·(1 − t)), in upstream's op order. */
export function scoreFromVelocity(v: Tensor, x: Tensor, t: Tensor): Tensor {
  return scope(() => {
    const te = expandTLikeX(t, x);
    const sigma = te.rsub(1);
    const variance = sigma.pow(2).sub(te.mul(-1).mul(sigma));
    return te.mul(v).sub(x).div(variance);
  });
}

export interface TrainingDraws {
  /** The noise x0 (shape of x1), instead of randn_like(x1). */
  x0?: Tensor;
  /** The times t (N), instead of rand(N). */
  t?: Tensor;
  /** Generator for the draws that are not given. */
  generator?: Generator;
}

export interface TransportLosses {
  /** Per-row loss (N): mean over the other dims of (pred − u)². */
  loss: Tensor;
  /** The head's velocity at (x_t, t) (shape of x1). */
  pred: Tensor;
  x0: Tensor;
  t: Tensor;
  xt: Tensor;
  ut: Tensor;
}

/**
 * Transport.training_losses for the linear velocity transport: draws x0 = randn_like(x1), then
 * t = rand(N) (upstream order; either can be given), builds x_t and u = x1 − x0, runs the head.
 */
export function trainingLosses(model: HeadFn, x1: Tensor, c: Tensor, o: TrainingDraws = {}): TransportLosses {
  return scope(() => {
    const N = x1.shape[0];
    if (o.x0 && (o.x0.shape.length !== x1.shape.length || o.x0.shape.some((d, i) => d !== x1.shape[i])))
      throw new Error(`trainingLosses: x0 must have the shape of x1 ${shapeStr(x1.shape)}, got ${shapeStr(o.x0.shape)}`);
    if (o.t && (o.t.ndim !== 1 || o.t.shape[0] !== N)) throw new Error(`trainingLosses: t must be (${N}), got ${shapeStr(o.t.shape)}`);
    const x0 = o.x0 ?? randn(x1.shape, { dtype: x1.dtype, device: x1.device, generator: o.generator });
    const t = (o.t ?? rand([N], { generator: o.generator, device: x1.device })).to({ dtype: x1.dtype, device: x1.device });
    const { xt, ut } = linearPlan(t, x0, x1);
    const pred = model(xt, t, c);
    if (pred.shape.length !== xt.shape.length || pred.shape.some((d, i) => d !== xt.shape[i]))
      throw new Error(`trainingLosses: the head returned ${shapeStr(pred.shape)}, expected the shape of x_t ${shapeStr(xt.shape)}`);
    const sq = pred.sub(ut).pow(2);
    const loss = sq.ndim > 1 ? sq.mean(Array.from({ length: sq.ndim - 1 }, (_, i) => i + 1)) : sq;
    return { loss, pred, x0, t, xt, ut };
  });
}

export type DiffusionForm = 'sigma' | 'linear';
export type LastStep = 'Mean' | 'Euler' | null;

export interface SdeOptions {
  /** Grid points (default 250: numSteps − 1 EM steps and the last step). */
  numSteps?: number;
  /** Diffusion coefficient D(t): 'sigma' (default) or 'linear', both norm·(1 − t) on this path (upstream's SBDM, constant and the cosine forms are not supported). */
  diffusionForm?: DiffusionForm;
  diffusionNorm?: number;
  /** 'Mean' (default: x + drift·size), 'Euler' (x + v·size), or null (no last step; the grid then ends at 1). */
  lastStep?: LastStep;
  lastStepSize?: number;
  /** Scales the EM noise only (default 1). */
  temperature?: number;
  /** The EM noise of step i (shape of x), instead of randn(x.shape). */
  stepNoise?: (i: number, like: Tensor) => Tensor;
  generator?: Generator;
  /** Called with (i, x) after EM step i (i < numSteps − 1) and after the last step (i = numSteps − 1); x is freed afterwards, clone to keep. */
  onStep?: (i: number, x: Tensor) => void;
  /** 'twice' (default, as upstream: the velocity is recomputed for the score) or 'once' (same result, half the cost). */
  modelCalls?: 'once' | 'twice';
}

/**
 * torch.linspace(start, end, steps) in float32 as the fixtures' PyTorch (2.13, CPU) computes it:
 * step = f32(f32(end − start)/(steps − 1)); element i = f32(start + step·i) for i < ⌊steps/2⌋, else
 * f32(end − step·(steps − 1 − i)), each with ONE rounding. Computed here rather than by this
 * project's libtorch, whose vectorised CPU kernel rounds twice and depends on the vector width
 * (it differs from the fixture in 48 of the 250 SDE grid points, by 1 ulp).
 */
export function linspaceF32(start: number, end: number, steps: number): Float32Array {
  const f = Math.fround;
  const out = new Float32Array(steps);
  if (steps === 1) {
    out[0] = f(start);
    return out;
  }
  const s = f(start),
    e = f(end);
  const step = f(f(e - s) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) out[i] = i < halfway ? s + step * i : e - step * (steps - 1 - i); // the product is exact in double; one rounding to float32 on store
  return out;
}

/** The SDE time grid: linspace(0, t1, numSteps) in float32 with t1 = 1 − lastStepSize (1 without a last step), and dt = grid[1] − grid[0] (float32, 0-d). */
export function sdeTimeGrid(numSteps = 250, lastStepSize = 0.04, o: { device?: string } = {}): { grid: Tensor; dt: Tensor; t1: number } {
  if (!Number.isInteger(numSteps) || numSteps < 2) throw new Error(`sdeTimeGrid: numSteps must be an integer ≥ 2, got ${numSteps}`);
  const t1 = 1 - lastStepSize;
  if (!(t1 > 0)) throw new Error(`sdeTimeGrid: lastStepSize ${lastStepSize} leaves no interval`);
  const g = linspaceF32(0, t1, numSteps);
  return scope(() => ({
    grid: fromTypedArray(g, [numSteps], { device: o.device }),
    dt: tensor(Math.fround(g[1] - g[0]), { dtype: 'float32', device: o.device }),
    t1,
  }));
}

/**
 * Euler–Maruyama sampling of the SDE (upstream Sampler.sample_sde(...)(init, model)[-1]; see the
 * file header). `model(x, t)` is the velocity with the condition bound. Returns the final x.
 */
export function sampleSde(model: (x: Tensor, t: Tensor) => Tensor, init: Tensor, o: SdeOptions = {}): Tensor {
  const numSteps = o.numSteps ?? 250;
  const form = o.diffusionForm ?? 'sigma';
  if (form !== 'sigma' && form !== 'linear') throw new Error(`sampleSde: diffusionForm '${form}' is not supported (supported: sigma, linear)`);
  const norm = o.diffusionNorm ?? 1;
  const lastStep = o.lastStep === undefined ? 'Mean' : o.lastStep;
  if (lastStep !== null && lastStep !== 'Mean' && lastStep !== 'Euler')
    throw new Error(`sampleSde: lastStep '${lastStep}' is not supported (supported: 'Mean', 'Euler', null)`);
  const lastStepSize = lastStep === null ? 0 : (o.lastStepSize ?? 0.04);
  const temperature = o.temperature ?? 1;
  const twice = (o.modelCalls ?? 'twice') === 'twice';
  return noGrad(() =>
    scope(() => {
      const N = init.shape[0];
      const diffusion = (t: Tensor, x: Tensor) => expandTLikeX(t, x).rsub(1).mul(norm);
      const drift = (x: Tensor, t: Tensor) => {
        const v = model(x, t);
        const vs = twice ? model(x, t) : v;
        return v.add(diffusion(t, x).mul(scoreFromVelocity(vs, x, t)));
      };
      // freed when this scope exits; x is replaced (and the old one freed) at every step
      const { grid, dt, t1 } = sdeTimeGrid(numSteps, lastStepSize, { device: init.device });
      const sqrtDt = dt.sqrt();
      let x = init.clone();
      const advance = (i: number, step: () => Tensor) => {
        const next = scope(step);
        x.dispose();
        x = next;
        o.onStep?.(i, x);
      };
      for (let i = 0; i < numSteps - 1; i++) {
        advance(i, () => {
          const w = o.stepNoise ? o.stepNoise(i, x) : randn(x.shape, { dtype: x.dtype, device: x.device, generator: o.generator });
          if (w.shape.length !== x.shape.length || w.shape.some((d, k) => d !== x.shape[k]))
            throw new Error(`sampleSde: stepNoise(${i}) returned ${shapeStr(w.shape)}, expected ${shapeStr(x.shape)}`);
          const t = ones([N], { dtype: x.dtype, device: x.device }).mul(grid.select(0, i));
          const dw = w.mul(sqrtDt);
          const d = drift(x, t);
          const meanX = x.add(d.mul(dt));
          return meanX.add(diffusion(t, x).mul(2).sqrt().mul(dw).mul(temperature));
        });
      }
      advance(numSteps - 1, () => {
        if (lastStep === null) return x.clone();
        const t = ones([N], { dtype: x.dtype, device: x.device }).mul(t1);
        const step = lastStep === 'Mean' ? drift(x, t) : model(x, t);
        return x.add(step.mul(lastStepSize));
      });
      return x;
    }),
  );
}

export interface OdeOptions {
  /** 'euler' (default) or 'heun' (explicit trapezoid); fixed grid linspace(0, 1, numSteps). */
  method?: 'euler' | 'heun';
  /** Grid points (default 50, upstream sample_ode's default): numSteps − 1 steps. */
  numSteps?: number;
  /** The velocity is divided by it (upstream ode's temperature; default 1). */
  temperature?: number;
  /** Called with (i, x) after step i (i = 0 .. numSteps − 2); clone to keep. */
  onStep?: (i: number, x: Tensor) => void;
}

/** Deterministic probability-flow sampling from t = 0 to 1 over the velocity (see the file header). */
export function sampleOde(model: (x: Tensor, t: Tensor) => Tensor, init: Tensor, o: OdeOptions = {}): Tensor {
  const method = o.method ?? 'euler';
  if (method !== 'euler' && method !== 'heun') throw new Error(`sampleOde: method '${method}' is not supported (supported: euler, heun)`);
  const numSteps = o.numSteps ?? 50;
  if (!Number.isInteger(numSteps) || numSteps < 2) throw new Error(`sampleOde: numSteps must be an integer ≥ 2, got ${numSteps}`);
  const temperature = o.temperature ?? 1;
  return noGrad(() =>
    scope(() => {
      const N = init.shape[0];
      const grid = fromTypedArray(linspaceF32(0, 1, numSteps), [numSteps], { device: init.device });
      const vel = (x: Tensor, t: Tensor) => {
        const v = model(x, t);
        return temperature === 1 ? v : v.div(temperature);
      };
      const at = (tc: Tensor, x: Tensor) => ones([N], { dtype: x.dtype, device: x.device }).mul(tc);
      let x = init.clone();
      for (let i = 0; i < numSteps - 1; i++) {
        const next = scope(() => {
          const tc = grid.select(0, i),
            tn = grid.select(0, i + 1);
          const h = tn.sub(tc);
          const k1 = vel(x, at(tc, x));
          if (method === 'euler') return x.add(k1.mul(h));
          const k2 = vel(x.add(k1.mul(h)), at(tn, x));
          return x.add(k1.add(k2).mul(h).mul(0.5));
        });
        x.dispose();
        x = next;
        o.onStep?.(i, x);
      }
      return x;
    }),
  );
}
