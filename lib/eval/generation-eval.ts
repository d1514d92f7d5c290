// ϵLlamaGen's generation for gFID/IS (upstream GPTTrainer.evaluate in test mode): perClass images
// of each class, the label list shuffled (seeded here; upstream used numpy's global generator),
// generated in batches and written as PNGs named by their position in that list. Rank r of W
// takes positions r, r+W, r+2W, … (no padding: a short last batch is fine), so every image is
// generated once, and the folder (on a filesystem all ranks see) holds all of them at the end.
import * as torch from '../torch.js';
import type { ImageGenerator, GenerateImagesOptions } from '../models/gpt/image-generator.js';
import { writeSamples } from './sample-folder.js';

export interface GenerationEvalOptions extends Omit<GenerateImagesOptions, 'prefixes' | 'seed' | 'generator'> {
  numClasses: number;
  perClass: number;
  /** Seeds the label shuffle and each batch's draws (batch b uses seed + b). Default 0. */
  seed?: number;
  /** Labels per batch on each rank (upstream test_bs: 100). */
  batchSize: number;
  dir: string;
  rank?: number;
  worldSize?: number;
  progress?: (done: number, share: number) => void;
}

/** The shuffled label list: each class perClass times, permuted by a seeded randperm. */
export function shuffledLabels(numClasses: number, perClass: number, seed: number): number[] {
  const labels = Array.from({ length: numClasses * perClass }, (_, i) => Math.floor(i / perClass));
  const perm = torch.scope(() => torch.randperm(labels.length, { generator: new torch.Generator().manualSeed(seed) }).tolist() as number[]);
  return perm.map((i) => labels[i]);
}

/** Generates this rank's share into o.dir; returns its image count and generation seconds (model time only). */
export async function generateForFid(gen: ImageGenerator, o: GenerationEvalOptions): Promise<{ images: number; seconds: number }> {
  const rank = o.rank ?? 0,
    worldSize = o.worldSize ?? 1,
    seed = o.seed ?? 0;
  const labels = shuffledLabels(o.numClasses, o.perClass, seed);
  const mine: number[] = [];
  for (let p = rank; p < labels.length; p += worldSize) mine.push(p);
  let seconds = 0;
  for (let b = 0; b * o.batchSize < mine.length; b++) {
    const positions = mine.slice(b * o.batchSize, (b + 1) * o.batchSize);
    const t0 = performance.now();
    const images = gen.generate(
      positions.map((p) => labels[p]),
      { ...o, seed: seed + 1 + b * worldSize + rank },
    );
    const img = images.values().next().value!;
    img.cpu().dispose(); // the host copy waits for the device, so the time is the generation's
    seconds += (performance.now() - t0) / 1000;
    await writeSamples(o.dir, img, positions, labels.length);
    torch.dispose([...images.values()]);
    o.progress?.(Math.min((b + 1) * o.batchSize, mine.length), mine.length);
  }
  return { images: mine.length, seconds };
}
