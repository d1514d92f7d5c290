// ϵLlamaGen assembled (GPT backbone + diffusion head, the whole upstream state dict loaded strictly)
// against the upstream fixtures: the training loss of case 4 end to end (label drop, x0 and t
// replayed), and generate() of case 5b — KV-cached autoregression with CFG halves and the linear
// schedule over the recorded 8 × (1 + 249) head draws: every per-token condition, scale and token.
// Sizes and arguments come from fixtures.json; a case the set lacks is skipped by name. Tolerance |a − b| ≤ 1e-5·max(1, max|ref|) everywhere,
// the 8 chained tokens included (each feeds the next token's condition; measured: 1.3e-5 absolute
// on tokens of magnitude 7.5 after 8 × 250 SDE steps).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as torch from '../lib/torch.js';
import { loadStateDict } from '../lib/serialization/index.js';
import { GPT } from '../lib/models/gpt/gpt.js';
import { DiffLoss } from '../lib/models/gpt/diffloss.js';
import { generate } from '../lib/models/gpt/generate.js';
import { UPSTREAM_FIXTURES, fixturesJson } from './fixture-paths.js';
import { loadCase, assertNear, skipUnless } from './parity.js';

const fx = fixturesJson();
const g = fx.config.gpt;
const args = fx.config.args;

function buildGpt(): GPT<DiffLoss> {
  const gpt = new GPT(
    {
      dim: g.dim,
      nLayer: g.n_layer,
      nHead: g.n_head,
      numSlots: g.num_slots,
      slotDim: g.slot_dim,
      numClasses: g.num_classes,
      clsTokenNum: g.cls_token_num,
      classDropoutProb: g.class_dropout_prob,
      attnDropoutP: 0,
      residDropoutP: 0,
      ffnDropoutP: 0,
      dropPathRate: 0,
    },
    (d) =>
      new DiffLoss({
        targetChannels: d.targetChannels,
        zChannels: d.zChannels,
        depth: g.diffloss_d,
        width: g.diffloss_w,
        diffusionBatchMul: g.diffusion_batch_mul,
        condMethod: 'concat',
        useSi: true,
      }),
  );
  torch.scope(() => {
    const r = gpt.loadStateDict(loadStateDict(join(UPSTREAM_FIXTURES, 'gpt_state_dict.pkl')), { strict: true });
    assert.deepEqual(r, { missingKeys: [], unexpectedKeys: [] });
  });
  return gpt;
}
const gpt = buildGpt();

for (const v of ['A', 'B']) {
  test(`case 4 (train${v}): gpt(tokens, labels) in train mode = the recorded loss (label drop, x0, t replayed)`, { skip: skipUnless('case4_gpt') }, () =>
    torch.scope(() => {
      const c4 = loadCase('case4_gpt.safetensors');
      gpt.train();
      const r = gpt.forward(c4('in.tokens'), c4('in.labels'), {
        labelRand: c4(`rng.train${v}.label_rand`),
        head: { x0: c4(`rng.train${v}.x0`), t: c4(`rng.train${v}.t`) },
      }) as ReturnType<DiffLoss['forward']>;
      assertNear(r.lossRows, c4(`out.train${v}.loss_rows`), `train${v}.loss_rows`);
      assertNear(r.loss, c4(`out.train${v}.loss`), `train${v}.loss`);
      // the loss trains the backbone too (the targets are detached, the condition is not)
      r.loss.backward();
      assert.ok(gpt.z_proj.weight.grad && gpt.z_proj.weight.grad.abs().sum().item() > 0);
      assert.ok(gpt.diffloss!.net.input_proj.weight.grad);
      gpt.zeroGrad();
      gpt.eval();
    }),
  );
}

test('case 5b: generate() with CFG and the linear schedule reproduces every condition, scale and token', { skip: skipUnless('case5_generate') }, () =>
  torch.scope(() => {
    const c5b = loadCase('case5_generate.safetensors');
    const labels = c5b('in.labels');
    assert.deepEqual(labels.tolist(), args.gen_labels);
    const n = c5b('out.tokens').shape[1];
    const conds: torch.Tensor[] = [],
      cfgs: number[] = [],
      toks: torch.Tensor[] = [];
    gpt.eval();
    const em = c5b('rng.gen.em');
    const out = generate(gpt, labels, n, {
      cfgScale: args.gen_cfg,
      cfgSchedule: 'linear',
      temperature: args.gen_temperature,
      noise: (k) => c5b('rng.gen.init').select(0, k),
      stepNoise: (k, i) => em.select(0, k).select(0, i),
      onToken: (_k, { cond, cfg, token }) => {
        conds.push(torch.keep(cond.clone()));
        cfgs.push(cfg);
        toks.push(torch.keep(token.clone()));
      },
    });
    assert.deepEqual(cfgs, c5b('out.step_cfg').tolist());
    for (let k = 0; k < n; k++) {
      assertNear(conds[k], c5b('out.step_cond').select(0, k), `step_cond[${k}]`);
      assertNear(toks[k], c5b('out.step_token').select(0, k), `step_token[${k}]`);
    }
    assertNear(out, c5b('out.tokens'), 'tokens');
    assert.equal(gpt.cacheInfo, null, 'the caches are freed after generating');
    torch.dispose(conds, toks);
  }),
);

test('generate: no CFG keeps the batch, bad arguments are named errors, caches are freed on error', () =>
  torch.scope(() => {
    gpt.eval();
    torch.manualSeed(0);
    const labels = torch.tensor([1, 2, 3]);
    const out = generate(gpt, labels, 3, { generator: new torch.Generator().manualSeed(1) });
    assert.deepEqual(out.shape, [3, 3, g.slot_dim]);
    assert.ok(out.isfinite().all().item());
    // the same seed gives the same tokens
    const again = generate(gpt, labels, 3, { generator: new torch.Generator().manualSeed(1) });
    assert.ok(again.equal(out));
    assert.throws(() => generate(gpt, labels, g.num_slots + 1), new RegExp(`numTokens must be an integer in 1..${g.num_slots}`));
    assert.throws(() => generate(gpt, labels.unsqueeze(1), 2), /labels must be \(B\), got \(3, 1\)/);
    const live = torch.memory().numTensors;
    assert.throws(() => generate(gpt, labels, 2, { noise: () => torch.zeros(5, 5) }), /noise must be/);
    assert.equal(gpt.cacheInfo, null);
    assert.ok(torch.memory().numTensors <= live, 'nothing leaks from a failed generate');
  }));
