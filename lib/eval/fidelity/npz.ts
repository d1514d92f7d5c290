// numpy's .npz archives: a zip of .npy members, one per array, the key being the member name
// without ".npy" (numpy.savez writes the members stored, numpy.savez_compressed deflates them).
//
// Reading takes both (lib/serialization/zip.ts inflates deflate members and checks CRCs).
// Writing stores the members by default, like numpy.savez: a float64 covariance matrix shrinks only
// to 85-95% under deflate and compressing its 32 MiB takes about a second, which a feature cache
// that writes statistics often does not want; `compress: true` deflates like savez_compressed.
// Either kind loads in numpy.load. Files are written atomically (temp file + rename).
import { Tensor } from '../../core/tensor.js';
import { CheckpointError } from '../../serialization/errors.js';
import { withSource } from '../../serialization/source.js';
import { ZipReader, zipChunks, zipToBuffer, type ZipWriteEntry } from '../../serialization/zip.js';
import { writeFileAtomic } from '../../serialization/atomic.js';
import { decodeNpy, encodeNpy, parseNpyHeader, type NpyHeader } from './npy.js';

export type ArraysLike = Map<string, Tensor> | Record<string, Tensor>;
export interface NpzReadOptions {
  /** Read only these keys (each must exist); default all, in archive order. */
  keys?: string[];
  /** Name used in errors when reading a buffer. */
  name?: string;
}
export interface NpzWriteOptions {
  /** Deflate the members like numpy.savez_compressed (default false: stored, like numpy.savez). */
  compress?: boolean;
}

const keyOf = (member: string) => (member.endsWith('.npy') ? member.slice(0, -4) : member);

function withZip<T>(input: string | Uint8Array, name: string | undefined, fn: (z: ZipReader, file: string) => T): T {
  return withSource(input, (src) => fn(new ZipReader(src), src.name), name ?? '<npz buffer>');
}

function memberFor(z: ZipReader, file: string, key: string): string {
  if (z.has(`${key}.npy`)) return `${key}.npy`;
  if (z.has(key)) return key;
  throw new CheckpointError(
    file,
    `no array ${JSON.stringify(key)} in the .npz (it holds ${
      z
        .names()
        .map(keyOf)
        .map((k) => JSON.stringify(k))
        .join(', ') || 'nothing'
    })`,
  );
}

/** The keys of an .npz, in archive order. */
export function npzKeys(input: string | Uint8Array, opts: { name?: string } = {}): string[] {
  return withZip(input, opts.name, (z) => z.names().map(keyOf));
}

/** Loads an .npz (a path, or its bytes) into key → C-order CPU tensor, in archive order. */
export function loadNpz(input: string | Uint8Array, opts: NpzReadOptions = {}): Map<string, Tensor> {
  return withZip(input, opts.name, (z, file) => {
    const members = opts.keys ? opts.keys.map((k) => memberFor(z, file, k)) : z.names();
    const out = new Map<string, Tensor>();
    try {
      for (const m of members) {
        const key = keyOf(m);
        if (out.has(key)) throw new CheckpointError(file, `two members hold the array ${JSON.stringify(key)}`, m);
        out.set(key, decodeNpy(z.read(m), `${file} [${JSON.stringify(m)}]`));
      }
    } catch (e) {
      for (const t of out.values()) t.dispose();
      throw e;
    }
    return out;
  });
}

/** The .npy headers (dtype, shape, order) of an .npz's members, without making tensors. */
export function npzHeaders(input: string | Uint8Array, opts: { name?: string } = {}): Map<string, NpyHeader> {
  return withZip(input, opts.name, (z, file) => new Map(z.names().map((m) => [keyOf(m), parseNpyHeader(z.read(m), `${file} [${JSON.stringify(m)}]`)])));
}

function entries(arrays: ArraysLike, opts: NpzWriteOptions, what: string): ZipWriteEntry[] {
  const list = arrays instanceof Map ? [...arrays] : Object.entries(arrays);
  const seen = new Set<string>();
  return list.map(([key, t]) => {
    if (typeof key !== 'string' || key === '') throw new CheckpointError(what, 'array names must be non-empty strings', String(key));
    if (seen.has(key)) throw new CheckpointError(what, 'duplicate array name', key);
    seen.add(key);
    if (!(t instanceof Tensor)) throw new CheckpointError(what, `value is not a Tensor (${typeof t})`, key);
    if (t.isDisposed) throw new CheckpointError(what, 'tensor was disposed', key);
    // Encoded when the zip writer reaches the entry, so only one member's bytes are held at a time.
    return { name: `${key}.npy`, data: () => encodeNpy(t, `${what} [${JSON.stringify(key)}]`), deflate: !!opts.compress };
  });
}

/** The .npz archive's bytes. */
export function npzToBuffer(arrays: ArraysLike, opts: NpzWriteOptions = {}): Buffer {
  return zipToBuffer(entries(arrays, opts, '<npz buffer>'), { align: 1 });
}

/** Writes an .npz file atomically. Arrays must be CPU-readable tensors of a numpy dtype. */
export function saveNpz(path: string, arrays: ArraysLike, opts: NpzWriteOptions = {}): void {
  writeFileAtomic(path, zipChunks(entries(arrays, opts, path), { align: 1 }));
}
