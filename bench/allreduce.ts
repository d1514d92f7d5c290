// All-reduce bandwidth of torch.distributed between local ranks (default: 2 ranks over Gloo on
// loopback), for float32 tensors of 4, 16, 64 and 256 MiB.
//   per size  one warm-up allReduce (sum), then ITERS timed ones, each after a barrier(); a rank
//             times its own blocking allReduce (call → Work done); an iteration's time is the
//             slowest rank's, and the table gives the median (and min) over iterations
//   algbw     bytes / time (GB/s = 1e9 bytes/s), the bytes of one rank's tensor
//   busbw     algbw × 2(n−1)/n, as nccl-tests: what each link carried in a ring all-reduce, so it is
//             comparable across rank counts (for n = 1 it is 0: nothing crosses a link)
//   async     one size (--async-mb) again with { asyncOp: true } and `await work.wait()` (the wait
//             runs on a libuv worker): a setInterval(1 ms) counts ticks while the all-reduce is in
//             flight — about one per ms means the event loop stayed free; the same count around the
//             blocking call is 0, as the JS thread is held there
// Every element is checked afterwards (a wrong sum is an error, not a figure).
// The same file is the parent (spawns the ranks as separate node processes with RANK, WORLD_SIZE,
// LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR=127.0.0.1, MASTER_PORT (a free port) and
// OMP_NUM_THREADS = max(1, floor(cores / ranks)), waits, prints the table) and a rank (RANK set);
// a rank prints one JSON line per measurement, which the parent collects.
// With --backend nccl the tensors are CUDA tensors on cuda:(LOCAL_RANK mod devices); that needs a
// libtorch built with CUDA and NCCL (one GPU per rank), and is refused with a clear error otherwise.
// The figures depend on what else the machine runs (loopback Gloo is memory- and CPU-bound).
//
// Run:  npx tsc -p tsconfig.json && node dist/bench/allreduce.js
//       --sizes 4,16,64,256  tensor sizes in MiB (default)
//       --iters 10           timed iterations per size (after 1 warm-up)
//       --ranks 2            number of local ranks
//       --backend gloo       gloo (CPU tensors) or nccl (CUDA tensors)
//       --async-mb 64        size timed again with asyncOp (default: the largest size ≤ 64 MiB, else the smallest)
//       --timeout 300        seconds before a stuck run is killed (also the collectives' timeout)
//   e.g. node dist/bench/allreduce.js --sizes 4,16 --iters 5 --ranks 2 --backend gloo
import { runLocalRanks, type RankOut } from './local-ranks.js';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as torch from '../lib/torch.js';

const dist = torch.distributed;
const MiB = 1024 * 1024;

interface Args {
  sizes: number[];
  iters: number;
  ranks: number;
  backend: 'gloo' | 'nccl';
  asyncMb: number;
  timeoutS: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { sizes: [4, 16, 64, 256], iters: 10, ranks: 2, backend: 'gloo', asyncMb: NaN, timeoutS: 300 };
  const num = (flag: string, v: string | undefined, min: number) => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < min) throw new Error(`${flag} needs a number ≥ ${min} (got ${v ?? 'nothing'})`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i],
      v = argv[i + 1];
    switch (f) {
      case '--sizes':
        if (!v) throw new Error('--sizes needs a comma-separated list of MiB, e.g. 4,16,64');
        a.sizes = v.split(',').map((s) => num('--sizes', s.trim(), Number.MIN_VALUE));
        i++;
        break;
      case '--iters':
        a.iters = Math.round(num(f, v, 1));
        i++;
        break;
      case '--ranks':
        a.ranks = Math.round(num(f, v, 1));
        i++;
        break;
      case '--backend':
        if (v !== 'gloo' && v !== 'nccl') throw new Error(`--backend must be gloo or nccl (got ${v ?? 'nothing'})`);
        a.backend = v;
        i++;
        break;
      case '--async-mb':
        a.asyncMb = num(f, v, Number.MIN_VALUE);
        i++;
        break;
      case '--timeout':
        a.timeoutS = num(f, v, 1);
        i++;
        break;
      case '-h':
      case '--help':
        console.log('node dist/bench/allreduce.js [--sizes 4,16,64,256] [--iters 10] [--ranks 2] [--backend gloo|nccl] [--async-mb 64] [--timeout 300]');
        process.exit(0);
      default:
        throw new Error(`unknown flag ${f} (see --help)`);
    }
  }
  if (Number.isNaN(a.asyncMb)) {
    const small = a.sizes.filter((s) => s <= 64);
    a.asyncMb = small.length ? Math.max(...small) : Math.min(...a.sizes);
  }
  return a;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const elementsOf = (mb: number) => Math.max(1, Math.round((mb * MiB) / 4));
const emit = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify(o) + '\n');

// ---------------------------------------------------------------------------------------------
// A rank: measures and prints JSON lines {kind: 'size' | 'async' | 'done' | 'error', ...}.

async function rankMain(a: Args): Promise<void> {
  const rank = Number(process.env.RANK),
    localRank = Number(process.env.LOCAL_RANK ?? process.env.RANK);
  if (process.env.OMP_NUM_THREADS) torch.setNumThreads(Number(process.env.OMP_NUM_THREADS));
  let device = 'cpu';
  if (a.backend === 'nccl') {
    if (!torch.cuda.isAvailable())
      throw new Error('--backend nccl needs CUDA, but torch.cuda.isAvailable() is false (this libtorch is CPU-only or no GPU is visible); use --backend gloo');
    device = `cuda:${localRank % torch.cuda.deviceCount()}`;
  }
  const sync = () => {
    if (device !== 'cpu') torch.cuda.synchronize();
  };
  const g = dist.initProcessGroup({ backend: a.backend, timeout: a.timeoutS * 1000 });
  const W = g.size;
  emit({ kind: 'start', rank, device, threads: torch.getNumThreads() });
  try {
    for (const mb of a.sizes) {
      const n = elementsOf(mb);
      const times = torch.scope(() => {
        const t = torch.ones([n], { dtype: 'float32', device });
        const one = () => {
          t.fill_(1);
          sync();
          dist.barrier();
          const t0 = performance.now();
          dist.allReduce(t);
          sync();
          return performance.now() - t0;
        };
        one(); // warm-up
        const ms: number[] = [];
        for (let i = 0; i < a.iters; i++) ms.push(one());
        check(t, W, `${mb} MiB`);
        return ms;
      });
      emit({ kind: 'size', rank, mb, bytes: n * 4, ms: times });
    }
    // async: the same all-reduce waited on a worker thread, with a 1 ms timer counting ticks
    const n = elementsOf(a.asyncMb);
    const t = torch.keep(torch.ones([n], { dtype: 'float32', device }));
    const blocking: { ms: number; ticks: number }[] = [],
      asyncRuns: { ms: number; ticks: number }[] = [];
    for (let i = 0; i < 1 + a.iters; i++) {
      for (const mode of ['blocking', 'async'] as const) {
        t.fill_(1);
        sync();
        dist.barrier();
        let ticks = 0;
        const timer = setInterval(() => {
          ticks++;
        }, 1);
        const t0 = performance.now();
        if (mode === 'async') {
          const work = dist.allReduce(t, { asyncOp: true })!;
          await work.wait();
        } else dist.allReduce(t);
        sync();
        const ms = performance.now() - t0;
        clearInterval(timer); // ticks: those served while the call was in flight
        check(t, W, `${a.asyncMb} MiB (${mode})`);
        if (i > 0) (mode === 'async' ? asyncRuns : blocking).push({ ms, ticks });
      }
    }
    t.dispose();
    emit({ kind: 'async', rank, mb: a.asyncMb, bytes: n * 4, blocking, async: asyncRuns });
  } finally {
    dist.destroyProcessGroup();
  }
  emit({ kind: 'done', rank });
}

/** After a sum of W tensors of ones every element is W. */
function check(t: torch.Tensor, W: number, what: string): void {
  const [lo, hi] = torch.scope(() => [t.min().item(), t.max().item()]);
  if (lo !== W || hi !== W) throw new Error(`all-reduce of ${what} gave values in [${lo}, ${hi}], expected ${W} everywhere`);
}

// ---------------------------------------------------------------------------------------------
// The parent: spawns the ranks, collects their JSON lines, prints the table.

function runRanks(a: Args, threads: number): Promise<RankOut[]> {
  return runLocalRanks(fileURLToPath(import.meta.url), a.ranks, threads, a.timeoutS + 60);
}

async function parentMain(a: Args): Promise<void> {
  if (a.backend === 'nccl') {
    if (!torch.cuda.isAvailable())
      throw new Error(
        '--backend nccl needs CUDA tensors, but torch.cuda.isAvailable() is false (this libtorch is CPU-only or no GPU is visible); use --backend gloo',
      );
    if (!dist.isNcclAvailable()) throw new Error('--backend nccl: this libtorch was built without NCCL; use --backend gloo');
    if (torch.cuda.deviceCount() < a.ranks)
      console.warn(`warning: ${a.ranks} ranks on ${torch.cuda.deviceCount()} GPU(s): NCCL does not allow two ranks on one GPU`);
  }
  const cores = cpus().length;
  const threads = Math.max(1, Math.floor(cores / a.ranks));
  const cfg = torch.config();
  console.log(
    `all-reduce (sum) of float32 tensors, ${a.ranks} local rank(s) over ${a.backend}${a.backend === 'gloo' ? ' on loopback' : ''}; ` +
      `libtorch ${cfg.torchVersion}, ${cores} cores, OMP_NUM_THREADS ${threads} per rank, load ${loadavg()[0].toFixed(2)}`,
  );
  console.log(`per size: 1 warm-up, ${a.iters} timed iterations, a barrier before each; time = slowest rank's; GB/s = 1e9 bytes/s`);
  const t0 = performance.now();
  const outs = await runRanks(a, threads);
  const failed = outs.map((o, r) => ({ o, r })).filter(({ o }) => o.code !== 0 || !o.lines.some((l) => l.kind === 'done'));
  if (failed.length) {
    for (const { o, r } of failed) {
      console.error(`rank ${r} exited with ${o.signal ?? `code ${o.code}`}`);
      const err = o.lines.find((l) => l.kind === 'error');
      if (err) console.error(`  ${err.message}`);
      if (o.stderr.trim())
        console.error(
          o.stderr
            .trim()
            .split('\n')
            .map((l) => `  [rank ${r}] ${l}`)
            .join('\n'),
        );
    }
    process.exitCode = 1;
    return;
  }
  const busFactor = a.ranks > 1 ? (2 * (a.ranks - 1)) / a.ranks : 0;
  const header = `${'size'.padStart(9)} ${'elements'.padStart(10)} ${'median ms'.padStart(10)} ${'min ms'.padStart(9)} ${'max ms'.padStart(9)} ${'algbw GB/s'.padStart(11)} ${'busbw GB/s'.padStart(11)}`;
  console.log(header);
  console.log('-'.repeat(header.length));
  for (const mb of a.sizes) {
    const per = outs.map((o) => o.lines.find((l) => l.kind === 'size' && l.mb === mb)!);
    const bytes: number = per[0].bytes;
    const ms = per[0].ms.map((_: number, i: number) => Math.max(...per.map((p) => p.ms[i] as number)));
    const med = median(ms),
      algbw = bytes / (med / 1000) / 1e9;
    console.log(
      `${(mb + ' MiB').padStart(9)} ${String(bytes / 4).padStart(10)} ${med.toFixed(2).padStart(10)} ${Math.min(...ms)
        .toFixed(2)
        .padStart(9)} ` +
        `${Math.max(...ms)
          .toFixed(2)
          .padStart(9)} ${algbw.toFixed(3).padStart(11)} ${(algbw * busFactor).toFixed(3).padStart(11)}`,
    );
  }
  // async: per rank, the ticks its own event loop served; times as above (slowest rank)
  const as = outs.map((o) => o.lines.find((l) => l.kind === 'async')!);
  const timeOf = (mode: 'blocking' | 'async') => median(as[0][mode].map((_: unknown, i: number) => Math.max(...as.map((x) => x[mode][i].ms as number))));
  const ticksOf = (mode: 'blocking' | 'async') => as.map((x) => median(x[mode].map((r: { ticks: number }) => r.ticks)));
  const bytes: number = as[0].bytes;
  for (const mode of ['blocking', 'async'] as const) {
    const med = timeOf(mode),
      algbw = bytes / (med / 1000) / 1e9;
    console.log(
      `${a.asyncMb} MiB ${mode === 'async' ? 'asyncOp + await wait()' : 'blocking allReduce    '}: median ${med.toFixed(2)} ms, algbw ${algbw.toFixed(3)} GB/s, ` +
        `busbw ${(algbw * busFactor).toFixed(3)} GB/s; setInterval(1 ms) ticks during the call (median per rank): ${ticksOf(mode).join(', ')}`,
    );
  }
  console.log(
    `(ticks ≈ ms in flight: the event loop ran while the async all-reduce was waited on; 0: the JS thread was blocked) ` +
      `total ${((performance.now() - t0) / 1000).toFixed(1)} s, load ${loadavg()[0].toFixed(2)}`,
  );
}

let args: Args;
try {
  args = parseArgs(process.argv.slice(2));
} catch (e) {
  console.error(`error: ${(e as Error).message}`);
  process.exit(2);
}
if (process.env.RANK !== undefined) {
  rankMain(args).catch((e) => {
    emit({ kind: 'error', rank: Number(process.env.RANK), message: (e as Error).message });
    process.exitCode = 1;
  });
} else {
  parentMain(args).catch((e) => {
    console.error(`error: ${(e as Error).message}`);
    process.exitCode = 1;
  });
}
