// Per-step learning-rate schedules with timm's semantics (t_in_epochs=False): linear warmup from
// warmupLrInit, then a half cosine to lrMin over tInitial steps (CosineLRScheduler, one cycle), or
// a constant (StepLRScheduler with decay_rate 1). Pure functions of the step, plus LRScheduler,
// which writes them into an optimizer's groups (timm's step_update).
import type { Optimizer } from './optimizer.js';

export interface WarmupOptions {
  /** Steps of linear warmup (timm warmup_t); 0 for none. */
  warmupSteps?: number;
  /** LR at step 0 of the warmup (timm warmup_lr_init; Semanticist: 0). */
  warmupLrInit?: number;
}

export interface CosineOptions extends WarmupOptions {
  /** Length of the cosine in steps (timm t_initial). */
  tInitial: number;
  /** Floor reached at the end of the cosine and kept after it (timm lr_min). */
  lrMin?: number;
  /** Count the cosine from the end of the warmup (timm warmup_prefix; Semanticist: true). Default true. */
  warmupPrefix?: boolean;
}

/** Warmup LR: warmupLrInit + step·(base − warmupLrInit)/warmupSteps, or null once past the warmup. */
function warmup(step: number, baseLr: number, o: WarmupOptions): number | null {
  const w = o.warmupSteps ?? 0;
  if (step >= w) return null;
  const init = o.warmupLrInit ?? 0;
  return init + step * ((baseLr - init) / w);
}

/**
 * timm CosineLRScheduler._get_lr (cycle_mul = cycle_decay = k_decay = cycle_limit = 1): with
 * warmupPrefix, step t ≥ warmupSteps maps to t − warmupSteps, then
 * lrMin + ½(base − lrMin)(1 + cos(π·t/tInitial)) for t < tInitial and lrMin after.
 */
export function cosineLR(step: number, baseLr: number, o: CosineOptions): number {
  const w = warmup(step, baseLr, o);
  if (w !== null) return w;
  const lrMin = o.lrMin ?? 0;
  const t = (o.warmupPrefix ?? true) ? step - (o.warmupSteps ?? 0) : step;
  if (Math.floor(t / o.tInitial) >= 1) return lrMin;
  return lrMin + 0.5 * (baseLr - lrMin) * (1 + Math.cos((Math.PI * t) / o.tInitial));
}

/** Linear warmup, then baseLr for ever (timm StepLRScheduler with decay_rate 1). */
export function warmupConstantLR(step: number, baseLr: number, o: WarmupOptions): number {
  return warmup(step, baseLr, o) ?? baseLr;
}

/** A schedule: the LR at a step for a group whose base LR is baseLr. */
export type Schedule = (step: number, baseLr: number) => number;

export function cosineSchedule(o: CosineOptions): Schedule {
  return (step, base) => cosineLR(step, base, o);
}
export function warmupConstantSchedule(o: WarmupOptions): Schedule {
  return (step, base) => warmupConstantLR(step, base, o);
}

/**
 * Sets each group's lr to schedule(step, its base LR). The base LRs are the groups' lrs when
 * created (kept in group.initialLr, as timm and PyTorch do); creation applies step 0 (so a warmup
 * starts at warmupLrInit, as timm's). Call stepUpdate(numUpdates) after each optimizer step.
 */
export class LRScheduler {
  readonly baseLrs: number[];
  lastStep = 0;

  constructor(
    readonly optimizer: Optimizer<any>,
    readonly schedule: Schedule,
  ) {
    for (const g of optimizer.paramGroups) if (g.initialLr === undefined) g.initialLr = g.lr;
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr as number);
    this.stepUpdate(0);
  }

  /** Applies the schedule at numUpdates (timm's step_update(num_updates)). */
  stepUpdate(numUpdates: number): void {
    this.lastStep = numUpdates;
    this.optimizer.paramGroups.forEach((g, i) => {
      g.lr = this.schedule(numUpdates, this.baseLrs[i]);
    });
  }

  /** Current LR of each group. */
  getLastLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  stateDict(): { base_values: number[]; last_step: number } {
    return { base_values: [...this.baseLrs], last_step: this.lastStep };
  }
  loadStateDict(sd: { base_values: number[]; last_step: number }): void {
    if (sd.base_values.length !== this.baseLrs.length) throw new Error('scheduler state has a different number of groups');
    this.baseLrs.splice(0, this.baseLrs.length, ...sd.base_values);
    this.stepUpdate(sd.last_step);
  }
}
