// Gaussian diffusion parity with the upstream fixtures (case 3): schedule arrays for 1000 steps and
// the "250" respacing, q_sample, and the hybrid loss terms computed from the recorded model outputs.
// Tolerances: schedule arrays (float64) 1e-12 relative; float32 outputs |a-b| <= 1e-5·max(1, max|ref|)
// (single elementwise chains on the recorded model output), the t = 0 decoder NLL included: its
// CDF takes a correctly rounded tanh (lib/diffusion/losses.ts), so libtorch 1.x and 2.x agree.
// The respacing of the sampling schedule comes from fixtures.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../lib/torch.js';
import { createDiffusion, spaceTimesteps } from '../lib/diffusion/index.js';
import { approxStandardNormalCdf } from '../lib/diffusion/losses.js';
import { fixturesJson } from './fixture-paths.js';
import { assertNear, loadCase, needs } from './parity.js';

const get = loadCase('case3_diffusion.safetensors');
const sampling = fixturesJson().config.tokenizer.num_sampling_steps as string;

const names = [
  'betas',
  'alphas_cumprod',
  'alphas_cumprod_prev',
  'alphas_cumprod_next',
  'sqrt_alphas_cumprod',
  'sqrt_one_minus_alphas_cumprod',
  'log_one_minus_alphas_cumprod',
  'sqrt_recip_alphas_cumprod',
  'sqrt_recipm1_alphas_cumprod',
  'posterior_variance',
  'posterior_log_variance_clipped',
  'posterior_mean_coef1',
  'posterior_mean_coef2',
];
const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());

for (const [tag, respacing] of [
  ['sched1000', ''],
  ['sched250', sampling],
] as const) {
  test(`schedule arrays match upstream (${tag}, respacing '${respacing}')`, (t) =>
    void (
      needs(t, 'case3_diffusion') &&
      torch.scope(() => {
        const d = createDiffusion(respacing);
        for (const n of names) {
          const ref = get(`out.${tag}.${n}`).toTypedArray() as Float64Array;
          const mine = (d.schedule as any)[camel(n)] as Float64Array;
          assert.equal(mine.length, ref.length, n);
          for (let i = 0; i < ref.length; i++) {
            const tol = 1e-12 * Math.max(1, Math.abs(ref[i]));
            assert.ok(Math.abs(mine[i] - ref[i]) <= tol, `${tag}.${n}[${i}]: ${mine[i]} vs ${ref[i]}`);
          }
        }
        assert.deepEqual(d.schedule.timestepMap, get(`out.${tag}.timestep_map`).tolist());
      })
    ));
}

test('spaceTimesteps: "250" keeps round(i·999/249), ddimN uses an integer stride', () => {
  const s = spaceTimesteps(1000, '250');
  assert.equal(s.length, 250);
  assert.deepEqual(s.slice(0, 4), [0, 4, 8, 12]);
  assert.equal(s[249], 999);
  assert.deepEqual(spaceTimesteps(1000, 'ddim25').slice(0, 3), [0, 40, 80]);
  assert.equal(spaceTimesteps(1000, 'ddim25').length, 25);
  assert.deepEqual(spaceTimesteps(10, '2,3'), [0, 4, 5, 7, 9]);
});

test('q_sample matches upstream', (t) =>
  void (
    needs(t, 'case3_diffusion') &&
    torch.scope(() => {
      const d = createDiffusion('');
      assertNear(d.qSample(get('in.q.x0'), get('in.q.t'), get('in.q.noise')), get('out.q.x_t'), 'x_t');
    })
  ));

test('training loss terms (mse, vb, loss) from the recorded model output', (tc) =>
  void (
    needs(tc, 'case3_diffusion') &&
    torch.scope(() => {
      const d = createDiffusion('');
      const x0 = get('in.q.x0'),
        t = get('in.q.t'),
        noise = get('in.q.noise');
      const xT = d.qSample(x0, t, noise);
      assertNear(xT, get('out.tl.model_x_t'), 'model x_t');
      const terms = d.trainingLossesFromOutput(get('out.tl.model_output'), x0, xT, t, noise);
      assertNear(terms.mse, get('out.tl.mse'), 'mse');
      assertNear(terms.vb, get('out.tl.vb'), 'vb');
      assertNear(terms.loss, get('out.tl.loss'), 'loss');
    })
  ));

for (const v of ['lossA', 'lossB']) {
  test(`tokenizer loss ${v}: diffusion terms from the recorded DiT output`, (tc) =>
    void (
      needs(tc, 'case3_diffusion') &&
      torch.scope(() => {
        const d = createDiffusion('');
        const x0 = get('in.loss.x_vae'),
          t = get(`rng.${v}.t`),
          noise = get(`rng.${v}.noise`);
        const xT = d.qSample(x0, t, noise);
        assertNear(xT, get(`out.${v}.model_x_t`), 'x_t');
        const terms = d.trainingLossesFromOutput(get(`out.${v}.model_output`), x0, xT, t, noise);
        assertNear(terms.mse, get(`out.${v}.mse`), 'mse');
        // per entry, so a failure names its timestep (t = 0 is the decoder NLL)
        (t.tolist() as number[]).forEach((ti, i) => {
          assertNear(terms.vb.narrow(0, i, 1), get(`out.${v}.vb`).narrow(0, i, 1), `vb[${i}] (t=${ti})`);
          assertNear(terms.loss.narrow(0, i, 1), get(`out.${v}.loss`).narrow(0, i, 1), `loss[${i}] (t=${ti})`);
        });
        assertNear(terms.loss.mean(), get(`out.${v}.diff_loss`), 'diff_loss');
      })
    ));
}

test('vb gradient flows only to the variance channels', (tc) =>
  void (
    needs(tc, 'case3_diffusion') &&
    torch.scope(() => {
      const d = createDiffusion('');
      const x0 = get('in.q.x0'),
        t = get('in.q.t'),
        noise = get('in.q.noise');
      const C = x0.shape[1];
      const out = get('out.tl.model_output').clone().requiresGrad_();
      const xT = d.qSample(x0, t, noise);
      d.trainingLossesFromOutput(out, x0, xT, t, noise).vb.sum().backward();
      const g = out.grad!;
      assert.equal(g.narrow(1, 0, C).abs().max().item(), 0);
      assert.ok(g.narrow(1, C, C).abs().max().item() > 0);
    })
  ));

test('the t = 0 decoder NLL: its CDF rounds tanh correctly, where 1.x and 2.x float32 kernels differ', () =>
  torch.scope(() => {
    // tanh arguments −9.2..−8: 1 + tanh is below one ulp of 1 there, so the float32 result is 0 or
    // 2⁻²⁴ depending on the kernel (libtorch 1.13's gives −1 at 7 of these 25 points, 2.x's agrees
    // with the correctly rounded value), and the decoder NLL's log(cdf) of an x below −0.999 jumps
    // between log(2⁻²⁵) and the 1e-12 clamp. The CDF must follow the correctly rounded tanh on both.
    const inner = torch.linspace(-9.2, -8, 25);
    const x = torch.tensor(
      (inner.tolist() as number[]).map((v) => {
        // invert inner = √(2/π)(x + 0.044715 x³) by bisection
        let lo = -10,
          hi = 0;
        for (let i = 0; i < 60; i++) {
          const m = (lo + hi) / 2;
          if (Math.sqrt(2 / Math.PI) * (m + 0.044715 * m ** 3) < v) lo = m;
          else hi = m;
        }
        return lo;
      }),
    );
    const innerF32 = x
      .add(x.pow(3).mul(0.044715))
      .mul(Math.sqrt(2 / Math.PI))
      .tolist() as number[]; // the same float32 ops
    const want = innerF32.map((v) => Math.fround(Math.fround(1 + Math.fround(Math.tanh(v))) * 0.5));
    assert.ok(want.some((v) => v === 0) && want.some((v) => v > 0), "the points straddle the kernels' disagreement");
    assert.deepEqual(approxStandardNormalCdf(x).tolist(), want);
  }));

test('predictXstart (start_x): the mse target is x_0, and an exact x_0 gives the same posterior, vb and step as the exact eps', () =>
  torch.scope(() => {
    const d = createDiffusion('', { predictXstart: true });
    const eps = createDiffusion('');
    torch.manualSeed(5);
    const x0 = torch.rand(3, 2, 4, 4).mul(2).sub(1);
    const noise = torch.randn(3, 2, 4, 4);
    const t = torch.tensor([1, 500, 999]);
    const xT = d.qSample(x0, t, noise);
    const v = torch.rand(3, 2, 4, 4).mul(2).sub(1); // any learned-variance channels
    const out = d.trainingLossesFromOutput(torch.cat([x0, v], 1), x0, xT, t, noise);
    assert.deepEqual(out.mse.tolist(), [0, 0, 0], 'predicting x_0 exactly has zero mse');
    // the same prediction written as eps for the epsilon model: both give the same posterior, so the same vb
    const asEps = eps.trainingLossesFromOutput(torch.cat([noise, v], 1), x0, xT, t, noise);
    assertNear(out.vb, asEps.vb, 'vb', 1e-4);
    // and the same ancestral step (the start_x model returns x_0 where the eps model returns eps)
    const z = torch.randn(3, 2, 4, 4);
    const a = d.pSample(() => torch.cat([x0, v], 1), xT, t, { noise: z }).sample;
    const b = eps.pSample(() => torch.cat([noise, v], 1), xT, t, { noise: z }).sample;
    assertNear(a, b, 'sample', 1e-4);
    d.dispose();
    eps.dispose();
  }));
