// Tokenizer forward passes at benchmark sizes (issue: encoder ViT-S/16 at 256 px with 256 slots,
// batch 4; DiT-S-2 on 16×16×16 latents with 256 condition tokens, batch 8). float32, eval, noGrad,
// random weights. Prints median ms over ITERS iterations after 2 warm-ups, and peak RSS.
//
// Run:  npx tsc -p tsconfig.json && node dist/bench/tokenizer.js     (ITERS=10 by default)
// PyTorch reference for the same shapes: bench/python/tokenizer_ref.py
import { loadavg } from 'node:os';
import * as torch from '../lib/torch.js';
import { VisionTransformer, VIT_SIZES } from '../lib/models/tokenizer/vit-encoder.js';
import { DiT, ditSize } from '../lib/models/tokenizer/dit.js';

const ITERS = Number(process.env.ITERS) || 10;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
let peakRss = 0;
const sampleRss = () => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
};

function time(name: string, body: () => void): void {
  for (let i = 0; i < 2; i++) torch.scope(body);
  const ms: number[] = [];
  for (let i = 0; i < ITERS; i++) {
    const t0 = performance.now();
    torch.scope(body);
    ms.push(performance.now() - t0);
    sampleRss();
  }
  console.log(`${name.padEnd(58)} median ${median(ms).toFixed(1).padStart(7)} ms  (min ${Math.min(...ms).toFixed(1)}, max ${Math.max(...ms).toFixed(1)})`);
}

const cfg = torch.config();
console.log(`libtorch ${cfg.torchVersion}, ${cfg.threads} threads, BLAS ${cfg.blas}, load ${loadavg()[0].toFixed(2)}`);
torch.manualSeed(0);

const enc = new VisionTransformer({ ...VIT_SIZES.vit_small_patch16, imgSize: 256, numSlots: 256, dropPathRate: 0.1 }).eval();
const images = torch.keep(torch.rand(4, 3, 256, 256));
torch.noGrad(() =>
  time('encoder ViT-S/16 causal, 256 px, 256 slots, batch 4', () => {
    enc.forward(images, { isCausal: true });
  }),
);

const dit = new DiT({ ...ditSize('DiT-S-2'), inputSize: 16, inChannels: 16, numSlots: 256, slotDim: 16, useRepa: false }).eval();
const x = torch.keep(torch.randn(8, 16, 16, 16));
const t = torch.keep(torch.randint(0, 1000, [8]));
const tokens = torch.keep(torch.randn(8, 256, 16));
torch.noGrad(() =>
  time('DiT-S-2, 16×16×16 latents + 256 tokens, batch 8', () => {
    dit.forward(x, t, tokens);
  }),
);

console.log(`peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB; live tensors after: ${torch.memory().numTensors}`);
