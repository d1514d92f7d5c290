// FID on 2048-d statistics: the statistics of two synthetic feature sets (N = 2,000 each), then
// torch-fidelity's FID (the general eigen-solver on the 2048 x 2048 product) with the solver on
// one thread (the default) and on the process's threads, and the low-rank exact route.
//
// Run:  npx tsc -p tsconfig.json && node dist/bench/fidelity_fid.js
//       N=2000 D=2048 change the sizes; PYTHON=/path/to/python also runs bench/python/fidelity_fid_ref.py
//       on the same features (numpy with OPENBLAS_NUM_THREADS=1, as our solver's default) and prints
//       both side by side.
// The features come from a hash formula both scripts share, so the FIDs must agree closely too.
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as torch from '../lib/torch.js';
import { fidStatistics } from '../lib/eval/fidelity/statistics.js';
import { frechetDistanceParts } from '../lib/eval/fidelity/fid.js';
import { frechetDistanceLowRank } from '../lib/eval/fidelity/low-rank.js';

const N = Number(process.env.N) || 2000;
const D = Number(process.env.D) || 2048;

function hashU32(i: number, k: number, seed: number): number {
  let x = (i + Math.imul(k, 0x01000193) + Math.imul(seed, 0x9e3779b9)) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x85ebca6b) >>> 0;
  x = (x ^ (x >>> 13)) >>> 0;
  x = Math.imul(x, 0xc2b2ae35) >>> 0;
  return ((x ^ (x >>> 16)) >>> 0) / 2 ** 32;
}

/** ReLU of noise plus a rank-one part shared by all rows, in the reference script's order of operations. */
function features(seed: number): torch.Tensor {
  const f = new Float32Array(N * D);
  const b = Float64Array.from({ length: D }, (_, j) => hashU32(j, 2, seed));
  for (let i = 0; i < N; i++) {
    const a = hashU32(i, 1, seed);
    for (let j = 0; j < D; j++) {
      const u = hashU32(i * D + j, 0, seed);
      f[i * D + j] = Math.max(0, 2 * u - 1 + 0.8 * (2 * a - 1) * b[j] + 0.3);
    }
  }
  return torch.fromTypedArray(f, [N, D]);
}

const ms = (t0: number) => performance.now() - t0;
const cfg = torch.config();
console.log(`libtorch ${cfg.torchVersion}; threads ${cfg.threads}; BLAS ${cfg.blas}; node ${process.version}; N ${N}, D ${D}`);
console.log(
  `load average at start: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);

const [f1, f2] = [features(1), features(2)];
let t0 = performance.now();
const s1 = fidStatistics(f1),
  s2 = fidStatistics(f2);
const tStats = ms(t0);
t0 = performance.now();
torch.scope(() => s1.sigma.mm(s2.sigma));
const tMm = ms(t0);
const runs: { label: string; ms: number; fid: number }[] = [];
for (const threads of [1, null] as const) {
  t0 = performance.now();
  const p = frechetDistanceParts(s1, s2, { solverThreads: threads });
  runs.push({ label: `FID, solver on ${threads ?? `${torch.getNumThreads()} (process)`} thread(s)`, ms: ms(t0), fid: p.fid });
}
t0 = performance.now();
const lr = frechetDistanceLowRank(f1, f2);
const tLow = ms(t0);

let ref: any = null;
if (process.env.PYTHON) {
  const script = fileURLToPath(new URL('../../bench/python/fidelity_fid_ref.py', import.meta.url));
  const out = execFileSync(process.env.PYTHON, [script, String(N), String(D), '--json'], {
    env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' },
    encoding: 'utf8',
  });
  ref = JSON.parse(out.trim().split('\n').pop()!);
}
console.log(`\n${'step'.padEnd(44)}${'TS (ms)'.padStart(10)}${ref ? `${'numpy (ms)'.padStart(12)}` : ''}`);
const line = (what: string, ours: number, theirs?: number) =>
  console.log(`${what.padEnd(44)}${ours.toFixed(0).padStart(10)}${ref ? (theirs === undefined ? '' : theirs.toFixed(0)).padStart(12) : ''}`);
line('statistics of both sets', tStats, ref?.stats_ms);
line('S1 . S2 (float64 2048 x 2048 product)', tMm, ref?.mm_ms);
for (const r of runs) line(r.label, r.ms, r === runs[0] ? ref?.fid_ms : undefined);
line('FID, low-rank exact route', tLow);
if (ref?.torch_eigvals_ms !== undefined)
  console.log(
    `(torch ${ref.torch} linalg.eigvals alone, ${ref.torch_threads} thread(s): ${ref.torch_eigvals_ms.toFixed(0)} ms; numpy eigvals alone: ${ref.eigvals_ms.toFixed(0)} ms, BLAS threads ${ref.blas_threads})`,
  );
console.log(`\nFID: ${runs.map((r) => r.fid).join(' / ')} (general solver), ${lr.fid} (low-rank)${ref ? `; numpy ${ref.fid}, torch ${ref.torch_fid}` : ''}`);
if (ref)
  console.log(
    `relative difference to numpy: ${Math.abs(runs[0].fid - ref.fid) / Math.abs(ref.fid)}; mu[0] ${s1.mu.narrow(0, 0, 1).item() === ref.mu0 ? 'equal' : 'DIFFERS'}`,
  );
console.log(
  `load average at end: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
