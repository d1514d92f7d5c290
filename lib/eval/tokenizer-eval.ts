// The tokenizer's test-set evaluation (upstream DiffusionTrainer.evaluate), shared by the trainer's
// final table and eval.js: reconstruct the first n test images from the first k tokens for each k,
// PSNR/SSIM by k, and optionally the reconstructions (and the real images) as PNG folders for
// rFID/IS. Every rank reconstructs its shard (DistributedSampler order, padded); per-image squared
// errors and SSIMs are gathered in dataset order without the padding, and the table is computed as
// one process would: PSNR from the MSE pooled over each batch of `batchSize` (as upstream's
// torchmetrics psnr per GPU batch), SSIM the batch mean, then both averaged over batches.
import type { Tensor } from '../core/tensor.js';
import * as torch from '../torch.js';
import type { Tokenizer } from '../models/tokenizer/tokenizer.js';
import { DataLoader } from '../data/loader.js';
import { Subset, type Dataset } from '../data/dataset.js';
import type { TransformSpec } from '../data/transforms.js';
import { allGatherRows } from '../distributed/gather.js';
import { psnrUpdate } from './psnr.js';
import { ssimPerImage } from './ssim.js';
import { writeSamples } from './sample-folder.js';

export interface EvalRow {
  tokens: number;
  psnr: number;
  ssim: number;
}

export interface ReconstructionEvalOptions {
  /** Numbers of kept tokens to evaluate. */
  counts: number[];
  /** Decoder CFG scale. */
  cfg: number;
  /** Decoder sampling steps (respacing, e.g. '250', '25'); default the model's. */
  steps?: string;
  sampler?: 'ddpm' | 'ddim';
  /** Decoder seed (default 0). */
  seed?: number;
  /**
   * 'batch' (default; the training run's table): every batch decodes from a generator seeded with
   * `seed`, as upstream's evaluation draws per batch. 'image': each image's noise comes from its
   * own generator seeded by (seed, dataset position), so results do not depend on the batch size
   * or the number of ranks (eval.js).
   */
  noise?: 'batch' | 'image';
  /** Test images to use: the first n of the dataset. */
  n: number;
  /** Images per batch (per rank; default 32, capped at n). */
  batchSize?: number;
  rank?: number;
  worldSize?: number;
  /** Moves a host batch to the model's device (the tensor itself when already there). */
  toDevice?: (t: Tensor) => Tensor;
  /** Folder for the reconstructions from k tokens (PNG per image, named by dataset position), or null. */
  sampleDir?: (k: number) => string | null;
  /** Folder for the test images themselves, as the model saw them, or null. */
  realDir?: string | null;
  /** Called with the first batch of rank 0 (e.g. for a grid). */
  firstBatch?: (images: Tensor) => Promise<void>;
  /** Progress: images done on this rank, of its share. */
  progress?: (done: number, share: number) => void;
}

/** PSNR/SSIM by number of tokens over the first n images of `dataset` (see the file header). */
export async function evaluateReconstructions(tok: Tokenizer, dataset: Dataset, transform: TransformSpec, o: ReconstructionEvalOptions): Promise<EvalRow[]> {
  const rank = o.rank ?? 0,
    worldSize = o.worldSize ?? 1;
  const n = Math.min(o.n, dataset.length);
  const batchSize = Math.min(o.batchSize ?? 32, n);
  const toDevice = o.toDevice ?? ((t: Tensor) => t);
  const loader = new DataLoader(
    new Subset(
      dataset,
      Array.from({ length: n }, (_, i) => i),
    ),
    { batchSize, transform, shuffle: false, rank, worldSize },
  );
  const share = loader.sampler.numSamples;
  let pixels = 0; // elements per image (C·H·W), for PSNR from pooled squared errors
  let local = 0; // this rank's samples so far; its j-th sample is global position j·W + rank
  const rows: Tensor[] = []; // per image: the squared error for each k, then the SSIM for each k
  try {
    for await (const batch of loader) {
      const images = toDevice(batch.images);
      if (rows.length === 0 && rank === 0 && o.firstBatch) await o.firstBatch(images);
      pixels = images.numel() / images.size(0);
      const B = images.size(0);
      const positions = Array.from({ length: B }, (_, i) => (local + i) * worldSize + rank);
      // the sampler's padding (it repeats early images) comes last, as positions only grow: not written
      const real = positions.filter((p) => p < n);
      const rec =
        o.noise === 'image'
          ? reconstructPerImageNoise(tok, images, positions, o)
          : tok.reconstruct(images, { numTokens: o.counts, cfg: o.cfg, steps: o.steps, sampler: o.sampler, seed: o.seed ?? 0 });
      try {
        rows.push(
          torch.scope(() =>
            torch.noGrad(() => {
              const sse = o.counts.map((k) => psnrUpdate(rec.get(k)!, images, [1, 2, 3]).sse);
              const ssims = o.counts.map((k) => ssimPerImage(rec.get(k)!, images, { dataRange: 1 }));
              return torch.stack([...sse, ...ssims], 1).double();
            }),
          ),
        );
        for (const k of o.counts) {
          const dir = o.sampleDir?.(k);
          if (dir) await writeSamples(dir, rec.get(k)!, real, n);
        }
        if (o.realDir) await writeSamples(o.realDir, images, real, n);
      } finally {
        torch.dispose([...rec.values()], images, batch.images, batch.labels);
      }
      local += B;
      o.progress?.(local, share);
    }
  } finally {
    await loader.close();
  }
  const mine = torch.cat(rows, 0);
  const all = allGatherRows(mine, n).tolist() as number[][];
  torch.dispose(rows, mine);
  const K = o.counts.length;
  return o.counts.map((k, i) => {
    let psnrSum = 0,
      ssimSum = 0,
      batches = 0;
    for (let b = 0; b < n; b += batchSize) {
      const chunk = all.slice(b, b + batchSize);
      const mse = chunk.reduce((a, r) => a + r[i], 0) / (chunk.length * pixels);
      psnrSum += 10 * Math.log10(1 / mse);
      ssimSum += chunk.reduce((a, r) => a + r[K + i], 0) / chunk.length;
      batches++;
    }
    return { tokens: k, psnr: psnrSum / batches, ssim: ssimSum / batches };
  });
}

/**
 * Encodes once and decodes with each number of tokens, every image's noise (initial and per step,
 * for both CFG halves) drawn from its own generator seeded by (seed, position), afresh for each k
 * as the batch-seeded decode re-seeds for each k. On the meta device (no generators) draws are unseeded.
 */
function reconstructPerImageNoise(tok: Tokenizer, images: Tensor, positions: number[], o: ReconstructionEvalOptions): Map<number, Tensor> {
  const out = new Map<number, Tensor>();
  const device = images.device;
  const B = images.size(0);
  const shape = [tok.latentChannels, tok.latentSize, tok.latentSize];
  const tokens = torch.noGrad(() => tok.encode(images));
  try {
    for (const k of o.counts) {
      const gens = positions.map((p) => torch.seededGenerator(device, BigInt(o.seed ?? 0) * 1_000_003n + BigInt(p)) ?? undefined);
      // rows = B, or 2B with CFG: image j's generator gives its rows j and B + j, in that order
      const draw = (rows: number) =>
        torch.scope(() => {
          const per = rows / B;
          const d = gens.map((generator) => torch.randn([per, ...shape], { generator, device }));
          return torch.cat(
            Array.from({ length: per }, (_, r) => torch.stack(d.map((x) => x.select(0, r)))),
            0,
          );
        });
      const noise = draw(B);
      try {
        out.set(
          k,
          torch.keep(tok.decode(tokens, { numTokens: k, cfg: o.cfg, steps: o.steps, sampler: o.sampler, noise, stepNoise: (_i, like) => draw(like.size(0)) })),
        );
      } finally {
        noise.dispose();
      }
    }
  } finally {
    tokens.dispose();
  }
  return out;
}

/** The table as printed at the end of training and by eval.js. */
export function formatTable(rows: EvalRow[]): string {
  return (
    ' tokens   PSNR (dB)   SSIM\n' + rows.map((r) => ` ${String(r.tokens).padStart(6)}   ${r.psnr.toFixed(2).padStart(9)}   ${r.ssim.toFixed(4)}`).join('\n')
  );
}
