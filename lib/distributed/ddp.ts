// DistributedDataParallel over c10d's own Reducer, as torch.nn.parallel.DistributedDataParallel:
// parameters and buffers broadcast from rank 0 at construction; gradients averaged over ranks in
// buckets (25 MiB, the first 1 MiB) whose all-reduce the Reducer's autograd hooks launch while the
// backward pass is still running; noSync() for accumulation micro-steps that must not communicate.
import { native } from '../core/native.js';
import { Tensor } from '../core/tensor.js';
import { isGradEnabled, noGrad } from '../core/modes.js';
import type { Module } from '../nn/module.js';
import { broadcastCoalesced, defaultProcessGroup, DistributedError, type ProcessGroup } from './process-group.js';

export interface DDPOptions {
  group?: ProcessGroup;
  /** Bucket size in MiB (PyTorch's bucket_cap_mb, default 25). */
  bucketCapMb?: number;
  /** Size of the first bucket in MiB (PyTorch: 1), so communication starts early in backward. */
  firstBucketCapMb?: number;
  /** Find parameters the forward pass did not use (walks the graph every step; default false). */
  findUnusedParameters?: boolean;
  /** Broadcast rank 0's buffers before each synchronised forward (default true, as PyTorch). */
  broadcastBuffers?: boolean;
  /** Let .grad be views into the buckets (saves a copy and memory; default false). */
  gradientAsBucketView?: boolean;
}

const MiB = 1024 * 1024;

export class DistributedDataParallel<M extends Module = Module> {
  readonly module: M;
  readonly group: ProcessGroup;
  /** Parameter indices (into the trainable parameters) of each bucket as first assigned, in reduction order (c10d re-forms them once, after the first backward, in the order gradients arrived). */
  readonly buckets: number[][];
  /** False inside noSync(): the next backward accumulates locally. */
  requireBackwardGradSync = true;
  readonly #o: Required<Omit<DDPOptions, 'group'>>;
  #reducer: number | null;
  #syncBuffersBeforeForward = true;
  /** The buffers broadcast before a synchronised forward, listed once (as PyTorch's modules_buffers). */
  readonly #buffers: Tensor[];

  constructor(module: M, o: DDPOptions = {}) {
    const group = o.group ?? defaultProcessGroup();
    if (!group) throw new DistributedError('DistributedDataParallel needs a process group: call torch.distributed.initProcessGroup() first');
    this.module = module;
    this.group = group;
    this.#o = { bucketCapMb: 25, firstBucketCapMb: 1, findUnusedParameters: false, broadcastBuffers: true, gradientAsBucketView: false, ...o };
    const trainable = module.namedParameters().filter(([, p]) => p.requiresGrad);
    if (!trainable.length) throw new DistributedError('DistributedDataParallel: the module has no parameter that requires grad');
    // Every rank starts from rank 0's weights and buffers (DDP's _sync_module_states).
    this.#buffers = module.buffers();
    noGrad(() => broadcastCoalesced([...module.parameters(), ...this.#buffers], 0, 250 * MiB, group));
    const [id, buckets] = group.run('DistributedDataParallel', (gid) =>
      native.distributed.newReducer(
        gid,
        trainable.map(([, p]) => p._h),
        trainable.map(([n]) => n),
        Math.round(this.#o.bucketCapMb * MiB),
        Math.round(this.#o.firstBucketCapMb * MiB),
        this.#o.findUnusedParameters,
        this.#o.gradientAsBucketView,
      ),
    );
    this.#reducer = id;
    this.buckets = buckets;
  }

  #id(): number {
    if (this.#reducer === null) throw new DistributedError('DistributedDataParallel was disposed');
    return this.#reducer;
  }

  /**
   * Runs a forward pass `fn` as DDP's forward does: buckets re-formed once in the order the first
   * backward produced gradients, rank 0's buffers broadcast, and — when grad is on and not inside
   * noSync() — the Reducer armed so the next backward all-reduces (with fn's output tensors when
   * findUnusedParameters is set).
   */
  forwardWith<T>(fn: () => T): T {
    const id = this.#id();
    const sync = isGradEnabled() && this.requireBackwardGradSync;
    if (isGradEnabled()) {
      try {
        this.group.run('DistributedDataParallel rebuild buckets', () => native.distributed.reducerRebuildBuckets(id));
      } catch (e) {
        // c10d's message names Python's keyword; say where to set it here
        if (/find_unused_parameters/.test((e as Error).message))
          (e as Error).message += ' [here: DDPOptions.findUnusedParameters, or the trainer key find_unused_parameters: true]';
        throw e;
      }
    }
    if (this.#o.broadcastBuffers && this.#syncBuffersBeforeForward && this.#buffers.length) {
      noGrad(() => broadcastCoalesced(this.#buffers, 0, this.#o.bucketCapMb * MiB, this.group));
    }
    const out = fn();
    if (sync) {
      const outputs = this.#o.findUnusedParameters ? tensorsIn(out).map((t) => t._h) : null;
      this.group.run('DistributedDataParallel prepare for backward', () => native.distributed.reducerPrepareForBackward(id, outputs));
    }
    this.#syncBuffersBeforeForward = sync; // as PyTorch: a no_sync or no_grad forward skips the next buffer sync
    return out;
  }

  forward(...args: Parameters<M['forward']>): ReturnType<M['forward']> {
    return this.forwardWith(() => this.module.forward(...args));
  }

  /** Runs fn with gradient synchronisation off (PyTorch's no_sync()): for accumulation micro-steps. */
  noSync<T>(fn: () => T): T {
    const prev = this.requireBackwardGradSync;
    this.requireBackwardGradSync = false;
    try {
      return fn();
    } finally {
      this.requireBackwardGradSync = prev;
    }
  }

  /** Removes the Reducer's autograd hooks and frees its buckets. */
  dispose(): void {
    if (this.#reducer !== null) native.distributed.releaseReducer(this.#reducer);
    this.#reducer = null;
  }
}

/** Every Tensor in a forward output (arrays, plain objects, Maps). */
function tensorsIn(x: unknown, out: Tensor[] = []): Tensor[] {
  if (x instanceof Tensor) out.push(x);
  else if (Array.isArray(x)) x.forEach((e) => tensorsIn(e, out));
  else if (x instanceof Map) x.forEach((e) => tensorsIn(e, out));
  else if (x && typeof x === 'object') Object.values(x).forEach((e) => tensorsIn(e, out));
  return out;
}
