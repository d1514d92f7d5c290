// Data-parallel training step time: the tokenizer of configs/tokenizer_fmnist.yaml trained by 2
// ranks under DistributedDataParallel (Gloo on loopback) against 1 rank without DDP.
//   model   Tokenizer.fromConfig of the config's trainer.params.model, as lib/train/train-tokenizer.ts
//           builds it (seed trainer.params.seed), train mode, float32
//   optim   setUpOptimization / optimizerStep of lib/train/optimization.ts, as the trainer: AdamW with
//           lr = blr · batch · ranks / 256, clipGradNorm_(max_grad_norm), zero grad, lr schedule, EMA
//   data    random images in [0, 1] of the config's image size and channels (no dataset read), a
//           different batch on each rank; per-rank batch = the config's batch_size (or --batch)
//   step    1 rank:  loss = tok.loss(images, {epoch}); (diff_loss + repa_loss).backward(); optimizerStep
//           N ranks: the same with the forward inside ddp.forwardWith(() => tok.loss(images, {epoch})),
//                    so the c10d Reducer averages the gradients in buckets during backward
// Runs, one after another, each rank a separate node process with OMP_NUM_THREADS = floor(cores /
// ranks) (at least 1): 1 rank plain with 1 thread, 1 rank plain with all cores' threads, and N
// ranks with DDP. Each timed over --steps steps after --warmup warm-ups; a step's time is the
// slowest rank's (ranks wait for each other in the all-reduce anyway). Prints the median step time
// (forward+backward and optimizer step shown apart), images/s per rank and in total, and the scaling
// efficiency = N-rank total images/s / (N × 1-rank images/s), against each 1-rank baseline, and
// each rank's CPU time / (wall time × threads) over the timed steps (well below 100%: the rank
// waited, for its peers or for a CPU that the machine gave to other work).
// The same file is the parent (spawns the ranks with RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
// MASTER_ADDR=127.0.0.1, MASTER_PORT (a free port), OMP_NUM_THREADS; collects the JSON lines the
// ranks print; prints the table) and a rank (RANK set). Figures depend on what else the machine runs.
//
// Run:  npx tsc -p tsconfig.json && node dist/bench/ddp_step.js
//       --config configs/tokenizer_fmnist.yaml   trainer config (its model must need no weight files)
//       --batch 32         per-rank batch (default: the config's batch_size)
//       --steps 8          timed steps per run (after --warmup 2 warm-up steps)
//       --ranks 2          ranks of the DDP run (1: only the baselines)
//       --bucket-cap-mb 25 DDP bucket size in MiB
//       --find-unused      DDP findUnusedParameters
//       --timeout 600      seconds before a stuck run is killed (also the collectives' timeout)
//   e.g. node dist/bench/ddp_step.js --steps 3
import { runLocalRanks, type RankOut } from './local-ranks.js';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as torch from '../lib/torch.js';
import { Tokenizer } from '../lib/models/tokenizer/tokenizer.js';
import { loadTrainerConfig } from '../lib/train/tokenizer-trainer-config.js';
import { setUpOptimization, optimizerStep } from '../lib/train/optimization.js';

const dist = torch.distributed;

interface Args {
  config: string;
  batch: number | null;
  steps: number;
  warmup: number;
  ranks: number;
  bucketCapMb: number;
  findUnused: boolean;
  timeoutS: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { config: 'configs/tokenizer_fmnist.yaml', batch: null, steps: 8, warmup: 2, ranks: 2, bucketCapMb: 25, findUnused: false, timeoutS: 600 };
  const int = (flag: string, v: string | undefined, min: number) => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < min) throw new Error(`${flag} needs an integer ≥ ${min} (got ${v ?? 'nothing'})`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i],
      v = argv[i + 1];
    switch (f) {
      case '--config':
        if (!v) throw new Error('--config needs a file');
        a.config = v;
        i++;
        break;
      case '--batch':
        a.batch = int(f, v, 1);
        i++;
        break;
      case '--steps':
        a.steps = int(f, v, 1);
        i++;
        break;
      case '--warmup':
        a.warmup = int(f, v, 0);
        i++;
        break;
      case '--ranks':
        a.ranks = int(f, v, 1);
        i++;
        break;
      case '--bucket-cap-mb': {
        const n = Number(v);
        if (!(n > 0)) throw new Error(`--bucket-cap-mb needs a positive number (got ${v ?? 'nothing'})`);
        a.bucketCapMb = n;
        i++;
        break;
      }
      case '--find-unused':
        a.findUnused = true;
        break;
      case '--timeout':
        a.timeoutS = int(f, v, 1);
        i++;
        break;
      case '-h':
      case '--help':
        console.log(
          'node dist/bench/ddp_step.js [--config configs/tokenizer_fmnist.yaml] [--batch N] [--steps 8] [--warmup 2] [--ranks 2] [--bucket-cap-mb 25] [--find-unused] [--timeout 600]',
        );
        process.exit(0);
      default:
        throw new Error(`unknown flag ${f} (see --help)`);
    }
  }
  return a;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const emit = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify(o) + '\n');

// ---------------------------------------------------------------------------------------------
// A rank: prints JSON lines {kind: 'info' | 'step' | 'done' | 'error', ...}.

function rankMain(a: Args): void {
  const rank = Number(process.env.RANK),
    worldSize = Number(process.env.WORLD_SIZE ?? 1);
  torch.setNumThreads(Number(process.env.OMP_NUM_THREADS) || 1);
  const cfg = loadTrainerConfig(a.config);
  const P = { ...cfg.params, batch_size: a.batch ?? cfg.params.batch_size, precision: 'fp32' as const };
  const B: number = P.batch_size;

  const group = worldSize > 1 ? dist.initProcessGroup({ backend: 'gloo', timeout: a.timeoutS * 1000 }) : null;
  try {
    torch.manualSeed(P.seed);
    const tok = Tokenizer.fromConfig({ trainer: { params: { model: P.model } } });
    tok.train();
    const ddp = group ? new dist.DistributedDataParallel(tok, { bucketCapMb: a.bucketCapMb, findUnusedParameters: a.findUnused }) : null;
    // Only the warmup length depends on the batches per epoch, and the step time does not care:
    // a nominal 1000 (max_steps in the config fixes the schedule's end).
    const opt = setUpOptimization(tok, P, 1000, worldSize);
    torch.manualSeed(P.seed + 1000 + rank); // each rank its own images and diffusion noise
    const size: number = tok.options.encImgSize,
      channels: number = tok.options.imageChannels;
    const images = torch.keep(torch.rand([B, channels, size, size]));
    const trainable = tok.numParameters({ trainableOnly: true });
    emit({
      kind: 'info',
      rank,
      worldSize,
      threads: torch.getNumThreads(),
      batch: B,
      imageSize: size,
      channels,
      trainable,
      lr: opt.lr,
      buckets: ddp ? ddp.buckets.length : 0,
      ddp: !!ddp,
    });

    let cpu0 = process.cpuUsage(),
      wall0 = performance.now();
    for (let i = 0; i < a.warmup + a.steps; i++) {
      if (i === a.warmup) {
        cpu0 = process.cpuUsage();
        wall0 = performance.now();
      }
      const t0 = performance.now();
      const loss = torch.scope(() => {
        const fwd = () => tok.loss(images, { epoch: 0 });
        const l = ddp ? ddp.forwardWith(fwd) : fwd();
        const total = l.repa_loss ? l.diff_loss.add(l.repa_loss) : l.diff_loss;
        total.backward();
        return l.diff_loss.item();
      });
      const t1 = performance.now();
      optimizerStep(tok, opt, i + 1, P.max_grad_norm);
      const t2 = performance.now();
      if (!Number.isFinite(loss)) throw new Error(`step ${i + 1}: loss ${loss}`);
      emit({ kind: 'step', rank, i, warmup: i < a.warmup, ms: t2 - t0, fwdBwdMs: t1 - t0, optMs: t2 - t1, loss });
    }
    // CPU time of this process over the timed steps / (wall time × threads): well below 100% means
    // the rank waited (for its peers, or for a CPU the machine gave to something else).
    const cpu = process.cpuUsage(cpu0),
      cpuMs = (cpu.user + cpu.system) / 1000;
    const cpuShare = cpuMs / ((performance.now() - wall0) * torch.getNumThreads());
    // The ranks must hold the same weights after DDP steps: compare a checksum of them.
    const checksum = torch.scope(() => tok.parameters().reduce((s, p) => s + p.double().sum().item(), 0));
    ddp?.dispose();
    torch.dispose(images);
    emit({ kind: 'done', rank, checksum, cpuShare });
  } finally {
    if (group) dist.destroyProcessGroup();
  }
}

// ---------------------------------------------------------------------------------------------
// The parent: runs the configurations one after another, prints the table.

function runRanks(a: Args, ranks: number, threads: number): Promise<RankOut[]> {
  return runLocalRanks(fileURLToPath(import.meta.url), ranks, threads, a.timeoutS + 60);
}

interface RunResult {
  name: string;
  ranks: number;
  threads: number;
  batch: number;
  cpuShare: number[];
  ms: number;
  fwdBwdMs: number;
  optMs: number;
  minMs: number;
  maxMs: number;
  perRank: number;
  total: number;
}

async function measure(a: Args, name: string, ranks: number, threads: number): Promise<RunResult | null> {
  const outs = await runRanks(a, ranks, threads);
  const failed = outs.map((o, r) => ({ o, r })).filter(({ o }) => o.code !== 0 || !o.lines.some((l) => l.kind === 'done'));
  if (failed.length) {
    console.error(`${name}: failed`);
    for (const { o, r } of failed) {
      console.error(`  rank ${r} exited with ${o.signal ?? `code ${o.code}`}`);
      const err = o.lines.find((l) => l.kind === 'error');
      if (err) console.error(`    ${err.message}`);
      if (o.stderr.trim())
        console.error(
          o.stderr
            .trim()
            .split('\n')
            .slice(-15)
            .map((l) => `    [rank ${r}] ${l}`)
            .join('\n'),
        );
    }
    return null;
  }
  const info = outs[0].lines.find((l) => l.kind === 'info')!;
  const steps = outs.map((o) => o.lines.filter((l) => l.kind === 'step' && !l.warmup));
  const slowest = (key: string) => steps[0].map((_, i) => Math.max(...steps.map((s) => s[i][key] as number)));
  const ms = slowest('ms');
  const med = median(ms),
    perRank = info.batch / (med / 1000);
  const sums = outs.map((o) => o.lines.find((l) => l.kind === 'done')!.checksum as number);
  if (ranks > 1 && sums.some((s) => Math.abs(s - sums[0]) > 1e-6 * Math.max(1, Math.abs(sums[0])))) {
    console.error(`${name}: the ranks' weights differ after the steps (checksums ${sums.join(', ')})`);
    process.exitCode = 1;
  }
  const losses = steps[0].map((s) => (s.loss as number).toFixed(4)).join(' ');
  console.log(
    `  ${name}: ${info.trainable} trainable parameters, batch ${info.batch}/rank, lr ${info.lr.toExponential(3)}` +
      `${info.ddp ? `, ${info.buckets} DDP bucket(s)` : ''}; rank-0 losses ${losses}`,
  );
  const cpuShare = outs.map((o) => o.lines.find((l) => l.kind === 'done')!.cpuShare as number);
  return {
    name,
    ranks,
    threads,
    batch: info.batch,
    cpuShare,
    ms: med,
    fwdBwdMs: median(slowest('fwdBwdMs')),
    optMs: median(slowest('optMs')),
    minMs: Math.min(...ms),
    maxMs: Math.max(...ms),
    perRank,
    total: perRank * ranks,
  };
}

async function parentMain(a: Args): Promise<void> {
  const cores = cpus().length;
  const cfg = loadTrainerConfig(a.config); // fail early on a bad config
  const cfgTorch = torch.config();
  const threadsFor = (ranks: number) => Math.max(1, Math.floor(cores / ranks));
  const runs: { name: string; ranks: number; threads: number }[] = [{ name: '1 rank, plain', ranks: 1, threads: 1 }];
  if (threadsFor(1) > 1) runs.push({ name: '1 rank, plain', ranks: 1, threads: threadsFor(1) });
  if (a.ranks > 1) runs.push({ name: `${a.ranks} ranks, DDP gloo`, ranks: a.ranks, threads: threadsFor(a.ranks) });
  console.log(
    `DDP training step, ${a.config} (per-rank batch ${a.batch ?? cfg.params.batch_size}, fp32, random images); ` +
      `libtorch ${cfgTorch.torchVersion}, ${cores} cores, load ${loadavg()[0].toFixed(2)}`,
  );
  console.log(`each run: ${a.warmup} warm-up + ${a.steps} timed steps (fwd + bwd + clip + AdamW + schedule + EMA); step time = slowest rank's`);
  const t0 = performance.now();
  const results: RunResult[] = [];
  for (const r of runs) {
    const res = await measure(a, `${r.name}, ${r.threads} thread${r.threads > 1 ? 's' : ''}/rank`, r.ranks, r.threads);
    if (!res) {
      process.exitCode = 1;
      return;
    }
    results.push(res);
  }
  const header = `${'run'.padEnd(34)} ${'step ms'.padStart(8)} ${'(min–max)'.padStart(15)} ${'fwd+bwd'.padStart(8)} ${'opt'.padStart(6)} ${'img/s/rank'.padStart(11)} ${'img/s total'.padStart(12)}  cpu/(wall×threads) per rank`;
  console.log(header);
  console.log('-'.repeat(header.length));
  for (const r of results) {
    console.log(
      `${r.name.padEnd(34)} ${r.ms.toFixed(1).padStart(8)} ${`(${r.minMs.toFixed(0)}–${r.maxMs.toFixed(0)})`.padStart(15)} ` +
        `${r.fwdBwdMs.toFixed(1).padStart(8)} ${r.optMs.toFixed(1).padStart(6)} ${r.perRank.toFixed(1).padStart(11)} ${r.total.toFixed(1).padStart(12)}  ${r.cpuShare.map((c) => `${(c * 100).toFixed(0)}%`).join(', ')}`,
    );
  }
  const multi = results.find((r) => r.ranks > 1);
  if (multi) {
    for (const base of results.filter((r) => r.ranks === 1)) {
      const eff = multi.total / (multi.ranks * base.total);
      console.log(
        `scaling efficiency vs ${base.name}: ${multi.total.toFixed(1)} / (${multi.ranks} × ${base.total.toFixed(1)}) = ${(eff * 100).toFixed(1)}%` +
          `  (speed-up ${(multi.total / base.total).toFixed(2)}×)`,
      );
    }
  }
  console.log(`total ${((performance.now() - t0) / 1000).toFixed(1)} s, load ${loadavg()[0].toFixed(2)} (the machine is shared: figures are indicative)`);
}

let args: Args;
try {
  args = parseArgs(process.argv.slice(2));
} catch (e) {
  console.error(`error: ${(e as Error).message}`);
  process.exit(2);
}
if (process.env.RANK !== undefined) {
  try {
    rankMain(args);
  } catch (e) {
    emit({ kind: 'error', rank: Number(process.env.RANK), message: (e as Error).message });
    process.exitCode = 1;
  }
} else {
  parentMain(args).catch((e) => {
    console.error(`error: ${(e as Error).message}`);
    process.exitCode = 1;
  });
}
