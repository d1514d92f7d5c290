// An on-disk cache of what was extracted from an image folder (features, or FID statistics), so a
// grid of evaluations against one reference set extracts it once.
//
// An entry belongs to (the folder's real path, the extractor, the tensor names) and is one
// safetensors file whose metadata records a fingerprint of the inputs: every counted file's name,
// size and mtime (nanoseconds), and the extractor's identity (its weight file's real path, size and
// mtime, or an id the caller gives, such as a content hash). A lookup recomputes the fingerprint
// and treats any difference as a miss, so editing, adding or removing an image, or replacing the
// weights, invalidates the entry; the next put replaces the file. Writes are atomic (temp file +
// rename), so a crash or a concurrent reader never sees half an entry.
//
// By default the counted files are those torch-fidelity reads: the folder's own files (not
// sub-folders) whose lower-cased extension is png, jpg or jpeg.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Tensor } from '../../torch.js';
import * as safetensors from '../../serialization/safetensors.js';
import { CheckpointError } from '../../serialization/errors.js';

const FORMAT = 'semanticist-feature-cache/1';

export interface CacheInput {
  /** The image folder. */
  folder: string;
  /** The extractor: the path of its weight file, or { id } (e.g. a hash of the weights and settings). */
  extractor: string | { id: string };
  /** Names of the cached tensors, e.g. ['2048', 'logits_unbiased'] or ['mu', 'sigma']. */
  features: string[];
  /** The folder's files that count, as paths (default: torch-fidelity's png/jpg/jpeg, non-recursive). */
  listFiles?: (folder: string) => string[];
}

export type TensorsLike = Map<string, Tensor> | Record<string, Tensor>;

/** torch-fidelity's choice of files: the folder's own files with extension png, jpg or jpeg (any case). */
export function imageFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true })
    .filter((e) => /\.(png|jpe?g)$/i.test(e.name) && statSync(join(folder, e.name)).isFile())
    .map((e) => join(folder, e.name));
}

export class FeatureCache {
  constructor(readonly dir: string) {}

  /** Where the entry for this input lives (whether or not it exists). */
  entryPath(input: CacheInput): string {
    const key = JSON.stringify({ folder: realpathSync(input.folder), extractor: extractorKey(input.extractor), features: input.features });
    return join(this.dir, `${createHash('sha256').update(key).digest('hex').slice(0, 32)}.safetensors`);
  }

  /** The fingerprint of the input as it is now (files and extractor). */
  fingerprint(input: CacheInput): string {
    const folder = realpathSync(input.folder);
    const files = (input.listFiles ?? imageFiles)(folder)
      .map((p) => {
        const s = statSync(p, { bigint: true });
        return [p, String(s.size), String(s.mtimeNs)];
      })
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return createHash('sha256')
      .update(JSON.stringify({ folder, files, extractor: extractorIdentity(input.extractor) }))
      .digest('hex');
  }

  /** The cached tensors, or null when there is no entry or it is stale (the inputs changed). */
  get(input: CacheInput): Map<string, Tensor> | null {
    const path = this.entryPath(input);
    if (!existsSync(path)) return null;
    let header: safetensors.Header;
    try {
      header = safetensors.readHeader(path);
    } catch (e) {
      if (e instanceof CheckpointError) return null; // unreadable: recompute and replace it
      throw e;
    }
    const md = header.metadata;
    if (!md || md.format !== FORMAT || md.fingerprint !== this.fingerprint(input)) return null;
    const names = new Set(header.entries.map((e) => e.name));
    if (!input.features.every((f) => names.has(f))) return null;
    return safetensors.loadFile(path);
  }

  /** Stores tensors (at least every name in input.features) for this input, replacing any old entry. */
  put(input: CacheInput, tensors: TensorsLike, fingerprint = this.fingerprint(input)): string {
    const map = tensors instanceof Map ? tensors : new Map(Object.entries(tensors));
    const missing = input.features.filter((f) => !map.has(f));
    if (missing.length)
      throw new RangeError(
        `FeatureCache.put: the tensors lack ${missing.map((m) => JSON.stringify(m)).join(', ')} (names given: ${[...map.keys()].join(', ')})`,
      );
    mkdirSync(this.dir, { recursive: true });
    const path = this.entryPath(input);
    safetensors.saveFile(map, path, {
      format: FORMAT,
      fingerprint,
      folder: realpathSync(input.folder),
      extractor: JSON.stringify(extractorIdentity(input.extractor)),
      features: JSON.stringify(input.features),
    });
    return path;
  }

  /**
   * The cached tensors, or compute() stored and returned. If the folder or extractor changes while
   * compute runs, the result is returned but not stored (it may mix old and new files).
   */
  getOrCompute(input: CacheInput, compute: () => TensorsLike): { tensors: Map<string, Tensor>; hit: boolean } {
    const cached = this.get(input);
    if (cached) return { tensors: cached, hit: true };
    const before = this.fingerprint(input);
    const out = compute();
    const tensors = out instanceof Map ? out : new Map(Object.entries(out));
    if (this.fingerprint(input) === before) this.put(input, tensors, before);
    return { tensors, hit: false };
  }

  /** getOrCompute for an asynchronous compute(). */
  async getOrComputeAsync(input: CacheInput, compute: () => Promise<TensorsLike>): Promise<{ tensors: Map<string, Tensor>; hit: boolean }> {
    const cached = this.get(input);
    if (cached) return { tensors: cached, hit: true };
    const before = this.fingerprint(input);
    const out = await compute();
    const tensors = out instanceof Map ? out : new Map(Object.entries(out));
    if (this.fingerprint(input) === before) this.put(input, tensors, before);
    return { tensors, hit: false };
  }
}

/** What names the extractor in the entry's key: its real path (the file may change; see identity). */
function extractorKey(e: CacheInput['extractor']): string {
  return typeof e === 'string' ? realpathSync(e) : `id:${e.id}`;
}

/** What must stay equal for an entry to be valid: the weight file's path, size and mtime, or the id. */
function extractorIdentity(e: CacheInput['extractor']): Record<string, string> {
  if (typeof e !== 'string') return { id: e.id };
  const path = realpathSync(e);
  const s = statSync(path, { bigint: true });
  return { path, size: String(s.size), mtimeNs: String(s.mtimeNs) };
}
