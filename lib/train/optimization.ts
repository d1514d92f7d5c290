// The optimisation both trainers share (docs/upstream/training.md#optimiser, #learning-rate-schedules): lr = blr · effective batch / 256, AdamW
// (0.9, 0.95), eps 1e-8, weight decay 0.05 on tensors with ndim ≥ 2; linear warmup over
// warmup_epochs, then cosine to max_steps (cosine_lr) or constant; EMA of the weights every step.
import * as torch from '../torch.js';
import type { Module } from '../nn/module.js';
import type { RunLogger } from './logging/run-logger.js';
import type { ScheduleParams, LoopParams } from './trainer-keys.js';
import { AdamW, EMA, type GradScaler, paramGroupsWeightDecay, clipGradNorm_, LRScheduler, cosineSchedule, warmupConstantSchedule } from '../optim/index.js';

export interface Optimization {
  optimizer: AdamW;
  scheduler: LRScheduler;
  ema: EMA | null;
  lr: number;
  effBatch: number;
  stepsPerEpoch: number;
  totalSteps: number;
  warmupSteps: number;
  /** One line for the run log: lr and its derivation, steps, warmup. */
  summary: string;
}

/** Builds the optimizer, schedule and EMA for `model` from trainer params P. */
export function setUpOptimization(model: Module, P: ScheduleParams & LoopParams, batchesPerEpoch: number, worldSize: number): Optimization {
  const effBatch = P.batch_size * P.grad_accum_steps * worldSize;
  const lr = (P.blr * effBatch) / 256;
  const optimizer = new AdamW(paramGroupsWeightDecay(model, 0.05), { lr, betas: [0.9, 0.95], eps: 1e-8 });
  const stepsPerEpoch = Math.floor(batchesPerEpoch / P.grad_accum_steps);
  const totalSteps = P.max_steps ?? P.num_epoch * stepsPerEpoch;
  // upstream: warmup_epochs, when given, overrides warmup_steps (the schema refuses both at once)
  const warmupSteps = P.warmup_epochs !== null ? Math.round(P.warmup_epochs * stepsPerEpoch) : (P.warmup_steps ?? 0);
  const warmupLrInit = P.warmup_lr_init;
  const decaySteps = P.decay_steps ?? totalSteps;
  const scheduler = new LRScheduler(
    optimizer,
    P.cosine_lr ? cosineSchedule({ warmupSteps, warmupLrInit, tInitial: decaySteps, lrMin: P.lr_min }) : warmupConstantSchedule({ warmupSteps, warmupLrInit }),
  );
  const ema = P.enable_ema ? new EMA(model, P.ema_decay) : null;
  const shape = P.cosine_lr ? `, cosine over ${decaySteps} steps to ${P.lr_min}` : ', then constant';
  const summary = `lr ${lr.toExponential(3)} (blr ${P.blr} × ${effBatch} / 256), ${stepsPerEpoch} steps/epoch, ${totalSteps} steps, warmup ${warmupSteps}${warmupLrInit ? ` from ${warmupLrInit}` : ''}${shape}`;
  return { optimizer, scheduler, ema, lr, effBatch, stepsPerEpoch, totalSteps, warmupSteps, summary };
}

/**
 * After the accumulated backward passes: (fp16) unscale the gradients, clip (unless maxGradNorm
 * is null), AdamW unless the scaler found inf/NaN, update the scale, zero grads, schedule to
 * `step`, EMA (every step, as upstream). Returns whether the optimizer stepped.
 */
export function optimizerStep(model: Module, opt: Optimization, step: number, maxGradNorm: number | null, scaler: GradScaler | null = null): boolean {
  return torch.scope(() => {
    if (scaler) scaler.unscale_(opt.optimizer);
    if (maxGradNorm !== null) clipGradNorm_(model.parameters(), maxGradNorm);
    let stepped = true;
    if (scaler) {
      stepped = scaler.step(opt.optimizer);
      scaler.update();
    } else opt.optimizer.step();
    opt.optimizer.zeroGrad(true);
    opt.scheduler.stepUpdate(step);
    opt.ema?.update();
    return stepped;
  });
}

/**
 * fp16 bookkeeping for the run log: the loss scale and the count of skipped steps (inf/NaN
 * gradients) to TensorBoard and the JSONL log, and a line for each skipped step. A no-op without a scaler.
 */
export function scalerLog(scaler: GradScaler | null, log: RunLogger): (step: number, stepped: boolean) => void {
  let skipped = 0;
  return (step, stepped) => {
    if (!scaler) return;
    if (!stepped) skipped++;
    log.evalScalars(step, { 'amp/loss_scale': scaler.getScale(), 'amp/skipped_steps': skipped });
    if (!stepped)
      log.log(`step ${step}: inf/NaN gradients under fp16, optimizer step skipped (loss scale now ${scaler.getScale()}, ${skipped} skipped so far)`);
  };
}
