// One loader job: decode a batch's samples (a few at a time), transform each with its own seeded
// RNG, and pack every view as uint8 (C, H, W) into one buffer. Files that cannot be decoded are
// reported, not thrown. The same function runs in worker threads and, with numWorkers 0, in the
// main thread, so both give identical bytes. Torch-free.
import { decodeImage } from './decode.js';
import { isRawImage, writeChw, type RawImage } from './raw-image.js';
import { augmentationRng } from './rng.js';
import { applyTransform, type TransformSpec } from './transforms.js';

export interface JobItem {
  /** Dataset index (keys the augmentation RNG). */
  index: number;
  image: string | RawImage;
  label: number;
  /** 0 for the sample's own draw, 1+ when it stands in for an unreadable one. */
  draw: number;
}

export interface JobRequest {
  spec: TransformSpec;
  seed: number;
  epoch: number;
  items: JobItem[];
  decodeConcurrency?: number;
}

export interface JobFailure {
  pos: number;
  index: number;
  source: string;
  message: string;
}

export interface JobResult {
  /** items.length × V·C·H·W bytes (slots of failed items are zero); null when every item failed. */
  data: Uint8Array | null;
  /** [views, channels, height, width] of every item. */
  viewShape: [number, number, number, number] | null;
  failures: JobFailure[];
}

const describe = (img: string | RawImage, index: number) => (typeof img === 'string' ? img : `sample ${index} (in memory)`);

export async function runJob(req: JobRequest): Promise<JobResult> {
  const { items, spec } = req;
  const k = Math.max(1, req.decodeConcurrency ?? 4);
  const decodes: (Promise<RawImage> | null)[] = new Array(items.length).fill(null);
  const start = (i: number) => {
    if (i >= items.length) return;
    const src = items[i].image;
    if (isRawImage(src)) {
      decodes[i] = Promise.resolve(src);
      return;
    }
    const p = typeof src === 'string' ? decodeImage(src) : Promise.reject(new TypeError(`sample ${items[i].index}: image is neither a path nor a RawImage`));
    p.catch(() => {}); // awaited below; no unhandled rejection while it waits its turn
    decodes[i] = p;
  };
  for (let i = 0; i < Math.min(k, items.length); i++) start(i);

  let data: Uint8Array | null = null;
  let viewShape: JobResult['viewShape'] = null;
  let per = 0;
  const failures: JobFailure[] = [];
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    let img: RawImage;
    try {
      img = await decodes[i]!;
    } catch (e) {
      failures.push({ pos: i, index: it.index, source: describe(it.image, it.index), message: (e as Error).message });
      continue;
    } finally {
      decodes[i] = null;
      start(i + k);
    }
    const views = applyTransform(spec, img, augmentationRng(req.seed, req.epoch, it.index, it.draw));
    const v0 = views[0];
    const shape: [number, number, number, number] = [views.length, v0.channels, v0.height, v0.width];
    for (const v of views)
      if (v.channels !== shape[1] || v.height !== shape[2] || v.width !== shape[3])
        throw new Error(`transform gave views of different sizes for ${describe(it.image, it.index)}`);
    if (viewShape === null) {
      viewShape = shape;
      per = shape[0] * shape[1] * shape[2] * shape[3];
      data = new Uint8Array(items.length * per);
    } else if (shape.some((s, d) => s !== viewShape![d])) {
      throw new Error(
        `samples of one batch differ in size after the transform: [${viewShape.join(', ')}] vs [${shape.join(', ')}] ` +
          `(${describe(it.image, it.index)}); give the transform a size`,
      );
    }
    const one = shape[1] * shape[2] * shape[3];
    views.forEach((v, j) => writeChw(v, data!, i * per + j * one));
  }
  return { data, viewShape, failures };
}
