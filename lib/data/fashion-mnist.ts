// Fashion-MNIST from its idx files (train: 60000, t10k: 10000; 28×28 grey; 10 classes), found in
// a given folder or Debian's dataset-fashion-mnist package (/usr/share/datasets/fashion-mnist).
// Held in memory (47 MB for train). Torch-free.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readIdx } from './idx.js';
import { checkIndex, type Dataset, type Sample } from './dataset.js';
import type { RawImage } from './raw-image.js';

/** torchvision's FashionMNIST.classes. */
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] as const;

/** Where Debian's dataset-fashion-mnist package puts the files. */
export const DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

export interface FashionMnistOptions {
  /** 'train' (60000) or 'test' (the t10k files, 10000). */
  split?: 'train' | 'test';
  /** A folder holding the idx files (plain or .gz; also its FashionMNIST/raw sub-folder, as torchvision lays it out). */
  root?: string;
}

function candidates(root: string | undefined): string[] {
  if (root !== undefined) return [root, join(root, 'FashionMNIST', 'raw'), join(root, 'raw')];
  const env = process.env.FASHION_MNIST_DIR;
  return [...(env ? [env] : []), DEBIAN_FASHION_MNIST_DIR];
}

/** Finds `<prefix>-{images-idx3,labels-idx1}-ubyte[.gz]`; the error lists what was searched. */
export function locateFashionMnist(split: 'train' | 'test', root?: string): { images: string; labels: string } {
  const prefix = split === 'train' ? 'train' : 't10k';
  const dirs = candidates(root);
  for (const dir of dirs) {
    const found = (stem: string) => [join(dir, stem), join(dir, `${stem}.gz`)].find((p) => existsSync(p));
    const images = found(`${prefix}-images-idx3-ubyte`),
      labels = found(`${prefix}-labels-idx1-ubyte`);
    if (images && labels) return { images, labels };
  }
  throw new Error(
    `Fashion-MNIST (${split}) not found: looked for ${prefix}-images-idx3-ubyte[.gz] and ${prefix}-labels-idx1-ubyte[.gz] in ${dirs.join(', ')}. ` +
      `Install Debian's package (sudo apt-get install dataset-fashion-mnist), or pass the folder that holds the files as root.`,
  );
}

export class FashionMnist implements Dataset {
  readonly classes: readonly string[] = FASHION_MNIST_CLASSES;
  readonly split: 'train' | 'test';
  readonly files: { images: string; labels: string };
  /** All images, (N, 28, 28) uint8, row-major. */
  readonly images: Uint8Array;
  readonly labels: Uint8Array;
  readonly height: number;
  readonly width: number;

  constructor(opts: FashionMnistOptions = {}) {
    this.split = opts.split ?? 'train';
    if (this.split !== 'train' && this.split !== 'test') throw new TypeError(`FashionMnist: split must be 'train' or 'test', got '${this.split}'`);
    this.files = locateFashionMnist(this.split, opts.root);
    const img = readIdx(this.files.images),
      lab = readIdx(this.files.labels);
    if (img.dtype !== 'uint8' || img.shape.length !== 3)
      throw new Error(`${this.files.images}: expected uint8 (N, H, W) images, got ${img.dtype} [${img.shape.join(', ')}]`);
    if (lab.dtype !== 'uint8' || lab.shape.length !== 1)
      throw new Error(`${this.files.labels}: expected uint8 (N) labels, got ${lab.dtype} [${lab.shape.join(', ')}]`);
    if (img.shape[0] !== lab.shape[0]) throw new Error(`Fashion-MNIST ${this.split}: ${img.shape[0]} images but ${lab.shape[0]} labels`);
    for (const l of lab.data as Uint8Array) if (l >= 10) throw new Error(`${this.files.labels}: label ${l} outside [0, 10)`);
    [, this.height, this.width] = img.shape;
    this.images = img.data as Uint8Array;
    this.labels = lab.data as Uint8Array;
  }

  get length(): number {
    return this.labels.length;
  }

  /** Image i as a fresh 28×28×1 RawImage, and its label. */
  get(i: number): Sample {
    checkIndex(i, this.labels.length, 'FashionMnist');
    const n = this.height * this.width;
    const image: RawImage = { data: this.images.slice(i * n, (i + 1) * n), width: this.width, height: this.height, channels: 1 };
    return { image, label: this.labels[i] };
  }
}
