// The DataLoader: batches in the sampler's order, decoded and transformed in worker threads (or the
// main thread with numWorkers 0), a configurable number of batches in flight ahead of the consumer,
// packed uint8 buffers transferred back without copying and turned into tensors on the main thread.
// Unreadable files are warned about once each, counted, and replaced by the next readable sample of
// this rank's order, so batches stay complete; more than maxUnreadableFraction (1%) unreadable
// stops the run. Iterating the loader runs one epoch from the sampler's position and then moves the
// sampler to the next epoch (so the order is reshuffled every epoch).
//
// Ownership: the images and labels tensors of each batch belong to the consumer, outside every
// scope (torch.keep): free them after use (torch.dispose(batch.images, batch.labels)).
import { Worker } from 'node:worker_threads';
import type { Tensor } from '../core/tensor.js';
import { tensor } from '../core/creation.js';
import { scope, keep } from '../core/scope.js';
import { toUnitFloat } from './image.js';
import { runJob, type JobFailure, type JobItem, type JobRequest, type JobResult } from './batch-job.js';
import { DistributedSampler, type SamplerOptions } from './sampler.js';
import { normalizeSpec, numViews, type TransformSpec } from './transforms.js';
import { isRawImage } from './raw-image.js';
import type { Dataset, Sample } from './dataset.js';

export interface DataLoaderOptions {
  batchSize: number;
  transform: TransformSpec;
  /** Worker threads decoding and transforming (0: the main thread). Default 0. */
  numWorkers?: number;
  /** Batches in flight ahead of the consumer (default max(2, 2·numWorkers)). */
  prefetch?: number;
  /** Drop this rank's last incomplete batch (default false; the trainers use true). */
  dropLast?: boolean;
  /** The order; if absent one is made from shuffle/seed/rank/worldSize/shardDropLast. */
  sampler?: DistributedSampler;
  shuffle?: boolean;
  /** Seeds the sampler (seed + epoch) and the augmentations (seed, epoch, index). Default 0. */
  seed?: number;
  rank?: number;
  worldSize?: number;
  /** DistributedSampler's drop_last (trim instead of pad so ranks divide evenly). */
  shardDropLast?: boolean;
  /** 'float32' in [0, 1] (default, torchvision's ToTensor) or the raw 'uint8' (e.g. to scale on the GPU). */
  output?: 'float32' | 'uint8';
  /** Stop when more than this fraction of this rank's samples is unreadable (default 0.01). */
  maxUnreadableFraction?: number;
  /** Where the one-per-file warnings go (default process.emitWarning). */
  onWarning?: (message: string) => void;
  /** Files decoded concurrently within one job (default 4). */
  decodeConcurrency?: number;
}

/** One batch. Its images and labels belong to the consumer, who frees them (torch.dispose). */
export interface Batch {
  /** float32 (B, C, H, W) in [0, 1] (uint8 with output 'uint8'); (B, V, C, H, W) for the cached augmentations. */
  images: Tensor;
  /** int64 (B) */
  labels: Tensor;
  /** Dataset indices of the samples (a stand-in for an unreadable file shows its own index). */
  indices: number[];
  epoch: number;
  /** Index of this batch within the epoch. */
  batch: number;
}

export interface UnreadableFile {
  index: number;
  source: string;
  message: string;
}

export class UnreadableDataError extends Error {
  constructor(
    message: string,
    readonly files: UnreadableFile[],
  ) {
    super(message);
    this.name = 'UnreadableDataError';
  }
}

interface PendingJob {
  resolve: (r: JobResult) => void;
  reject: (e: Error) => void;
  slot: WorkerSlot;
}
interface WorkerSlot {
  worker: Worker;
  inflight: number;
  dead: Error | null;
}

/** The parent's node flags minus those a worker refuses (--input-type, for `node -e` parents). */
function workerExecArgv(): string[] {
  const out: string[] = [];
  const a = process.execArgv;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === '--input-type') {
      i++;
      continue;
    }
    if (a[i].startsWith('--input-type=')) continue;
    out.push(a[i]);
  }
  return out;
}

/** Worker threads running batch jobs; a worker holds the process open only while it has work. */
class WorkerPool {
  private slots: WorkerSlot[] = [];
  private jobs = new Map<number, PendingJob>();
  private nextId = 1;
  private closing = false;

  constructor(n: number) {
    for (let i = 0; i < n; i++) {
      const worker = new Worker(new URL('./loader-worker.js', import.meta.url), { execArgv: workerExecArgv() });
      const slot: WorkerSlot = { worker, inflight: 0, dead: null };
      worker.unref();
      worker.on('message', (m: { id: number; res?: JobResult; error?: { message: string; stack?: string } }) => {
        const job = this.jobs.get(m.id);
        if (!job) return;
        this.jobs.delete(m.id);
        this.settle(slot);
        if (m.error) {
          const e = new Error(m.error.message);
          e.stack = m.error.stack;
          job.reject(e);
        } else job.resolve(m.res!);
      });
      const fail = (e: Error) => {
        slot.dead ??= e;
        for (const [id, job] of this.jobs)
          if (job.slot === slot) {
            this.jobs.delete(id);
            job.reject(e);
          }
        slot.inflight = 0;
      };
      worker.on('error', (e) => fail(new Error(`DataLoader worker ${i} failed: ${e.message}`)));
      worker.on('exit', (code) => {
        if (!this.closing) fail(new Error(`DataLoader worker ${i} exited (code ${code})`));
      });
      this.slots.push(slot);
    }
  }

  private settle(slot: WorkerSlot): void {
    slot.inflight--;
    if (slot.inflight === 0) slot.worker.unref();
  }

  run(req: JobRequest): Promise<JobResult> {
    if (this.closing) return Promise.reject(new Error('DataLoader is closed'));
    const dead = this.slots.find((s) => s.dead);
    if (dead) return Promise.reject(dead.dead!);
    const slot = this.slots.reduce((a, b) => (b.inflight < a.inflight ? b : a));
    const id = this.nextId++;
    return new Promise<JobResult>((resolve, reject) => {
      this.jobs.set(id, { resolve, reject, slot });
      if (slot.inflight++ === 0) slot.worker.ref();
      slot.worker.postMessage({ id, req });
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const [, job] of this.jobs) job.reject(new Error('DataLoader closed'));
    this.jobs.clear();
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots = [];
  }
}

/** A sample's image ready to post: in-memory pixels are copied off any larger buffer they view. */
function portable(s: Sample): string | Sample['image'] {
  const img = s.image;
  if (typeof img === 'string') return img;
  if (!isRawImage(img)) throw new TypeError('dataset sample image must be a path or a RawImage');
  if (img.data.byteOffset === 0 && img.data.byteLength === img.data.buffer.byteLength) return img;
  return { ...img, data: new Uint8Array(img.data) }; // a copy (a Buffer's slice() would be a view)
}

const firstLine = (m: string) => m.split('\n', 1)[0];

interface Assembled {
  res: JobResult;
  indices: number[];
  labels: number[];
}

export class DataLoader implements AsyncIterable<Batch> {
  readonly sampler: DistributedSampler;
  readonly batchSize: number;
  readonly dropLast: boolean;
  readonly numWorkers: number;
  readonly prefetch: number;
  readonly transform: TransformSpec;
  readonly seed: number;
  private readonly output: 'float32' | 'uint8';
  private readonly maxUnreadable: number;
  private readonly warn: (m: string) => void;
  private readonly decodeConcurrency: number;
  private readonly views: number;
  private pool: WorkerPool | null = null;
  private closed = false;
  private active = false;
  private bad = new Map<number, UnreadableFile>();

  constructor(
    readonly dataset: Dataset,
    opts: DataLoaderOptions,
  ) {
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1)
      throw new RangeError(`DataLoader: batchSize must be a positive integer, got ${opts.batchSize}`);
    this.batchSize = opts.batchSize;
    this.transform = { ...opts.transform };
    normalizeSpec(this.transform);
    this.views = numViews(this.transform);
    this.dropLast = opts.dropLast ?? false;
    this.numWorkers = opts.numWorkers ?? 0;
    if (!Number.isInteger(this.numWorkers) || this.numWorkers < 0) throw new RangeError(`DataLoader: numWorkers must be ≥ 0, got ${this.numWorkers}`);
    this.prefetch = opts.prefetch ?? Math.max(2, 2 * this.numWorkers);
    if (!Number.isInteger(this.prefetch) || this.prefetch < 1) throw new RangeError(`DataLoader: prefetch must be ≥ 1, got ${this.prefetch}`);
    this.sampler =
      opts.sampler ??
      new DistributedSampler(dataset.length, {
        shuffle: opts.shuffle,
        seed: opts.seed,
        rank: opts.rank,
        worldSize: opts.worldSize,
        dropLast: opts.shardDropLast,
      } satisfies SamplerOptions);
    if (this.sampler.length !== dataset.length)
      throw new RangeError(`DataLoader: the sampler covers ${this.sampler.length} samples, the dataset has ${dataset.length}`);
    this.seed = opts.seed ?? this.sampler.seed;
    this.output = opts.output ?? 'float32';
    this.maxUnreadable = opts.maxUnreadableFraction ?? 0.01;
    this.warn = opts.onWarning ?? ((m) => process.emitWarning(m, 'UnreadableImageWarning'));
    this.decodeConcurrency = opts.decodeConcurrency ?? 4;
    if (this.numBatches === 0) throw new RangeError(`DataLoader: ${this.sampler.numSamples} samples per rank make no batch of ${this.batchSize} with dropLast`);
  }

  /** Batches per epoch (this rank). */
  get numBatches(): number {
    return this.sampler.numBatches(this.batchSize, this.dropLast);
  }
  get length(): number {
    return this.numBatches;
  }

  /** Distinct unreadable files met so far (for the log). */
  get unreadableCount(): number {
    return this.bad.size;
  }
  get unreadable(): UnreadableFile[] {
    return [...this.bad.values()];
  }

  private run(req: JobRequest): Promise<JobResult> {
    if (this.numWorkers === 0) return runJob(req);
    this.pool ??= new WorkerPool(this.numWorkers);
    return this.pool.run(req);
  }

  private items(indices: number[], draw: number): { items: JobItem[]; labels: number[] } {
    const labels: number[] = [];
    const items = indices.map((index) => {
      const s = this.dataset.get(index);
      labels.push(s.label);
      return { index, image: portable(s), label: s.label, draw };
    });
    return { items, labels };
  }

  private async job(epoch: number, indices: number[]): Promise<Assembled> {
    const { items, labels } = this.items(indices, 0);
    const res = await this.run({ spec: this.transform, seed: this.seed, epoch, items, decodeConcurrency: this.decodeConcurrency });
    return { res, indices: [...indices], labels };
  }

  private recordUnreadable(f: JobFailure): void {
    if (this.bad.has(f.index)) return;
    this.bad.set(f.index, { index: f.index, source: f.source, message: f.message });
    const limit = this.maxUnreadable * this.sampler.numSamples;
    this.warn(`skipping unreadable image ${f.source}: ${firstLine(f.message)} (${this.bad.size} unreadable so far)`);
    if (this.bad.size > limit) {
      const pct = ((100 * this.bad.size) / this.sampler.numSamples).toFixed(2);
      const list = [...this.bad.values()]
        .slice(0, 5)
        .map((b) => `  ${b.source}: ${firstLine(b.message)}`)
        .join('\n');
      throw new UnreadableDataError(
        `${this.bad.size} of ${this.sampler.numSamples} images are unreadable (${pct}%), more than the ${100 * this.maxUnreadable}% allowed; first ones:\n${list}`,
        this.unreadable,
      );
    }
  }

  /** Replaces each failed sample by the next readable one in this rank's epoch order. */
  private async repair(epoch: number, b: number, a: Assembled): Promise<void> {
    if (a.res.failures.length === 0) return;
    const order = this.sampler.indices(epoch);
    for (const f of a.res.failures) {
      this.recordUnreadable(f);
      const at = b * this.batchSize + f.pos;
      let done = false;
      for (let step = 1; step < order.length && !done; step++) {
        const cand = order[(at + step) % order.length];
        if (this.bad.has(cand)) continue;
        const { items, labels } = this.items([cand], step);
        const r = await this.run({ spec: this.transform, seed: this.seed, epoch, items, decodeConcurrency: 1 });
        if (r.failures.length > 0) {
          this.recordUnreadable(r.failures[0]);
          continue;
        }
        const per = r.data!.length;
        if (a.res.data === null) {
          a.res.data = new Uint8Array(a.indices.length * per);
          a.res.viewShape = r.viewShape;
        } else if (r.viewShape!.some((s, d) => s !== a.res.viewShape![d]))
          throw new Error(`stand-in sample ${cand} has view shape [${r.viewShape!.join(', ')}], the batch [${a.res.viewShape!.join(', ')}]`);
        a.res.data.set(r.data!, f.pos * per);
        a.indices[f.pos] = cand;
        a.labels[f.pos] = labels[0];
        done = true;
      }
      if (!done) throw new UnreadableDataError(`no readable sample left to stand in for ${f.source}`, this.unreadable);
    }
  }

  private toBatch(epoch: number, b: number, a: Assembled): Batch {
    const [v, c, h, w] = a.res.viewShape!;
    const n = a.indices.length;
    const shape = this.views > 1 ? [n, v, c, h, w] : [n, c, h, w];
    const { images, labels } = scope(() => {
      const u8 = tensor(a.res.data!, { shape });
      return {
        images: this.output === 'uint8' ? u8 : toUnitFloat(u8),
        labels: tensor(
          BigInt64Array.from(a.labels, (l) => BigInt(l)),
          { shape: [n] },
        ),
      };
    });
    return { images: keep(images), labels: keep(labels), indices: a.indices, epoch, batch: b };
  }

  /** One epoch from the sampler's position; afterwards the sampler stands at the next epoch. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Batch, void, undefined> {
    if (this.closed) throw new Error('DataLoader is closed');
    if (this.active) throw new Error('DataLoader: an iteration is already running (one at a time)');
    this.active = true;
    const pending = new Map<number, Promise<Assembled>>();
    try {
      const nb = this.numBatches;
      if (this.sampler.position.batch >= nb) this.sampler.setEpoch(this.sampler.position.epoch + 1);
      const { epoch, batch: start } = this.sampler.position;
      let next = start;
      const launch = () => {
        while (next < nb && pending.size < this.prefetch) {
          const b = next++;
          const p = this.job(epoch, this.sampler.batch(b, this.batchSize, epoch));
          p.catch(() => {}); // awaited in turn; a cancelled iteration drops it
          pending.set(b, p);
        }
      };
      for (let b = start; b < nb; b++) {
        launch();
        const a = await pending.get(b)!;
        pending.delete(b);
        launch();
        await this.repair(epoch, b, a);
        const batch = this.toBatch(epoch, b, a);
        this.sampler.position = { epoch, batch: b + 1 };
        yield batch;
      }
      this.sampler.setEpoch(epoch + 1);
    } finally {
      pending.clear();
      this.active = false;
    }
  }

  /** Stops the workers (pending jobs are dropped). The loader cannot iterate afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    const pool = this.pool;
    this.pool = null;
    if (pool) await pool.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
