// Inception-v3 feature extraction (torch-fidelity's FeatureExtractorInceptionV3, the network behind
// FID and the Inception Score), ours against PyTorch, side by side in one run.
//
// What is timed: one call of InceptionV3Features.forward(images, ['2048', 'logits_unbiased']) on a
// batch of BATCH random uint8 images of SIZE × SIZE (default 50 × 3 × 256 × 256: the size of
// upstream's reconstructions), i.e. the TF1 bilinear resize to 299 × 299, (x − 128) / 128, the whole
// network and the fc product, as the FID / IS evaluation runs it per batch. ITERS timed calls after 1
// warm-up; images/s = BATCH / seconds of one call, reported as median (min, max). Peak RSS is the
// process's getrusage maxrss at the end (it includes building and loading the weights).
// The weights are the fidelity fixtures' formula weights (test/fidelity-weights.ts), written once to
// a temporary .pth with the project's torch.save and loaded back through InceptionV3Features.load
// (the real file loader). The Python reference, bench/python/fidelity_features_ref.py (torch-fidelity's
// extractor rebuilt with plain torch.nn), then loads the same .pth and the same images and is timed
// the same way in its own process; it also checks that its `2048` features of the first 4 images of
// the batch equal ours within 1e-5 · max|ref| (ours are passed in the same temporary safetensors
// file as the images). The last line is the ratio ours time / PyTorch time (< 1: we are faster).
//
// Run:  npx tsc -p tsconfig.json && node dist/bench/fidelity_features.js
// Environment (defaults first):
//   THREADS=2        intra-op threads, both sides (Python also gets OMP_NUM_THREADS / MKL_NUM_THREADS)
//   ITERS=3          timed forwards after 1 warm-up, both sides
//   BATCH=50         images per forward
//   SIZE=256         image height and width (every image is resized to 299 inside)
//   PYTHON=...       the interpreter for the reference (a Python with PyTorch, e.g. a venv's
//                    bin/python); default python3; PYTHON=none skips the reference
// The temporary folder (weights ~95 MB, images, features) is removed at the end.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../lib/torch.js';
import { safetensors, save } from '../lib/serialization/index.js';
import { InceptionV3Features, INCEPTION_INPUT_SIZE } from '../lib/eval/fidelity/index.js';
import { buildFidelityStateDict } from '../test/fidelity-weights.js';
import { fidelityFixturesJson } from '../test/fixture-paths.js';

const env = (name: string, dflt: number): number => {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`bench/fidelity_features: ${name}='${v}' is not a positive integer`);
    process.exit(1);
  }
  return n;
};
const THREADS = env('THREADS', 2);
const ITERS = env('ITERS', 3);
const BATCH = env('BATCH', 50);
const SIZE = env('SIZE', 256);
const CHECK_ROWS = Math.min(4, BATCH);
const PYTHON = process.env.PYTHON || 'python3';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const mib = (kib: number) => (kib / 1024).toFixed(0);
/** One result line, the same for both implementations. */
function line(who: string, secs: number[], rssKiB: number): string {
  const ips = (s: number) => BATCH / s;
  const fmt = (x: number) => x.toFixed(2);
  return (
    `${who.padEnd(8)}batch ${BATCH}, ${SIZE} px → ${INCEPTION_INPUT_SIZE}: median ${fmt(ips(median(secs)))} img/s ` +
    `(${fmt(ips(Math.max(...secs)))}, ${fmt(ips(Math.min(...secs)))}), peak RSS ${mib(rssKiB)} MiB`
  );
}

torch.setNumThreads(THREADS);
const cfg = torch.config();
console.log(
  `libtorch ${cfg.torchVersion}; threads ${torch.getNumThreads()}; BLAS ${cfg.blas}; node ${process.version}; ` +
    `batch ${BATCH} × 3 × ${SIZE} × ${SIZE} uint8, features 2048 + logits_unbiased, ${ITERS} iters after 1 warm-up`,
);
console.log(`load average at start: ${load()}`);

const dir = mkdtempSync(join(tmpdir(), 'fidelity-features-bench-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const weightsPath = join(dir, 'weights-inception-formula.pth');
const dataPath = join(dir, 'images-and-features.safetensors');

// The formula weights, through a .pth both sides load.
let t0 = performance.now();
torch.scope(() => {
  const sd = buildFidelityStateDict(fidelityFixturesJson().weights);
  save(sd, weightsPath);
  for (const t of sd.values()) t.dispose();
});
const model = InceptionV3Features.load(weightsPath);
console.log(`weights: formula state dict built, saved and loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

torch.manualSeed(0);
const images = torch.keep(torch.randint(0, 256, [BATCH, 3, SIZE, SIZE], { dtype: 'uint8' }));

const secs: number[] = [];
let checkRows: torch.Tensor | null = null;
for (let i = 0; i <= ITERS; i++) {
  torch.scope(() => {
    t0 = performance.now();
    const [f2048, logits] = model.forward(images, ['2048', 'logits_unbiased']);
    const s = (performance.now() - t0) / 1000;
    if (i === 0) checkRows = torch.keep(torch.cat([f2048.narrow(0, 0, CHECK_ROWS), logits.narrow(0, 0, CHECK_ROWS)], 1).contiguous());
    else secs.push(s);
  });
}
const oursRss = process.resourceUsage().maxRSS;
console.log(line('ours', secs, oursRss));

const rows = checkRows!;
safetensors.saveFile(
  new Map([
    ['images', images],
    ['ours.2048', torch.keep(rows.narrow(1, 0, 2048).contiguous())],
    ['ours.logits_unbiased', torch.keep(rows.narrow(1, 2048, 1008).contiguous())],
  ]),
  dataPath,
);

if (PYTHON === 'none') {
  console.log('PYTHON=none: reference skipped');
} else {
  const script = fileURLToPath(new URL('../../bench/python/fidelity_features_ref.py', import.meta.url));
  const threads = String(THREADS);
  const r = spawnSync(PYTHON, [script, weightsPath, dataPath, '--json'], {
    env: { ...process.env, THREADS: threads, ITERS: String(ITERS), OMP_NUM_THREADS: threads, MKL_NUM_THREADS: threads },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 24,
  });
  if (r.error || r.status !== 0) {
    console.error(`bench/fidelity_features: ${PYTHON} ${script} failed (${r.error?.message ?? `exit ${r.status}`})`);
    if (r.stdout) process.stdout.write(r.stdout);
    process.exit(1);
  }
  const out = r.stdout.trim().split('\n');
  const ref = JSON.parse(out.pop()!);
  for (const l of out) console.log(`  ${l}`);
  console.log(line('pytorch', ref.secs, ref.peak_rss_kib));
  console.log(
    `features: max|ours − pytorch| / max|pytorch| over the first ${CHECK_ROWS} images: ` +
      `2048 ${ref.rel_diff_2048.toExponential(2)}, logits_unbiased ${ref.rel_diff_logits_unbiased.toExponential(2)} ` +
      `(tolerance 1e-5 on 2048: ${ref.rel_diff_2048 <= 1e-5 ? 'ok' : 'MISMATCH'})`,
  );
  if (!(ref.rel_diff_2048 <= 1e-5)) process.exitCode = 1;
  console.log(`ratio ours time / pytorch time (median): ${(median(secs) / median(ref.secs)).toFixed(2)} (< 1: we are faster)`);
}
console.log(`load average at end: ${load()}`);
