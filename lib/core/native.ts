// Loads the C++ addon once and sets it up: error class, thread count. Everything native goes
// through the `native` object exported here.
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OutOfMemoryError, TorchError } from './errors.js';

export interface OpArgInfo {
  name: string;
  type: string;
  kind: string;
  optional: boolean;
  kwOnly: boolean;
  hasDefault: boolean;
}
export interface OpSchemaInfo {
  name: string;
  schema: string;
  args: OpArgInfo[];
  returns: { type: string; aliasArg: number }[];
}

export interface NativeConfig {
  torchVersion: string;
  cxx11Abi: boolean;
  threads: number;
  interopThreads: number;
  mkl: boolean;
  mkldnn: boolean;
  openmp: boolean;
  lapack: boolean;
  cuda: boolean;
  cudaDevices: number;
  buildConfig: string;
  parallelInfo: string;
}

export interface Native {
  call(op: number, ...args: unknown[]): any;
  resolveOp(name: string, overload?: string): number;
  opSchema(op: number): OpSchemaInfo;
  listOps(): string[];
  free(h: number): boolean;
  isValid(h: number): boolean;
  fromBuffer(data: ArrayBufferView | ArrayBuffer, shape: number[], dtype: string): number;
  toBuffer(h: number, dtype?: string): ArrayBuffer;
  item(h: number): number | boolean;
  memory(): { liveTensors: number; liveStorages: number; liveBytes: number };
  allocatorStats(): { bytes: number; peakBytes: number; blocks: number; backend: string };
  resetPeakBytes(): void;
  shape(h: number): number[];
  strides(h: number): number[];
  dim(h: number): number;
  numel(h: number): number;
  dtype(h: number): string;
  device(h: number): string;
  storageOffset(h: number): number;
  isContiguous(h: number): boolean;
  sameStorage(a: number, b: number): boolean;
  requiresGrad(h: number): boolean;
  setRequiresGrad(h: number, b: boolean): void;
  isLeaf(h: number): boolean;
  gradFn(h: number): string | null;
  retainGrad(h: number): void;
  grad(h: number): number | null;
  setGrad(h: number, g: number | null): void;
  backward(h: number, grad: number | null, retainGraph: boolean, createGraph: boolean, inputs?: number[]): void;
  autogradGrad(
    outputs: number[],
    inputs: number[],
    gradOutputs: (number | null)[] | null,
    retainGraph: boolean,
    createGraph: boolean,
    allowUnused: boolean,
  ): (number | null)[];
  setErrorClass(ctor: unknown, oomCtor?: unknown): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  manualSeed(seed: number | bigint): void;
  newGenerator(device?: string): number;
  generatorSeed(g: number, seed?: number | bigint): bigint;
  generatorGetState(g: number): number;
  generatorSetState(g: number, state: number): void;
  defaultGenerator(device: string): number;
  setCudaBackendFlags(matmulTf32: boolean, cudnnTf32: boolean, cudnnBenchmark: boolean): void;
  cudaBackendFlags(): { matmulTf32: boolean; cudnnTf32: boolean; cudnnBenchmark: boolean };
  setGradEnabled(on: boolean): boolean;
  isGradEnabled(): boolean;
  autocastEnter(device: string, enabled: boolean, dtype: string): [boolean, string];
  autocastExit(device: string, enabled: boolean, dtype: string): void;
  autocastState(device: string): [boolean, string];
  cudaDeviceCount(): number;
  /** Test support (native/meta-shapes.cc): Meta kernels computed on zero-filled CPU stand-ins for these ops. */
  metaViaCpu(ops: string[]): void;
  config(): NativeConfig;
  distributed: NativeDistributed;
  cuda: NativeCuda;
}

/** torch.cuda (native/cuda.cc). `device`: an index, 'cuda' or 'cuda:N'; omitted: the current one. */
export interface NativeCuda {
  /** Compiled against a libtorch with CUDA. */
  built: boolean;
  isAvailable(): boolean;
  deviceCount(): number;
  currentDevice(): number;
  setDevice(device: number | string): void;
  synchronize(device?: number | string): void;
  memoryAllocated(device?: number | string): number;
  memoryReserved(device?: number | string): number;
  maxMemoryAllocated(device?: number | string): number;
  resetPeakMemoryStats(device?: number | string): void;
  emptyCache(): void;
  manualSeedAll(seed: number | bigint): void;
  getDeviceName(device?: number | string): string;
  getDeviceCapability(device?: number | string): [number, number];
}

/** c10d (native/distributed.cc): ids name native stores, groups, works and reducers. */
export interface NativeDistributed {
  nccl: boolean;
  tcpStore(host: string, port: number, isServer: boolean, worldSize: number, timeoutMs: number, prefix?: string): number;
  storeSet(store: number, key: string, value: string): void;
  storeGet(store: number, key: string): string;
  releaseStore(store: number): boolean;
  newGroup(backend: string, store: number, rank: number, size: number, timeoutMs: number, glooHostname?: string): number;
  releaseGroup(group: number): boolean;
  allReduce(group: number, tensors: number[], op: string): number;
  broadcast(group: number, tensors: number[], root: number): number;
  allGather(group: number, outputs: number[], input: number): number;
  barrier(group: number): number;
  broadcastCoalesced(group: number, tensors: number[], bufferBytes: number, root: number): void;
  waitWork(work: number, timeoutMs: number): void;
  waitWorkAsync(work: number, timeoutMs: number): Promise<void>;
  workCompleted(work: number): boolean;
  newReducer(
    group: number,
    params: number[],
    names: string[],
    bucketCapBytes: number,
    firstBucketCapBytes: number,
    findUnused: boolean,
    gradientAsBucketView: boolean,
  ): [number, number[][]];
  reducerPrepareForBackward(reducer: number, outputs: number[] | null): void;
  reducerRebuildBuckets(reducer: number): boolean;
  releaseReducer(reducer: number): boolean;
}

function addonPath(): string {
  if (process.env.TORCHNODE_ADDON) return process.env.TORCHNODE_ADDON;
  // dist/lib/core → package root, whether run from sources (lib/core) or from dist.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    for (const rel of ['build/Release/torchnode.node', 'build/Debug/torchnode.node']) {
      const p = join(dir, rel);
      if (existsSync(p)) return p;
    }
    dir = dirname(dir);
  }
  throw new Error('torchnode.node not found: build the addon first (npm install, or npx cmake-js compile --out build)');
}

const require = createRequire(import.meta.url);
export const native: Native = require(addonPath());
native.setErrorClass(TorchError, OutOfMemoryError);
// Debian's libtorch starts with one intra-op thread; use the machine unless told otherwise.
native.setNumThreads(Number(process.env.OMP_NUM_THREADS) || availableParallelism());
