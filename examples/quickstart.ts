// Quickstart: fits a two-layer MLP to y = sin(3x) with autograd and plain SGD, on the CPU,
// showing the engine's basics: tensors, autograd, scopes and noGrad.
import * as torch from '../lib/torch.js';

torch.manualSeed(0);
const cfg = torch.config();
console.log(`libtorch ${cfg.torchVersion}, ${cfg.threads} threads, BLAS ${cfg.blas}, allocator ${cfg.allocator}, CUDA ${cfg.cuda}`);

const x = torch.linspace(-1, 1, 256).unsqueeze(1);
const y = x.mul(3).sin();
const hidden = 64;
// Parameters live outside every scope: the training loop never frees them.
const params = [
  torch.randn(1, hidden).mul(1.0).requiresGrad_(),
  torch.zeros(hidden, { requiresGrad: true }),
  torch
    .randn(hidden, 1)
    .mul(1 / Math.sqrt(hidden))
    .requiresGrad_(),
  torch.zeros(1, { requiresGrad: true }),
].map((p) => torch.keep(p.detach().requiresGrad_()));
const [w1, b1, w2, b2] = params;

const lr = 0.1;
const t0 = Date.now();
for (let step = 0; step <= 2000; step++) {
  torch.scope(() => {
    const pred = x.matmul(w1).add(b1).tanh().matmul(w2).add(b2);
    const loss = torch.nn.functional.mseLoss(pred, y);
    for (const p of params) p.grad = null;
    loss.backward();
    torch.noGrad(() => {
      for (const p of params) p.sub_(p.grad!, lr);
    });
    if (step % 500 === 0) console.log(`step ${String(step).padStart(4)}  loss ${loss.item().toFixed(5)}`);
  });
}
const m = torch.memory();
console.log(`done in ${Date.now() - t0} ms; live tensors ${m.numTensors}, allocated ${(m.allocatedBytes / 1024).toFixed(1)} KiB`);
