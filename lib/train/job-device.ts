// Where a training job runs and in what precision, decided once before any work (both trainers):
// the device (trainer.params.device; under a launcher cuda = cuda:LOCAL_RANK, made current), the
// CUDA backend flags (TF32, cuDNN autotuning, as upstream's configure_compute_backend), the
// precision with its loss scaler, the generators a checkpoint must save, and the host→device
// copy of batches (through pinned memory, asynchronous, on CUDA; nothing at all on the CPU).
import * as torch from '../torch.js';
import type { Tensor } from '../core/tensor.js';
import type { Generator } from '../core/random.js';
import { resolveDevice, deviceType } from '../core/device.js';
import { resolvePrecision, type Precision } from './precision.js';
import type { DeviceParams, LoopParams } from './trainer-keys.js';

export interface JobDevice {
  /** 'cpu', 'cuda:N' or 'meta'. */
  device: string;
  precision: Precision;
  /** The default generators whose states a checkpoint saves: the CPU's, then the job's CUDA device's. */
  generators: Generator[];
  /** A batch tensor on the job's device: the tensor itself on the CPU, else a new one (the caller frees both). */
  toDevice(t: Tensor): Tensor;
  /** toDevice taking ownership: the host tensor is freed when a device copy was made. */
  moveToDevice(t: Tensor): Tensor;
  /** For the run's first log line: device, precision, scaler, TF32. */
  summary: string;
}

export function setUpJobDevice(P: DeviceParams & Pick<LoopParams, 'precision' | 'pin_memory'>, o: { localRank?: number } = {}): JobDevice {
  const device = resolveDevice(P.device, { what: 'trainer.params.device', localRank: o.localRank });
  const type = deviceType(device);
  const precision = resolvePrecision(P.precision, device, 'trainer.params.precision');
  const generators: Generator[] = [torch.defaultGenerator];
  let flags = '';
  if (type === 'cuda') {
    torch.cuda.setDevice(Number(device.split(':')[1]));
    torch.setCudaBackendFlags({ matmulTf32: P.allow_tf32, cudnnTf32: P.allow_tf32, cudnnBenchmark: P.cudnn_benchmark });
    generators.push(torch.defaultGeneratorFor(device));
    flags = `, TF32 ${P.allow_tf32 ? 'on' : 'off'}, cuDNN benchmark ${P.cudnn_benchmark ? 'on' : 'off'}`;
  }
  const pin = type === 'cuda' && P.pin_memory === true;
  const toDevice = deviceMover(device, pin);
  const moveToDevice = (t: Tensor): Tensor => {
    const d = toDevice(t);
    if (d !== t) t.dispose();
    return d;
  };
  return { device, precision, generators, toDevice, moveToDevice, summary: `${precision.describe(device)}${flags}${pin ? ', pinned batches' : ''}` };
}

/**
 * Host tensor → `device`: the tensor itself when it is there already, else a copy (through pinned
 * memory and asynchronous when `pin`; the pinned staging copy is freed at once, the caching host
 * allocator keeps it until the copy is done).
 */
export function deviceMover(device: string, pin = false): (t: Tensor) => Tensor {
  return (t) => {
    if (t.device === device) return t;
    if (!pin) return t.to({ device });
    return torch.scope(() => t.pinMemory().to({ device, nonBlocking: true }));
  };
}
