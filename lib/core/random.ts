// Random number generation: the global seed and Generator objects (libtorch's CPU/CUDA generators,
// so the same seed gives the same numbers as libtorch's C++ API).
import { native } from './native.js';
import { Tensor } from './tensor.js';

/** Seeds the default generators of every device (torch.manual_seed). */
export function manualSeed(seed: number | bigint): void {
  native.manualSeed(seed);
}

export class Generator {
  /** Index in the native generator table (0 is the default CPU generator). */
  readonly _g: number;
  constructor(device: string = 'cpu', index?: number) {
    this._g = index ?? native.newGenerator(device);
  }
  manualSeed(seed: number | bigint): this {
    native.generatorSeed(this._g, seed);
    return this;
  }
  initialSeed(): bigint {
    return native.generatorSeed(this._g);
  }
  /** The generator's state as a uint8 tensor (for checkpoints). */
  getState(): Tensor {
    return new Tensor(native.generatorGetState(this._g));
  }
  setState(state: Tensor): void {
    native.generatorSetState(this._g, state._h);
  }
}

/** The default CPU generator (torch.default_generator). */
export const defaultGenerator = new Generator('cpu', 0);
export const getRngState = (): Tensor => defaultGenerator.getState();
export const setRngState = (s: Tensor): void => defaultGenerator.setState(s);

/**
 * The default generator of a device: the CPU's, or cuda:N's (what unseeded random ops on that
 * device draw from, and what a checkpoint must save to resume the same noise).
 */
export function defaultGeneratorFor(device: string): Generator {
  const i = native.defaultGenerator(device);
  return i === 0 ? defaultGenerator : new Generator(device, i);
}

/**
 * A fresh generator on `device` seeded with `seed`, for reproducible draws made directly on that
 * device (a CUDA draw is not a CPU draw moved over: the streams differ, as in PyTorch). The meta
 * device has no values and no generators: null, and draws there take none.
 */
export function seededGenerator(device: string, seed: number | bigint): Generator | null {
  if (device === 'meta') return null;
  return new Generator(device.startsWith('cuda') ? device : 'cpu').manualSeed(seed);
}
