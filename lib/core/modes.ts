// Grad mode and autocast: thread-local libtorch state, set around a function and always restored.
// With an async function the mode stays set until its promise settles (libtorch's modes are
// per thread, and all JS runs on one thread, so code that interleaves meanwhile sees it too).
import { native } from './native.js';
import { normDtype, type DType } from './dtype.js';

function around<R>(enter: () => void, exit: () => void, fn: () => R): R {
  enter();
  let r: R;
  try {
    r = fn();
  } catch (e) {
    exit();
    throw e;
  }
  if (r instanceof Promise) return r.finally(exit) as R;
  exit();
  return r;
}

function withGrad<R>(on: boolean, fn: () => R): R {
  let prev = true;
  return around(
    () => {
      prev = native.setGradEnabled(on);
    },
    () => {
      native.setGradEnabled(prev);
    },
    fn,
  );
}

/** Runs fn with gradient recording off (torch.no_grad). */
export const noGrad = <R>(fn: () => R): R => withGrad(false, fn);
/** Runs fn with gradient recording on (torch.enable_grad). */
export const enableGrad = <R>(fn: () => R): R => withGrad(true, fn);
export const setGradEnabled = (on: boolean): boolean => native.setGradEnabled(on);
export const isGradEnabled = (): boolean => native.isGradEnabled();

export interface AutocastOptions {
  device?: 'cpu' | 'cuda' | 'meta';
  dtype?: DType | 'bfloat16' | 'float16';
  enabled?: boolean;
}

/**
 * Runs fn under libtorch's autocast (torch.autocast): eligible ops (matmul, linear, conv, ...)
 * run in dtype, the rest in float32. Defaults: cpu, bfloat16.
 */
export function autocast<R>(opts: AutocastOptions, fn: () => R): R {
  const device = opts.device ?? 'cpu';
  const dtype = normDtype(opts.dtype ?? (device === 'cuda' ? 'float16' : 'bfloat16'));
  let prev: [boolean, string] = [false, 'bfloat16'];
  return around(
    () => {
      prev = native.autocastEnter(device, opts.enabled ?? true, dtype);
    },
    () => {
      native.autocastExit(device, prev[0], prev[1]);
    },
    fn,
  );
}

export function isAutocastEnabled(device: 'cpu' | 'cuda' = 'cpu'): boolean {
  return native.autocastState(device)[0];
}

/** Whether autocast is on for a device type and its dtype; the meta device has no autocast. */
export function autocastState(device: 'cpu' | 'cuda' | 'meta'): { enabled: boolean; dtype: DType } {
  if (device === 'meta') return { enabled: false, dtype: 'float32' };
  const [enabled, dtype] = native.autocastState(device);
  return { enabled, dtype: dtype as DType };
}
