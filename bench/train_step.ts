// One full tokenizer training step, and the decode of 4 images, at the benchmark sizes:
//   model   encoder ViT-S/16 (SIZE=L: ViT-B/16), slot-causal, 256 px, 256 slots of dim 16
//           (normalised), drop path 0.1; DiT-S-2 decoder (SIZE=L: DiT-L-2) on 16×16×16 latents
//           (random tensors stand in for MAR KL-16 VAE latents; no VAE is attached and REPA is off)
//   step    forward (encoder + 1000-step diffusion loss: eps MSE + learned-sigma VB term, with the
//           first-k nested mask, k ~ U{1..256}), backward, clipGradNorm_(3.0), AdamW step
//           (lr 1e-4, betas 0.9/0.95, weight decay 0.05 on ndim ≥ 2 as train-tokenizer.ts), zero
//           grad; batch 4, float32 weights (PRECISION=bf16: the forward under bf16 autocast), random
//           weights and data
//   decode  eval mode, 4 images' tokens → latents by 25 respaced ancestral steps at CFG 3 (batch 8
//           through the DiT); this is Tokenizer.decode minus the VAE decode (sampleLatents); under
//           bf16 autocast with PRECISION=bf16
// Prints the median/min/max step time over ITERS steps after 2 warm-ups, the decode time over DECODES
// decodes after 1 warm-up, and the peak RSS of the process (getrusage maxrss). On CUDA each timing
// synchronizes the device before reading the clock, so that it covers the queued kernels.
//
// Run:  npx tsc -p tsconfig.json && node dist/bench/train_step.js
// Environment (defaults first):
//   ITERS=10, DECODES=3      timed steps and decodes
//   THREADS=2                intra-op CPU threads
//   DEVICE=cpu|cuda|cuda:N   where the model, AdamW state, data and noise live (CUDA asked for but
//                            not available: fails at once)
//   SIZE=S|L                 S: ViT-S/16 + DiT-S-2; L: ViT-B/16 + DiT-L-2 (all else the same)
//   PRECISION=fp32|bf16      bf16: forward (training step and decode) under bfloat16 autocast on
//                            the device type, weights and AdamW state stay float32
// PyTorch reference for the same step and decode, with the same variables: bench/python/train_step_ref.py
import { loadavg } from 'node:os';
import * as torch from '../lib/torch.js';
import { Tokenizer } from '../lib/models/tokenizer/tokenizer.js';
import { AdamW, paramGroupsWeightDecay, clipGradNorm_ } from '../lib/optim/index.js';
import { resolveDevice, deviceType } from '../lib/core/device.js';

const ITERS = Number(process.env.ITERS) || 10;
const DECODES = Number(process.env.DECODES) || 3;
const WARMUP = 2;
const B = 4;
const SIZES = { S: ['vit_small_patch16', 'DiT-S-2'], L: ['vit_base_patch16', 'DiT-L-2'] } as const;
const SIZE = (process.env.SIZE || 'S') as keyof typeof SIZES;
const PRECISION = process.env.PRECISION || 'fp32';
// Bad settings stop the run before any work, with what was asked (never a silent CPU or fp32 run).
const fail = (msg: string): never => {
  console.error(`bench/train_step: ${msg}`);
  process.exit(1);
};
if (!(SIZE in SIZES)) fail(`SIZE '${SIZE}' is not S or L`);
if (PRECISION !== 'fp32' && PRECISION !== 'bf16') fail(`PRECISION '${PRECISION}' is not fp32 or bf16`);
let device = 'cpu';
try {
  device = resolveDevice(process.env.DEVICE || 'cpu', { what: 'DEVICE' });
} catch (e) {
  fail((e as Error).message);
}
const type = deviceType(device);
if (type === 'meta') fail(`DEVICE '${device}': the benchmark needs values; use cpu, cuda or cuda:N`);
/** CUDA runs asynchronously: wait for the queued kernels before reading the clock. */
const sync = type === 'cuda' ? () => torch.cuda.synchronize() : () => {};
/** The forward in the run's precision (autocast off leaves fp32 as it is). */
const amp = <R>(fn: () => R): R => torch.autocast({ device: type, dtype: 'bfloat16', enabled: PRECISION === 'bf16' }, fn);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const stats = (ms: number[]) =>
  `median ${median(ms).toFixed(1).padStart(8)} ms  (min ${Math.min(...ms).toFixed(1)}, max ${Math.max(...ms).toFixed(1)}, n ${ms.length})`;

torch.setNumThreads(Number(process.env.THREADS) || 2);
const cfg = torch.config();
console.log(
  `libtorch ${cfg.torchVersion}, ${torch.getNumThreads()} threads, BLAS ${cfg.blas}, load ${loadavg()[0].toFixed(2)}; ` +
    `device ${device}, size ${SIZE}, ${PRECISION}`,
);
torch.manualSeed(0);

// ---- model, optimizer, data ----
const [encoder, ditModel] = SIZES[SIZE];
const tok = new Tokenizer({
  encoder,
  encImgSize: 256,
  encCausal: true,
  numSlots: 256,
  slotDim: 16,
  dropPathRate: 0.1,
  normSlots: true,
  enableNest: true,
  vae: 'mar',
  ditModel,
  useRepa: false,
});
if (tok.latentChannels !== 16 || tok.latentSize !== 16) throw new Error(`expected a 16×16×16 latent, got ${tok.latentChannels}×${tok.latentSize}²`);
tok.to(device).train();
const params = tok.parameters();
const optimizer = new AdamW(paramGroupsWeightDecay(tok, 0.05), { lr: 1e-4, betas: [0.9, 0.95], eps: 1e-8 });
const images = torch.keep(torch.rand(B, 3, 256, 256, { device }));
const latents = torch.keep(torch.randn(B, 16, 16, 16, { device }));
// encoder counts the encoder2slot projection too, as the reference's SlotEncoder: all three numbers must match it
console.log(
  `${tok.numParameters({ trainableOnly: true })} trainable parameters (encoder ${tok.encoder.numParameters() + tok.encoder2slot.numParameters()}, DiT ${tok.dit.numParameters()})`,
);

/** One training step; returns the loss and the pre-clip gradient norm. */
function trainStep(): { loss: number; gradNorm: number } {
  return torch.scope(() => {
    const { diff_loss } = amp(() => tok.lossFromLatents(latents, tok.encode(images), null, {}));
    diff_loss.backward();
    const gradNorm = clipGradNorm_(params, 3.0);
    optimizer.step();
    optimizer.zeroGrad(true);
    return { loss: diff_loss.item(), gradNorm: gradNorm.item() };
  });
}

// ---- training step ----
const stepMs: number[] = [];
const losses: number[] = [];
for (let i = 0; i < WARMUP + ITERS; i++) {
  const t0 = performance.now();
  const { loss, gradNorm } = trainStep();
  sync();
  const ms = performance.now() - t0;
  if (i >= WARMUP) stepMs.push(ms);
  losses.push(loss);
  if (i === 0) console.log(`step 1: loss ${loss.toFixed(4)}, grad norm ${gradNorm.toFixed(3)}`);
}
console.log(`${'train step (fwd+bwd+clip+AdamW+zero grad), batch 4'.padEnd(60)} ${stats(stepMs)}`);
console.log(`  losses: ${losses.map((l) => l.toFixed(4)).join(' ')}`);

// ---- decode: 25 respaced steps at CFG 3, without the VAE ----
// The tokens are encoded once, untimed, in float32 (as both sides do); only the sampling is timed.
tok.eval();
const tokens = torch.keep(torch.noGrad(() => tok.encode(images)));
const keepAll = torch.keep(tok.firstKMask(B, tok.numSlots, device)); // what decode() passes for numTokens = numSlots
const decode = () =>
  torch.scope(() => {
    amp(() => tok.sampleLatents(tokens, { dropMask: keepAll, cfg: 3, steps: '25', seed: 0 }));
  });
const decodeMs: number[] = [];
for (let i = 0; i < 1 + DECODES; i++) {
  const t0 = performance.now();
  decode();
  sync();
  if (i >= 1) decodeMs.push(performance.now() - t0);
}
console.log(`${'decode 4 images, 25 steps, CFG 3 (latents only, no VAE)'.padEnd(60)} ${stats(decodeMs)}`);

torch.dispose(images, latents, tokens, keepAll);
// What should stay alive: the model's parameters and buffer, AdamW's two moments per parameter, and
// the schedule tables the 1000-step and 25-step diffusions cache (a handful each).
const live = torch.memory().numTensors,
  model = params.length + tok.namedBuffers().length;
console.log(
  `peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB; load ${loadavg()[0].toFixed(2)}; ` +
    `live tensors after: ${live} (model ${model}, AdamW state ${2 * params.length}, cached schedule tables ${live - model - 2 * params.length})`,
);
