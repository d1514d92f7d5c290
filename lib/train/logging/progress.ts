// Terminal progress line (step/total, epoch, loss terms, lr, smoothed it/s, ETA): redrawn in place on a TTY, plain lines in CI logs.
import { formatNumber, type MetricLogger } from './metric-logger.js';

/** Seconds → `H:MM:SS`, or `Nd HH:MM:SS` from a day on; `--:--:--` when unknown (NaN, ±Inf, negative). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--:--';
  let s = Math.round(seconds);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const p2 = (x: number) => String(x).padStart(2, '0');
  return d > 0 ? `${d}d ${p2(h)}:${p2(m)}:${p2(s)}` : `${h}:${p2(m)}:${p2(s)}`;
}

/** Iterations per second → `12.3 it/s`, or `4.56 s/it` when slower than one a second (as tqdm); `? it/s` when unknown. */
export function formatRate(itPerSec: number | undefined): string {
  if (itPerSec === undefined || !Number.isFinite(itPerSec) || itPerSec <= 0) return '? it/s';
  if (itPerSec >= 1) return `${itPerSec >= 100 ? itPerSec.toFixed(0) : itPerSec.toFixed(2)} it/s`;
  return `${(1 / itPerSec).toFixed(2)} s/it`;
}

export interface ProgressInfo {
  step: number;
  total?: number;
  epoch?: number;
  /** Loss terms etc., already formatted (e.g. MetricLogger's toString()). */
  metrics?: string;
  lr?: number;
  /** Smoothed iterations per second. */
  rate?: number;
  /** Seconds left; computed from rate and total when omitted. */
  eta?: number;
}

/**
 * One progress line:
 * `step 1200/400000 (0.3%) | epoch 3 | diff_loss: 0.1234 (0.1301) | lr 1.00e-04 | 3.21 it/s | ETA 1d 10:22:05`.
 * Parts without data are left out (no total → no %/ETA; no lr → no lr part).
 */
export function formatProgress(p: ProgressInfo): string {
  const parts: string[] = [];
  if (p.total !== undefined && p.total > 0) {
    const w = String(p.total).length;
    parts.push(`step ${String(p.step).padStart(w)}/${p.total} (${((100 * p.step) / p.total).toFixed(1)}%)`);
  } else parts.push(`step ${p.step}`);
  if (p.epoch !== undefined) parts.push(`epoch ${Number.isInteger(p.epoch) ? p.epoch : p.epoch.toFixed(2)}`);
  if (p.metrics) parts.push(p.metrics);
  if (p.lr !== undefined) parts.push(`lr ${formatNumber(p.lr, '.2e')}`);
  parts.push(formatRate(p.rate));
  if (p.total !== undefined && p.total > 0) {
    const eta = p.eta ?? (p.rate && p.rate > 0 ? Math.max(0, p.total - p.step) / p.rate : NaN);
    parts.push(`ETA ${formatDuration(eta)}`);
  }
  return parts.join(' | ');
}

/**
 * Smoothed iterations per second from (step, time) samples: exponential moving averages of Δstep
 * and Δtime with bias correction, as tqdm's (smoothing 1 = last interval only; small = long memory).
 */
export class RateMeter {
  private readonly alpha: number;
  private dn = 0;
  private dt = 0;
  private calls = 0;
  private last: { step: number; t: number } | null = null;

  constructor(smoothing = 0.1) {
    if (!(smoothing > 0 && smoothing <= 1)) throw new RangeError(`smoothing must be in (0, 1], got ${smoothing}`);
    this.alpha = smoothing;
  }

  /** Records that `step` was reached at time `tMs` (milliseconds). */
  update(step: number, tMs: number): void {
    if (this.last !== null && step > this.last.step && tMs >= this.last.t) {
      const b = 1 - this.alpha;
      this.dn = this.alpha * (step - this.last.step) + b * this.dn;
      this.dt = this.alpha * ((tMs - this.last.t) / 1000) + b * this.dt;
      this.calls++;
    }
    if (this.last === null || step !== this.last.step) this.last = { step, t: tMs };
  }

  /** Iterations per second, or undefined before two samples. */
  get rate(): number | undefined {
    if (this.calls === 0) return undefined;
    // the bias corrections of the two EMAs are equal and cancel in the ratio
    return this.dt > 0 ? this.dn / this.dt : undefined;
  }
}

/** What ProgressLine writes to: process.stdout/stderr or anything alike. */
export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressLineOptions {
  total?: number;
  /** Default process.stderr (as tqdm). */
  stream?: ProgressStream;
  /** Redraw in place; default stream.isTTY. */
  tty?: boolean;
  /** Without a TTY, print a line when the step reaches a multiple of this (default 20, as MAE), and at the first and last step. */
  printEvery?: number;
  /** On a TTY, redraw at most this often (ms; default 100), and always at the last step. */
  minRedrawMs?: number;
  /** The loss terms shown are this logger's meters. */
  metrics?: MetricLogger;
  /** it/s smoothing, see RateMeter (default 0.1). */
  smoothing?: number;
  /** Clock in ms (default Date.now); for tests. */
  now?: () => number;
}

/** A progress line for a training loop; call update() once per step. */
export class ProgressLine {
  readonly total?: number;
  readonly tty: boolean;
  private readonly stream: ProgressStream;
  private readonly printEvery: number;
  private readonly minRedrawMs: number;
  private readonly metrics?: MetricLogger;
  private readonly now: () => number;
  readonly rate: RateMeter;
  private lastDraw = -Infinity;
  private lastPrintedStep: number | null = null;
  private current = '';
  private onScreen = false;

  constructor(o: ProgressLineOptions = {}) {
    this.total = o.total;
    this.stream = o.stream ?? process.stderr;
    this.tty = o.tty ?? !!this.stream.isTTY;
    this.printEvery = Math.max(1, o.printEvery ?? 20);
    this.minRedrawMs = o.minRedrawMs ?? 100;
    this.metrics = o.metrics;
    this.now = o.now ?? Date.now;
    this.rate = new RateMeter(o.smoothing ?? 0.1);
  }

  /** The line for the current state (without drawing it). */
  format(step: number, extra: { epoch?: number; lr?: number } = {}): string {
    return formatProgress({ step, total: this.total, epoch: extra.epoch, lr: extra.lr, metrics: this.metrics?.toString(), rate: this.rate.rate });
  }

  /** Records step `step` and draws the line if it is time to. */
  update(step: number, extra: { epoch?: number; lr?: number } = {}): void {
    const t = this.now();
    this.rate.update(step, t);
    const last = this.total !== undefined && step >= this.total;
    if (this.tty) {
      if (!last && t - this.lastDraw < this.minRedrawMs) return;
      this.lastDraw = t;
      this.current = this.format(step, extra);
      this.draw();
    } else {
      const prev = this.lastPrintedStep;
      if (!(prev === null || last || Math.floor(step / this.printEvery) > Math.floor(prev / this.printEvery))) return;
      this.lastPrintedStep = step;
      this.stream.write(this.format(step, extra) + '\n');
    }
  }

  /** Prints a message (on a TTY above the progress line, which is redrawn under it). */
  log(msg: string): void {
    if (this.tty && this.onScreen) {
      this.stream.write(`\r\x1b[K${msg}\n`);
      this.onScreen = false;
      this.draw();
    } else this.stream.write(msg + '\n');
  }

  /** Ends the line on a TTY so later output starts on a fresh one. */
  close(): void {
    if (this.tty && this.onScreen) this.stream.write('\n');
    this.onScreen = false;
  }

  private draw(): void {
    if (!this.current) return;
    const cols = this.stream.columns;
    // a line wider than the terminal wraps, and \r then only rewinds its last row
    const text = cols && cols > 1 && this.current.length > cols - 1 ? this.current.slice(0, cols - 1) : this.current;
    // overwrite, then clear what is left of the old line: one write, nothing blanked first, so no flicker
    this.stream.write(`\r${text}\x1b[K`);
    this.onScreen = true;
  }
}
