// Training memory: a small model trained 300 steps with AdamW, clipping, an LR schedule and an
// EMA, one torch.scope per step: after the first step (which creates the optimizer state) the
// number of live tensors and their bytes stay exactly constant, and the loss goes down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../lib/torch.js';
import * as nn from '../lib/nn/index.js';
import * as optim from '../lib/optim/index.js';

const F = nn.functional;

class Block extends nn.Module {
  norm = new nn.LayerNorm(32);
  fc1 = new nn.Linear(32, 64);
  act = new nn.GELU('tanh');
  fc2 = new nn.Linear(64, 32);
  drop_path = new nn.DropPath(0.1);
  override forward(x: torch.Tensor): torch.Tensor {
    return x.add(this.drop_path.forward(this.fc2.forward(this.act.forward(this.fc1.forward(this.norm.forward(x))))));
  }
}

class Net extends nn.Module {
  embed = new nn.Linear(8, 32);
  blocks = new nn.ModuleList([new Block(), new Block()]);
  head = new nn.Sequential(new nn.LayerNorm(32), new nn.Dropout(0.1), new nn.Linear(32, 1));
  override forward(x: torch.Tensor): torch.Tensor {
    let h = this.embed.forward(x);
    for (const b of this.blocks) h = b.forward(h);
    return this.head.forward(h);
  }
}

test('300 AdamW steps in torch.scope: live tensors and bytes constant after warm-up', () => {
  torch.manualSeed(0);
  const before = torch.memory().numTensors;
  const { model, x, y } = torch.scope(() => {
    const x = torch.randn(64, 8);
    return { model: new Net(), x, y: x.sum(1, true).sin() };
  });
  const opt = new optim.AdamW(optim.paramGroupsWeightDecay(model, 0.05), { lr: 3e-3, betas: [0.9, 0.95] });
  const sched = new optim.LRScheduler(opt, optim.cosineSchedule({ warmupSteps: 20, tInitial: 280 }));
  const ema = new optim.EMA(model);

  const counts: number[] = [],
    bytes: number[] = [],
    losses: number[] = [];
  for (let step = 0; step < 300; step++) {
    const loss = torch.scope(() => {
      const l = F.mseLoss(model.forward(x), y);
      l.backward();
      optim.clipGradNorm_(model.parameters(), 1.0);
      opt.step();
      sched.stepUpdate(step + 1);
      opt.zeroGrad();
      ema.update();
      return l.item();
    });
    losses.push(loss);
    const m = torch.memory();
    counts.push(m.numTensors);
    bytes.push(m.numBytes);
  }
  const nParams = model.parameters().length;
  assert.ok(
    counts.slice(1).every((c) => c === counts[1]),
    `live tensors vary: ${[...new Set(counts)].join(', ')}`,
  );
  assert.ok(
    bytes.slice(1).every((b) => b === bytes[1]),
    `live bytes vary: ${[...new Set(bytes)].join(', ')}`,
  );
  // After step 1 exactly these live: parameters, exp_avg, exp_avg_sq, EMA shadows, x and y.
  assert.equal(counts[1], before + 4 * nParams + 2);
  assert.ok(losses[299] < 0.5 * losses[0], `loss ${losses[0]} → ${losses[299]}`);

  model.dispose();
  opt.dispose();
  ema.dispose();
  torch.dispose(x, y);
  assert.equal(torch.memory().numTensors, before);
});
