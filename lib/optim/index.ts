// torch.optim: optimizers (AdamW, SGD), LR schedules, gradient clipping, EMA and loss scaling.
export { Optimizer, type ParamGroup, type ParamGroupInput, type ParamsInput, type OptimizerStateDict } from './optimizer.js';
export { AdamW, type AdamWOptions } from './adamw.js';
export { SGD, type SGDOptions } from './sgd.js';
export { paramGroupsWeightDecay, type WeightDecayGroup } from './param-groups.js';
export { clipGradNorm_ } from './clip.js';
export {
  cosineLR,
  warmupConstantLR,
  cosineSchedule,
  warmupConstantSchedule,
  LRScheduler,
  type CosineOptions,
  type WarmupOptions,
  type Schedule,
} from './schedulers.js';
export { EMA } from './ema.js';
export { GradScaler, type GradScalerOptions, type GradScalerStateDict } from './grad-scaler.js';
