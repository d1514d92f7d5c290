// Mixed precision for a job, decided once and honestly (never a silent fp32 run):
//   fp32  no autocast;
//   bf16  autocast to bfloat16 on the job's device type, fp32 master weights, no loss scaling;
//   fp16  autocast to float16 with a dynamic GradScaler (skipped steps counted): on CUDA, or on a
//         CPU whose libtorch has float16 CPU autocast (PyTorch 2.x); elsewhere an error naming it.
// The meta device runs no kernels, so autocast means nothing there: only fp32 is accepted.
import * as torch from '../torch.js';
import { GradScaler } from '../optim/grad-scaler.js';
import { deviceType, describeLibtorch } from '../core/device.js';

export type PrecisionName = 'fp32' | 'bf16' | 'fp16';

export interface Precision {
  name: PrecisionName;
  /** Runs fn under the job's autocast (or plainly for fp32). */
  autocast<R>(fn: () => R): R;
  /** The loss scaler for fp16, else null. */
  scaler: GradScaler | null;
  /** For the run's first log line, e.g. "cuda:0, fp16 (autocast float16, dynamic loss scale 65536)". */
  describe(device: string): string;
}

const probed = new Map<string, boolean>();

/** Whether autocast on `type` really computes a matmul in `dtype` in this libtorch (probed once). */
export function autocastComputesIn(type: 'cpu' | 'cuda', dtype: 'bfloat16' | 'float16'): boolean {
  const key = `${type}/${dtype}`;
  if (!probed.has(key)) {
    probed.set(
      key,
      torch.scope(() => {
        const a = torch.ones([2, 2], { device: type });
        try {
          return torch.autocast({ device: type, dtype }, () => a.matmul(a).dtype) === dtype;
        } catch {
          return false;
        }
      }),
    );
  }
  return probed.get(key)!;
}

/**
 * The precision `name` ('fp32', 'bf16', 'fp16'; upstream's 'no' is fp32) for a job on `device`;
 * `what` names the setting in errors (e.g. "trainer.params.precision").
 */
export function resolvePrecision(name: string, device: string, what = 'precision'): Precision {
  const p = name === 'no' ? 'fp32' : name;
  if (p !== 'fp32' && p !== 'bf16' && p !== 'fp16') throw new Error(`${what} must be 'bf16', 'fp16' or 'fp32', got '${name}'`);
  const type = deviceType(device);
  if (p === 'fp32') return { name: p, autocast: (fn) => fn(), scaler: null, describe: (d) => `${d}, fp32` };
  if (type === 'meta') throw new Error(`${what} '${p}' on the meta device: autocast runs kernels, and meta has none; use fp32 there`);
  const dtype = p === 'bf16' ? 'bfloat16' : 'float16';
  if (!autocastComputesIn(type, dtype)) {
    throw new Error(
      `${what} '${p}' on ${device}: ${type} autocast to ${dtype} is not supported by this libtorch (${describeLibtorch()})` +
        (p === 'fp16' ? "; use 'bf16' or 'fp32' on this device, or fp16 on CUDA" : ''),
    );
  }
  const scaler = p === 'fp16' ? new GradScaler() : null;
  return {
    name: p,
    autocast: (fn) => torch.autocast({ device: type, dtype }, fn),
    scaler,
    describe: (d) => `${d}, ${p} (autocast ${dtype}, fp32 master weights${scaler ? `, dynamic loss scale ${scaler.getScale()}` : ''})`,
  };
}
