// RunLogger: the trainer's one logging object (TensorBoard + JSONL + MetricLogger + progress line); only rank 0 writes.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Tensor } from '../../core/tensor.js';
import { writeFileAtomic } from '../../serialization/atomic.js';
import { EventWriter } from './event-writer.js';
import { JsonlLogger } from './jsonl.js';
import { MetricLogger } from './metric-logger.js';
import { encodePng } from './png.js';
import { ProgressLine, type ProgressLineOptions } from './progress.js';

export interface RunLoggerOptions {
  /** The run's result folder: logs go to `<dir>/logs/` (or logsDir), image grids to `<dir>/images/`. */
  dir: string;
  /** Where the TensorBoard events and the JSONL log go (upstream's log_dir); default `<dir>/logs`. */
  logsDir?: string;
  /** Tracker name (docs/upstream/training.md#logging: 'semanticist' for the tokenizer, 'gpt' for AR); default 'train'. */
  name?: string;
  /** This process's rank; only rank 0 writes anything. Default: $RANK, else 0. */
  rank?: number;
  /** Total steps, for the progress line's percentage and ETA. */
  total?: number;
  /** TensorBoard events under `<dir>/logs/<name>/` (default true). */
  tensorboard?: boolean;
  /** JSON lines in `<dir>/logs/<name>.jsonl` (default true). */
  jsonl?: boolean;
  /** Where image() also saves PNG files (default `<dir>/images`); null: TensorBoard only. */
  imagesDir?: string | null;
  /** Progress line options, or false for none (default: on, printing every 20 steps without a TTY). */
  progress?: boolean | ProgressLineOptions;
  /** MetricLogger smoothing window (default 20). */
  windowSize?: number;
  /** TensorBoard flush interval (ms, default 10 000). */
  flushIntervalMs?: number;
  /** When resuming at this step: TensorBoard drops what the previous run logged at steps ≥ it. */
  purgeStep?: number;
}

/** A number, or a 0-d tensor (read with item(), on rank 0 only). */
export type LogValue = number | { item(): number };

/** Scalars per step: the loss terms plus `lr` and `epoch`, which are treated apart (not smoothed). */
export interface StepScalars {
  [name: string]: LogValue | undefined;
  lr?: LogValue;
  epoch?: LogValue;
}

const num = (v: LogValue): number => (typeof v === 'number' ? v : v.item());

/** Turns a tag into a file-name part: 'val/recon cfg=3' → 'val_recon_cfg_3'. */
function fileTag(tag: string): string {
  return tag.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '') || 'image';
}

export class RunLogger {
  /** True on rank 0 (the only rank that writes). */
  readonly active: boolean;
  readonly metrics: MetricLogger;
  readonly tb: EventWriter | null = null;
  readonly jsonl: JsonlLogger | null = null;
  readonly progress: ProgressLine | null = null;
  readonly imagesDir: string | null;
  private closed = false;

  constructor(o: RunLoggerOptions) {
    const rank = o.rank ?? (process.env.RANK !== undefined ? Number(process.env.RANK) : 0);
    this.active = rank === 0;
    this.metrics = new MetricLogger({ windowSize: o.windowSize ?? 20 });
    this.imagesDir = this.active && o.imagesDir !== null ? (o.imagesDir ?? join(o.dir, 'images')) : null;
    if (!this.active) return;
    const name = o.name ?? 'train';
    const logs = o.logsDir ?? join(o.dir, 'logs');
    if (o.tensorboard ?? true) this.tb = new EventWriter(join(logs, name), { flushIntervalMs: o.flushIntervalMs, purgeStep: o.purgeStep });
    if (o.jsonl ?? true) this.jsonl = new JsonlLogger(join(logs, `${name}.jsonl`));
    if (o.progress !== false) {
      const po = typeof o.progress === 'object' ? o.progress : {};
      this.progress = new ProgressLine({ total: o.total, metrics: this.metrics, ...po });
    }
  }

  /**
   * Logs one step: every value to TensorBoard (tag = key) and as one JSONL line {step, epoch, time, ...};
   * loss terms (everything but lr and epoch) into the MetricLogger; then updates the progress line.
   * Undefined values are skipped.
   */
  scalars(step: number, values: StepScalars): void {
    if (!this.active) return;
    if (this.closed) throw new Error('RunLogger is closed');
    const all: Record<string, number> = {};
    for (const [k, v] of Object.entries(values)) if (v !== undefined) all[k] = num(v);
    const { epoch, lr, ...terms } = all;
    this.tb?.addScalars(all, step);
    this.jsonl?.log(step, lr === undefined ? terms : { ...terms, lr }, epoch);
    this.metrics.update(terms);
    this.progress?.update(step, { epoch, lr });
  }

  /** Logs evaluation values (e.g. val/psnr_k4) to TensorBoard and the JSONL log only, not the progress line. */
  evalScalars(step: number, values: Record<string, number>): void {
    if (!this.active) return;
    if (this.closed) throw new Error('RunLogger is closed');
    this.tb?.addScalars(values, step);
    this.jsonl?.log(step, values);
  }

  /**
   * Logs an image (3, H, W) in [0, 1] or uint8 (e.g. makeGrid's output): to TensorBoard under `tag`,
   * and as `<imagesDir>/<tag>_<step, 7 digits>.png`. The tensor is not freed.
   */
  async image(tag: string, img: Tensor, step: number): Promise<string | null> {
    if (!this.active) return null;
    if (this.closed) throw new Error('RunLogger is closed');
    const enc = await encodePng(img);
    this.tb?.addImagePng(tag, enc, step);
    if (this.imagesDir === null) return null;
    mkdirSync(this.imagesDir, { recursive: true });
    const file = join(this.imagesDir, `${fileTag(tag)}_${String(step).padStart(7, '0')}.png`);
    writeFileAtomic(file, enc.png);
    return file;
  }

  /** Prints a message (above the progress line on a TTY). Rank 0 only. */
  log(msg: string): void {
    if (!this.active) return;
    if (this.progress) this.progress.log(msg);
    else process.stderr.write(msg + '\n');
  }

  /** Writes out and closes everything. Safe to call twice. */
  async close(): Promise<void> {
    if (!this.active || this.closed) return;
    this.closed = true;
    this.progress?.close();
    try {
      await this.tb?.close();
    } finally {
      this.jsonl?.close();
    }
  }
}
