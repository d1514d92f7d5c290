// The `torch` namespace: everything a PyTorch user reaches as torch.* (import * as torch).
import { readFileSync } from 'node:fs';
import { native } from './core/native.js';
import { Tensor } from './core/tensor.js';

export { Tensor, isTensor, wrap } from './core/tensor.js';
export type { Scalar, TensorOrScalar, ToOptions, BackwardOptions } from './core/tensor.js';
export { TorchError, OutOfMemoryError } from './core/errors.js';
export { dtypes, type DType, type DeviceLike } from './core/dtype.js';
export * from './core/creation.js';
export * from './core/functions.js';
export { var_ as var } from './core/functions.js';
export { manualSeed, Generator, defaultGenerator, defaultGeneratorFor, seededGenerator, getRngState, setRngState } from './core/random.js';
export { noGrad, enableGrad, setGradEnabled, isGradEnabled, autocast, isAutocastEnabled, type AutocastOptions } from './core/modes.js';
export { scope, keep, memory } from './core/scope.js';
export { ops } from './core/aten.js';
export { slice, type Index, type Slice } from './core/indexing.js';
export * as autograd from './core/autograd.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * as distributed from './distributed/index.js';
export { load, save } from './serialization/index.js';

/** Frees tensors now (each may also be in arrays or objects). */
export function dispose(...xs: unknown[]): void {
  const walk = (x: unknown): void => {
    if (x instanceof Tensor) x.dispose();
    else if (Array.isArray(x)) x.forEach(walk);
    else if (x && typeof x === 'object' && Object.getPrototypeOf(x) === Object.prototype) Object.values(x).forEach(walk);
  };
  xs.forEach(walk);
}

export const setNumThreads = (n: number): void => native.setNumThreads(n);
export const getNumThreads = (): number => native.getNumThreads();

export * as cuda from './core/cuda.js';

/** CUDA backend flags (torch.backends.cuda.matmul.allow_tf32, cudnn.allow_tf32, cudnn.benchmark); they change CUDA kernels only. */
export function setCudaBackendFlags(f: { matmulTf32: boolean; cudnnTf32: boolean; cudnnBenchmark: boolean }): void {
  native.setCudaBackendFlags(f.matmulTf32, f.cudnnTf32, f.cudnnBenchmark);
}
export const cudaBackendFlags = () => native.cudaBackendFlags();

/** What was found at build and load time: versions, BLAS, threads, CUDA, allocator. */
export function config() {
  const c = native.config();
  const buildBlas = /BLAS_INFO=([^,\s]+)/.exec(c.buildConfig)?.[1] ?? 'unknown';
  return { ...c, blas: loadedBlas() ?? buildBlas, allocator: native.allocatorStats().backend };
}

/** The BLAS library actually loaded (Debian's libtorch uses whatever libblas.so.3 points to). */
function loadedBlas(): string | null {
  try {
    const maps = readFileSync('/proc/self/maps', 'utf8');
    const m = /\/[^\s]*\/(lib(?:openblas|blis|mkl_rt|blas)[^\s/]*\.so[^\s/]*)/.exec(maps);
    return m ? m[1] : null;
  } catch {
    return null;
  }
}
