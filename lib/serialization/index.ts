// Checkpoint interop with PyTorch: reading torch.save zip checkpoints and safetensors files
// (sharded too), writing both, and rewriting state-dict keys.
//
//   import * as ser from './serialization/index.js';
//   const sd = ser.loadStateDict('model.pkl');        // Map<string, Tensor>, saved key order
//   for (const [name, t] of sd) ...
//   ser.save(sd, 'out.pt');  ser.safetensors.saveFile(sd, 'out.safetensors');
//
// Every dict read from a pickle is a Map (see torch-load.ts); safetensors give Map<string, Tensor> too.
import { Tensor } from '../core/tensor.js';
import { CheckpointError } from './errors.js';
import { detectFormat, unsupportedFormat } from './format.js';
import { withSource } from './source.js';
import * as safetensors from './safetensors.js';
import { loadFrom, type TorchLoadOptions } from './torch-load.js';

export { CheckpointError } from './errors.js';
export { detectFormat, type CheckpointFormat } from './format.js';
export { writeFileAtomic } from './atomic.js';
export * as safetensors from './safetensors.js';
export * as zip from './zip.js';
export { ZipReader, zipChunks, zipToBuffer, crc32, type ZipEntry, type ZipWriteEntry } from './zip.js';
export { unpickle, PyGlobal, PyObject, PyComplex, type UnpickleOptions } from './pickle.js';
export { Pickler } from './pickler.js';
export { StorageRef, StorageType, TorchDType } from './torch-globals.js';
export { load as torchLoad, loadBuffer as torchLoadBuffer, type TorchLoadOptions } from './torch-load.js';
export { save, save as torchSave, saveToBuffer, type TorchSaveOptions } from './torch-save.js';
export { mapKeys, stripPrefix, addPrefix, removeSegment, renameKeys, normalizeWrappedKeys } from './keys.js';

export interface LoadOptions extends TorchLoadOptions {
  /** Device for safetensors tensors (for pickles, mapLocation; either works for both). */
  device?: string;
}

/**
 * Loads a checkpoint, choosing the reader by content: PyTorch zip → the unpickled object (dicts as
 * Maps); safetensors → Map<string, Tensor>; *.index.json → sharded safetensors. Legacy (non-zip)
 * torch.save files and bare pickles get a clear "not supported" error.
 */
export function load(path: string, opts: LoadOptions = {}): any {
  if (path.endsWith('.index.json')) return safetensors.loadFile(path, { device: deviceOf(opts) });
  return withSource(path, (src) => {
    const f = detectFormat(src);
    if (f === 'torch-zip') return loadFrom(src, { ...opts, mapLocation: opts.mapLocation ?? opts.device });
    if (f === 'safetensors') return safetensors.loadFromSource(src, { device: deviceOf(opts) }).tensors;
    throw unsupportedFormat(src, f);
  });
}

/** load() for a checkpoint held in memory (no sharded indexes). */
export function loadBuffer(buffer: Uint8Array, opts: LoadOptions & { name?: string } = {}): any {
  return withSource(
    buffer,
    (src) => {
      const f = detectFormat(src);
      if (f === 'torch-zip') return loadFrom(src, { ...opts, mapLocation: opts.mapLocation ?? opts.device });
      if (f === 'safetensors') return safetensors.loadFromSource(src, { device: deviceOf(opts) }).tensors;
      throw unsupportedFormat(src, f);
    },
    opts.name ?? '<checkpoint buffer>',
  );
}

function deviceOf(opts: LoadOptions): string | undefined {
  return opts.device ?? (typeof opts.mapLocation === 'string' ? opts.mapLocation : undefined);
}

/** load(), then checks the result is a flat name → Tensor dict and returns it as a Map. */
export function loadStateDict(path: string, opts: LoadOptions = {}): Map<string, Tensor> {
  const obj = load(path, opts);
  if (!(obj instanceof Map))
    throw new CheckpointError(path, `not a state dict: the checkpoint holds ${obj === null ? 'None' : Array.isArray(obj) ? 'a list' : typeof obj}`);
  for (const [k, v] of obj) {
    if (typeof k !== 'string') throw new CheckpointError(path, `not a flat state dict: key ${String(k)} is not a string`);
    if (!(v instanceof Tensor)) {
      const what = v instanceof Map ? 'a dict (a nested checkpoint? pick the inner state dict with load())' : v === null ? 'None' : typeof v;
      throw new CheckpointError(path, `not a flat state dict: value is ${what}`, k);
    }
  }
  return obj as Map<string, Tensor>;
}
