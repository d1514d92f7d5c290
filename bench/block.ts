// One pre-norm transformer block, forward + backward, composed from TypeScript ops. Prints figures.
//
// Run:  npx tsc -p tsconfig.json && node dist/bench/block.js
//       (OMP_NUM_THREADS=n sets the intra-op threads; ITERS=10 and WARMUP=2 change the counts)
//
// Block: x → LayerNorm → QKV linear → attention (torch.nn.functional.scaledDotProductAttention)
// → proj → residual → LayerNorm → MLP (4×, GELU) → residual; loss = mean(out²); dim 384, 6 heads,
// 320 tokens, batch 4. Median ms per forward+backward over ITERS iterations after WARMUP, each
// iteration in its own torch.scope; the live tensor count after the loop shows nothing leaked.
// A smaller block (dim 256, seq 64, batch 8) took ~18 ms in JS and in Python
// (docs/libtorch.md#performance).
import { loadavg } from 'node:os';
import * as torch from '../lib/torch.js';
import { opIndexOrMissing } from '../lib/core/ops.js';

const F = torch.nn.functional;
const ITERS = Number(process.env.ITERS) || 10;
const WARMUP = process.env.WARMUP === undefined ? 2 : Number(process.env.WARMUP);
const [B, T, D, H] = [4, 320, 384, 6];
const HD = D / H;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
};

torch.manualSeed(0);
const cfg = torch.config();
console.log(`libtorch ${cfg.torchVersion}; threads ${cfg.threads}; BLAS ${cfg.blas}; allocator ${cfg.allocator}; node ${process.version}`);
console.log(
  `attention: ${opIndexOrMissing('scaled_dot_product_attention') >= 0 ? 'fused aten::scaled_dot_product_attention' : 'composed in TS (this libtorch has no aten::scaled_dot_product_attention)'}`,
);
console.log(
  `load average at start: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);

const tensorsAtStart = torch.memory().numTensors;
/** Parameters: created in a scope that returns them, so only they survive. */
const p = torch.scope(() => {
  const w = (o: number, i: number) => torch.randn(o, i).mul(0.02).requiresGrad_();
  const zeros = (n: number) => torch.zeros(n, { requiresGrad: true });
  const ones = (n: number) => torch.ones(n, { requiresGrad: true });
  return {
    ln1w: ones(D),
    ln1b: zeros(D),
    qkvW: w(3 * D, D),
    qkvB: zeros(3 * D),
    projW: w(D, D),
    projB: zeros(D),
    ln2w: ones(D),
    ln2b: zeros(D),
    fc1W: w(4 * D, D),
    fc1B: zeros(4 * D),
    fc2W: w(D, 4 * D),
    fc2B: zeros(D),
  };
});
const params = Object.values(p);
const x = torch.scope(() => torch.randn(B, T, D));

function block(inp: torch.Tensor): torch.Tensor {
  const h = F.layerNorm(inp, [D], p.ln1w, p.ln1b);
  const qkv = F.linear(h, p.qkvW, p.qkvB).view(B, T, 3, H, HD).permute(2, 0, 3, 1, 4); // 3, B, H, T, HD
  const [q, k, v] = [0, 1, 2].map((i) => qkv.select(0, i));
  const att = F.scaledDotProductAttention(q, k, v).transpose(1, 2).reshape(B, T, D);
  const x1 = inp.add(F.linear(att, p.projW, p.projB));
  const m = F.linear(F.gelu(F.linear(F.layerNorm(x1, [D], p.ln2w, p.ln2b), p.fc1W, p.fc1B)), p.fc2W, p.fc2B);
  return x1.add(m);
}

function step(): number {
  return torch.scope(() => {
    for (const q of params) q.grad = null;
    const loss = block(x).square().mean();
    loss.backward();
    return loss.item();
  });
}

const times: number[] = [];
let loss = NaN;
for (let i = 0; i < WARMUP + ITERS; i++) {
  const t0 = performance.now();
  loss = step();
  if (i >= WARMUP) times.push(performance.now() - t0);
}
// Matmul FLOPs only (linears + attention), forward ×3 for forward+backward.
const tokens = B * T;
const fwd = 2 * tokens * (D * 3 * D + D * D + 2 * D * 4 * D) + 2 * 2 * B * H * T * T * HD;
const ms = median(times);
console.log(
  `block fwd+bwd (dim ${D}, ${H} heads, ${T} tokens, batch ${B}): median ${ms.toFixed(1)} ms ` +
    `(min ${Math.min(...times).toFixed(1)}, max ${Math.max(...times).toFixed(1)}; ${ITERS} iterations after ${WARMUP} warm-ups), ` +
    `~${((3 * fwd) / (ms / 1e3) / 1e9).toFixed(0)} GFLOP/s of matmul work; loss ${loss.toFixed(6)}`,
);
const live = torch.memory().numTensors - tensorsAtStart;
console.log(`live tensors after the loop: ${live} (= ${params.length} parameters + 1 input${live === params.length + 1 ? ', nothing leaked' : ', LEAK'})`);
console.log(
  `load average at end: ${loadavg()
    .map((v) => v.toFixed(2))
    .join(' ')}`,
);
