// A generic folder of images found with fast-glob (any depth, torchvision's image extensions,
// case-insensitive), sorted by path; label 0 for all, or by top-level sub-folder. Torch-free.
import fg from 'fast-glob';
import { basename, resolve } from 'node:path';
import { checkIndex, type Dataset, type Sample } from './dataset.js';
import { IMAGE_EXTENSIONS } from './decode.js';

export interface GlobFolderOptions {
  /** 'none': every label 0 (default); 'subfolder': one class per top-level sub-folder ('.' for files at the root). */
  labels?: 'none' | 'subfolder';
  /** Glob patterns relative to root (default: every image extension at any depth). */
  patterns?: string[];
}

const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export class GlobImageFolder implements Dataset {
  readonly classes: readonly string[];
  /** Paths (absolute), sorted. */
  readonly files: readonly string[];
  readonly labels: Uint32Array;

  constructor(
    readonly root: string,
    opts: GlobFolderOptions = {},
  ) {
    const patterns = opts.patterns ?? [`**/*.{${IMAGE_EXTENSIONS.map((e) => e.slice(1)).join(',')}}`];
    const rel = fg.sync(patterns, { cwd: root, caseSensitiveMatch: false, onlyFiles: true, followSymbolicLinks: true, dot: false }).sort(byCodePoint);
    if (rel.length === 0) throw new Error(`GlobImageFolder: no image matching ${patterns.join(' ')} under ${root}`);
    const abs = resolve(root);
    this.files = rel.map((r) => `${abs}/${r}`);
    if ((opts.labels ?? 'none') === 'none') {
      this.classes = [basename(abs)];
      this.labels = new Uint32Array(rel.length);
    } else {
      const top = rel.map((r) => (r.includes('/') ? r.slice(0, r.indexOf('/')) : '.'));
      this.classes = [...new Set(top)].sort(byCodePoint);
      const idx = new Map(this.classes.map((c, i) => [c, i]));
      this.labels = Uint32Array.from(top, (t) => idx.get(t)!);
    }
  }

  get length(): number {
    return this.files.length;
  }

  get(i: number): Sample {
    checkIndex(i, this.files.length, 'GlobImageFolder');
    return { image: this.files[i], label: this.labels[i] };
  }
}
