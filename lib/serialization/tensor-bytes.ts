// Moving raw little-endian element bytes into and out of tensors (always through a CPU copy).
import { native } from '../core/native.js';
import { Tensor } from '../core/tensor.js';
import type { DType } from '../core/dtype.js';

/** A new CPU tensor holding a copy of `bytes` (which must be exactly numel × itemsize long). */
export function tensorFromBytes(bytes: Uint8Array, shape: number[], dtype: DType): Tensor {
  return new Tensor(native.fromBuffer(bytes, shape, dtype));
}

/** The tensor's elements in row-major order as bytes (a copy; views and non-CPU tensors are handled). */
export function tensorBytes(t: Tensor): Buffer {
  if (t.device === 'cpu') return Buffer.from(native.toBuffer(t._h));
  const c = t.to('cpu');
  try {
    return Buffer.from(native.toBuffer(c._h));
  } finally {
    c.dispose();
  }
}

/** Moves a freshly loaded CPU tensor to `device` (the CPU tensor is freed); no-op for the CPU. */
export function toDevice(t: Tensor, device: string | undefined): Tensor {
  if (device === undefined || device === 'cpu') return t;
  const moved = t.to(device);
  t.dispose();
  return moved;
}
