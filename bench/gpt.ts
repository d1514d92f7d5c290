// ϵLlamaGen (stage 2) throughput on CPU: GPT-L's shape at a small width, batch 8, float32.
//   model   GPT-L's shape — 24 layers, 16 heads, 32 tokens of 16 channels, 1 class token, 1000
//           classes (+ the null row), resid/ffn dropout 0.1 — at width DIM (default 256: head_dim
//           16, SwiGLU hidden 768), with a DiffLoss head of HEAD_DEPTH × HEAD_WIDTH (default 3 × 256,
//           'concat' conditioning, SiT linear transport, diffusion_batch_mul 4). Real GPT-L is dim
//           1024 with a 12 × 1536 head, 489 M parameters: a training step of that on 2 CPU cores
//           takes minutes and one generate() hours, too slow to loop over; the layer count, heads,
//           sequence and batch keep their real values, so the op count per step is GPT-L's.
//   (a)     one training step: GPT.forward (label drop, backbone, head loss on 8·32·4 rows),
//           backward, clipGradNorm_(1.0), AdamW (lr 1e-4, betas 0.9/0.95, weight decay 0.05 on
//           ndim ≥ 2, as lib/train), zero grad; tokens/s = 8·32 / step time
//   (b1)    the backbone with the KV cache as generate() runs it at CFG: setupCaches(16 rows),
//           prefill of [8 labels; 8 null], 31 decodeSteps, clearCaches; tokens/s = 8·32 / time
//   (b2)    the head's sampler: head.sample(z (16, dim), {cfg: 4}) = 250 Euler–Maruyama steps with
//           CFG, with modelCalls 'twice' (upstream's cost) and 'once'; SDE steps/s = 250 / time
//   (b3)    generate(gpt, labels (8), GEN_TOKENS, {cfgScale 4, cfgSchedule 'linear'}): total time
// Random weights and data (the head's final layer is zero-initialised, as upstream; speed does not care).
//
// Run:  npx tsc -p tsconfig.json && node dist/bench/gpt.js
//       ITERS=5 train steps (after 2 warm-ups), SEQS=5 cached sequences, SAMPLES=3 sampler calls
//       per mode (after 1 warm-up each), GENS=1 generate() (no warm-up), GEN_TOKENS=32;
//       DIM=256, HEAD_DEPTH=3, HEAD_WIDTH=256; THREADS=2 (intra-op threads)
// PyTorch reference for the same model and timings: bench/python/gpt_ref.py
import { loadavg } from 'node:os';
import * as torch from '../lib/torch.js';
import { GPT, ffnHiddenDim, gptBackboneParamCount } from '../lib/models/gpt/gpt.js';
import { DiffLoss } from '../lib/models/gpt/diffloss.js';
import { generate } from '../lib/models/gpt/generate.js';
import { AdamW, paramGroupsWeightDecay, clipGradNorm_ } from '../lib/optim/index.js';

const env = (k: string, d: number) => Number(process.env[k]) || d;
const ITERS = env('ITERS', 5),
  SEQS = env('SEQS', 5),
  SAMPLES = env('SAMPLES', 3),
  GENS = env('GENS', 1);
const GEN_TOKENS = env('GEN_TOKENS', 32);
const DIM = env('DIM', 256),
  HEAD_DEPTH = env('HEAD_DEPTH', 3),
  HEAD_WIDTH = env('HEAD_WIDTH', 256);
const WARMUP = 2;
const B = 8,
  L = 32,
  C = 16,
  CFG = 4,
  SDE_STEPS = 250;
const GPT_L = { nLayer: 24, nHead: 16, numSlots: L, slotDim: C, numClasses: 1000, clsTokenNum: 1 };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const stats = (ms: number[]) =>
  `median ${median(ms).toFixed(1).padStart(8)} ms  (min ${Math.min(...ms).toFixed(1)}, max ${Math.max(...ms).toFixed(1)}, n ${ms.length})`;
const line = (name: string, ms: number[], rate: string) => console.log(`${name.padEnd(62)} ${stats(ms)}  ${rate}`);
/** Times `body` n times after `warm` warm-ups, each in its own scope; returns the times in ms. */
function time(n: number, warm: number, body: () => void): number[] {
  const ms: number[] = [];
  for (let i = 0; i < warm + n; i++) {
    const t0 = performance.now();
    torch.scope(body);
    if (i >= warm) ms.push(performance.now() - t0);
  }
  return ms;
}

/** SimpleMLPAdaLN's parameter count ('concat'), from the sizes alone (179,125,264 for GPT-L's 12 × 1536 head). */
function headParamCount(depth: number, w: number, zDim: number, c: number): number {
  const lin = (i: number, o: number) => i * o + o;
  const block = 2 * w + lin(w, 3 * w) + lin(2 * w, w) + lin(w, w);
  return lin(256, w) + lin(w, w) + lin(zDim, w) + lin(c, w) + depth * block + lin(w, 2 * w) + lin(2 * w, c);
}

torch.setNumThreads(env('THREADS', 2));
const cfg = torch.config();
console.log(`libtorch ${cfg.torchVersion}, ${torch.getNumThreads()} threads, BLAS ${cfg.blas}, load ${loadavg()[0].toFixed(2)}`);
torch.manualSeed(0);

// ---- model, optimizer, data ----
const gpt = new GPT(
  { ...GPT_L, dim: DIM },
  (d) =>
    new DiffLoss({
      targetChannels: d.targetChannels,
      zChannels: d.zChannels,
      depth: HEAD_DEPTH,
      width: HEAD_WIDTH,
      diffusionBatchMul: 4,
      condMethod: 'concat',
    }),
);
const head = gpt.diffloss!;
const nHead = head.numParameters();
if (nHead !== headParamCount(HEAD_DEPTH, HEAD_WIDTH, DIM, C))
  throw new Error(`head parameter count ${nHead} ≠ formula ${headParamCount(HEAD_DEPTH, HEAD_WIDTH, DIM, C)}`);
const realL = gptBackboneParamCount({ ...GPT_L, dim: 1024 }) + headParamCount(12, 1536, 1024, C);
console.log(
  `GPT-L shape at dim ${DIM}: 24 layers, 16 heads (head_dim ${DIM / 16}), SwiGLU hidden ${ffnHiddenDim(DIM)}, ${L} tokens × ${C} ch + 1 class token, ` +
    `1000 classes; head ${HEAD_DEPTH} × ${HEAD_WIDTH}, diffusion_batch_mul 4; batch ${B}, float32`,
);
console.log(`${gpt.numBackboneParameters()} backbone + ${nHead} head parameters (real GPT-L: ${(realL / 1e6).toFixed(1)} M, dim 1024 + 12 × 1536 head)`);

gpt.train();
const params = gpt.parameters();
const optimizer = new AdamW(paramGroupsWeightDecay(gpt, 0.05), { lr: 1e-4, betas: [0.9, 0.95], eps: 1e-8 });
const tokens = torch.keep(torch.randn(B, L, C));
const labels = torch.keep(torch.randint(0, 1000, [B]));

// ---- (a) training step ----
const losses: number[] = [];
let firstNorm = NaN;
const stepMs = time(ITERS, WARMUP, () => {
  const { loss } = gpt.forward(tokens, labels);
  loss.backward();
  const gradNorm = clipGradNorm_(params, 1.0);
  optimizer.step();
  optimizer.zeroGrad(true);
  losses.push(loss.item());
  if (losses.length === 1) firstNorm = gradNorm.item();
});
console.log(`step 1: loss ${losses[0].toFixed(4)}, grad norm ${firstNorm.toFixed(3)}`);
line(`(a) train step (fwd+bwd+clip+AdamW+zero grad), batch ${B}`, stepMs, `${((B * L) / (median(stepMs) / 1e3)).toFixed(0)} tokens/s`);
console.log(`  losses: ${losses.map((l) => l.toFixed(4)).join(' ')}`);

// ---- (b1) backbone with the KV cache: prefill + 31 decode steps on the CFG-doubled batch ----
gpt.eval();
const allLabels = torch.scope(() => torch.keep(torch.cat([labels, torch.fullLike(labels, 1000)], 0)));
const feed = torch.keep(torch.randn(2 * B, C)); // stands in for the sampled token, the same for both halves in generate()
const seqMs = time(SEQS, 1, () => {
  gpt.setupCaches(2 * B, 1 + L);
  try {
    gpt.prefill(allLabels);
    for (let k = 1; k < L; k++)
      torch.scope(() => {
        gpt.decodeStep(feed, k);
      });
  } finally {
    gpt.clearCaches();
  }
});
line(
  `(b1) KV-cache backbone: prefill + ${L - 1} decode steps, ${2 * B} rows`,
  seqMs,
  `${((B * L) / (median(seqMs) / 1e3)).toFixed(0)} tokens/s (${(median(seqMs) / L).toFixed(2)} ms/position)`,
);

// ---- (b2) the head's sampler: 250 EM steps with CFG on 16 condition rows ----
const z = torch.keep(torch.randn(2 * B, DIM));
for (const modelCalls of ['twice', 'once'] as const) {
  const ms = time(SAMPLES, 1, () => {
    head.sample(z, { cfg: CFG, modelCalls });
  });
  line(`(b2) head.sample(z (${2 * B}, ${DIM}), cfg ${CFG}), modelCalls '${modelCalls}'`, ms, `${(SDE_STEPS / (median(ms) / 1e3)).toFixed(0)} SDE steps/s`);
}

// ---- (b3) a full generate() ----
const genMs = time(GENS, 0, () => {
  generate(gpt, labels, GEN_TOKENS, { cfgScale: CFG, cfgSchedule: 'linear' }).dispose();
}); // generate returns a kept tensor
line(
  `(b3) generate(${B} labels, ${GEN_TOKENS} tokens, cfg ${CFG} linear)`,
  genMs,
  `${(median(genMs) / 1e3).toFixed(1)} s total, ${((B * GEN_TOKENS) / (median(genMs) / 1e3)).toFixed(1)} tokens/s`,
);

torch.dispose(tokens, labels, allLabels, feed, z);
// What should stay alive: the model's parameters (no buffers) and AdamW's two moments per parameter.
const live = torch.memory().numTensors;
console.log(
  `peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB; load ${loadavg()[0].toFixed(2)}; ` +
    `live tensors after: ${live} (model ${params.length + gpt.namedBuffers().length}, AdamW state ${2 * params.length})`,
);
