// The cosine-DDPM diffusion head (upstream DiffLoss with use_si False; no Semanticist config uses it,
// and the upstream fixtures do not record it): the cosine schedule against values computed
// independently with Python's math module, the head's wiring (2C outputs, t then noise per repeated
// row, the hybrid loss), ancestral sampling with CFG halves and temperature, and a GPT built from a
// config with use_si False generating end to end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../lib/torch.js';
import { cosineBetas, createDiffusion } from '../lib/diffusion/index.js';
import { DiffLoss } from '../lib/models/gpt/diffloss.js';
import { buildGptFromConfig } from '../lib/models/gpt/gpt-model-config.js';
import { generate } from '../lib/models/gpt/generate.js';

test('cosine schedule: ADM betas_for_alpha_bar values (Python math, float64) and the cap at 0.999', () => {
  const b = cosineBetas(1000);
  assert.ok(Math.abs(b[0] - 4.128422482196914e-5) < 1e-15);
  assert.ok(Math.abs(b[500] - 0.003155691441585007) < 1e-15);
  assert.ok(Math.abs(b[998] - 0.7499993929011166) < 1e-12);
  assert.equal(b[999], 0.999);
  for (let i = 1; i < 1000; i++) assert.ok(b[i] >= b[i - 1], 'non-decreasing');
  torch.scope(() => {
    const d = createDiffusion('', { noiseSchedule: 'cosine' });
    let acp = 1;
    for (const x of b) acp *= 1 - x;
    assert.ok(Math.abs(acp - 2.4287669070348567e-9) < 1e-20);
    d.dispose();
  });
  assert.throws(() => createDiffusion('', { noiseSchedule: 'sigmoid' as any }), /unknown noise schedule 'sigmoid' \(known: linear, cosine\)/);
});

const C = 4,
  D = 16;
function head(): DiffLoss {
  torch.manualSeed(0);
  const h = new DiffLoss({ targetChannels: C, zChannels: D, depth: 2, width: 32, numSamplingSteps: '10', diffusionBatchMul: 2, useSi: false });
  // the zero-initialised output layer would make every prediction 0; give it weights
  torch.noGrad(() => {
    for (const p of h.net.final_layer.parameters()) p.add_(torch.randnLike(p), 0.1);
  });
  return h;
}

test('DDPM head: 2C outputs (learned sigma), draws t then noise per repeated row, hybrid loss, gradients', () =>
  torch.scope(() => {
    const h = head();
    assert.equal(h.net.final_layer.linear.weight.shape[0], 2 * C);
    const target = torch.randn(3, 2, C),
      z = torch.randn(3, 2, D);
    const g = new torch.Generator().manualSeed(3);
    const r = h.forward(target, z, { generator: g });
    // the same draws in the same order: t = randint(0, 1000, [12]), then noise (12, C)
    const g2 = new torch.Generator().manualSeed(3);
    const t = torch.randint(0, 1000, [12], { generator: g2 });
    const noise = torch.randn([12, C], { generator: g2 });
    assert.ok(r.t.equal(t) && r.x0.equal(noise));
    const x1 = target.reshape(6, C).repeat(2, 1),
      c = z.reshape(6, D).repeat(2, 1);
    const d = h.trainDiffusion!;
    const xT = d.qSample(x1, t, noise);
    const ref = d.trainingLossesFromOutput(h.net.forward(xT, t, c), x1, xT, t, noise);
    assert.ok(r.lossRows.sub(ref.loss).abs().max().item() < 1e-5);
    assert.ok(Math.abs(r.loss.item() - ref.loss.mean().item()) < 1e-5);
    r.loss.backward();
    assert.ok(h.net.input_proj.weight.grad!.abs().sum().item() > 0);
    h.dispose();
  }));

test('DDPM head sampling: N rows (or N/2 with CFG), seeded, temperature scales only the step noise', () =>
  torch.scope(() => {
    const h = head();
    h.eval();
    const z = torch.randn(6, D);
    const a = h.sample(z, { generator: new torch.Generator().manualSeed(1) });
    assert.deepEqual(a.shape, [6, C]);
    assert.ok(a.equal(h.sample(z, { generator: new torch.Generator().manualSeed(1) })));
    const guided = h.sample(z, { cfg: 3, generator: new torch.Generator().manualSeed(1) });
    assert.deepEqual(guided.shape, [3, C]);
    // temperature 0: the step noise drops out, so any step noise gives the same sample
    const init = torch.randn(6, C);
    const cold1 = h.sample(z, { noise: init, temperature: 0, stepNoise: (_i, like) => torch.randnLike(like) });
    const cold2 = h.sample(z, { noise: init, temperature: 0, stepNoise: (_i, like) => torch.zerosLike(like) });
    assert.ok(cold1.sub(cold2).abs().max().item() < 1e-6);
    const warm = h.sample(z, { noise: init, temperature: 1, stepNoise: (_i, like) => torch.onesLike(like) });
    assert.ok(warm.sub(cold2).abs().max().item() > 1e-3);
    h.dispose();
  }));

test('a GPT with use_si False from a config trains and generates end to end', () =>
  torch.scope(() => {
    const gpt = buildGptFromConfig({
      target: 'GPT',
      params: {
        dim: 32,
        n_layer: 1,
        n_head: 2,
        num_slots: 4,
        slot_dim: C,
        num_classes: 10,
        diffloss_d: 1,
        diffloss_w: 32,
        use_si: false,
        num_sampling_steps: '5',
        cond_method: 'concat',
        diffusion_batch_mul: 2,
      },
    });
    assert.equal(gpt.diffloss!.useSi, false);
    gpt.train();
    const r = gpt.forward(torch.randn(2, 4, C), torch.tensor([1, 2])) as ReturnType<DiffLoss['forward']>;
    assert.ok(Number.isFinite(r.loss.item()));
    gpt.eval();
    const tokens = generate(gpt, torch.tensor([3, 7]), 4, { cfgScale: 2, cfgSchedule: 'linear', generator: new torch.Generator().manualSeed(0) });
    assert.deepEqual(tokens.shape, [2, 4, C]);
    assert.ok(tokens.isfinite().all().item());
    gpt.dispose();
  }));
