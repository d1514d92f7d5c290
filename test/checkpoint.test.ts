// Training checkpoints: a save/load round trip resumes bit-identically (weights, EMA, AdamW state,
// LR schedule, RNG), partial folders are never taken for checkpoints, and old ones are pruned.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import * as torch from '../lib/torch.js';
import { AdamW, EMA, paramGroupsWeightDecay, LRScheduler, cosineSchedule } from '../lib/optim/index.js';
import { saveCheckpoint, loadCheckpoint, latestCheckpoint, listCheckpoints } from '../lib/train/checkpoint.js';

function makeParts(seed: number) {
  torch.manualSeed(seed);
  const model = new torch.nn.Sequential(new torch.nn.Linear(4, 8), new torch.nn.GELU(), new torch.nn.Linear(8, 1));
  const optimizer = new AdamW(paramGroupsWeightDecay(model, 0.05), { lr: 1e-2, betas: [0.9, 0.95] });
  const scheduler = new LRScheduler(optimizer, cosineSchedule({ warmupSteps: 3, tInitial: 20 }));
  const ema = new EMA(model, 0.9);
  return { model, optimizer, scheduler, ema, generators: [torch.defaultGenerator] };
}

function step(p: ReturnType<typeof makeParts>, i: number): number {
  return torch.scope(() => {
    const x = torch.randn(16, 4); // drawn from the default generator: resume must restore it
    const loss = torch.nn.functional.mseLoss(p.model.forward(x) as torch.Tensor, x.sum(1, true).sin());
    p.optimizer.zeroGrad();
    loss.backward();
    p.optimizer.step();
    p.scheduler.stepUpdate(i + 1);
    p.ema.update();
    return loss.item();
  });
}

test('resume from a checkpoint continues exactly as the uninterrupted run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
  const a = makeParts(1);
  const ref: number[] = [];
  for (let i = 0; i < 10; i++) ref.push(step(a, i));

  const b = makeParts(1);
  for (let i = 0; i < 5; i++) step(b, i);
  saveCheckpoint(join(dir, 'models'), 5, b, { data: { epoch: 0, batch: 5 }, configText: 'x: 1\n' });
  const c = makeParts(99); // different init: everything must come from the checkpoint
  const meta = loadCheckpoint(latestCheckpoint(join(dir, 'models'))!, c);
  assert.equal(meta.step, 5);
  assert.deepEqual(meta.data, { epoch: 0, batch: 5 });
  const resumed: number[] = [];
  for (let i = 5; i < 10; i++) resumed.push(step(c, i));
  assert.deepEqual(resumed, ref.slice(5));
  const ea = a.ema.stateDict(),
    ec = c.ema.stateDict();
  for (const k of Object.keys(ea)) assert.ok(ea[k].equal(ec[k]), `ema ${k}`);
});

test('partial folders are ignored; only the newest `keep` checkpoints stay', () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'ckpt-')), 'models');
  const p = makeParts(2);
  for (const s of [10, 20, 30]) saveCheckpoint(dir, s, p, { data: { epoch: 0, batch: s }, keep: 2 });
  assert.deepEqual(
    listCheckpoints(dir).map((e) => e.step),
    [20, 30],
  );
  mkdirSync(join(dir, 'step40')); // a folder without complete.json (e.g. copied by hand, unfinished)
  mkdirSync(join(dir, '.step50.partial-123'));
  assert.equal(latestCheckpoint(dir), join(dir, 'step30'));
  assert.ok(existsSync(join(dir, 'step30', 'model.safetensors')));
  assert.deepEqual(readdirSync(join(dir, 'step30')).sort(), [
    'complete.json',
    'ema.safetensors',
    'model.safetensors',
    'optimizer.pt',
    'rng.pt',
    'scheduler.json',
  ]);
  assert.throws(() => loadCheckpoint(join(dir, 'step40'), p), /not a complete checkpoint/);
});
