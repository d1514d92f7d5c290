// The training order: torch's DistributedSampler (randperm from a generator seeded seed + epoch,
// padded or trimmed to a multiple of the world size, rank r takes every worldSize-th index from r),
// with the epoch advanced by the loader (upstream never called set_epoch), batching, and a
// resumable position (epoch, next batch) for checkpoints.
import { Generator } from '../core/random.js';
import { randperm } from '../core/creation.js';

export interface SamplerOptions {
  /** Permute each epoch (default true); false keeps 0..n-1. */
  shuffle?: boolean;
  /** Base seed; epoch e uses seed + e, as DistributedSampler (default 0). */
  seed?: number;
  rank?: number;
  worldSize?: number;
  /** DistributedSampler's drop_last: trim the tail so ranks divide evenly instead of padding by wrapping. */
  dropLast?: boolean;
}

/** Where a run stands: the epoch and the index of the next batch to hand out. */
export interface SamplerPosition {
  epoch: number;
  batch: number;
}

export interface SamplerState extends SamplerPosition {
  seed: number;
  length: number;
  rank: number;
  worldSize: number;
  shuffle: boolean;
  dropLast: boolean;
}

export class DistributedSampler {
  readonly length: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly rank: number;
  readonly worldSize: number;
  readonly dropLast: boolean;
  /** Indices this rank gets per epoch. */
  readonly numSamples: number;
  readonly totalSize: number;
  /** The current epoch and next batch (advanced by the DataLoader as batches are handed out). */
  position: SamplerPosition = { epoch: 0, batch: 0 };
  private gen: Generator | null = null;
  private cache: { epoch: number; indices: number[] } | null = null;

  constructor(length: number, opts: SamplerOptions = {}) {
    this.length = length;
    this.shuffle = opts.shuffle ?? true;
    this.seed = opts.seed ?? 0;
    this.rank = opts.rank ?? 0;
    this.worldSize = opts.worldSize ?? 1;
    this.dropLast = opts.dropLast ?? false;
    if (!Number.isInteger(length) || length <= 0) throw new RangeError(`DistributedSampler: length must be a positive integer, got ${length}`);
    if (!Number.isInteger(this.worldSize) || this.worldSize < 1) throw new RangeError(`DistributedSampler: worldSize must be ≥ 1, got ${this.worldSize}`);
    if (!Number.isInteger(this.rank) || this.rank < 0 || this.rank >= this.worldSize)
      throw new RangeError(`DistributedSampler: rank ${this.rank} outside [0, ${this.worldSize})`);
    if (!Number.isSafeInteger(this.seed)) throw new RangeError(`DistributedSampler: seed must be an integer, got ${this.seed}`);
    this.numSamples =
      this.dropLast && length % this.worldSize !== 0 ? Math.ceil((length - this.worldSize) / this.worldSize) : Math.ceil(length / this.worldSize);
    if (this.numSamples === 0) throw new RangeError(`DistributedSampler: ${length} samples leave none for ${this.worldSize} ranks with dropLast`);
    this.totalSize = this.numSamples * this.worldSize;
  }

  get epoch(): number {
    return this.position.epoch;
  }

  /** Starts epoch e at its first batch (what DistributedSampler.set_epoch does, plus the position). */
  setEpoch(epoch: number): void {
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw new RangeError(`setEpoch: bad epoch ${epoch}`);
    this.position = { epoch, batch: 0 };
  }

  /** The full permutation of epoch e (before sharding): torch.randperm(n, generator=manual_seed(seed + e)). */
  permutation(epoch: number): number[] {
    if (!this.shuffle) return Array.from({ length: this.length }, (_, i) => i);
    this.gen ??= new Generator();
    this.gen.manualSeed(this.seed + epoch);
    const t = randperm(this.length, { generator: this.gen });
    try {
      return Array.from(t.toTypedArray() as BigInt64Array, Number);
    } finally {
      t.dispose();
    }
  }

  /** This rank's indices for epoch e (default: the current epoch), as DistributedSampler.__iter__. */
  indices(epoch = this.position.epoch): number[] {
    if (this.cache?.epoch === epoch) return this.cache.indices;
    let all = this.permutation(epoch);
    if (!this.dropLast) {
      const padding = this.totalSize - all.length;
      if (padding > 0) {
        const reps: number[] = [];
        while (reps.length < padding) reps.push(...all.slice(0, padding - reps.length));
        all = all.concat(reps);
      }
    } else {
      all = all.slice(0, this.totalSize);
    }
    const mine: number[] = [];
    for (let i = this.rank; i < this.totalSize; i += this.worldSize) mine.push(all[i]);
    this.cache = { epoch, indices: mine };
    return mine;
  }

  /** Batches per epoch for this rank. */
  numBatches(batchSize: number, dropLast: boolean): number {
    return dropLast ? Math.floor(this.numSamples / batchSize) : Math.ceil(this.numSamples / batchSize);
  }

  /** Batch b of epoch e: this rank's indices [b·B, (b+1)·B). */
  batch(b: number, batchSize: number, epoch = this.position.epoch): number[] {
    return this.indices(epoch).slice(b * batchSize, (b + 1) * batchSize);
  }

  /** For checkpoints: the position and what it depends on. */
  state(): SamplerState {
    return {
      ...this.position,
      seed: this.seed,
      length: this.length,
      rank: this.rank,
      worldSize: this.worldSize,
      shuffle: this.shuffle,
      dropLast: this.dropLast,
    };
  }

  /** Resumes at a saved position (the order settings must agree; rank may differ only with the same world size). */
  loadState(s: SamplerPosition & Partial<SamplerState>): void {
    for (const k of ['seed', 'length', 'worldSize', 'shuffle', 'dropLast'] as const)
      if (s[k] !== undefined && s[k] !== this[k]) throw new Error(`sampler state: saved ${k} ${s[k]} differs from this sampler's ${this[k]}`);
    if (!Number.isSafeInteger(s.epoch) || s.epoch < 0 || !Number.isSafeInteger(s.batch) || s.batch < 0)
      throw new RangeError(`sampler state: bad position (${s.epoch}, ${s.batch})`);
    this.position = { epoch: s.epoch, batch: s.batch };
  }
}
