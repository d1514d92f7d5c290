// Per-op overhead of a tiny op, and 1024×1024 matmul throughput. Prints figures; asserts nothing.
//
// Run:  npx tsc -p tsconfig.json && node dist/bench/ops.js
//       (OMP_NUM_THREADS=n sets the intra-op threads; ROUNDS=5 and OPS=100000 change the sizes)
//
// Overhead: add of two 4-element float32 tensors, OPS times per round, median of ROUNDS rounds,
// in ns per op, for the ways a program can write it. Compare with docs/libtorch.md#performance:
// Python 2.13 on this machine type takes ~1.3–1.7 µs for `c = a + b` and ~1.1 µs for `c.add_(b)`.
// Matmul: median of ROUNDS rounds of 20 products, GFLOP/s = 2·n³·20 / time (Python: ~183 fp32).
import { loadavg } from 'node:os';
import * as torch from '../lib/torch.js';
import { native } from '../lib/core/native.js';
import { opIndex } from '../lib/core/ops.js';

const ROUNDS = Number(process.env.ROUNDS) || 5;
const OPS = Number(process.env.OPS) || 100_000;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
};
const now = (): number => Number(process.hrtime.bigint()) / 1e6; // ms

/** Runs body(OPS) once to warm up, then ROUNDS times; returns ns/op per round. */
function perOp(body: (n: number) => void): number[] {
  body(Math.min(OPS, 10_000));
  const out: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = now();
    body(OPS);
    out.push(((now() - t0) * 1e6) / OPS);
  }
  return out;
}

function report(label: string, ns: number[]): void {
  const fmt = (x: number) => x.toFixed(0).padStart(6);
  console.log(`${label.padEnd(58)} ${fmt(median(ns))} ns/op   (min ${fmt(Math.min(...ns))}, max ${fmt(Math.max(...ns))})`);
}

const cfg = torch.config();
console.log(
  `libtorch ${cfg.torchVersion}; threads ${cfg.threads} (interop ${cfg.interopThreads}); BLAS ${cfg.blas}; ` +
    `allocator ${cfg.allocator}; OpenMP ${cfg.openmp}; MKL ${cfg.mkl}; CUDA ${cfg.cuda}; node ${process.version}`,
);
console.log(
  `load average at start: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
console.log(`\nper-op overhead: add of two 4-element float32 tensors, ${OPS} ops/round, median of ${ROUNDS} rounds`);

const a = torch.keep(torch.tensor([1, 2, 3, 4], { dtype: 'float32' }));
const b = torch.keep(torch.tensor([0.5, 0.5, 0.5, 0.5], { dtype: 'float32' }));
const c = torch.keep(torch.zeros(4));

report(
  '(a) c = a.add(b) in one scope (freed at scope end)',
  perOp((n) =>
    torch.scope(() => {
      for (let i = 0; i < n; i++) a.add(b);
    }),
  ),
);
report(
  "(a') same under torch.noGrad",
  perOp((n) =>
    torch.noGrad(() =>
      torch.scope(() => {
        for (let i = 0; i < n; i++) a.add(b);
      }),
    ),
  ),
);
report(
  '(b) a.add(b).dispose()',
  perOp((n) => {
    for (let i = 0; i < n; i++) a.add(b).dispose();
  }),
);
report(
  '(c) c.add_(b) in place',
  perOp((n) => {
    for (let i = 0; i < n; i++) c.add_(b);
  }),
);
const addT = torch.ops.aten.add.Tensor;
report(
  '(d) torch.ops.aten.add.Tensor(a, b).dispose() (generic)',
  perOp((n) => {
    for (let i = 0; i < n; i++) addT(a, b).dispose();
  }),
);
const g = torch.keep(torch.tensor([1, 2, 3, 4], { dtype: 'float32', requiresGrad: true }));
report(
  '(e) g.add(b).dispose(), g requires grad',
  perOp((n) => {
    for (let i = 0; i < n; i++) g.add(b).dispose();
  }),
);
report(
  "(e') g.add(b) with requires grad, in one scope",
  perOp((n) =>
    torch.scope(() => {
      for (let i = 0; i < n; i++) g.add(b);
    }),
  ),
);
// Baselines that show where the time goes.
const addIdx = opIndex('add', 'Tensor');
report(
  '    raw native.call(add) + native.free (no Tensor object)',
  perOp((n) => {
    for (let i = 0; i < n; i++) native.free(native.call(addIdx, a._h, b._h));
  }),
);
report(
  '    empty N-API call (native.isGradEnabled)',
  perOp((n) => {
    for (let i = 0; i < n; i++) native.isGradEnabled();
  }),
);
console.log(`live tensors after the overhead runs: ${torch.memory().numTensors} (a, b, c, g)`);

function matmul(dtype: 'float32' | 'bfloat16', n = 1024, products = 20): number[] {
  const [x, y] = torch.scope(() => [torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)]);
  const rate: number[] = [];
  x.matmul(y).dispose(); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = now();
    for (let i = 0; i < products; i++) x.matmul(y).dispose();
    rate.push((2 * n ** 3 * products) / ((now() - t0) / 1e3) / 1e9);
  }
  torch.dispose(x, y);
  return rate;
}

console.log(`\n1024×1024 matmul, median of ${ROUNDS} rounds × 20 products`);
for (const dt of ['float32', 'bfloat16'] as const) {
  const r = matmul(dt);
  console.log(`${dt.padEnd(9)} ${median(r).toFixed(1).padStart(7)} GFLOP/s   (min ${Math.min(...r).toFixed(1)}, max ${Math.max(...r).toFixed(1)})`);
}
torch.dispose(a, b, c, g);
console.log(
  `\nload average at end: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}; live tensors ${torch.memory().numTensors}`,
);
