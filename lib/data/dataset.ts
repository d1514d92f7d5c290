// The dataset interface every source implements (length, get(i) → {image, label}, classes), and
// Subset, the view the validation split and sharding build on. Torch-free.
import type { RawImage } from './raw-image.js';

/** One sample: a file path to decode, or decoded pixels; label is the class index. */
export interface Sample {
  image: string | RawImage;
  label: number;
}

export interface Dataset {
  readonly length: number;
  /** Sample i (0 ≤ i < length). In-memory images are fresh copies the caller may keep. */
  get(i: number): Sample;
  /** Class names; label k names classes[k]. */
  readonly classes: readonly string[];
}

export function checkIndex(i: number, length: number, what: string): void {
  if (!Number.isInteger(i) || i < 0 || i >= length) throw new RangeError(`${what}: index ${i} out of range [0, ${length})`);
}

/** The samples of `dataset` at `indices`, in that order (torch.utils.data.Subset). */
export class Subset implements Dataset {
  readonly indices: readonly number[];
  constructor(
    readonly dataset: Dataset,
    indices: readonly number[],
  ) {
    for (const i of indices) checkIndex(i, dataset.length, 'Subset');
    this.indices = indices;
  }
  get length(): number {
    return this.indices.length;
  }
  get classes(): readonly string[] {
    return this.dataset.classes;
  }
  get(i: number): Sample {
    checkIndex(i, this.indices.length, 'Subset');
    return this.dataset.get(this.indices[i]);
  }
}

/** Sample counts per label (labels outside [0, numClasses) are an error). */
export function labelHistogram(ds: Dataset, numClasses = ds.classes.length): number[] {
  const h = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < ds.length; i++) {
    const l = ds.get(i).label;
    if (!(l >= 0 && l < numClasses)) throw new RangeError(`label ${l} of sample ${i} outside [0, ${numClasses})`);
    h[l]++;
  }
  return h;
}
