// The device a job runs on: parsed and checked once, before any work, so that asking for CUDA on
// a libtorch without it fails at once with what was asked and what was found (never a silent CPU
// run). Values: 'cpu', 'cuda', 'cuda:N', and 'meta' (shapes only, no values: for checking that a
// job creates nothing on another device behind the caller's back). Unset: 'cuda' when CUDA is
// available, else 'cpu'. Under a launcher, a bare 'cuda' means this rank's GPU, cuda:LOCAL_RANK.
import { readFileSync } from 'node:fs';
import { native } from './native.js';

const DEVICE = /^(cpu|cuda|meta)(?::(\d+))?$/;

/** Where the linked libtorch's libraries are (from the process's memory map; Linux). */
export function libtorchLocation(): string {
  try {
    const m = /\s(\/\S*\/)libtorch_cpu\.so\S*/.exec(readFileSync('/proc/self/maps', 'utf8'));
    if (m) return m[1];
  } catch {
    /* not Linux */
  }
  return 'unknown location';
}

/** One sentence about the linked libtorch and CUDA, for errors. */
export function describeLibtorch(): string {
  const c = native.config();
  const n = native.cudaDeviceCount();
  const cuda = c.cuda ? `with CUDA, ${n} device${n === 1 ? '' : 's'} visible` : 'without CUDA (a CPU-only build, or no usable GPU and driver)';
  return `the addon is linked to libtorch ${c.torchVersion} in ${libtorchLocation()}, ${cuda}`;
}

export interface ResolveDeviceOptions {
  /** Where the value came from, for errors (e.g. "--device", "trainer.params.device"). */
  what?: string;
  /** This process's local rank under a launcher: a bare 'cuda' becomes cuda:localRank. */
  localRank?: number;
}

/** Parses and checks a device request; returns the canonical device ('cpu', 'cuda:N' or 'meta'). */
export function resolveDevice(spec: string | undefined | null, o: ResolveDeviceOptions = {}): string {
  const what = o.what ?? 'device';
  const cudaCount = native.cudaDeviceCount();
  const asked = spec ?? (cudaCount > 0 ? 'cuda' : 'cpu');
  const m = DEVICE.exec(asked);
  if (!m) throw new Error(`${what} '${asked}' is not a device: expected 'cpu', 'cuda', 'cuda:N' or 'meta'`);
  const [, type, index] = m;
  if (type !== 'cuda') {
    if (index !== undefined && index !== '0') throw new Error(`${what} '${asked}': the ${type} device has no index ${index}`);
    return type;
  }
  if (cudaCount === 0)
    throw new Error(
      `${what} '${asked}': CUDA is not available: ${describeLibtorch()}. Build the addon against a CUDA libtorch (LIBTORCH=... or a CUDA PyTorch from pip, then npm run build:native) or pass ${what === '--device' ? '--device cpu' : `${what}: cpu`}`,
    );
  const n = index !== undefined ? Number(index) : (o.localRank ?? 0);
  if (n >= cudaCount) {
    const why = index === undefined ? ` (this is local rank ${n}: start at most ${cudaCount} ranks per node)` : '';
    throw new Error(`${what} '${asked}': cuda:${n} does not exist, ${cudaCount} CUDA device${cudaCount === 1 ? '' : 's'} visible${why}`);
  }
  return `cuda:${n}`;
}

/** The device type of a canonical device: 'cpu', 'cuda' or 'meta'. */
export function deviceType(device: string): 'cpu' | 'cuda' | 'meta' {
  return device.split(':')[0] as 'cpu' | 'cuda' | 'meta';
}
