// The ϵLlamaGen training loop (upstream GPTTrainer, docs/upstream/gpt.md#training-forward, #token-cache; docs/upstream/training.md), top to bottom:
// config → frozen tokenizer (ae_model) and GPT → token cache (or tokens on the fly) → optimizer,
// schedule, EMA → (resume) → for each step: the first train_num_slots tokens and the labels, the
// diffusion loss under autocast, backward, clip, AdamW, schedule, EMA, log → checkpoints and
// class-conditional sample grids (one row per class, one column per token prefix).
// Warmup is counted in steps of the training batch (upstream computed it from the cache loader's
// length, ~2 M steps instead of the intended 100 epochs; docs/upstream/training.md#ar-warmup — not reproduced here).
// Rank-aware: only rank 0 writes files.
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as torch from '../torch.js';
import type { Tensor } from '../core/tensor.js';
import { Tokenizer } from '../models/tokenizer/tokenizer.js';
import { powerOfTwoPrefixes } from '../models/tokenizer/nested-sampler.js';
import type { GPT } from '../models/gpt/gpt.js';
import type { DiffLoss } from '../models/gpt/diffloss.js';
import { generate } from '../models/gpt/generate.js';
import { resolveWeightsFile } from '../models/weights-file.js';
import { aeModelTokenizerConfig, type ArTrainerParams } from './ar-trainer-config.js';
import { upstreamNumTokens } from './load-image-generator.js';
import { setUpOptimization, optimizerStep, scalerLog } from './optimization.js';
import { setUpJobDevice, type JobDevice } from './job-device.js';
import { startRun } from './run-start.js';
import { dataParallel, microStep, seedStep, meanOverRanks, describe } from './distributed.js';
import { DataLoader } from '../data/loader.js';
import { makeGrid } from '../data/grid.js';
import { RunLogger } from './logging/run-logger.js';
import { saveCheckpoint, loadCheckpoint, latestCheckpoint } from './checkpoint.js';
import { datasetFromConfig } from './datasets.js';
import { TokenCache } from './token-cache.js';

export interface TrainGptOptions {
  resume?: string;
  rank?: number;
  worldSize?: number;
  /** The rank's index on its node (a bare 'cuda' device becomes cuda:localRank); default: rank. */
  localRank?: number;
  /** Builds the GPT (with its diffusion head) from the config's gpt_model entry. */
  buildGpt: (gptModel: Record<string, any>) => GPT<DiffLoss>;
}

/** Upstream's fixed sample classes (ImageNet ids). */
const UPSTREAM_SAMPLE_CLASSES = [1, 7, 282, 604, 724, 207, 250, 751, 404, 850];

export async function trainGpt(cfg: { params: ArTrainerParams; text: string }, o: TrainGptOptions): Promise<{ step: number }> {
  const P = cfg.params;
  const rank = o.rank ?? 0,
    worldSize = o.worldSize ?? 1;
  const jd = setUpJobDevice(P, { localRank: o.localRank ?? rank }); // device and precision, checked before any work
  const { resultDir, modelsDir, logDir } = startRun(P, cfg.text, rank);

  // ---- models: the frozen tokenizer and the GPT ----
  const { config: aeConfig, ckptPath } = aeModelTokenizerConfig(P.ae_model ?? {});
  const aeCkpt = ckptPath === null ? undefined : resolveWeightsFile(String(ckptPath), [], 'tokenizer weights (trainer.params.ae_model.params.ckpt_path)');
  const tok = Tokenizer.fromPretrained({ config: aeConfig, checkpoint: aeCkpt, device: jd.device });
  if (rank === 0) for (const line of tok.loadReport) console.error(`tokenizer: ${line}`);
  tok.eval();
  for (const p of tok.parameters()) p.requiresGrad_(false);
  const gpt = o.buildGpt(P.gpt_model);
  gpt.to(jd.device);
  gpt.train();
  const dp = dataParallel(gpt, P, rank, worldSize); // DDP over the ranks (weights from rank 0)
  const numTokens: number = P.train_num_slots ?? gpt.numSlots;
  if (numTokens > gpt.numSlots || numTokens > tok.numSlots)
    throw new Error(`train_num_slots ${numTokens} exceeds the GPT's ${gpt.numSlots} or the tokenizer's ${tok.numSlots} tokens`);
  // the sample grids generate upstream's num_slots_to_gen: min(test_num_slots, train_num_slots)
  const genTokens = upstreamNumTokens(P, gpt.numSlots, tok.numSlots);
  if (gpt.slotDim !== tok.options.slotDim) throw new Error(`gpt_model slot_dim ${gpt.slotDim} differs from the tokenizer's ${tok.options.slotDim}`);
  const autocast = <R>(fn: () => R) => jd.precision.autocast(fn);
  // images from the loader (host) → the first numTokens tokens, on the job's device
  const encode = (images: Tensor) => torch.noGrad(() => torch.scope(() => tok.encode(jd.toDevice(images)).narrow(1, 0, numTokens)));

  // ---- data: a token cache of every view (enable_cache_latents), or tokens on the fly ----
  if (!P.dataset) throw new Error('trainer.params.dataset is required to train');
  const spec = datasetFromConfig(P.dataset, 'trainer.params.dataset', 'train');
  let cache: TokenCache | null = null;
  let loader: DataLoader | null = null;
  if (P.enable_cache_latents) {
    const cacheDir = P.cache_dir ?? join(resultDir, 'slot_cache');
    const aeStat = aeCkpt ? statSync(aeCkpt) : null;
    const key = {
      tokenizer: aeStat ? `${resolve(aeCkpt!)} ${aeStat.size} ${aeStat.mtimeMs}` : 'random-init',
      tokenizer_config: JSON.stringify(aeConfig),
      dataset: JSON.stringify(P.dataset),
      numTokens,
      length: spec.dataset.length,
    };
    const src = new DataLoader(spec.dataset, {
      batchSize: P.cache_bs ?? 8,
      transform: spec.transform,
      numWorkers: P.num_workers,
      shuffle: false,
      dropLast: false,
      rank,
      worldSize,
    });
    const t0 = Date.now();
    const r = await TokenCache.openOrBuild(src, { dir: cacheDir, key, rank, worldSize, numTokens, encode: (x) => torch.keep(encode(x).float()) });
    await src.close();
    cache = r.cache;
    if (rank === 0)
      console.error(
        `token cache ${r.built ? `built in ${((Date.now() - t0) / 1000).toFixed(1)} s` : 'reused'}: ${cache.numImages} images × ${cache.views} views in ${cacheDir}`,
      );
  } else {
    loader = new DataLoader(spec.dataset, {
      batchSize: P.batch_size,
      transform: spec.transform,
      numWorkers: P.num_workers,
      dropLast: true,
      seed: P.seed,
      rank,
      worldSize,
    });
  }
  const batchesPerEpoch = cache ? Math.floor(cache.numImages / P.batch_size) : loader!.numBatches;
  if (batchesPerEpoch < 1) throw new Error(`the training set is smaller than one batch of ${P.batch_size}`);

  // ---- optimisation (docs/upstream/training.md#optimiser) ----
  const opt = setUpOptimization(gpt, P, batchesPerEpoch, worldSize);
  const { optimizer, scheduler, ema, totalSteps } = opt;
  const scaler = jd.precision.scaler;
  const parts = { model: gpt, optimizer, scheduler, ema, scaler, generators: jd.generators };

  // ---- resume ----
  let step = 0;
  let pos = { epoch: 0, batch: 0 };
  const resumeFrom = o.resume === 'auto' ? latestCheckpoint(modelsDir) : o.resume;
  if (resumeFrom) {
    const meta = loadCheckpoint(resumeFrom, parts);
    step = meta.step;
    pos = meta.data;
    if (loader) loader.sampler.loadState(meta.data);
    if (rank === 0) console.error(`resumed from ${resumeFrom} at step ${step} (epoch ${pos.epoch}, batch ${pos.batch})`);
    if (rank === 0) for (const n of meta.notes) console.error(n);
  }
  const log = new RunLogger({ dir: resultDir, logsDir: logDir, name: 'gpt', rank, total: totalSteps, purgeStep: resumeFrom ? step : undefined });
  const logScale = scalerLog(scaler, log);
  log.log(`${jd.summary}; ${opt.summary}, ` + `${gpt.numParameters({ trainableOnly: true })} trainable parameters, ${numTokens} tokens${describe(dp)}`);
  const save = () => {
    if (rank === 0) saveCheckpoint(modelsDir, step, parts, { data: pos, configText: cfg.text, keep: P.keep_last });
  };

  // one epoch of (tokens, labels) batches from the cache or the loader, from the current position
  async function* epochBatches(): AsyncGenerator<{ tokens: Tensor; labels: Tensor; epoch: number; batch: number }> {
    if (cache) {
      const rows = cache.epochBatches(pos.epoch, P.batch_size);
      for (let b = pos.batch; b < rows.length; b++) {
        const host = cache.rows(rows[b]);
        yield { tokens: jd.moveToDevice(host.tokens), labels: jd.moveToDevice(host.labels), epoch: pos.epoch, batch: b };
      }
    } else {
      for await (const batch of loader!) {
        const tokens = torch.keep(autocast(() => encode(batch.images)).float());
        torch.dispose(batch.images);
        yield { tokens, labels: jd.moveToDevice(batch.labels), epoch: batch.epoch, batch: batch.batch };
      }
    }
  }

  // ---- the loop ----
  let micro = 0;
  while (step < totalSteps) {
    for await (const b of epochBatches()) {
      pos = { epoch: b.epoch, batch: b.batch + 1 };
      if (micro % P.grad_accum_steps === 0) seedStep(dp, P.seed, step);
      const last = (micro + 1) % P.grad_accum_steps === 0;
      const loss = torch.scope(() => {
        const l = microStep(dp, last, () => autocast(() => gpt.forward(b.tokens, b.labels) as ReturnType<DiffLoss['forward']>)).loss;
        const scaled = l.div(P.grad_accum_steps);
        (scaler ? scaler.scale(scaled) : scaled).backward(); // with DDP: gradients averaged over ranks here
        return l.detach();
      });
      torch.dispose(b.tokens, b.labels);
      if (++micro % P.grad_accum_steps !== 0) {
        loss.dispose();
        continue;
      }
      const stepped = optimizerStep(gpt, opt, ++step, P.max_grad_norm, scaler);
      log.scalars(step, { ...meanOverRanks(dp, { loss }), lr: optimizer.paramGroups[0].lr, epoch: b.epoch });
      loss.dispose();
      logScale(step, stepped);
      if (step % P.save_every === 0 || step === totalSteps) save();
      if ((step % P.sample_every === 0 || step === totalSteps) && rank === 0) await sampleGrid(gpt, tok, P, log, step, genTokens, jd);
      if (step >= totalSteps) break;
    }
    if (cache && pos.batch >= batchesPerEpoch) pos = { epoch: pos.epoch + 1, batch: 0 };
  }

  dp.ddp?.dispose();
  await log.close();
  cache?.close();
  await loader?.close();
  return { step };
}

/** One row per sample class: images decoded from the first k generated tokens, one column per k. */
async function sampleGrid(gpt: GPT<DiffLoss>, tok: Tokenizer, P: ArTrainerParams, log: RunLogger, step: number, numTokens: number, jd: JobDevice) {
  // the configured classes (upstream eval_classes: ImageNet ids) that exist in this model, else 0..9
  const configured = ((P.eval_classes ?? UPSTREAM_SAMPLE_CLASSES) as number[]).filter((c) => c < gpt.numClasses);
  const classes = configured.length ? configured : Array.from({ length: Math.min(10, gpt.numClasses) }, (_, i) => i);
  const ks = powerOfTwoPrefixes(numTokens);
  gpt.eval();
  const grid = torch.scope(() => {
    const labels = torch.tensor(classes, { device: jd.device });
    const tokens = jd.precision
      .autocast(() =>
        generate(gpt, labels, numTokens, {
          cfgScale: P.cfg ?? 1,
          cfgSchedule: P.cfg_schedule ?? 'linear',
          temperature: P.temperature ?? 1,
          generator: torch.seededGenerator(jd.device, 0) ?? undefined,
        }),
      )
      .float();
    // positions ≥ k take the tokenizer's null tokens (decode's first-k mask), so padding values do not matter
    const full = torch.cat([tokens, torch.zeros([classes.length, tok.numSlots - numTokens, tokens.shape[2]], { device: jd.device })], 1);
    const perK = ks.map((k) => tok.decode(full, { numTokens: k, cfg: P.ae_cfg ?? 1, steps: P.eval_steps ?? undefined, sampler: P.eval_sampler, seed: 0 }));
    const all = torch.stack(perK, 1).flatten(0, 1); // class-major: row c, column k
    return makeGrid(all, { nrow: ks.length, rowLabels: classes.map(String), colLabels: ks.map((k) => `${k} tok`) });
  });
  const file = await log.image('samples/by_class_and_prefix', grid, step);
  grid.dispose();
  if (file) log.log(`samples (rows: classes ${classes.join(', ')}; columns: first ${ks.join(', ')} tokens): ${file}`);
  gpt.train();
}
