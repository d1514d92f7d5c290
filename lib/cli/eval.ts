// `node eval.js --model RUN_DIR… [--step N…] [--cfg_value …] [--ae_cfg …] [--cfg_schedule …]
//  [--test_num_slots …] [--temperature …]`: upstream's test_net.py. Every combination of the lists
// is one evaluation (upstream's grid search); upstream's forced settings are the defaults here, each
// overridable: the test split, 250 decoder steps, EMA weights.
//   tokenizer runs  reconstruct the first --num-images test images from the first k tokens
//                   (k = each --test_num_slots), PSNR/SSIM, and rFID/IS of the reconstructions
//                   against the real images (a PNG folder written once under eval/, or --real-dir,
//                   or --fid_statistics_file)
//   AR runs         --per-class images of each class (labels shuffled), gFID/IS against
//                   --fid_statistics_file (or --real-dir), seconds per image
// Official checkpoints: --config with --checkpoint (and --vae / --tokenizer-checkpoint) instead of
// --model. Sharded over ranks under launch.js/torchrun (the sample folders must be on a file system
// every rank sees); rank 0 computes the metrics and appends each grid point to
// <out>/results.jsonl and results.md and to TensorBoard (<out>/tb). Without the Inception weights,
// PSNR/SSIM are still reported and FID/IS are said to be unavailable, once.
import { Command } from 'commander';
import { existsSync, mkdirSync, readFileSync, rmSync, appendFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import * as torch from '../torch.js';
import { resolveDevice, deviceType } from '../core/device.js';
import { readLaunchEnv } from '../distributed/env.js';
import { initProcessGroup, isInitialized, destroyProcessGroup, barrier } from '../distributed/process-group.js';
import { Tokenizer } from '../models/tokenizer/tokenizer.js';
import { resolveWeightsFile } from '../models/weights-file.js';
import { loadImageGenerator } from '../train/load-image-generator.js';
import { AR_TRAINER_TARGETS } from '../train/ar-trainer-config.js';
import { datasetFromConfig } from '../train/datasets.js';
import { listCheckpoints } from '../train/checkpoint.js';
import { deviceMover } from '../train/job-device.js';
import { EventWriter } from '../train/logging/event-writer.js';
import { formatDuration } from '../train/logging/progress.js';
import { evaluateReconstructions, formatTable } from '../eval/tokenizer-eval.js';
import { generateForFid } from '../eval/generation-eval.js';
import { calculateMetrics, fidelityAvailable, type FidelityResult } from '../eval/fidelity/calculate.js';
import { InceptionV3Features } from '../eval/fidelity/inception.js';

const list =
  (flag: string, kind: 'number' | 'integer' | 'string') =>
  (v: string, prev: unknown[] = []) => {
    const xs = v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((s) => {
        if (kind === 'string') return s;
        const x = Number(s);
        if (!Number.isFinite(x) || (kind === 'integer' && !Number.isInteger(x)))
          throw new Error(`${flag}: '${s}' is not ${kind === 'integer' ? 'an integer' : 'a number'}`);
        return x;
      });
    return [...(prev === undefined ? [] : prev), ...xs];
  };

/** Every combination of the given lists (upstream's grid), in order. */
export function grid<T extends Record<string, unknown[]>>(axes: T): { [K in keyof T]: T[K][number] }[] {
  let out: Record<string, unknown>[] = [{}];
  for (const [k, vs] of Object.entries(axes)) out = out.flatMap((o) => vs.map((v) => ({ ...o, [k]: v })));
  return out as any;
}

interface Job {
  label: string;
  kind: 'tokenizer' | 'ar';
  config: string;
  checkpoint?: string;
  runDir: string | null;
  step: number | null;
}

export async function main(argv = process.argv): Promise<void> {
  const p = new Command()
    .name('eval.js')
    .description("Evaluate tokenizer and ϵLlamaGen runs as upstream's test_net.py: PSNR/SSIM, rFID/gFID and Inception Score over a grid of settings")
    .option('--model <dirs...>', 'run folders of train.js (config.yaml, models/stepN)')
    .option('--step <n>', 'checkpoint steps (default: the newest of each run)', list('--step', 'integer'))
    .option('--config <file>', 'a config instead of a run folder (official checkpoints)')
    .option('--checkpoint <file>', 'weights for --config (tokenizer or GPT)')
    .option('--vae <path>', "VAE weights (default: the config's vae_checkpoint)")
    .option('--tokenizer-checkpoint <file>', "an AR config's tokenizer weights (default: its ae_model ckpt_path)")
    .option('--cfg_value <v>', "decoder CFG (tokenizer runs) or the GPT's CFG (AR runs); lists allowed", list('--cfg_value', 'number'))
    .option('--ae_cfg <v>', "AR runs: the decoder's CFG", list('--ae_cfg', 'number'))
    .option('--cfg_schedule <s>', "AR runs: 'linear' or 'constant'", list('--cfg_schedule', 'string'))
    .option('--test_num_slots <n>', 'tokens kept (tokenizer) or generated (AR)', list('--test_num_slots', 'integer'))
    .option('--temperature <t>', "AR runs: the head's SDE noise scale", list('--temperature', 'number'))
    .option('--steps <respacing>', 'decoder sampling steps (upstream forces 250)', '250')
    .option('--sampler <name>', "decoder sampler: 'ddpm' (upstream) or 'ddim'", 'ddpm')
    .option('--no-ema', 'use the raw weights instead of the EMA weights (run folders)')
    .option('--num-images <n>', 'tokenizer runs: test images to reconstruct (default: the whole test split)', Number)
    .option('--per-class <n>', 'AR runs: images per class (upstream: 50)', Number, 50)
    .option('--batch-size <n>', 'images per batch on each rank (upstream: 64 tokenizer, 100 AR)', Number)
    .option(
      '--fid_statistics_file <file>',
      "reference statistics (.npz with mu, sigma), e.g. ADM's ImageNet 256; ignored when a real folder is used, as torch-fidelity",
    )
    .option('--real-dir <dir>', 'a folder of real images (default for tokenizer runs: the test images, written once under the output folder)')
    .option('--feature-extractor-weights-path <file>', "torch-fidelity's Inception weights (weights-inception-2015-12-05-6726825d.pth)")
    .option('--keep-samples', 'keep the generated/reconstructed PNGs (default: removed after their metrics)')
    .option('--device <device>', "'cpu', 'cuda' or 'cuda:N' (default: cuda when available, else cpu)")
    .option('--seed <n>', 'seed of the decoder noise and the AR draws', Number, 0)
    .option('--out <dir>', 'results folder (default: <run>/eval, or ./eval for --config)');
  p.parse(argv);
  const o = p.opts();
  if (!o.model && !o.config) throw new Error('give --model RUN_DIR… (training runs) or --config FILE with --checkpoint');
  if (o.model && o.config) throw new Error('give either --model or --config, not both');
  if (!['ddpm', 'ddim'].includes(o.sampler)) throw new Error(`--sampler: expected ddpm or ddim, got '${o.sampler}'`);
  for (const s of o.cfg_schedule ?? []) if (!['linear', 'constant'].includes(s)) throw new Error(`--cfg_schedule: expected linear or constant, got '${s}'`);
  const env = readLaunchEnv();
  const { rank, worldSize } = env;
  const device = resolveDevice(o.device, { what: '--device', localRank: env.localRank });
  if (worldSize > 1) {
    if (deviceType(device) === 'cuda') torch.cuda.setDevice(Number(device.split(':')[1]));
    initProcessGroup({ backend: deviceType(device) === 'cuda' ? 'nccl' : 'gloo' });
  }
  let extractor: Ctx['extractor'] = null;
  try {
    const jobs = listJobs(o);
    const found = fidelityAvailable(o.featureExtractorWeightsPath);
    if (!found.ok && rank === 0) console.error(`eval.js: FID and IS are not computed: ${found.why}`);
    // rank 0 computes the metrics: it loads the Inception extractor once for every grid point
    extractor = found.ok && rank === 0 ? { model: InceptionV3Features.load(found.path, { device }), weightsFile: found.path } : null;
    const c: Ctx = { rank, worldSize, device, metrics: found.ok, extractor };
    for (const job of jobs) {
      if (job.kind === 'tokenizer') await evalTokenizer(job, o, c);
      else await evalAr(job, o, c);
    }
  } finally {
    extractor?.model.dispose();
    if (isInitialized()) destroyProcessGroup();
  }
}

/** The (run, step) pairs to evaluate, each with its config and weights. */
function listJobs(o: Record<string, any>): Job[] {
  const kindOf = (config: string): 'tokenizer' | 'ar' => {
    const target = parse(readFileSync(config, 'utf8'))?.trainer?.target;
    return AR_TRAINER_TARGETS.includes(target) ? 'ar' : 'tokenizer';
  };
  if (o.config) {
    if (!existsSync(o.config)) throw new Error(`--config: ${o.config} not found`);
    return [{ label: o.config, kind: kindOf(o.config), config: o.config, checkpoint: o.checkpoint, runDir: null, step: null }];
  }
  const jobs: Job[] = [];
  for (const dir of o.model as string[]) {
    const config = join(dir, 'config.yaml');
    if (!existsSync(config)) throw new Error(`--model ${dir}: no config.yaml (not a run folder of train.js)`);
    const models = join(dir, 'models');
    const steps: number[] = o.step ?? [newestStep(models, dir)];
    for (const step of steps) {
      const folder = join(models, `step${step}`);
      if (!existsSync(join(folder, 'complete.json'))) throw new Error(`--model ${dir} --step ${step}: ${folder} is not a complete checkpoint`);
      const file = o.ema === false ? join(folder, 'model.safetensors') : resolveWeightsFile(folder, [], 'weights');
      jobs.push({ label: `${dir} step ${step}`, kind: kindOf(config), config, checkpoint: file, runDir: dir, step });
    }
  }
  return jobs;
}

function newestStep(models: string, dir: string): number {
  const all = listCheckpoints(models);
  if (!all.length) throw new Error(`--model ${dir}: no complete checkpoint under ${models}`);
  return all[all.length - 1].step;
}

interface Ctx {
  rank: number;
  worldSize: number;
  device: string;
  /** Whether FID/IS are computed (the Inception weights were found). */
  metrics: boolean;
  /** Rank 0's extractor, loaded once. */
  extractor: { model: InceptionV3Features; weightsFile: string } | null;
}

function outDir(job: Job, o: Record<string, any>): string {
  return resolve(o.out ?? (job.runDir ? join(job.runDir, 'eval') : 'eval'));
}

/** Rank 0 appends a result: results.jsonl (one object per grid point), results.md (a table row), TensorBoard. */
async function record(dir: string, row: Record<string, unknown>, step: number): Promise<void> {
  mkdirSync(dir, { recursive: true });
  appendFileSync(join(dir, 'results.jsonl'), `${JSON.stringify(row)}\n`);
  const md = join(dir, 'results.md');
  const keys = Object.keys(row);
  if (!existsSync(md)) appendFileSync(md, `| ${keys.join(' | ')} |\n|${keys.map(() => ' --- ').join('|')}|\n`);
  appendFileSync(md, `| ${keys.map((k) => fmt(row[k])).join(' | ')} |\n`);
  const tb = new EventWriter(join(dir, 'tb'));
  const prefix = Object.entries(row)
    .filter(([k, v]) => typeof v !== 'number' || ['cfg', 'ae_cfg', 'tokens', 'temperature'].includes(k))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  for (const [k, v] of Object.entries(row))
    if (typeof v === 'number' && ['psnr', 'ssim', 'fid', 'isc_mean', 'isc_std', 'sec_per_image'].includes(k)) tb.addScalar(`${prefix}/${k}`, v, step);
  await tb.close();
}
const fmt = (v: unknown) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(4)) : String(v));

function progressBar(label: string, rank: number): (done: number, total: number) => void {
  const t0 = Date.now();
  return (done, total) => {
    if (rank !== 0) return;
    const el = (Date.now() - t0) / 1000;
    const eta = done > 0 ? (el / done) * (total - done) : NaN;
    const line = `${label}: ${done}/${total} (${((100 * done) / total).toFixed(1)}%) | ${formatDuration(el)} elapsed | ETA ${formatDuration(eta)}`;
    if (process.stderr.isTTY) process.stderr.write(`\r${line}${done === total ? '\n' : ''}`);
    else if (done === total || done % 256 < 64) console.error(line);
  };
}

/**
 * Rank 0: FID (against realDir, else the statistics file, if either) and IS of a sample folder
 * into `result`, printed as `<what> …, IS … ± …`; the samples are removed unless --keep-samples.
 */
async function scoreSamples(
  o: Record<string, any>,
  c: Ctx,
  samples: string,
  realDir: string | null,
  dir: string,
  result: Record<string, unknown>,
  what: 'rFID' | 'gFID',
): Promise<void> {
  const m: FidelityResult = await calculateMetrics({
    input1: samples,
    input2: realDir,
    fidStatisticsFile: realDir ? null : (o.fid_statistics_file ?? null),
    fid: !!(realDir || o.fid_statistics_file),
    isc: true,
    extractor: c.extractor!,
    device: c.device,
    cacheDir: join(dir, 'feature-cache'),
    log: (s) => console.error(s),
  });
  Object.assign(result, { fid: m.frechet_inception_distance, isc_mean: m.inception_score_mean, isc_std: m.inception_score_std });
  console.log(`  ${what} ${m.frechet_inception_distance?.toFixed(3) ?? 'n/a'}, IS ${m.inception_score_mean.toFixed(3)} ± ${m.inception_score_std.toFixed(3)}`);
  if (!o.keepSamples) rmSync(samples, { recursive: true, force: true });
}

async function evalTokenizer(job: Job, o: Record<string, any>, c: Ctx): Promise<void> {
  const tok = Tokenizer.fromPretrained({ config: job.config, checkpoint: job.checkpoint, vae: o.vae, device: c.device });
  if (c.rank === 0) for (const l of tok.loadReport) console.error(`tokenizer: ${l}`);
  tok.eval();
  const raw = parse(readFileSync(job.config, 'utf8'));
  const P = raw?.trainer?.params ?? {};
  if (!P.test_dataset) throw new Error(`${job.config}: trainer.params.test_dataset is needed to evaluate a tokenizer`);
  const spec = datasetFromConfig(P.test_dataset, 'trainer.params.test_dataset', 'test');
  const n = Math.min(o.numImages ?? spec.dataset.length, spec.dataset.length);
  const dir = outDir(job, o);
  const stamp = `${job.step ?? 'ckpt'}`;
  // the real images, once per run folder and test set size (reused by every grid point and later runs)
  let realDir: string | null = o.realDir ? resolve(o.realDir) : null;
  const writeReal = c.metrics && !realDir && !o.fid_statistics_file;
  if (writeReal) realDir = join(dir, `real_${n}`);
  const realDone = realDir !== null && existsSync(join(realDir, '.complete'));
  const points = grid({ cfg: o.cfg_value ?? [3.0], tokens: o.test_num_slots ?? [tok.numSlots] });
  for (const g of points) {
    if (g.tokens < 1 || g.tokens > tok.numSlots) throw new Error(`--test_num_slots ${g.tokens}: the tokenizer has ${tok.numSlots} tokens`);
    const samples = join(dir, `rec_step${stamp}_cfg${g.cfg}_tokens${g.tokens}`);
    if (c.rank === 0) rmSync(samples, { recursive: true, force: true });
    if (c.worldSize > 1) barrier();
    const t0 = Date.now();
    const [row] = await evaluateReconstructions(tok, spec.dataset, spec.transform, {
      counts: [g.tokens],
      cfg: g.cfg,
      steps: o.steps,
      sampler: o.sampler,
      seed: o.seed,
      noise: 'image',
      n,
      batchSize: o.batchSize ?? 64,
      rank: c.rank,
      worldSize: c.worldSize,
      toDevice: deviceMover(c.device),
      sampleDir: c.metrics ? () => samples : undefined,
      realDir: writeReal && !realDone ? realDir : null,
      progress: progressBar(`${job.label}, cfg ${g.cfg}, ${g.tokens} tokens`, c.rank),
    });
    if (c.worldSize > 1) barrier();
    if (c.rank !== 0) continue;
    if (writeReal && !realDone) appendFileSync(join(realDir!, '.complete'), `${n} images\n`);
    console.log(
      `${job.label}: reconstruction of ${n} test images (${o.ema === false ? 'raw' : 'EMA'} weights, decoder cfg ${g.cfg}, ${o.sampler} ${o.steps} steps, ${((Date.now() - t0) / 1000).toFixed(1)} s):\n${formatTable([row])}`,
    );
    const result: Record<string, unknown> = { model: job.label, step: job.step, cfg: g.cfg, tokens: g.tokens, images: n, psnr: row.psnr, ssim: row.ssim };
    if (c.metrics) await scoreSamples(o, c, samples, realDir, dir, result, 'rFID');
    await record(dir, result, job.step ?? 0);
  }
  tok.dispose();
}

async function evalAr(job: Job, o: Record<string, any>, c: Ctx): Promise<void> {
  const gen = loadImageGenerator({
    config: job.config,
    checkpoint: job.checkpoint ?? undefined,
    tokenizerCheckpoint: o.tokenizerCheckpoint,
    vae: o.vae,
    device: c.device,
  });
  if (c.rank === 0) for (const l of gen.loadReport) console.error(l);
  const d = gen.defaults;
  const dir = outDir(job, o);
  const points = grid({
    cfg: o.cfg_value ?? [d.cfg],
    ae_cfg: o.ae_cfg ?? [d.aeCfg],
    schedule: o.cfg_schedule ?? [d.cfgSchedule],
    tokens: o.test_num_slots ?? [d.numTokens],
    temperature: o.temperature ?? [d.temperature],
  });
  const numClasses = gen.gpt.numClasses;
  for (const g of points) {
    const samples = join(dir, `gen_step${job.step ?? 'ckpt'}_cfg${g.cfg}_aecfg${g.ae_cfg}_${g.schedule}_tokens${g.tokens}_temp${g.temperature}`);
    if (c.rank === 0) rmSync(samples, { recursive: true, force: true });
    if (c.worldSize > 1) barrier();
    const total = numClasses * o.perClass;
    const { seconds, images } = await generateForFid(gen, {
      numClasses,
      perClass: o.perClass,
      seed: o.seed,
      batchSize: o.batchSize ?? 100,
      dir: samples,
      rank: c.rank,
      worldSize: c.worldSize,
      cfg: g.cfg,
      aeCfg: g.ae_cfg,
      cfgSchedule: g.schedule as 'linear' | 'constant',
      numTokens: g.tokens,
      temperature: g.temperature,
      steps: o.steps,
      sampler: o.sampler,
      progress: progressBar(`${job.label}, cfg ${g.cfg}, ${g.tokens} tokens`, c.rank),
    });
    if (c.worldSize > 1) barrier();
    if (c.rank !== 0) continue;
    const result: Record<string, unknown> = {
      model: job.label,
      step: job.step,
      cfg: g.cfg,
      ae_cfg: g.ae_cfg,
      schedule: g.schedule,
      tokens: g.tokens,
      temperature: g.temperature,
      images: total,
      sec_per_image: seconds / images,
    };
    console.log(
      `${job.label}: generated ${total} images (${o.perClass} per class, cfg ${g.cfg} ${g.schedule}, decoder cfg ${g.ae_cfg}, ${g.tokens} tokens, temperature ${g.temperature}): ${(seconds / images).toFixed(3)} s per image on rank 0`,
    );
    if (c.metrics) {
      const realDir = o.realDir ? resolve(o.realDir) : null;
      if (!realDir && !o.fid_statistics_file) console.error('eval.js: no --fid_statistics_file or --real-dir: gFID is not computed (IS only)');
      await scoreSamples(o, c, samples, realDir, dir, result, 'gFID');
    }
    await record(dir, result, job.step ?? 0);
  }
  gen.dispose();
}
