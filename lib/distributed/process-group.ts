// torch.distributed: a c10d process group (Gloo on CPU, NCCL on CUDA) joined through a TCPStore
// rendezvous as PyTorch's env:// init does, and the collectives on it. A collective blocks the JS
// thread until done (as in PyTorch); with { asyncOp: true } it returns a Work whose wait() runs
// on a libuv worker and resolves a Promise. Every collective is bounded by the group's timeout, so
// a lost peer raises an error naming the operation and rank instead of hanging.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { native } from '../core/native.js';
import type { Tensor } from '../core/tensor.js';
import { readLaunchEnv, type LaunchEnv } from './env.js';

export type Backend = 'gloo' | 'nccl';
export const ReduceOp = { SUM: 'sum', AVG: 'avg', PRODUCT: 'product', MIN: 'min', MAX: 'max' } as const;
export type ReduceOpName = (typeof ReduceOp)[keyof typeof ReduceOp];

/** PyTorch's default collective timeout (30 minutes). */
export const DEFAULT_TIMEOUT_MS = 30 * 60 * 1000;

export class DistributedError extends Error {
  override name = 'DistributedError';
}

const d = () => native.distributed;

export class ProcessGroup {
  #id: number | null;
  #store: number | null;
  constructor(
    id: number,
    store: number,
    readonly rank: number,
    readonly size: number,
    readonly backend: Backend,
    readonly timeoutMs: number,
  ) {
    this.#id = id;
    this.#store = store;
  }
  /** The native id (for the DDP reducer). */
  get id(): number {
    if (this.#id === null) throw new DistributedError('the process group was destroyed');
    return this.#id;
  }
  /** Runs a native collective; its errors name the operation and this rank. */
  run<T>(op: string, f: (id: number) => T): T {
    try {
      return f(this.id);
    } catch (e) {
      throw new DistributedError(`${op} on rank ${this.rank} of ${this.size} (${this.backend}) failed: ${(e as Error).message}`);
    }
  }
  destroy(): void {
    if (this.#id !== null) d().releaseGroup(this.#id);
    if (this.#store !== null) d().releaseStore(this.#store);
    this.#id = this.#store = null;
  }
}

/** An asynchronous collective in flight; wait once (either way). */
export class Work {
  #id: number | null;
  constructor(
    id: number,
    private readonly group: ProcessGroup,
    private readonly op: string,
    private readonly after?: () => void,
  ) {
    this.#id = id;
  }
  #take(): number {
    if (this.#id === null) throw new DistributedError(`${this.op}: this Work was already waited on`);
    const id = this.#id;
    this.#id = null;
    return id;
  }
  /** Waits on a worker thread (the event loop keeps running). */
  async wait(): Promise<void> {
    const id = this.#take();
    try {
      await d().waitWorkAsync(id, this.group.timeoutMs);
    } catch (e) {
      throw new DistributedError(`${this.op} on rank ${this.group.rank} of ${this.group.size} (${this.group.backend}) failed: ${(e as Error).message}`);
    }
    this.after?.();
  }
  /** Waits on the JS thread, as PyTorch's Work.wait(). */
  waitBlocking(): void {
    const id = this.#take();
    this.group.run(this.op, () => d().waitWork(id, this.group.timeoutMs));
    this.after?.();
  }
  isCompleted(): boolean {
    return this.#id === null || d().workCompleted(this.#id);
  }
}

let defaultGroup: ProcessGroup | null = null;

export interface InitOptions {
  /** 'gloo' (CPU tensors) or 'nccl' (CUDA tensors); default: nccl when CUDA and NCCL are there, else gloo. */
  backend?: Backend;
  /** Collective and rendezvous timeout in ms (default 30 min, as PyTorch). */
  timeout?: number;
  /** Overrides of what the environment says (readLaunchEnv). */
  rank?: number;
  worldSize?: number;
  masterAddr?: string;
  masterPort?: number;
  env?: Record<string, string | undefined>;
}

/** Whether a store client of this libtorch gets an answer from torchrun's agent store (≤ 10 s). */
function agentStoreSpeaksOurProtocol(addr: string, port: number): boolean {
  const probe = fileURLToPath(new URL('./store-probe.js', import.meta.url));
  const r = spawnSync(process.execPath, [probe, addr, String(port)], { stdio: 'ignore', timeout: 10_000, killSignal: 'SIGKILL' });
  return r.status === 0;
}

const isLoopback = (a: string) => a === 'localhost' || a.startsWith('127.') || a === '::1';

/**
 * Joins the default process group (torch.distributed.init_process_group with env://): rank 0
 * serves the TCPStore at MASTER_ADDR:MASTER_PORT and waits for the others (or, under torchrun's
 * agent store, every rank connects to the agent's), then the backend connects all pairs.
 */
export function initProcessGroup(o: InitOptions = {}): ProcessGroup {
  if (defaultGroup) throw new DistributedError('the default process group is already initialised (destroyProcessGroup() first)');
  const env: LaunchEnv = readLaunchEnv(o.env);
  const rank = o.rank ?? env.rank,
    size = o.worldSize ?? env.worldSize;
  const backend: Backend = o.backend ?? (native.distributed.nccl && native.cudaDeviceCount() > 0 ? 'nccl' : 'gloo');
  if (backend === 'nccl' && !native.distributed.nccl)
    throw new DistributedError("backend 'nccl' is not available: this libtorch was built without NCCL (use 'gloo')");
  const timeout = o.timeout ?? DEFAULT_TIMEOUT_MS;
  let addr = o.masterAddr ?? env.masterAddr;
  let port = o.masterPort ?? env.masterPort;
  if (size > 1 && (!addr || port === null || port === undefined)) {
    throw new DistributedError(`a run of ${size} processes needs MASTER_ADDR and MASTER_PORT (set by torchrun/launch.js, or by hand)`);
  }
  if (size === 1) {
    addr ??= '127.0.0.1';
    port ??= 0;
  } // a group of one: a private store on a free port
  const where = () => `rank ${rank} of ${size}, ${backend}, store ${addr}:${port}`;
  // A timeout at rendezvous means ranks are missing: libtorch 2.x's store server says so itself
  // (tcpStore waits for the clients), 1.13's gives up silently and the group creation times out.
  const hint = (e: unknown) =>
    /timeout|timed out/i.test((e as Error).message)
      ? ` — not all ${size} ranks joined within ${timeout / 1000} s (are they all running, with the same MASTER_ADDR, MASTER_PORT and WORLD_SIZE?)`
      : '';
  let store: number;
  try {
    if (env.agentStore && agentStoreSpeaksOurProtocol(addr!, port!)) {
      store = d().tcpStore(addr!, port!, false, size, timeout, `/worker/attempt_${env.restartCount}`);
    } else {
      if (env.agentStore) {
        // torchrun's store runs on its own torch; a libtorch of another protocol generation (1.x
        // against 2.x) cannot talk to it, so rank 0 serves the rendezvous on the next port.
        port = port! + 1;
        if (rank === 0)
          console.error(
            `initProcessGroup: torchrun's agent store at ${addr}:${port - 1} does not answer this libtorch's TCPStore protocol; rank 0 serves the rendezvous at ${addr}:${port}`,
          );
      }
      store = d().tcpStore(addr!, port!, rank === 0, size, timeout);
    }
  } catch (e) {
    throw new DistributedError(`initProcessGroup (${where()}): rendezvous failed: ${(e as Error).message}${hint(e)}`);
  }
  let id: number;
  try {
    // Loopback masters mean one machine: bind Gloo there too (the hostname may not resolve).
    id = d().newGroup(backend, store, rank, size, timeout, isLoopback(addr!) ? '127.0.0.1' : undefined);
  } catch (e) {
    d().releaseStore(store);
    throw new DistributedError(`initProcessGroup (${where()}): ${(e as Error).message}${hint(e)}`);
  }
  defaultGroup = new ProcessGroup(id, store, rank, size, backend, timeout);
  return defaultGroup;
}

export function isInitialized(): boolean {
  return defaultGroup !== null;
}
export function isAvailable(): boolean {
  return true;
}
export function isGlooAvailable(): boolean {
  return true;
}
export function isNcclAvailable(): boolean {
  return native.distributed.nccl;
}

function groupOf(g?: ProcessGroup): ProcessGroup {
  const group = g ?? defaultGroup;
  if (!group) throw new DistributedError('no process group: call torch.distributed.initProcessGroup() first');
  return group;
}

/** The default group, if initialised. */
export function defaultProcessGroup(): ProcessGroup | null {
  return defaultGroup;
}
export function getRank(group?: ProcessGroup): number {
  return (group ?? defaultGroup)?.rank ?? 0;
}
export function getWorldSize(group?: ProcessGroup): number {
  return (group ?? defaultGroup)?.size ?? 1;
}

export function destroyProcessGroup(group?: ProcessGroup): void {
  const g = group ?? defaultGroup;
  g?.destroy();
  if (g === defaultGroup) defaultGroup = null;
}

export interface CollectiveOptions {
  group?: ProcessGroup;
  asyncOp?: boolean;
}

function finish(group: ProcessGroup, op: string, id: number, asyncOp: boolean | undefined, after?: () => void): Work | undefined {
  const w = new Work(id, group, op, after);
  if (asyncOp) return w;
  w.waitBlocking();
  return undefined;
}

/** In-place all-reduce of `tensor` over the group (AVG = SUM then divide, as Gloo has no AVG). */
export function allReduce(tensor: Tensor, o: CollectiveOptions & { op?: ReduceOpName } = {}): Work | undefined {
  const g = groupOf(o.group),
    op = o.op ?? 'sum';
  if (op === 'avg' && !tensor.isFloatingPoint())
    throw new DistributedError(`allReduce: op 'avg' needs a floating-point tensor (got ${tensor.dtype}); use 'sum'`);
  const id = g.run('allReduce', (gid) => d().allReduce(gid, [tensor._h], op === 'avg' ? 'sum' : op));
  return finish(
    g,
    'allReduce',
    id,
    o.asyncOp,
    op === 'avg'
      ? () => {
          tensor.div_(g.size);
        }
      : undefined,
  );
}

/** In place: every rank's `tensor` becomes rank `src`'s. */
export function broadcast(tensor: Tensor, src: number, o: CollectiveOptions = {}): Work | undefined {
  const g = groupOf(o.group);
  if (!(src >= 0 && src < g.size)) throw new DistributedError(`broadcast: src ${src} is not a rank of a group of ${g.size}`);
  return finish(
    g,
    'broadcast',
    g.run('broadcast', (gid) => d().broadcast(gid, [tensor._h], src)),
    o.asyncOp,
  );
}

/** Fills outputs[r] with rank r's `tensor` (outputs: one tensor per rank, of tensor's shape). */
export function allGather(outputs: Tensor[], tensor: Tensor, o: CollectiveOptions = {}): Work | undefined {
  const g = groupOf(o.group);
  if (outputs.length !== g.size) throw new DistributedError(`allGather: ${outputs.length} output tensors for a group of ${g.size}`);
  return finish(
    g,
    'allGather',
    g.run('allGather', (gid) =>
      d().allGather(
        gid,
        outputs.map((t) => t._h),
        tensor._h,
      ),
    ),
    o.asyncOp,
  );
}

export function barrier(o: CollectiveOptions = {}): Work | undefined {
  const g = groupOf(o.group);
  return finish(
    g,
    'barrier',
    g.run('barrier', (gid) => d().barrier(gid)),
    o.asyncOp,
  );
}

/** Broadcasts many tensors from `src` packed into buffers of `bufferBytes` (DDP's start-up sync). */
export function broadcastCoalesced(tensors: Tensor[], src = 0, bufferBytes = 250 * 1024 * 1024, group?: ProcessGroup): void {
  const g = groupOf(group);
  if (tensors.length)
    g.run('broadcastCoalesced', (gid) =>
      d().broadcastCoalesced(
        gid,
        tensors.map((t) => t._h),
        bufferBytes,
        src,
      ),
    );
}
