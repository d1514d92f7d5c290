// One full tokenizer training step, and the decode of 4 images, at the benchmark sizes:
//   model   encoder ViT-S/16, slot-causal, 256 px, 256 slots of dim 16 (normalised), drop path 0.1;
//           DiT-S-2 decoder on 16×16×16 latents (random tensors stand in for MAR KL-16 VAE latents;
//           no VAE is attached and REPA is off)
//   step    forward (encoder + 1000-step diffusion loss: eps MSE + learned-sigma VB term, with the
//           first-k nested mask, k ~ U{1..256}), backward, clipGradNorm_(3.0), AdamW step
//           (lr 1e-4, betas 0.9/0.95, weight decay 0.05 on ndim ≥ 2 as train-tokenizer.ts), zero
//           grad; batch 4, float32, random weights and data
//   decode  eval mode, 4 images' tokens → latents by 25 respaced ancestral steps at CFG 3 (batch 8
//           through the DiT); this is Tokenizer.decode minus the VAE decode (sampleLatents)
// Prints the median/min/max step time over ITERS steps after 2 warm-ups, the decode time over DECODES
// decodes after 1 warm-up, and the peak RSS of the process (getrusage maxrss).
//
// Run:  npx tsc -p tsconfig.json && node dist/bench/train_step.js
//       (ITERS=10, DECODES=3 by default; THREADS=n sets the intra-op threads, default 2)
// PyTorch reference for the same step and decode: bench/python/train_step_ref.py
import { loadavg } from 'node:os';
import * as torch from '../lib/torch.js';
import { Tokenizer } from '../lib/models/tokenizer/tokenizer.js';
import { AdamW, paramGroupsWeightDecay, clipGradNorm_ } from '../lib/optim/index.js';

const ITERS = Number(process.env.ITERS) || 10;
const DECODES = Number(process.env.DECODES) || 3;
const WARMUP = 2;
const B = 4;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const stats = (ms: number[]) => `median ${median(ms).toFixed(1).padStart(8)} ms  (min ${Math.min(...ms).toFixed(1)}, max ${Math.max(...ms).toFixed(1)}, n ${ms.length})`;

torch.setNumThreads(Number(process.env.THREADS) || 2);
const cfg = torch.config();
console.log(`libtorch ${cfg.torchVersion}, ${torch.getNumThreads()} threads, BLAS ${cfg.blas}, load ${loadavg()[0].toFixed(2)}`);
torch.manualSeed(0);

// ---- model, optimizer, data ----
const tok = new Tokenizer({
  encoder: 'vit_small_patch16', encImgSize: 256, encCausal: true, numSlots: 256, slotDim: 16, dropPathRate: 0.1,
  normSlots: true, enableNest: true, vae: 'mar', ditModel: 'DiT-S-2', useRepa: false,
});
if (tok.latentChannels !== 16 || tok.latentSize !== 16) throw new Error(`expected a 16×16×16 latent, got ${tok.latentChannels}×${tok.latentSize}²`);
tok.train();
const params = tok.parameters();
const optimizer = new AdamW(paramGroupsWeightDecay(tok, 0.05), { lr: 1e-4, betas: [0.9, 0.95], eps: 1e-8 });
const images = torch.keep(torch.rand(B, 3, 256, 256));
const latents = torch.keep(torch.randn(B, 16, 16, 16));
console.log(`${tok.numParameters({ trainableOnly: true })} trainable parameters (encoder ${tok.encoder.numParameters()}, DiT ${tok.dit.numParameters()})`);

/** One training step; returns the loss and the pre-clip gradient norm. */
function trainStep(): { loss: number; gradNorm: number } {
  return torch.scope(() => {
    const { diff_loss } = tok.lossFromLatents(latents, tok.encode(images), null, {});
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
  const ms = performance.now() - t0;
  if (i >= WARMUP) stepMs.push(ms);
  losses.push(loss);
  if (i === 0) console.log(`step 1: loss ${loss.toFixed(4)}, grad norm ${gradNorm.toFixed(3)}`);
}
console.log(`${'train step (fwd+bwd+clip+AdamW+zero grad), batch 4'.padEnd(60)} ${stats(stepMs)}`);
console.log(`  losses: ${losses.map((l) => l.toFixed(4)).join(' ')}`);

// ---- decode: 25 respaced steps at CFG 3, without the VAE ----
tok.eval();
const tokens = torch.keep(torch.noGrad(() => tok.encode(images)));
const keepAll = torch.keep(tok.firstKMask(B, tok.numSlots));   // what decode() passes for numTokens = numSlots
const decode = () => torch.scope(() => { tok.sampleLatents(tokens, { dropMask: keepAll, cfg: 3, steps: '25', seed: 0 }); });
const decodeMs: number[] = [];
for (let i = 0; i < 1 + DECODES; i++) {
  const t0 = performance.now();
  decode();
  if (i >= 1) decodeMs.push(performance.now() - t0);
}
console.log(`${'decode 4 images, 25 steps, CFG 3 (latents only, no VAE)'.padEnd(60)} ${stats(decodeMs)}`);

torch.dispose(images, latents, tokens, keepAll);
// What should stay alive: the model's parameters and buffer, AdamW's two moments per parameter, and
// the schedule tables the 1000-step and 25-step diffusions cache (a handful each).
const live = torch.memory().numTensors, model = params.length + tok.namedBuffers().length;
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB; load ${loadavg()[0].toFixed(2)}; ` +
  `live tensors after: ${live} (model ${model}, AdamW state ${2 * params.length}, cached schedule tables ${live - model - 2 * params.length})`);
