// createDiffusion: the upstream factory (DiT's create_diffusion) over this folder's pieces.
import { GaussianDiffusion, type LossType, type VarType } from './gaussian.js';
import { Schedule, linearBetas, cosineBetas, spaceTimesteps } from './schedule.js';

export { GaussianDiffusion, Schedule, linearBetas, cosineBetas, spaceTimesteps };
export type { ModelFn, MeanVariance, SampleLoopOptions, MeanType, VarType, LossType } from './gaussian.js';

export interface CreateDiffusionOptions {
  /** 'linear' (default) or 'cosine' (ADM's; MAR's DDPM diffusion head). */
  noiseSchedule?: 'linear' | 'cosine';
  useKl?: boolean;
  sigmaSmall?: boolean;
  predictXstart?: boolean;
  learnSigma?: boolean;
  rescaleLearnedSigmas?: boolean;
  diffusionSteps?: number;
}

/**
 * A diffusion over diffusionSteps (default 1000) steps of the linear (or cosine) schedule, respaced by
 * timestepRespacing: '' (all steps), '250', '25', 'ddim25', or per-section counts '10,20'.
 */
export function createDiffusion(timestepRespacing = '', o: CreateDiffusionOptions = {}): GaussianDiffusion {
  const steps = o.diffusionSteps ?? 1000;
  const schedule = o.noiseSchedule ?? 'linear';
  if (schedule !== 'linear' && schedule !== 'cosine') throw new Error(`unknown noise schedule '${String(schedule)}' (known: linear, cosine)`);
  if (o.useKl) throw new Error('useKl (pure VLB training) is not supported');
  const base = new Schedule(schedule === 'cosine' ? cosineBetas(steps) : linearBetas(steps));
  const respaced = base.respace(spaceTimesteps(steps, timestepRespacing === '' ? String(steps) : timestepRespacing));
  const learnSigma = o.learnSigma ?? true;
  const varType: VarType = learnSigma ? 'learned_range' : o.sigmaSmall ? 'fixed_small' : 'fixed_large';
  const lossType: LossType = o.rescaleLearnedSigmas ? 'rescaled_mse' : 'mse';
  return new GaussianDiffusion(respaced, { meanType: o.predictXstart ? 'start_x' : 'epsilon', varType, lossType });
}
