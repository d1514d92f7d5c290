// Reading PyTorch zip checkpoints (torch.save since 1.6): <prefix>/data.pkl is unpickled safely,
// and the storages it names are read from <prefix>/data/<key>. Each storage becomes one 1-D
// tensor; every tensor over it is an as_strided view of it (dtype, shape, stride, offset as
// saved), so tensors that share a storage in Python share memory here too.
//
// Return value: the unpickled object. Every dict (dict and OrderedDict) is a Map, so a state
// dict comes back as Map<string, Tensor> in the saved key order: `for (const [k, t] of sd)`.
// Attributes of the OrderedDict (`_metadata`) are own properties of the Map. Unknown classes are
// inert PyObjects (see pickle.ts). Tensors land on the CPU unless mapLocation says otherwise; the
// saved location ('cuda:0', ...) is ignored by default.
import type { Tensor } from '../core/tensor.js';
import type { DType } from '../core/dtype.js';
import { ops } from '../core/aten.js';
import { CheckpointError, wrapErrors } from './errors.js';
import { itemSize } from './dtypes.js';
import { ZipReader } from './zip.js';
import { unpickle } from './pickle.js';
import { parsePersistentId, torchGlobals, type StorageRef, type TensorBuilder } from './torch-globals.js';
import { detectFormat, unsupportedFormat } from './format.js';
import { withSource, type ByteSource } from './source.js';
import { tensorFromBytes, toDevice } from './tensor-bytes.js';

export interface TorchLoadOptions {
  /** Device for every tensor ('cpu' by default), or a function of the saved location string. */
  mapLocation?: string | ((location: string) => string);
  /** Verify the CRC-32 of every archive entry read (default true). */
  checkCrc?: boolean;
}

/** Reads a PyTorch zip checkpoint file. */
export function load(path: string, opts: TorchLoadOptions = {}): any {
  return withSource(path, (src) => loadFrom(src, opts));
}

/** Reads a PyTorch zip checkpoint held in memory. */
export function loadBuffer(buffer: Uint8Array, opts: TorchLoadOptions & { name?: string } = {}): any {
  return withSource(buffer, (src) => loadFrom(src, opts), opts.name ?? '<torch checkpoint buffer>');
}

export function loadFrom(src: ByteSource, opts: TorchLoadOptions = {}): any {
  const format = detectFormat(src);
  if (format !== 'torch-zip') {
    if (format === 'safetensors')
      throw new CheckpointError(src.name, 'this is a safetensors file: use safetensors.loadFile (or serialization.load, which picks the reader)');
    throw unsupportedFormat(src, format);
  }
  const zip = new ZipReader(src, { checkCrc: opts.checkCrc });
  const pkl = zip.names().find((n) => /^[^/]+\/data\.pkl$/.test(n)) ?? zip.names().find((n) => n.endsWith('/data.pkl') || n === 'data.pkl');
  if (pkl === undefined) throw new CheckpointError(src.name, 'zip archive has no <archive>/data.pkl: not a torch.save checkpoint');
  const prefix = pkl.slice(0, pkl.length - 'data.pkl'.length);
  const order = zip.has(`${prefix}byteorder`) ? zip.read(`${prefix}byteorder`).toString('latin1').trim() : 'little';
  if (order !== 'little') throw new CheckpointError(src.name, `byte order '${order}' is not supported (only little-endian checkpoints)`);

  const storages = new Storages(zip, prefix, opts.mapLocation);
  try {
    const obj = unpickle(zip.read(pkl), {
      name: `${src.name}:${pkl}`,
      persistentLoad: (pid) => parsePersistentId(pid, `${src.name}:${pkl}`),
      resolveGlobal: torchGlobals(storages, src.name),
    });
    storages.release(false);
    return obj;
  } catch (e) {
    storages.release(true);
    throw e;
  }
}

/** Storage tensors by key, created on first use; builds the views. */
class Storages implements TensorBuilder {
  private readonly bases = new Map<string, { t: Tensor; numel: number }>();
  private readonly made: Tensor[] = [];

  constructor(
    private readonly zip: ZipReader,
    private readonly prefix: string,
    private readonly mapLocation: TorchLoadOptions['mapLocation'],
  ) {}

  private get file(): string {
    return this.zip.src.name;
  }

  private base(ref: StorageRef, dtype: DType): { t: Tensor; numel: number } {
    const id = `${ref.key}\0${dtype}`;
    const have = this.bases.get(id);
    if (have) return have;
    const entry = `${this.prefix}data/${ref.key}`;
    if (!this.zip.has(entry)) throw new CheckpointError(this.file, `storage ${JSON.stringify(ref.key)} is missing from the archive`, entry);
    const bytes = this.zip.read(entry);
    const need = ref.numel * itemSize[ref.dtype ?? 'uint8'];
    if (bytes.length < need)
      throw new CheckpointError(
        this.file,
        `storage holds ${bytes.length} bytes but ${ref.type.name} of ${ref.numel} elements needs ${need} (truncated or corrupt)`,
        entry,
      );
    const numel = Math.floor(need / itemSize[dtype]);
    const cpu = wrapErrors(
      this.file,
      'cannot create the storage tensor',
      () => tensorFromBytes(bytes.subarray(0, numel * itemSize[dtype]), [numel], dtype),
      entry,
    );
    const device = typeof this.mapLocation === 'function' ? this.mapLocation(ref.location) : this.mapLocation;
    const t = wrapErrors(this.file, `cannot move the storage to ${device}`, () => toDevice(cpu, device), entry);
    const b = { t, numel };
    this.bases.set(id, b);
    return b;
  }

  rebuild(ref: StorageRef, offset: number, size: number[], stride: number[], dtype?: DType): Tensor {
    const dt = dtype ?? ref.dtype;
    const entry = `${this.prefix}data/${ref.key}`;
    if (dt === null) throw new CheckpointError(this.file, `storage type torch.${ref.type.name} is not supported`, entry);
    const { t: base, numel } = this.base(ref, dt);
    let last = offset;
    for (let i = 0; i < size.length; i++) last += (size[i] - 1) * stride[i];
    let t: Tensor;
    if (size.includes(0)) {
      t = wrapErrors(this.file, 'cannot make an empty tensor', () => ops.aten.as_strided(base, size, stride, 0), entry);
    } else {
      if (!Number.isSafeInteger(last) || last >= numel)
        throw new CheckpointError(
          this.file,
          `tensor of size [${size}], stride [${stride}] at offset ${offset} reaches element ${last} but the storage has ${numel}`,
          entry,
        );
      t = wrapErrors(this.file, 'cannot view the storage', () => ops.aten.as_strided(base, size, stride, offset), entry);
    }
    this.made.push(t);
    return t;
  }

  /** Frees the storage handles (views keep the memory); on failure frees the views too. */
  release(failed: boolean): void {
    for (const b of this.bases.values()) b.t.dispose();
    if (failed) for (const t of this.made) t.dispose();
  }
}
