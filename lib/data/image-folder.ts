// torchvision's ImageFolder (root/<class>/**/<image>): classes are the sorted sub-folders, label =
// position in that order, samples ordered by class then sorted walk of each class folder; and
// the ImageNet layout on top of it (root/train/<wnid>/*.JPEG, root/val/<wnid>/*.JPEG). Torch-free.
import { readdirSync, statSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { checkIndex, type Dataset, type Sample } from './dataset.js';
import { IMAGE_EXTENSIONS, hasImageExtension } from './decode.js';

const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function isDir(dir: string, e: Dirent): boolean {
  if (e.isDirectory()) return true;
  if (!e.isSymbolicLink()) return false;
  try {
    return statSync(join(dir, e.name)).isDirectory();
  } catch {
    return false;
  }
}

function isFile(dir: string, e: Dirent): boolean {
  if (e.isFile()) return true;
  if (!e.isSymbolicLink()) return false;
  try {
    return statSync(join(dir, e.name)).isFile();
  } catch {
    return false;
  }
}

/** Python's sorted(os.walk(top, followlinks=True)) flattened to sorted files per folder. */
function walkSorted(top: string, accept: (name: string) => boolean): string[] {
  const folders: [string, string[]][] = [];
  const visit = (dir: string) => {
    const entries = readdirSync(dir, { withFileTypes: true });
    folders.push([
      dir,
      entries
        .filter((e) => isFile(dir, e) && accept(e.name))
        .map((e) => e.name)
        .sort(byCodePoint),
    ]);
    for (const e of entries) if (isDir(dir, e)) visit(join(dir, e.name));
  };
  visit(top);
  folders.sort((a, b) => byCodePoint(a[0], b[0]));
  return folders.flatMap(([dir, files]) => files.map((f) => join(dir, f)));
}

export interface ImageFolderOptions {
  /** Which files count as images (default: torchvision's IMG_EXTENSIONS, case-insensitive). */
  isValidFile?: (name: string) => boolean;
  /** Allow class folders without images (torchvision raises by default). */
  allowEmpty?: boolean;
}

export class ImageFolder implements Dataset {
  readonly classes: readonly string[];
  readonly classToIdx: ReadonlyMap<string, number>;
  /** [path, label] in torchvision's order. */
  readonly samples: readonly (readonly [string, number])[];

  constructor(
    readonly root: string,
    opts: ImageFolderOptions = {},
  ) {
    let entries: Dirent[];
    try {
      entries = readdirSync(root, { withFileTypes: true });
    } catch (e) {
      throw new Error(`ImageFolder: cannot list ${root}: ${(e as Error).message}`);
    }
    this.classes = entries
      .filter((e) => isDir(root, e))
      .map((e) => e.name)
      .sort(byCodePoint);
    if (this.classes.length === 0) throw new Error(`ImageFolder: no class folder in ${root} (expected ${root}/<class>/<images>)`);
    this.classToIdx = new Map(this.classes.map((c, i) => [c, i]));
    const accept = opts.isValidFile ?? hasImageExtension;
    const samples: [string, number][] = [];
    const empty: string[] = [];
    this.classes.forEach((c, label) => {
      const files = walkSorted(join(root, c), accept);
      if (files.length === 0) empty.push(c);
      for (const f of files) samples.push([f, label]);
    });
    if (empty.length > 0 && !opts.allowEmpty)
      throw new Error(
        `ImageFolder: no image in class folder(s) ${empty.slice(0, 5).join(', ')}${empty.length > 5 ? ', …' : ''} of ${root} (extensions ${IMAGE_EXTENSIONS.join(' ')})`,
      );
    this.samples = samples;
  }

  get length(): number {
    return this.samples.length;
  }

  get(i: number): Sample {
    checkIndex(i, this.samples.length, 'ImageFolder');
    const [image, label] = this.samples[i];
    return { image, label };
  }
}

/** ImageNet as laid out for torchvision: `root/<split>/<wnid>/*.JPEG`, labels by sorted wnid. */
export function imageNet(root: string, split: 'train' | 'val' | string = 'train', opts: ImageFolderOptions = {}): ImageFolder {
  return new ImageFolder(join(root, split), opts);
}
