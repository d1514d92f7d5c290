// A folder of images read as torch-fidelity reads `input1`/`input2` given as a path (its defaults
// samples_find_deep=False, samples_find_ext='png,jpg,jpeg'):
//   1. the folder's own entries only (sub-folders, and symlinks to folders, are skipped);
//   2. kept when the extension (Python's os.path.splitext: the part from the last dot, unless the
//      name's dots are all leading, as in '.png'), lower-cased, is in the list: `B.PNG` counts;
//   3. each turned into its absolute real path (symlinks resolved), all sorted by code point;
//   4. decoded as PIL's convert('RGB') (pil-rgb.ts) to uint8 (3, H, W);
//   5. batched in file order, min(batchSize, N) per batch (default 64), the last one partial;
//      a batch is made by stacking, so images of one batch must share a size.
import { readdirSync, realpathSync, statSync, type Dirent } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Tensor } from '../../core/tensor.js';
import { tensor } from '../../core/creation.js';
import { scope } from '../../core/scope.js';
import { sortedByCodePoints } from './code-point-order.js';
import { decodeRgbLikePil } from './pil-rgb.js';

/** torch-fidelity's default samples_find_ext. */
export const FIDELITY_EXTENSIONS: readonly string[] = ['png', 'jpg', 'jpeg'];
/** torch-fidelity's default batch size. */
export const FIDELITY_BATCH_SIZE = 64;

export interface FidelityFolderOptions {
  /** Extensions without the dot, compared with the lower-cased file extension (default png, jpg, jpeg). */
  extensions?: readonly string[];
}

/** Python's os.path.splitext(name)[1] without the dot: '' for 'a', '.png' and '..png'; 'png' for '.a.png'. */
export function pythonExtension(name: string): string {
  const dot = name.lastIndexOf('.');
  if (dot < 0) return '';
  for (let i = 0; i < dot; i++) if (name[i] !== '.') return name.slice(dot + 1);
  return '';
}

/** As os.walk: an entry is a folder when it is one or links to one; everything else counts as a file. */
function isDirectory(dir: string, e: Dirent): boolean {
  if (e.isDirectory()) return true;
  if (!e.isSymbolicLink()) return false;
  try {
    return statSync(join(dir, e.name)).isDirectory();
  } catch {
    return false;
  }
}

/** The image files of `dir` in torch-fidelity's order: absolute real paths, sorted by code point. */
export function listFidelityImages(dir: string, o: FidelityFolderOptions = {}): string[] {
  const exts = o.extensions ?? FIDELITY_EXTENSIONS;
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    throw new Error(`cannot list the image folder ${dir}: ${(e as Error).message}`);
  }
  const files: string[] = [];
  for (const e of entries) {
    if (isDirectory(dir, e) || !exts.includes(pythonExtension(e.name).toLowerCase())) continue;
    const p = join(resolve(dir), e.name);
    try {
      files.push(realpathSync(p));
    } catch (err) {
      throw new Error(`cannot resolve ${p} (a broken symlink?): ${(err as Error).message}`);
    }
  }
  if (files.length === 0) throw new Error(`no images found in ${dir} (extensions ${exts.join(', ')}, case-insensitive; sub-folders are not searched)`);
  return sortedByCodePoints(files);
}

/** One batch: uint8 images (n, 3, H, W) and their files. */
export interface FidelityBatch {
  images: Tensor;
  files: string[];
}

/**
 * Decodes `files` (or the images of a folder, listed by listFidelityImages) in batches of
 * min(batchSize, N), in order, the last batch partial. Different sizes within a batch are an
 * error naming two files and their sizes (torch-fidelity's stacking fails there too); different
 * batches may have different sizes. Each batch's tensor belongs to the caller.
 */
export async function* fidelityImageBatches(
  input: string | readonly string[],
  o: FidelityFolderOptions & { batchSize?: number } = {},
): AsyncGenerator<FidelityBatch> {
  const files = typeof input === 'string' ? listFidelityImages(input, o) : [...input];
  const requested = o.batchSize ?? FIDELITY_BATCH_SIZE;
  if (!Number.isInteger(requested) || requested < 1) throw new RangeError(`batchSize must be a positive integer, got ${requested}`);
  const bs = Math.min(requested, files.length);
  for (let start = 0; start < files.length; start += bs) {
    const names = files.slice(start, start + bs);
    const raws = await Promise.all(names.map(decodeRgbLikePil));
    const { width: w, height: h } = raws[0];
    const odd = raws.findIndex((r) => r.width !== w || r.height !== h);
    if (odd >= 0) {
      throw new Error(
        `images of different sizes in one batch: ${names[0]} is ${w}×${h} (W×H), ${names[odd]} is ${raws[odd].width}×${raws[odd].height}; ` +
          'a batch is stacked into one tensor, as in torch-fidelity, so resize the images to one size',
      );
    }
    const hwc = new Uint8Array(names.length * h * w * 3);
    raws.forEach((r, i) => hwc.set(r.data, i * h * w * 3));
    const images = scope(() =>
      tensor(hwc, { shape: [names.length, h, w, 3] })
        .permute(0, 3, 1, 2)
        .contiguous(),
    );
    yield { images, files: names };
  }
}
