// Writing PyTorch zip checkpoints that Python's torch.load can read, weights_only=True included (only
// opcodes and globals on its allow-list are written):
// <archive>/data.pkl (protocol 2: OrderedDict, torch._utils._rebuild_tensor_v2, torch.*Storage
// persistent ids), <archive>/data/<key> storage bytes at 64-byte aligned offsets, byteorder
// 'little', version 3, .format_version, .storage_alignment, .data/serialization_id. Atomic.
//
// Tensors that share memory (same storage and dtype, e.g. views of one tensor) are written as
// one storage holding the span of elements they reach, so they share memory again after loading.
// Maps are written as OrderedDict, plain objects as dict, arrays as list (see pickler.ts).
import { basename } from 'node:path';
import { randomBytes } from 'node:crypto';
import { native } from '../core/native.js';
import { Tensor } from '../core/tensor.js';
import { ops } from '../core/aten.js';
import { CheckpointError } from './errors.js';
import { dtypeToStorage } from './dtypes.js';
import { Pickler } from './pickler.js';
import { zipChunks, type ZipWriteEntry } from './zip.js';
import { writeFileAtomic } from './atomic.js';
import { tensorBytes } from './tensor-bytes.js';

export interface TorchSaveOptions {
  /** Name of the archive's top folder (PyTorch uses the file name without extension). */
  archiveName?: string;
}

interface Storage {
  key: string;
  base: Tensor;
  lo: number;
  hi: number;
  location: string;
}

/** Writes `obj` to `path` in PyTorch's zip format, atomically. */
export function save(obj: unknown, path: string, opts: TorchSaveOptions = {}): void {
  const stem = basename(path)
    .replace(/\.[^.]*$/, '')
    .replace(/[^A-Za-z0-9_.-]/g, '_');
  const name = opts.archiveName ?? (stem || 'archive');
  writeFileAtomic(path, zipChunks(entries(obj, name, path), { align: 64 }));
}

/** The checkpoint bytes in memory (archive folder 'archive', as torch.save to a buffer). */
export function saveToBuffer(obj: unknown, opts: TorchSaveOptions = {}): Buffer {
  return Buffer.concat([...zipChunks(entries(obj, opts.archiveName ?? 'archive', '<buffer>'), { align: 64 })]);
}

function entries(obj: unknown, archive: string, file: string): ZipWriteEntry[] {
  const storages = planStorages(collectTensors(obj), file);
  const byTensor = new Map<Tensor, Storage>();
  for (const [t, s] of storages.assignment) byTensor.set(t, s);
  const pickler = new Pickler((p, x) => {
    if (x instanceof StorageClass) {
      p.global('torch', x.name);
      return true;
    }
    if (!(x instanceof Tensor)) return false;
    const s = byTensor.get(x)!;
    p.global('torch._utils', '_rebuild_tensor_v2');
    p.op(0x28); // MARK: the argument tuple
    p.persistentId(['storage', new StorageClass(dtypeToStorage[x.dtype]), s.key, s.location, s.hi - s.lo]);
    p.save(x.numel() === 0 ? 0 : x.storageOffset() - s.lo);
    p.tuple(x.shape);
    p.tuple(x.stride());
    p.save(x.requiresGrad);
    p.global('collections', 'OrderedDict');
    p.op(0x29);
    p.op(0x52); // backward hooks: OrderedDict()
    p.op(0x74); // TUPLE
    p.op(0x52); // REDUCE
    p.putMemo(x);
    return true;
  });
  const pkl = pickler.dump(obj);
  const out: ZipWriteEntry[] = [
    { name: `${archive}/data.pkl`, data: pkl },
    { name: `${archive}/.format_version`, data: Buffer.from('1') },
    { name: `${archive}/.storage_alignment`, data: Buffer.from('64') },
    { name: `${archive}/byteorder`, data: Buffer.from('little') },
  ];
  for (const s of storages.list) out.push({ name: `${archive}/data/${s.key}`, data: () => storageBytes(s) });
  out.push({ name: `${archive}/version`, data: Buffer.from('3\n') });
  out.push({ name: `${archive}/.data/serialization_id`, data: Buffer.from(serializationId()) });
  return out;
}

/** A torch.<Name>Storage global inside a persistent id. */
class StorageClass {
  constructor(readonly name: string) {}
}

/** Every Tensor reachable through arrays, Maps (values and attributes), Sets and plain objects. */
function collectTensors(root: unknown): Tensor[] {
  const found: Tensor[] = [];
  const seen = new Set<unknown>();
  const stack = [root];
  while (stack.length) {
    const x = stack.pop();
    if (x === null || typeof x !== 'object' || seen.has(x)) continue;
    seen.add(x);
    if (x instanceof Tensor) {
      found.push(x);
      continue;
    }
    if (Array.isArray(x) || x instanceof Set) stack.push(...x);
    else if (x instanceof Map) {
      for (const [k, v] of x) stack.push(k, v);
      stack.push(...Object.values(x));
    } else if (Object.getPrototypeOf(x) === Object.prototype || Object.getPrototypeOf(x) === null) stack.push(...Object.values(x));
  }
  return found.reverse();
}

/** Groups tensors by shared storage (same dtype and device) and finds the element span each group needs. */
function planStorages(tensors: Tensor[], file: string): { list: Storage[]; assignment: [Tensor, Storage][] } {
  const list: Storage[] = [];
  const assignment: [Tensor, Storage][] = [];
  for (const t of tensors) {
    if (t.isDisposed) throw new CheckpointError(file, 'cannot save a disposed tensor');
    const device = t.device;
    const location = device === 'cuda' ? 'cuda:0' : device;
    const n = t.numel();
    let lo = 0,
      hi = 0;
    if (n > 0) {
      lo = t.storageOffset();
      hi = lo + 1;
      const size = t.shape,
        stride = t.stride();
      for (let i = 0; i < size.length; i++) hi += (size[i] - 1) * stride[i];
    }
    let s = n === 0 ? undefined : list.find((g) => g.hi > g.lo && g.location === location && g.base.dtype === t.dtype && native.sameStorage(g.base._h, t._h));
    if (s) {
      s.lo = Math.min(s.lo, lo);
      s.hi = Math.max(s.hi, hi);
    } else {
      s = { key: String(list.length), base: t, lo, hi, location };
      list.push(s);
    }
    assignment.push([t, s]);
  }
  return { list, assignment };
}

/** The elements [lo, hi) of the group's storage, as bytes. */
function storageBytes(s: Storage): Uint8Array {
  if (s.hi === s.lo) return new Uint8Array(0);
  const span = ops.aten.as_strided(s.base, [s.hi - s.lo], [1], s.lo) as Tensor;
  try {
    return tensorBytes(span);
  } finally {
    span.dispose();
  }
}

function serializationId(): string {
  let id = '';
  for (const b of randomBytes(20)) id += String(b % 100).padStart(2, '0');
  return id;
}
