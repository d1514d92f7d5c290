// Deterministic memory: scopes own the tensors created inside them and free them on exit.
//
// Node runs finalizers only when the event loop turns, so a synchronous training loop can never
// rely on GC (docs/libtorch.md#memory). torch.scope(fn) frees every tensor created while fn runs,
// except those it returns (they move to the enclosing scope) and those passed to torch.keep().
// The whole memory model, with the rules for code that does not grow: docs/memory.md.
// Scopes follow async context (AsyncLocalStorage), so `await` inside a scope is fine.
// Tensors that end up outside every scope are registered with a FinalizationRegistry as a
// safety net; tensors inside scopes never pay for that.
import { AsyncLocalStorage } from 'node:async_hooks';
import { native } from './native.js';
import { memoryTotals } from './cuda.js';

/** What a scope needs from a tensor (implemented by Tensor). */
export interface Owned {
  _h: number;
  /** bit 1: kept (never freed by a scope); bit 2: registered with the GC safety net */
  _f: number;
}

export const KEPT = 1;
const GC = 2;

export const tensorBrand = Symbol('torch.Tensor');

class Scope {
  readonly owned: Owned[] = [];
  constructor(readonly parent: Scope | null) {}
}

const als = new AsyncLocalStorage<Scope | null>();
let syncTop: Scope | null = null;
/** Scopes whose function returned a promise that has not settled yet. */
let pendingAsync = 0;

function current(): Scope | null {
  // With no async scope pending, the synchronous stack is exact and much cheaper to read.
  return pendingAsync === 0 ? syncTop : (als.getStore() ?? null);
}

const registry = new FinalizationRegistry<number>((h) => {
  native.free(h);
});

function toGc(t: Owned): void {
  if (t._f & GC) return;
  t._f |= GC;
  registry.register(t, t._h, t);
}

/** Called by every new tensor: the current scope owns it, or the GC safety net does. */
export function track(t: Owned): void {
  const s = current();
  if (s !== null) s.owned.push(t);
  else toGc(t);
}

/** Frees a tensor now. Safe to call twice. */
export function release(t: Owned): void {
  if (t._h === 0) return;
  native.free(t._h);
  if (t._f & GC) registry.unregister(t);
  t._h = 0;
}

/**
 * Makes `t` hold `from`'s native tensor and frees t's old one (`from` is left empty): for moves
 * that libtorch cannot do in place (set_data between meta and a real device), so that t keeps its
 * JS identity. The GC safety net follows the new handle.
 */
export function adoptHandle(t: Owned, from: Owned): void {
  const old = t._h;
  const gc = (t._f & GC) !== 0;
  if (gc) registry.unregister(t);
  t._h = from._h;
  from._h = 0;
  if (from._f & GC) registry.unregister(from);
  if (gc) registry.register(t, t._h, t);
  native.free(old);
}

/** Exempts a tensor from scope disposal: the caller owns it from now on (e.g. parameters). */
export function keep<T extends Owned>(t: T): T {
  t._f |= KEPT;
  toGc(t);
  return t;
}

function collect(x: unknown, out: Set<Owned>, depth: number): void {
  if (x === null || typeof x !== 'object' || depth > 6) return;
  if ((x as any)[tensorBrand]) {
    out.add(x as Owned);
    return;
  }
  if (Array.isArray(x)) {
    for (const e of x) collect(e, out, depth + 1);
    return;
  }
  if (x instanceof Map) {
    for (const e of x.values()) collect(e, out, depth + 1);
    return;
  }
  if (Object.getPrototypeOf(x) === Object.prototype) for (const k in x) collect((x as any)[k], out, depth + 1);
}

function exit(s: Scope, result: unknown): void {
  const escaping = new Set<Owned>();
  collect(result, escaping, 0);
  for (const t of s.owned) {
    if (t._h === 0 || t._f & KEPT) continue;
    if (escaping.has(t)) {
      if (s.parent) s.parent.owned.push(t);
      else toGc(t);
    } else {
      release(t);
    }
  }
  s.owned.length = 0;
}

/**
 * Runs fn and frees every tensor created during it, except the returned ones (found in the
 * result, including inside arrays, Maps and plain objects) and kept ones. Works with async fn.
 */
export function scope<R>(fn: () => R): R {
  const s = new Scope(current());
  const prevTop = syncTop;
  syncTop = s;
  let result: R;
  try {
    result = als.run(s, fn);
  } catch (e) {
    syncTop = prevTop;
    exit(s, undefined);
    throw e;
  }
  syncTop = prevTop;
  if (result instanceof Promise) {
    pendingAsync++;
    return result.then(
      (v) => {
        pendingAsync--;
        exit(s, v);
        return v;
      },
      (e) => {
        pendingAsync--;
        exit(s, undefined);
        throw e;
      },
    ) as R;
  }
  exit(s, result);
  return result;
}

/**
 * Live native tensors and bytes (all devices), the CPU allocator's view, and CUDA's caching
 * allocator summed over devices (cudaAllocatedBytes/cudaReservedBytes: null without CUDA devices).
 */
export function memory() {
  const m = native.memory();
  const a = native.allocatorStats();
  const cuda = memoryTotals();
  return {
    numTensors: m.liveTensors,
    numStorages: m.liveStorages,
    numBytes: m.liveBytes,
    allocatedBytes: a.bytes,
    peakAllocatedBytes: a.peakBytes,
    allocator: a.backend,
    cudaAllocatedBytes: cuda?.allocatedBytes ?? null,
    cudaReservedBytes: cuda?.reservedBytes ?? null,
  };
}
