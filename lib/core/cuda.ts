// torch.cuda (native/cuda.cc): devices, synchronisation, the caching allocator's memory figures,
// seeds, device properties. On a libtorch without CUDA, isAvailable() is false, deviceCount() 0,
// manualSeedAll() seeds the devices there are (none, as in PyTorch), and every other function
// throws a TorchError saying CUDA is not available; so does each on a CUDA build with no visible
// device. Memory figures are never made up.
import { native } from './native.js';

export { OutOfMemoryError } from './errors.js';

/** A CUDA device: an index, 'cuda' (the current device) or 'cuda:N'. Omitted: the current device. */
export type CudaDevice = number | string;

/** Whether this addon's libtorch was built with CUDA, GPUs visible or not (torch.backends.cuda.is_built). */
export const isBuilt = (): boolean => native.cuda.built;
export const isAvailable = (): boolean => native.cuda.isAvailable();
export const deviceCount = (): number => native.cuda.deviceCount();
export const currentDevice = (): number => native.cuda.currentDevice();
export const setDevice = (device: CudaDevice): void => native.cuda.setDevice(device);
/** Waits until everything queued on the device has run. */
export const synchronize = (device?: CudaDevice): void => native.cuda.synchronize(device);

/** Bytes held by live tensors on the device (the caching allocator's count). */
export const memoryAllocated = (device?: CudaDevice): number => native.cuda.memoryAllocated(device);
/** Bytes the caching allocator holds from the driver: allocated plus cached for reuse. */
export const memoryReserved = (device?: CudaDevice): number => native.cuda.memoryReserved(device);
/** The peak of memoryAllocated since start or the last resetPeakMemoryStats. */
export const maxMemoryAllocated = (device?: CudaDevice): number => native.cuda.maxMemoryAllocated(device);
export const resetPeakMemoryStats = (device?: CudaDevice): void => native.cuda.resetPeakMemoryStats(device);
/** Returns cached, unused blocks to the driver (they then show up free in nvidia-smi). */
export const emptyCache = (): void => native.cuda.emptyCache();

/** Seeds the default generator of every CUDA device (torch.manualSeed does this too). */
export const manualSeedAll = (seed: number | bigint): void => native.cuda.manualSeedAll(seed);
export const getDeviceName = (device?: CudaDevice): string => native.cuda.getDeviceName(device);
/** The compute capability, [major, minor] (e.g. [9, 0] for an H100). */
export const getDeviceCapability = (device?: CudaDevice): [number, number] => native.cuda.getDeviceCapability(device);

/** Allocated and reserved bytes summed over the CUDA devices; null when there are none. */
export function memoryTotals(): { allocatedBytes: number; reservedBytes: number } | null {
  const n = deviceCount();
  if (n === 0) return null;
  let allocatedBytes = 0,
    reservedBytes = 0;
  for (let d = 0; d < n; d++) {
    allocatedBytes += memoryAllocated(d);
    reservedBytes += memoryReserved(d);
  }
  return { allocatedBytes, reservedBytes };
}
