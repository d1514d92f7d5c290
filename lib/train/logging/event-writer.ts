// TensorBoard events-file writer: scalars and PNG images as TFRecord-framed Event protos, in a log dir.
import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Tensor } from '../../core/tensor.js';
import { encodeEvent, FILE_VERSION, SessionStatus, type EventFields, type SummaryValue } from './event.js';
import { tfrecord } from './tfrecord.js';
import { encodePng, type EncodedPng } from './png.js';

export interface EventWriterOptions {
  /** Queued records are written at least this often (ms; default 10 000). 0: after every add. */
  flushIntervalMs?: number;
  /** Also write once this many records are queued (default 100). */
  maxQueue?: number;
  /** Appended to the file name (after the host name), as tf.summary's filename_suffix. */
  filenameSuffix?: string;
  /**
   * Resuming from a checkpoint at this step: writes SessionLog START at `purgeStep`, which tells
   * TensorBoard to discard data at steps ≥ purgeStep that the crashed run wrote after its last checkpoint.
   */
  purgeStep?: number;
}

type Step = number | bigint;

/** Every writer still open, flushed synchronously if the process exits without close(). */
const openWriters = new Set<EventWriter>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const w of openWriters) w.flushQuietly();
  });
}

function checkStep(step: Step): void {
  if (typeof step === 'bigint') return;
  if (typeof step !== 'number' || !Number.isSafeInteger(step)) throw new TypeError(`step must be an integer, got ${String(step)}`);
}

/**
 * Writes one events file `events.out.tfevents.<unix seconds, 10 digits>.<hostname>[suffix]` in `logDir`.
 * Each writer creates a new file (never appends to or truncates an old one), so a resumed run adds a
 * second file in the same directory, which TensorBoard reads as a continuation of the same run.
 */
export class EventWriter {
  readonly logDir: string;
  /** Full path of the events file. */
  readonly path: string;
  private fd: number | null;
  private queue: Buffer[] = [];
  private readonly maxQueue: number;
  private timer: NodeJS.Timeout | null = null;
  private readonly pending = new Set<Promise<unknown>>();
  private warned = false;

  constructor(logDir: string, opts: EventWriterOptions = {}) {
    this.logDir = logDir;
    mkdirSync(logDir, { recursive: true });
    const secs = String(Math.floor(Date.now() / 1000)).padStart(10, '0');
    const base = `events.out.tfevents.${secs}.${hostname()}${opts.filenameSuffix ?? ''}`;
    // exclusive create: a restart within the same second on the same host gets base.1, base.2, ...
    let fd: number | null = null,
      path = '';
    for (let i = 0; fd === null; i++) {
      path = join(logDir, i === 0 ? base : `${base}.${i}`);
      try {
        fd = openSync(path, 'wx');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || i > 1000) throw e;
      }
    }
    this.fd = fd;
    this.path = path;
    const interval = opts.flushIntervalMs ?? 10_000;
    this.maxQueue = interval > 0 ? Math.max(1, opts.maxQueue ?? 100) : 1;
    this.write({ wallTime: Date.now() / 1000, fileVersion: FILE_VERSION });
    if (opts.purgeStep !== undefined) {
      checkStep(opts.purgeStep);
      this.write({ wallTime: Date.now() / 1000, step: opts.purgeStep, sessionLog: { status: SessionStatus.START } });
    }
    this.flush();
    if (interval > 0) {
      this.timer = setInterval(() => this.flushQuietly(), interval);
      this.timer.unref();
    }
    openWriters.add(this);
    installExitHook();
  }

  get closed(): boolean {
    return this.fd === null;
  }

  /** Queues one Event (the low-level entry point; the add* methods call it). */
  write(e: EventFields): void {
    if (this.fd === null) throw new Error(`EventWriter(${this.path}) is closed`);
    this.queue.push(tfrecord(encodeEvent(e)));
    if (this.queue.length >= this.maxQueue) this.flush();
  }

  /** One scalar (stored as float32, TensorBoard's simple_value). */
  addScalar(tag: string, value: number, step: Step, wallTime = Date.now() / 1000): void {
    this.addScalars({ [tag]: value }, step, wallTime);
  }

  /**
   * Several scalars at one step, in one event: `addScalars({ a: 1, b: 2 }, step)` logs tags a and b;
   * `addScalars('loss', { a, b }, step)` logs 'loss/a' and 'loss/b' (in this run, unlike PyTorch's
   * add_scalars, which makes one sub-run per key).
   */
  addScalars(values: Record<string, number>, step: Step, wallTime?: number): void;
  addScalars(mainTag: string, values: Record<string, number>, step: Step, wallTime?: number): void;
  addScalars(a: string | Record<string, number>, b: Record<string, number> | Step, c?: Step | number, d?: number): void {
    const [prefix, values, step, wallTime] =
      typeof a === 'string' ? [`${a}/`, b as Record<string, number>, c as Step, d] : ['', a, b as Step, c as number | undefined];
    checkStep(step);
    const summary: SummaryValue[] = [];
    for (const [k, v] of Object.entries(values)) {
      if (typeof v !== 'number') throw new TypeError(`scalar '${prefix}${k}' must be a number, got ${typeof v}`);
      summary.push({ tag: prefix + k, simpleValue: v });
    }
    if (summary.length) this.write({ wallTime: wallTime ?? Date.now() / 1000, step, summary });
  }

  /** An image already encoded as PNG (see encodePng). */
  addImagePng(tag: string, img: EncodedPng, step: Step, wallTime = Date.now() / 1000): void {
    checkStep(step);
    this.write({ wallTime, step, summary: [{ tag, image: { height: img.height, width: img.width, colorspace: img.channels, encoded: img.png } }] });
  }

  /**
   * An image (3, H, W) in [0, 1] or uint8 (also (1|4, H, W), (H, W)), PNG-encoded with sharp.
   * Await it before close() to be sure it is in (close() waits for images still encoding anyway).
   */
  async addImage(tag: string, img: Tensor, step: Step): Promise<void> {
    checkStep(step);
    if (this.fd === null) throw new Error(`EventWriter(${this.path}) is closed`);
    const wallTime = Date.now() / 1000;
    const p = encodePng(img);
    this.pending.add(p);
    try {
      this.addImagePng(tag, await p, step, wallTime);
    } finally {
      this.pending.delete(p);
    }
  }

  /** Writes the queued records to the file now. */
  flush(): void {
    if (this.fd === null || this.queue.length === 0) return;
    const buf = this.queue.length === 1 ? this.queue[0] : Buffer.concat(this.queue);
    this.queue = [];
    for (let off = 0; off < buf.length; ) off += writeSync(this.fd, buf, off, buf.length - off);
  }

  /** flush() that reports a failure (once) on stderr instead of throwing: for timers and exit. */
  flushQuietly(): void {
    try {
      this.flush();
    } catch (e) {
      if (!this.warned) {
        this.warned = true;
        process.stderr.write(`EventWriter: cannot write ${this.path}: ${(e as Error).message}\n`);
      }
    }
  }

  /** Waits for images still encoding, writes everything, fsyncs and closes the file. Safe to call twice. */
  async close(): Promise<void> {
    if (this.pending.size) await Promise.allSettled([...this.pending]);
    if (this.fd === null) return;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    openWriters.delete(this);
    try {
      this.flush();
      fsyncSync(this.fd);
    } finally {
      closeSync(this.fd);
      this.fd = null;
    }
  }
}
