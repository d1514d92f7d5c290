// The tokenizer's training loop (upstream DiffusionTrainer, docs/upstream/training.md), top to bottom:
// config → model, data, optimizer, schedule, EMA → (resume) → for each step: forward under
// autocast, backward, clip, AdamW, schedule, EMA, log → checkpoints and reconstruction grids →
// at the end a PSNR/SSIM table by number of kept tokens on held-out test images.
// Rank-aware: only rank 0 writes files.
import * as torch from '../torch.js';
import { existsSync, statSync } from 'node:fs';
import { Tokenizer } from '../models/tokenizer/tokenizer.js';
import { tokenizerOptionsFromConfig } from '../models/tokenizer/config.js';
import { readTokenizerCheckpoint } from '../models/tokenizer/frozen-parts.js';
import { powerOfTwoPrefixes } from '../models/tokenizer/nested-sampler.js';
import type { EMA } from '../optim/index.js';
import { setUpOptimization, optimizerStep, scalerLog } from './optimization.js';
import { setUpJobDevice, type JobDevice } from './job-device.js';
import { startRun } from './run-start.js';
import { dataParallel, microStep, seedStep, meanOverRanks, describe } from './distributed.js';
import { DataLoader } from '../data/loader.js';
import { holdOutValidation } from '../data/split.js';
import { Subset } from '../data/dataset.js';
import { makeGrid } from '../data/grid.js';
import { linePanels } from '../data/plot.js';
import * as F from '../nn/functional.js';
import { reconstructionMetrics } from '../eval/reconstruction.js';
import { evaluateReconstructions, formatTable, type EvalRow } from '../eval/tokenizer-eval.js';
import { RunLogger } from './logging/run-logger.js';
import { saveCheckpoint, loadCheckpoint, latestCheckpoint } from './checkpoint.js';
import { datasetFromConfig } from './datasets.js';
import type { TrainerConfig, TokenizerTrainerParams } from './tokenizer-trainer-config.js';
import type { Tensor } from '../core/tensor.js';

export interface TrainOptions {
  resume?: string;
  rank?: number;
  worldSize?: number;
  localRank?: number;
}

export async function trainTokenizer(cfg: TrainerConfig, o: TrainOptions = {}): Promise<{ step: number; table: EvalRow[] }> {
  const P = cfg.params;
  const rank = o.rank ?? 0,
    worldSize = o.worldSize ?? 1;
  const jd = setUpJobDevice(P, { localRank: o.localRank ?? rank }); // device and precision, checked before any work
  const { resultDir, modelsDir, logDir } = startRun(P, cfg.text, rank);

  // ---- model ----
  const tok = Tokenizer.fromConfig({ trainer: { params: { model: P.model } } });
  // upstream's model.params.ckpt_path: a step folder resumes the run from it; a weights file
  // initialises the weights (before the EMA is made, so the EMA starts from them too)
  const ckptPath = tokenizerOptionsFromConfig({ trainer: { params: { model: P.model } } }).ckptPath ?? null;
  const ckptIsStep = ckptPath !== null && existsSync(ckptPath) && statSync(ckptPath).isDirectory();
  if (ckptPath !== null && !existsSync(ckptPath)) throw new Error(`trainer.params.model.params.ckpt_path: ${ckptPath} not found`);
  if (ckptIsStep && o.resume)
    throw new Error(`trainer.params.model.params.ckpt_path is a step folder (${ckptPath}) and --resume was given: resume from one of them`);
  if (ckptPath !== null && !ckptIsStep) {
    const report = torch.scope(() => {
      const { sd, file, notes } = readTokenizerCheckpoint(ckptPath);
      const r = tok.loadStateDict(sd, { strict: false, castDtype: true });
      return [
        `${file}: ${sd.size} tensors loaded`,
        ...notes,
        ...(r.missingKeys.length ? [`missing (kept at their initial values): ${r.missingKeys.join(', ')}`] : []),
      ];
    });
    if (rank === 0) for (const line of report) console.log(`ckpt_path: ${line}`);
  }
  tok.to(jd.device);
  tok.train();
  const dp = dataParallel(tok, P, rank, worldSize); // DDP over the ranks (weights from rank 0)

  // ---- data: train minus the held-out validation images; test images for the final table ----
  const trainSpec = datasetFromConfig(P.dataset, 'trainer.params.dataset', 'train');
  const { train, valid } = holdOutValidation(trainSpec.dataset, P.valid_size, 42);
  const loader = new DataLoader(train, {
    batchSize: P.batch_size,
    transform: trainSpec.transform,
    numWorkers: P.num_workers,
    dropLast: true,
    seed: P.seed,
    rank,
    worldSize,
  });
  const testSpec = P.test_dataset ? datasetFromConfig(P.test_dataset, 'trainer.params.test_dataset', 'test') : null;

  // ---- optimisation (docs/upstream/training.md#optimiser) ----
  const batchesPerEpoch = loader.numBatches;
  const opt = setUpOptimization(tok, P, batchesPerEpoch, worldSize);
  if (opt.stepsPerEpoch < 1) throw new Error(`the training set (${train.length} images) is smaller than one batch of ${P.batch_size}`);
  const { optimizer, scheduler, ema, totalSteps } = opt;
  const scaler = jd.precision.scaler;
  const parts = { model: tok, optimizer, scheduler, ema, scaler, generators: jd.generators };

  // ---- resume ----
  let step = 0;
  const resumeFrom = ckptIsStep ? ckptPath : o.resume === 'auto' ? latestCheckpoint(modelsDir) : o.resume;
  if (resumeFrom) {
    const meta = loadCheckpoint(resumeFrom, parts);
    step = meta.step;
    loader.sampler.loadState(meta.data);
    if (rank === 0) console.log(`resumed from ${resumeFrom} at step ${step} (epoch ${meta.data.epoch}, batch ${meta.data.batch})`);
    if (rank === 0) for (const n of meta.notes) console.log(n);
  }
  const log = new RunLogger({ dir: resultDir, logsDir: logDir, name: 'semanticist', rank, total: totalSteps, purgeStep: resumeFrom ? step : undefined });
  log.log(`${jd.summary}; ${opt.summary}, ${tok.numParameters({ trainableOnly: true })} trainable parameters${describe(dp)}`);
  const logScale = scalerLog(scaler, log);
  const save = () => {
    if (rank === 0) saveCheckpoint(modelsDir, step, parts, { data: loader.sampler.state(), configText: cfg.text, keep: P.keep_last });
  };

  // ---- the loop ----
  let micro = 0;
  while (step < totalSteps) {
    const epoch = loader.sampler.state().epoch;
    for await (const batch of loader) {
      // The nesting switch sees the epoch with the fraction done (floor = the epoch, so an integer
      // enable_nest_after acts as upstream; a fractional one switches mid-epoch, for short runs).
      const nestEpoch = batch.epoch + batch.batch / batchesPerEpoch;
      if (micro % P.grad_accum_steps === 0) seedStep(dp, P.seed, step);
      const last = (micro + 1) % P.grad_accum_steps === 0;
      const losses = torch.scope(() => {
        const images = jd.toDevice(batch.images);
        const l = microStep(dp, last, () => jd.precision.autocast(() => tok.loss(images, { epoch: nestEpoch })));
        const total = l.repa_loss ? l.diff_loss.add(l.repa_loss) : l.diff_loss;
        const scaled = total.div(P.grad_accum_steps);
        (scaler ? scaler.scale(scaled) : scaled).backward(); // with DDP: gradients averaged over ranks here
        return { diff_loss: l.diff_loss.detach(), repa_loss: l.repa_loss?.detach() };
      });
      torch.dispose(batch.images, batch.labels);
      if (++micro % P.grad_accum_steps !== 0) {
        torch.dispose(losses);
        continue;
      }
      const stepped = optimizerStep(tok, opt, ++step, P.max_grad_norm, scaler);
      log.scalars(step, { ...meanOverRanks(dp, losses), lr: optimizer.paramGroups[0].lr, epoch });
      torch.dispose(losses);
      logScale(step, stepped);
      if (step % P.save_every === 0 || step === totalSteps) save();
      if (step % P.sample_every === 0 && rank === 0) await sampleGrid(tok, valid, trainSpec.transform, P, log, step, jd);
      if (step >= totalSteps) break;
    }
  }

  // ---- final evaluation: PSNR/SSIM by number of kept tokens ----
  const table = testSpec ? await evaluateByTokens(tok, ema, testSpec, P, log, step, rank, worldSize, jd) : [];
  dp.ddp?.dispose();
  await log.close();
  await loader.close();
  return { step, table };
}

/** Token counts to evaluate: the configured list, or powers of two up to numSlots. */
function tokenCounts(P: TokenizerTrainerParams, numSlots: number): number[] {
  return Array.isArray(P.eval_num_tokens) ? (P.eval_num_tokens as number[]) : powerOfTwoPrefixes(numSlots);
}

/** Grids show small images (Fashion-MNIST's 32 px) enlarged, nearest, to at least this size, so a person sees the pixels. */
const GRID_MIN_SIDE = 128;

/**
 * Rows of a grid for images (B, C, H, W): the inputs, one row per number of kept tokens at the
 * configured decoder CFG, and the reconstruction from all tokens at the other CFG of {1, 3}; rows
 * labelled, images enlarged (nearest) to GRID_MIN_SIDE. Returns the grid (C', H', W').
 */
function reconstructionGrid(tok: Tokenizer, images: Tensor, P: TokenizerTrainerParams, metrics?: Record<string, number>): Tensor {
  return torch.scope(() => {
    const tokens = torch.noGrad(() => tok.encode(images));
    const rows = [images];
    const labels = ['input'];
    const cfgNote = P.cfg === 1 ? '' : `, cfg ${P.cfg}`;
    for (const k of tokenCounts(P, tok.numSlots)) {
      const rec = tok.decode(tokens, { numTokens: k, cfg: P.cfg, steps: P.eval_steps ?? undefined, sampler: P.eval_sampler, seed: 0 });
      rows.push(rec);
      labels.push((k >= tok.numSlots ? `all ${k}` : `k = ${k}`) + cfgNote);
      if (metrics) {
        const m = reconstructionMetrics(rec, images);
        metrics[`val/psnr_k${k}`] = m.psnr;
        metrics[`val/ssim_k${k}`] = m.ssim;
      }
    }
    const other = P.cfg === 1 ? 3 : 1;
    rows.push(tok.decode(tokens, { cfg: other, steps: P.eval_steps ?? undefined, sampler: P.eval_sampler, seed: 0 }));
    labels.push(`all ${tok.numSlots}, cfg ${other}`);
    let all = torch.cat(rows, 0);
    const side = Math.min(all.size(2), all.size(3));
    if (side < GRID_MIN_SIDE) all = F.interpolate(all.float(), { scaleFactor: Math.ceil(GRID_MIN_SIDE / side), mode: 'nearest' });
    return makeGrid(all, { nrow: images.size(0), rowLabels: labels });
  });
}

/** A grid of validation images and their reconstructions (see reconstructionGrid), current weights, with PSNR/SSIM per k logged. */
async function sampleGrid(tok: Tokenizer, valid: Subset, transform: any, P: TokenizerTrainerParams, log: RunLogger, step: number, jd: JobDevice) {
  const n = Math.min(8, valid.length);
  const loader = new DataLoader(
    new Subset(
      valid,
      Array.from({ length: n }, (_, i) => i),
    ),
    { batchSize: n, transform: { ...transform, split: 'test' }, shuffle: false },
  );
  for await (const batch of loader) {
    tok.eval();
    const metrics: Record<string, number> = {};
    const images = jd.toDevice(batch.images);
    const grid = reconstructionGrid(tok, images, P, metrics);
    log.evalScalars(step, metrics);
    await log.image('val/reconstruction', grid, step);
    torch.dispose(grid, images, batch.images, batch.labels);
    tok.train();
  }
  await loader.close();
}

/**
 * PSNR/SSIM of EMA-weight reconstructions of the first eval_size test images, per number of kept
 * tokens, over all ranks' shards (lib/eval/tokenizer-eval.ts); only rank 0 writes the grid and the log.
 */
async function evaluateByTokens(
  tok: Tokenizer,
  ema: EMA | null,
  spec: ReturnType<typeof datasetFromConfig>,
  P: TokenizerTrainerParams,
  log: RunLogger,
  step: number,
  rank: number,
  worldSize: number,
  jd: JobDevice,
): Promise<EvalRow[]> {
  if (ema) ema.copyTo(tok);
  tok.eval();
  const n = Math.min(P.eval_size ?? 64, spec.dataset.length);
  let gridFile: string | null = null;
  const table = await evaluateReconstructions(tok, spec.dataset, spec.transform, {
    counts: tokenCounts(P, tok.numSlots),
    cfg: P.cfg,
    steps: P.eval_steps ?? undefined,
    sampler: P.eval_sampler,
    n,
    batchSize: 32,
    rank,
    worldSize,
    toDevice: jd.toDevice,
    firstBatch: async (images) => {
      const grid = torch.scope(() => reconstructionGrid(tok, images.narrow(0, 0, Math.min(8, images.size(0))), P));
      gridFile = await log.image('test/reconstruction_by_tokens', grid, step);
      grid.dispose();
    },
  });
  const values: Record<string, number> = {};
  for (const r of table) {
    values[`test/psnr_k${r.tokens}`] = r.psnr;
    values[`test/ssim_k${r.tokens}`] = r.ssim;
  }
  log.evalScalars(step, values);
  let plotFile: string | null = null;
  if (table.length && rank === 0) {
    const plot = linePanels(
      table.map((r) => r.tokens),
      [
        { title: 'PSNR (dB)', values: table.map((r) => r.psnr) },
        { title: 'SSIM', values: table.map((r) => r.ssim) },
      ],
      { xLabel: 'tokens kept' },
    );
    plotFile = await log.image('test/psnr_ssim_by_tokens', plot.image, step);
    plot.image.dispose();
  }
  log.log(
    `reconstruction of ${n} test images (EMA weights, decoder cfg ${P.cfg}, ${P.eval_sampler} ${P.eval_steps ?? tok.options.numSamplingSteps} steps${worldSize > 1 ? `, ${worldSize} ranks` : ''}):\n` +
      formatTable(table),
  );
  if (gridFile) log.log(`test images and their reconstructions by number of tokens: ${gridFile}`);
  if (plotFile) log.log(`PSNR and SSIM against the number of tokens: ${plotFile}`);
  return table;
}
