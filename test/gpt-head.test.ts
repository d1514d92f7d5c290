// The ϵLlamaGen diffusion head (lib/models/gpt/diffloss*.ts, transport.ts) against the upstream
// fixtures:
// - case 5: net forward, forward_with_cfg, the 250-step Euler–Maruyama SDE replayed from the
//   recorded draws (time grid, dt, every step of the trajectory, the sample), the linear CFG schedule;
// - case 5b, the head calls only: DiffLoss.sample with the linear-schedule CFG on the recorded
//   per-token conditions out.step_cond, draws rng.gen.* replayed → out.step_token (first, middle, last token);
// - case 4, the head part: given the recorded condition out.trainX.hidden, in.tokens and the draws
//   rng.trainX.x0 / rng.trainX.t, the velocity on the 64 repeated rows, the per-row losses, the loss.
// Weights: gpt_state_dict.safetensors `diffloss.net.*` (key order checked against the .pkl). Sizes,
// scales and temperatures come from fixtures.json; a case the set does not list is skipped by name.
// Tolerance: |a − b| ≤ 1e-5·max(1, max|ref|) for every float output but the CFG forward (which
// uses test/parity.ts's assertParity: CFG scales the rounding by s and s − 1), every step of the 250-step SDE
// trajectory included. That is the README's single-forward rule: with the recorded draws replayed
// and a bit-exact time grid the loop does not amplify the per-forward ~1-ulp BLAS differences
// (the head is an MLP without attention, so none of the reference's less accurate exp kernels). Observed worst relative errors: ≈ 1.2e-6 for
// cfg.v, ≈ 4e-7 over the trajectory, ≈ 3e-6 for the scale-4 CFG sample of case 5b's last token
// (the last test prints them). The time grid and dt must match bit for bit (transport.ts
// linspaceF32); the CFG schedule (float64) exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as torch from '../lib/torch.js';
import { loadStateDict, stripPrefix } from '../lib/serialization/index.js';
import { DiffLoss, cfgSchedule } from '../lib/models/gpt/diffloss.js';
import { SimpleMLPAdaLN } from '../lib/models/gpt/diffloss-mlp.js';
import { sdeTimeGrid, sampleSde, sampleOde, trainingLosses } from '../lib/models/gpt/transport.js';
import type { Linear } from '../lib/nn/layers/linear.js';
import { UPSTREAM_FIXTURES, fixturesJson } from './fixture-paths.js';
import { loadCase, assertNear, assertParity, as64, needs } from './parity.js';

const fx = fixturesJson();
const g = fx.config.gpt;
const args = fx.config.args;
const headOptions = {
  targetChannels: g.slot_dim,
  zChannels: g.dim,
  depth: g.diffloss_d,
  width: g.diffloss_w,
  diffusionBatchMul: g.diffusion_batch_mul,
  condMethod: 'concat' as const,
  useSi: true,
};
const REL = 1e-5;

const headState = (file: string) =>
  stripPrefix(new Map([...loadStateDict(join(UPSTREAM_FIXTURES, file))].filter(([k]) => k.startsWith('diffloss.'))), 'diffloss.');

const head = new DiffLoss(headOptions);
head.loadStateDict(headState('gpt_state_dict.safetensors')); // strict
head.eval();
const head64 = new DiffLoss(headOptions); // the same weights in float64, for assertParity
head64.loadStateDict(headState('gpt_state_dict.safetensors'));
head64.to('float64').eval();
const c5 = loadCase('case5_head.safetensors');
const c4 = loadCase('case4_gpt.safetensors');

/** max |a − b| as a number (for the report in the test output). */
const maxErr = (a: torch.Tensor, b: torch.Tensor) => torch.scope(() => a.double().sub(b.double()).abs().max().item());
const errors: Record<string, { abs: number; scale: number }> = {};
const scaleOf = (ref: torch.Tensor) => torch.scope(() => Math.max(1, ref.abs().max().item()));
function near(got: torch.Tensor, ref: torch.Tensor, what: string, rel = REL) {
  errors[what] = { abs: maxErr(got, ref), scale: scaleOf(ref) };
  assertNear(got, ref, what, rel);
}

test("state dict: the head's keys are the checkpoint's diffloss.* keys, in the .pkl order, with their shapes", () =>
  torch.scope(() => {
    const pkl = [...loadStateDict(join(UPSTREAM_FIXTURES, 'gpt_state_dict.pkl'))].filter(([k]) => k.startsWith('diffloss.'));
    const sd = head.stateDict();
    assert.deepEqual(
      Object.keys(sd).map((k) => `diffloss.${k}`),
      pkl.map(([k]) => k),
    );
    for (const [k, v] of pkl) assert.ok(sd[k.slice('diffloss.'.length)].equal(v), k);
    const files = fx.files.gpt_state_dict;
    for (const [k, v] of Object.entries(sd)) assert.deepEqual(v.shape, files[`diffloss.${k}`].shape, k);
  }));

test('fresh init as upstream: xavier Linears with zero bias, N(0, 0.02) t-MLP, zero adaLN and final layer (output 0)', () =>
  torch.noGrad(() =>
    torch.scope(() => {
      torch.manualSeed(0);
      const net = new SimpleMLPAdaLN({
        inChannels: g.slot_dim,
        modelChannels: g.diffloss_w,
        outChannels: g.slot_dim,
        zChannels: g.dim,
        numResBlocks: g.diffloss_d,
        condMethod: 'concat',
      });
      for (const [k, p] of net.namedParameters()) {
        if (k.endsWith('.bias') && !k.includes('in_ln')) assert.equal(p.abs().max().item(), 0, k);
        if (k.includes('adaLN_modulation') || k.startsWith('final_layer.linear')) assert.equal(p.abs().max().item(), 0, k);
        if (k.startsWith('time_embed.mlp.') && k.endsWith('weight')) assert.ok(Math.abs(p.std().item() - 0.02) < 0.004, `${k} std ${p.std().item()}`);
        if (k === 'input_proj.weight' || k === 'cond_embed.weight' || /res_blocks\.\d+\.mlp\.\d\.weight/.test(k)) {
          const bound = Math.sqrt(6 / (p.shape[0] + p.shape[1]));
          assert.ok(p.abs().max().item() <= bound && p.abs().max().item() > 0.8 * bound, `${k} xavier bound`);
        }
        if (k.includes('in_ln.weight')) assert.equal(p.sub(1).abs().max().item(), 0, k);
      }
      const N = 3;
      const out = net.forward(torch.randn(N, g.slot_dim), torch.rand(N), torch.randn(N, g.dim));
      assert.deepEqual(out.shape, [N, g.slot_dim]);
      assert.equal(out.abs().max().item(), 0);
      net.dispose();
    }),
  ));

test('case 5: net forward (velocity) and forward_with_cfg', (t) =>
  void (
    needs(t, 'case5_head') &&
    torch.noGrad(() =>
      torch.scope(() => {
        near(head.net.forward(c5('in.fwd.x'), c5('in.fwd.t'), c5('in.fwd.c')), c5('out.fwd.v'), 'fwd.v');
        // CFG multiplies the rounding of both halves by s and s − 1: the tolerance from a float64 rerun (test/parity.ts)
        const got = head.net.forwardWithCfg(c5('in.cfg.x'), c5('in.cfg.t'), c5('in.cfg.c'), args.head_cfg);
        errors['cfg.v'] = { abs: maxErr(got, c5('out.cfg.v')), scale: scaleOf(c5('out.cfg.v')) };
        assertParity(got, head64.net.forwardWithCfg(as64(c5('in.cfg.x')), as64(c5('in.cfg.t')), as64(c5('in.cfg.c')), args.head_cfg), c5('out.cfg.v'), 'cfg.v');
        // only the first half of x is used
        const x = c5('in.cfg.x'),
          n = x.shape[0] / 2;
        const x2 = torch.cat([x.narrow(0, 0, n), torch.randn(n, g.slot_dim)], 0);
        assert.ok(
          head.net
            .forwardWithCfg(x2, c5('in.cfg.t'), c5('in.cfg.c'), args.head_cfg)
            .equal(head.net.forwardWithCfg(x, c5('in.cfg.t'), c5('in.cfg.c'), args.head_cfg)),
        );
      }),
    )
  ));

test('case 5: the SDE time grid and dt (float32, exact)', (t) =>
  void (
    needs(t, 'case5_head') &&
    torch.scope(() => {
      const { grid, dt } = sdeTimeGrid(250, 0.04);
      assert.ok(grid.equal(c5('out.sde.t_grid')), 't_grid');
      assert.ok(dt.equal(c5('out.sde.dt')), 'dt');
    })
  ));

test('case 5: DiffLoss.sample (cfg 1) replaying rng.sde.init and rng.sde.em: every step of the trajectory and the sample', (t) =>
  void (
    needs(t, 'case5_head') &&
    torch.noGrad(() =>
      torch.scope(() => {
        const live = torch.memory().numTensors;
        const traj = c5('out.sde.traj'),
          em = c5('rng.sde.em');
        const steps: torch.Tensor[] = [];
        const noiseCalls: number[] = [];
        const sample = head.sample(c5('in.sde.z'), {
          temperature: args.sde_temperature,
          cfg: 1,
          noise: c5('rng.sde.init'),
          stepNoise: (i, like) => {
            noiseCalls.push(i);
            assert.deepEqual(like.shape, [...em.shape.slice(1)]);
            return em.select(0, i);
          },
          onStep: (i, x) => {
            assert.equal(i, steps.length);
            steps.push(torch.keep(x.clone()));
          },
        });
        const grown = torch.memory().numTensors - live;
        assert.ok(grown <= steps.length + 4, `the sampler frees its per-step tensors (live tensors grew by ${grown} for ${steps.length} kept steps)`);
        assert.equal(steps.length, traj.shape[0]);
        assert.deepEqual(
          noiseCalls,
          Array.from({ length: em.shape[0] }, (_, i) => i),
        );
        let worst = { abs: 0, scale: 1 };
        steps.forEach((s, i) => {
          const e = { abs: maxErr(s, traj.select(0, i)), scale: scaleOf(traj.select(0, i)) };
          if (e.abs / e.scale > worst.abs / worst.scale) worst = e;
          assertNear(s, traj.select(0, i), `sde.traj[${i}]`, REL);
        });
        errors['sde.traj (worst step)'] = worst;
        torch.dispose(steps);
        near(sample, c5('out.sde.sample'), 'sde.sample');
        // one model call per drift evaluation gives the same samples
        const once = head.sample(c5('in.sde.z'), {
          temperature: args.sde_temperature,
          noise: c5('rng.sde.init'),
          stepNoise: (i) => em.select(0, i),
          modelCalls: 'once',
        });
        assert.ok(once.equal(sample));
      }),
    )
  ));

test('case 5: linear CFG schedule as generate() uses it (token 0 gets 1 + (cfg − 1)/n)', (t) => {
  if (!needs(t, 'case5_head')) return;
  const ref = c5('out.cfg_schedule_linear');
  const { cfg, n } = args.schedule;
  const got = Array.from({ length: n }, (_, k) => cfgSchedule(cfg, k, n, 'linear'));
  assert.deepEqual(got, ref.tolist());
  assert.equal(got[n - 1], cfg);
  assert.equal(cfgSchedule(cfg, 3, n, 'constant'), cfg);
  assert.throws(() => cfgSchedule(cfg, 0, n, 'cosine' as any), /unknown schedule 'cosine'/);
});

test('case 5b: DiffLoss.sample with CFG on the recorded per-token conditions of generate() (first, middle, last token), draws replayed', (t) =>
  void (
    needs(t, 'case5_generate') &&
    torch.noGrad(() =>
      torch.scope(() => {
        const c5b = loadCase('case5_generate.safetensors');
        const n = c5b('out.step_cfg').shape[0];
        assert.deepEqual(
          Array.from({ length: n }, (_, k) => cfgSchedule(args.gen_cfg, k, n, 'linear')),
          c5b('out.step_cfg').tolist(),
        );
        for (const k of [...new Set([0, Math.floor(n / 2), n - 1])]) {
          const em = c5b('rng.gen.em').select(0, k);
          const tok = head.sample(c5b('out.step_cond').select(0, k), {
            cfg: cfgSchedule(args.gen_cfg, k, n, 'linear'),
            temperature: args.gen_temperature,
            noise: c5b('rng.gen.init').select(0, k),
            stepNoise: (i) => em.select(0, i),
            modelCalls: 'once',
          });
          near(tok, c5b('out.step_token').select(0, k), `gen.step_token[${k}]`);
        }
      }),
    )
  ));

for (const v of ['A', 'B']) {
  test(`case 4 (train${v}): the head on the recorded condition, with rng.train${v}.x0 / .t replayed: pred, loss_rows, loss`, (t) =>
    void (
      needs(t, 'case4_gpt') &&
      torch.noGrad(() =>
        torch.scope(() => {
          const r = head.forward(c4('in.tokens'), c4(`out.train${v}.hidden`), { x0: c4(`rng.train${v}.x0`), t: c4(`rng.train${v}.t`) });
          near(r.pred, c4(`out.train${v}.pred`), `train${v}.pred`);
          near(r.lossRows, c4(`out.train${v}.loss_rows`), `train${v}.loss_rows`);
          near(r.loss, c4(`out.train${v}.loss`), `train${v}.loss`);
          assert.ok(r.x0.equal(c4(`rng.train${v}.x0`)) && r.t.equal(c4(`rng.train${v}.t`)));
          // the (B, L, ·) and the flat (N, ·) layouts are the same rows
          const [B, L, C] = c4('in.tokens').shape;
          const flat = head.forward(c4('in.tokens').reshape(B * L, C), c4(`out.train${v}.hidden`).reshape(B * L, -1), {
            x0: c4(`rng.train${v}.x0`),
            t: c4(`rng.train${v}.t`),
          });
          assert.ok(flat.lossRows.equal(r.lossRows));
        }),
      )
    ));
}

test('training: draws x0 then t from the generator (upstream order), and the loss backpropagates into the head', (t) =>
  void (
    needs(t, 'case4_gpt') &&
    torch.scope(() => {
      const tokens = c4('in.tokens'),
        z = c4('out.trainA.hidden');
      const rows = tokens.shape[0] * tokens.shape[1] * g.diffusion_batch_mul;
      const gen = new torch.Generator().manualSeed(7);
      const r = head.forward(tokens, z, { generator: gen });
      const gen2 = new torch.Generator().manualSeed(7);
      const x0 = torch.randn([rows, g.slot_dim], { generator: gen2 }),
        t = torch.rand([rows], { generator: gen2 });
      assert.ok(r.x0.equal(x0) && r.t.equal(t));
      head.train();
      try {
        head.zeroGrad();
        head.forward(tokens, z, { generator: gen }).loss.backward();
        const gw = head.net.final_layer.linear.weight.grad;
        assert.ok(gw && gw.abs().max().item() > 0);
        assert.ok((head.net.time_embed.mlp.at(0) as Linear).weight.grad!.abs().max().item() > 0);
      } finally {
        head.zeroGrad();
        head.eval();
      }
    })
  ));

test('CFG sampling: noise (N/2, C) duplicated, N/2 rows returned; equals the guided half of a full replay', (t) =>
  void (
    needs(t, 'case5_head') &&
    torch.noGrad(() =>
      torch.scope(() => {
        const z = c5('in.cfg.c'),
          N = z.shape[0],
          C = g.slot_dim;
        const noise = torch.randn(N / 2, C);
        const em = torch.randn(249, N, C);
        const full: torch.Tensor[] = [];
        const out = head.sample(z, {
          cfg: args.head_cfg,
          noise,
          modelCalls: 'once',
          stepNoise: (i) => em.select(0, i),
          onStep: (i, x) => {
            if (i === 248) full.push(torch.keep(x.clone()));
          },
        });
        assert.deepEqual(out.shape, [N / 2, C]);
        // the unconditional half's own noise does not change the guided half
        const em2 = torch.cat([em.narrow(1, 0, N / 2), torch.randn(249, N / 2, C)], 1);
        const out2 = head.sample(z, { cfg: args.head_cfg, noise, modelCalls: 'once', stepNoise: (i) => em2.select(0, i) });
        assert.ok(out.equal(out2));
        assert.deepEqual(full[0].shape, [N, C]);
        torch.dispose(full);
      }),
    )
  ));

test('ODE samplers: exact for a constant velocity (Euler and Heun) and second order for Heun on v = x', () =>
  torch.noGrad(() =>
    torch.scope(() => {
      const x0 = torch.randn(3, 4),
        v = torch.randn(3, 4);
      for (const method of ['euler', 'heun'] as const) {
        const x1 = sampleOde(() => v, x0, { method, numSteps: 11 });
        assertNear(x1, x0.add(v), `ode ${method} constant v`);
      }
      // dx/dt = x from 0 to 1: x(1) = e·x0
      const e = x0.mul(Math.E);
      const errE = maxErr(
        sampleOde((x) => x, x0, { method: 'euler', numSteps: 51 }),
        e,
      );
      const errH = maxErr(
        sampleOde((x) => x, x0, { method: 'heun', numSteps: 51 }),
        e,
      );
      assert.ok(errH < errE / 10, `heun ${errH} vs euler ${errE}`);
      assert.throws(() => sampleOde(() => v, x0, { method: 'dopri5' as any }), /not supported/);
    }),
  ));

test('clear errors: bad input shapes name the shape; unsupported options are refused', () =>
  torch.noGrad(() =>
    torch.scope(() => {
      const C = g.slot_dim,
        D = g.dim;
      assert.throws(
        () => head.net.forward(torch.randn(4, C + 1), torch.rand(4), torch.randn(4, D)),
        new RegExp(`x must be \\(N, ${C}\\), got \\(4, ${C + 1}\\)`),
      );
      assert.throws(() => head.net.forward(torch.randn(4, C), torch.rand(4, 1), torch.randn(4, D)), /t must be \(N\) = \(4\) float times, got \(4, 1\)/);
      assert.throws(
        () => head.net.forward(torch.randn(4, C), torch.rand(4), torch.randn(3, D)),
        new RegExp(`c must be \\(N, ${D}\\) = \\(4, ${D}\\), got \\(3, ${D}\\)`),
      );
      assert.throws(() => head.net.forwardWithCfg(torch.randn(3, C), torch.rand(3), torch.randn(3, D), 2), /batch \(3\) must be even/);
      assert.throws(
        () => head.forward(torch.randn(2, 8, C + 2), torch.randn(2, 8, D)),
        new RegExp(`target must be \\(B, L, ${C}\\) or \\(N, ${C}\\), got \\(2, 8, ${C + 2}\\)`),
      );
      assert.throws(
        () => head.forward(torch.randn(2, 8, C), torch.randn(2, 7, D)),
        new RegExp(`z must be \\(2, 8, ${D}\\) to match target \\(2, 8, ${C}\\), got \\(2, 7, ${D}\\)`),
      );
      assert.throws(() => head.sample(torch.randn(3, D), { cfg: 2 }), new RegExp(`even count\\), got \\(3, ${D}\\)`));
      assert.throws(() => head.sample(torch.randn(4, D), { cfg: 2, noise: torch.randn(4, C) }), new RegExp(`noise must be \\(2, ${C}\\).*got \\(4, ${C}\\)`));
      assert.throws(() => head.sample(torch.randn(4, D + 1)), new RegExp(`z must be \\(N, ${D}\\), got \\(4, ${D + 1}\\)`));
      assert.throws(() => trainingLosses((x) => x, torch.randn(4, C), torch.randn(4, D), { t: torch.rand(5) }), /t must be \(4\), got \(5\)/);
      assert.throws(() => sampleSde((x) => x, torch.randn(2, C), { diffusionForm: 'SBDM' as any }), /diffusionForm 'SBDM' is not supported/);
      assert.throws(
        () => head.sample(torch.randn(2, D), { stepNoise: () => torch.randn(3, C) }),
        new RegExp(`stepNoise\\(0\\) returned \\(3, ${C}\\), expected \\(2, ${C}\\)`),
      );
      assert.throws(() => new DiffLoss({ ...headOptions, predictXstart: true }), /predictXstart applies to the DDPM head/);
      assert.throws(() => new DiffLoss({ ...headOptions, condMethod: 'cross_attn' as any }), /unsupported cond_method 'cross_attn'/);
    }),
  ));

test('cond_method adaln: no concatenation (mlp input = width), adaLN driven by t_emb + c_emb', () =>
  torch.noGrad(() =>
    torch.scope(() => {
      const net = new SimpleMLPAdaLN({ inChannels: 4, modelChannels: 8, outChannels: 4, zChannels: 6, numResBlocks: 1, condMethod: 'adaln' });
      const sd = net.stateDict();
      assert.deepEqual(sd['res_blocks.0.mlp.0.weight'].shape, [8, 8]);
      assert.deepEqual(sd['final_layer.linear.weight'].shape, [4, 8]);
      for (const p of net.parameters()) p.normal_(0, 0.3);
      const x = torch.randn(2, 4),
        t = torch.rand(2),
        c = torch.randn(2, 6);
      const ref = torch.scope(() => {
        const h0 = net.input_proj.forward(x);
        const a = net.time_embed.forward(t).add(net.cond_embed.forward(c));
        const b = net.res_blocks.at(0);
        const [sh, sc, gt] = (b.adaLN_modulation.forward(a) as torch.Tensor).chunk(3, -1);
        const h = h0.add(gt.mul(b.mlp.forward(b.in_ln.forward(h0).mul(sc.add(1)).add(sh)) as torch.Tensor));
        const [fs, fc] = (net.final_layer.adaLN_modulation.forward(a) as torch.Tensor).chunk(2, -1);
        return net.final_layer.linear.forward(net.final_layer.norm_final.forward(h).mul(fc.add(1)).add(fs));
      });
      assert.ok(net.forward(x, t, c).equal(ref));
      net.dispose();
    }),
  ));

test('report: max abs errors', () => {
  for (const [k, v] of Object.entries(errors))
    console.log(
      `# ${k}: max abs err ${v.abs.toExponential(2)}, scale max(1, max|ref|) ${v.scale.toPrecision(3)}, relative ${(v.abs / v.scale).toExponential(2)}`,
    );
});
