// torch.optim: AdamW and SGD against plain-JS references (float64, several steps), parameter
// groups, state dicts, clipGradNorm_, LR schedules, EMA, GradScaler and gradient accumulation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../lib/torch.js';
import * as nn from '../lib/nn/index.js';
import * as optim from '../lib/optim/index.js';
import { assertClose, maxAbsDiff } from './helpers.js';

const f64 = (xs: number[] | number[][]) => new nn.Parameter(torch.tensor(xs, { dtype: 'float64' }));
const flat = (x: any): number[] => (Array.isArray(x) ? x.flatMap(flat) : [x]);
/** Deterministic pseudo-gradients for parameter i at step t. */
const gradAt = (i: number, t: number, n: number) => Array.from({ length: n }, (_, j) => Math.sin(1.3 * t + 0.7 * j + i) * (1 + j));

function setGrads(params: nn.Parameter[], t: number): void {
  torch.scope(() =>
    params.forEach((p, i) => {
      p.grad = torch.tensor(gradAt(i, t, p.numel()), { dtype: 'float64' }).view(p.shape);
    }),
  );
}

interface AdamRef {
  p: number[];
  m: number[];
  v: number[];
  vmax: number[];
  t: number;
}
/** torch.optim.AdamW, element by element. */
function adamwRef(s: AdamRef, g: number[], lr: number, [b1, b2]: [number, number], eps: number, wd: number, amsgrad = false): void {
  s.t += 1;
  for (let j = 0; j < s.p.length; j++) {
    s.p[j] *= 1 - lr * wd;
    s.m[j] = b1 * s.m[j] + (1 - b1) * g[j];
    s.v[j] = b2 * s.v[j] + (1 - b2) * g[j] * g[j];
    s.vmax[j] = Math.max(s.vmax[j], s.v[j]);
    const denom = Math.sqrt(amsgrad ? s.vmax[j] : s.v[j]) / Math.sqrt(1 - b2 ** s.t) + eps;
    s.p[j] -= (lr / (1 - b1 ** s.t)) * (s.m[j] / denom);
  }
}

test('AdamW matches a plain-JS AdamW over 6 steps, with two parameter groups', () => {
  torch.scope(() => {
    for (const amsgrad of [false, true]) {
      const w = f64([
          [0.5, -1.2, 2],
          [0.1, 0.3, -0.7],
        ]),
        b = f64([0.2, -0.1]),
        e = f64([
          [1, 2],
          [3, 4],
        ]);
      const params = [w, b, e];
      const opt = new optim.AdamW([{ params: [w, e] }, { params: [b], weightDecay: 0, lr: 0.05 }], {
        lr: 0.01,
        betas: [0.9, 0.95],
        eps: 1e-8,
        weightDecay: 0.1,
        amsgrad,
      });
      const hyper = [
        { lr: 0.01, wd: 0.1 },
        { lr: 0.05, wd: 0 },
        { lr: 0.01, wd: 0.1 },
      ];
      const refs: AdamRef[] = params.map((p) => {
        const v = flat(p.tolist());
        return { p: v, m: v.map(() => 0), v: v.map(() => 0), vmax: v.map(() => 0), t: 0 };
      });
      for (let t = 0; t < 6; t++) {
        setGrads(params, t);
        opt.step();
        params.forEach((_, i) => adamwRef(refs[i], gradAt(i, t, refs[i].p.length), hyper[i].lr, [0.9, 0.95], 1e-8, hyper[i].wd, amsgrad));
      }
      params.forEach((p, i) => {
        const d = maxAbsDiff(flat(p.tolist()), refs[i].p);
        assert.ok(d < 1e-13, `param ${i} (amsgrad ${amsgrad}) differs by ${d}`);
      });
      assert.equal(opt.state.get(w)!.step, 6);
      opt.dispose();
    }
  });
});

test('AdamW skips parameters without a gradient (their step count stays)', () => {
  torch.scope(() => {
    const a = f64([1, 2]),
      b = f64([3]);
    const opt = new optim.AdamW([a, b], { lr: 0.1 });
    setGrads([a, b], 0);
    opt.step();
    b.grad = null;
    setGrads([a], 1);
    opt.step();
    assert.equal(opt.state.get(a)!.step, 2);
    assert.equal(opt.state.get(b)!.step, 1);
    opt.dispose();
  });
});

/** torch.optim.SGD, element by element. */
function sgdRef(
  p: number[],
  buf: number[] | null,
  g: number[],
  o: { lr: number; momentum: number; dampening: number; wd: number; nesterov: boolean },
): number[] | null {
  const d = g.map((gj, j) => gj + o.wd * p[j]);
  let step = d;
  if (o.momentum !== 0) {
    buf = buf === null ? [...d] : buf.map((bj, j) => o.momentum * bj + (1 - o.dampening) * d[j]);
    step = o.nesterov ? d.map((dj, j) => dj + o.momentum * buf![j]) : buf;
  }
  for (let j = 0; j < p.length; j++) p[j] -= o.lr * step[j];
  return buf;
}

test('SGD (plain, momentum with dampening, Nesterov, weight decay) matches a plain-JS SGD over 5 steps', () => {
  torch.scope(() => {
    const configs = [
      { lr: 0.1, momentum: 0, dampening: 0, wd: 0, nesterov: false },
      { lr: 0.05, momentum: 0.9, dampening: 0.1, wd: 0.01, nesterov: false },
      { lr: 0.05, momentum: 0.8, dampening: 0, wd: 0.02, nesterov: true },
    ];
    for (const o of configs) {
      const params = [
        f64([
          [0.5, -1],
          [2, 0.25],
        ]),
        f64([0.3, -0.3, 1]),
      ];
      const opt = new optim.SGD(params, { lr: o.lr, momentum: o.momentum, dampening: o.dampening, weightDecay: o.wd, nesterov: o.nesterov });
      const ref = params.map((p) => flat(p.tolist()));
      const bufs: (number[] | null)[] = params.map(() => null);
      for (let t = 0; t < 5; t++) {
        setGrads(params, t);
        const gradsBefore = params.map((p) => flat(p.grad!.tolist()));
        opt.step();
        params.forEach((p, i) => assert.deepEqual(flat(p.grad!.tolist()), gradsBefore[i], 'step leaves grads alone'));
        ref.forEach((r, i) => {
          bufs[i] = sgdRef(r, bufs[i], gradAt(i, t, r.length), o);
        });
      }
      params.forEach((p, i) => assert.ok(maxAbsDiff(flat(p.tolist()), ref[i]) < 1e-13, JSON.stringify(o)));
      opt.dispose();
    }
    assert.throws(() => new optim.SGD([f64([1])], { nesterov: true }), /Nesterov/);
  });
});

test('optimizer state dict: PyTorch layout, and a round trip continues identically', () => {
  torch.scope(() => {
    const mk = () => [
      f64([
        [1, -2],
        [0.5, 3],
      ]),
      f64([0.1, 0.2]),
    ];
    const pa = mk(),
      pb = mk();
    const a = new optim.AdamW([{ params: [pa[0]] }, { params: [pa[1]], weightDecay: 0 }], { lr: 0.02, betas: [0.9, 0.95] });
    for (let t = 0; t < 3; t++) {
      setGrads(pa, t);
      a.step();
    }
    const sd = a.stateDict();
    assert.deepEqual(Object.keys(sd.state), ['0', '1']);
    assert.deepEqual(Object.keys(sd.state[0]), ['step', 'exp_avg', 'exp_avg_sq']);
    const step = sd.state[0].step as torch.Tensor;
    assert.equal(step.dtype, 'float32');
    assert.equal(step.item(), 3);
    assert.deepEqual(
      sd.param_groups.map((g) => g.params),
      [[0], [1]],
    );
    assert.deepEqual(sd.param_groups[0], { lr: 0.02, betas: [0.9, 0.95], eps: 1e-8, weight_decay: 0.01, amsgrad: false, maximize: false, params: [0] });
    assert.equal(sd.param_groups[1].weight_decay, 0);

    // b starts from a's parameters and state, then both take the same steps.
    torch.noGrad(() => pb.forEach((p, i) => p.copy_(pa[i])));
    const b = new optim.AdamW([{ params: [pb[0]] }, { params: [pb[1]] }], { lr: 1 });
    b.loadStateDict(sd);
    assert.equal(b.paramGroups[0].lr, 0.02);
    assert.equal(b.paramGroups[1].weightDecay, 0);
    assert.notEqual(b.state.get(pb[0])!.exp_avg, a.state.get(pa[0])!.exp_avg, 'state is copied');
    for (let t = 3; t < 6; t++) {
      setGrads(pa, t);
      setGrads(pb, t);
      a.step();
      b.step();
    }
    pa.forEach((p, i) => assert.ok(p.equal(pb[i])));
    a.dispose();
    b.dispose();

    const s = new optim.SGD([pa[0]], { lr: 0.1, momentum: 0.9 });
    setGrads([pa[0]], 0);
    s.step();
    assert.deepEqual(Object.keys(s.stateDict().state[0]), ['momentum_buffer']);
    assert.deepEqual(s.stateDict().param_groups[0], { lr: 0.1, momentum: 0.9, dampening: 0, weight_decay: 0, nesterov: false, maximize: false, params: [0] });
    s.dispose();
  });
});

test('paramGroupsWeightDecay: ndim ≥ 2 decays, the rest gets 0; frozen parameters are left out', () => {
  torch.scope(() => {
    class M extends nn.Module {
      emb = new nn.Embedding(5, 4);
      pos = new nn.Parameter(torch.zeros(1, 3, 4));
      lin = new nn.Linear(4, 4);
      norm = new nn.LayerNorm(4);
      frozen = new nn.Linear(4, 2).requiresGrad_(false);
    }
    const [decay, noDecay] = optim.paramGroupsWeightDecay(new M(), 0.05);
    assert.equal(decay.weightDecay, 0.05);
    assert.equal(noDecay.weightDecay, 0);
    assert.deepEqual(decay.paramNames, ['pos', 'emb.weight', 'lin.weight']);
    assert.deepEqual(noDecay.paramNames, ['lin.bias', 'norm.weight', 'norm.bias']);
    const opt = new optim.AdamW([decay, noDecay], { lr: 1e-3, betas: [0.9, 0.95] });
    assert.deepEqual(
      opt.paramGroups.map((g) => g.weightDecay),
      [0.05, 0],
    );
    assert.deepEqual(opt.stateDict().param_groups[1].param_names, ['lin.bias', 'norm.weight', 'norm.bias']);
  });
});

test('clipGradNorm_ returns the total norm and scales gradients by maxNorm / (norm + 1e-6)', () => {
  torch.scope(() => {
    const a = f64([0, 0]),
      b = f64([0]);
    const set = () =>
      torch.scope(() => {
        a.grad = torch.tensor([3, 4], { dtype: 'float64' });
        b.grad = torch.tensor([12], { dtype: 'float64' });
      });
    set();
    const total = optim.clipGradNorm_([a, b], 6.5);
    assert.ok(Math.abs(total.item() - 13) < 1e-12);
    const c = 6.5 / (13 + 1e-6);
    assertClose(a.grad!, [3 * c, 4 * c], 1e-12);
    assertClose(b.grad!, [12 * c], 1e-12);
    set();
    assert.equal(optim.clipGradNorm_([a, b], 100).item(), 13);
    assertClose(a.grad!, [3, 4], 0);
    set();
    assert.equal(optim.clipGradNorm_([a, b], 6, Infinity).item(), 12);
    assertClose(b.grad!, [(12 * 6) / (12 + 1e-6)], 1e-12);
    set();
    assert.ok(Math.abs(optim.clipGradNorm_([a, b], 100, 1).item() - 19) < 1e-12);
    assert.equal(optim.clipGradNorm_([f64([1])], 1).item(), 0, 'no grads → 0');
  });
});

test('cosine schedule: Semanticist tokenizer values (warmup 62.5k from 0, cosine over 250k after it)', () => {
  const o = { warmupSteps: 62500, tInitial: 250000, warmupLrInit: 0, lrMin: 0 };
  const lr = (t: number) => optim.cosineLR(t, 2e-4, o);
  assert.equal(lr(0), 0);
  assert.ok(Math.abs(lr(31250) - 1e-4) < 1e-18);
  assert.equal(lr(62500), 2e-4);
  assert.ok(Math.abs(lr(62500 + 125000) - 1e-4) < 1e-18);
  assert.ok(Math.abs(lr(250000) - 1e-4 * (1 + Math.cos(0.75 * Math.PI))) < 1e-18);
  assert.ok(Math.abs(lr(250000) - 2.93e-5) < 1e-7, 'docs/upstream/training.md#learning-rate-schedules: ≈ 2.9e-5 at step 250k');
  assert.equal(lr(62500 + 250000), 0);
  assert.equal(lr(10 ** 7), 0);
  // A floor, a non-zero warmup start, and warmupPrefix false (the cosine counts from step 0).
  const f = (t: number) => optim.cosineLR(t, 1, { warmupSteps: 10, warmupLrInit: 0.1, tInitial: 100, lrMin: 0.01 });
  assert.equal(f(0), 0.1);
  assert.ok(Math.abs(f(5) - 0.55) < 1e-15);
  assert.ok(Math.abs(f(60) - (0.01 + 0.5 * 0.99 * (1 + Math.cos(Math.PI * 0.5)))) < 1e-15);
  assert.equal(f(110), 0.01);
  assert.equal(f(500), 0.01);
  const np = (t: number) => optim.cosineLR(t, 1, { warmupSteps: 10, tInitial: 100, warmupPrefix: false });
  assert.ok(Math.abs(np(50) - 0.5) < 1e-15);
  assert.equal(np(100), 0);
});

test('warmup-then-constant schedule and LRScheduler over groups', () => {
  const c = (t: number) => optim.warmupConstantLR(t, 8e-4, { warmupSteps: 100 });
  assert.ok(maxAbsDiff([c(0), c(25), c(99), c(100), c(10 ** 6)], [0, 2e-4, 7.92e-4, 8e-4, 8e-4]) < 1e-18);
  assert.equal(c(100), 8e-4);
  torch.scope(() => {
    const opt = new optim.AdamW([
      { params: [f64([1])], lr: 1e-3 },
      { params: [f64([2])], lr: 1e-2 },
    ]);
    const sched = new optim.LRScheduler(opt, optim.cosineSchedule({ warmupSteps: 10, tInitial: 20 }));
    assert.deepEqual(sched.getLastLr(), [0, 0], 'creation applies step 0: warmup starts at warmupLrInit');
    sched.stepUpdate(5);
    assert.ok(maxAbsDiff(sched.getLastLr(), [5e-4, 5e-3]) < 1e-18);
    sched.stepUpdate(20);
    assert.ok(maxAbsDiff(sched.getLastLr(), [5e-4, 5e-3]) < 1e-15);
    assert.deepEqual(
      opt.stateDict().param_groups.map((g) => g.initial_lr),
      [1e-3, 1e-2],
    );
    const sd = sched.stateDict();
    const opt2 = new optim.AdamW([
      { params: [f64([1])], lr: 7 },
      { params: [f64([2])], lr: 7 },
    ]);
    const s2 = new optim.LRScheduler(opt2, optim.cosineSchedule({ warmupSteps: 10, tInitial: 20 }));
    s2.loadStateDict(sd);
    assert.deepEqual(s2.getLastLr(), sched.getLastLr());
  });
});

test('EMA: fp32 shadows of trainable parameters, lerp updates, state dict and copyTo', () => {
  torch.scope(() => {
    class M extends nn.Module {
      a = new nn.Parameter(torch.ones(2, { dtype: 'bfloat16' }));
      b = new nn.Parameter(torch.ones(1));
      frozen = new nn.Parameter(torch.ones(1), false);
    }
    const m = new M();
    const ema = new optim.EMA(m, 0.9);
    assert.deepEqual(Object.keys(ema.stateDict()), ['a', 'b']);
    assert.equal(ema.stateDict().a.dtype, 'float32');
    torch.noGrad(() => {
      m.a.fill_(3);
      m.b.fill_(-1);
    });
    ema.update();
    assertClose(ema.stateDict().a, [1.2, 1.2], 1e-6);
    assertClose(ema.stateDict().b, [0.8], 1e-6);
    ema.update();
    assertClose(ema.stateDict().a, [0.9 * 1.2 + 0.3, 0.9 * 1.2 + 0.3], 1e-6);
    ema.copyTo(m);
    assertClose(m.b, [0.9 * 0.8 - 0.1], 1e-6);
    assert.equal(m.a.dtype, 'bfloat16');
    const ema2 = new optim.EMA(m);
    ema2.loadStateDict(ema.stateDict());
    assert.ok(ema2.stateDict().b.equal(ema.stateDict().b));
    assert.throws(() => ema2.loadStateDict({ a: ema.stateDict().a }), /missing \["b"\]/);
    ema.dispose();
    ema2.dispose();
  });
});

test('GradScaler: scales the loss, unscales grads, skips the step on inf and backs off, grows after good steps', () => {
  torch.scope(() => {
    const p = new nn.Parameter(torch.tensor([1, 2], { dtype: 'float32' }));
    const opt = new optim.SGD([p], { lr: 0.5 });
    const scaler = new optim.GradScaler({ initScale: 1024, growthInterval: 3 });
    const loss = torch.scope(() => p.mul(torch.tensor([1, 3], { dtype: 'float32' })).sum());
    const scaled = scaler.scale(loss);
    assert.equal(scaled.item(), 1024 * 7);
    scaled.backward();
    assertClose(p.grad!, [1024, 3072]);
    assert.equal(scaler.step(opt), true);
    assertClose(p, [1 - 0.5, 2 - 1.5], 1e-6);
    scaler.update();
    assert.equal(scaler.getScale(), 1024);

    // An inf gradient: no step, the scale halves.
    opt.zeroGrad();
    p.grad = torch.tensor([Infinity, 1], { dtype: 'float32' });
    const before = p.tolist();
    assert.equal(scaler.step(opt), false);
    assert.deepEqual(p.tolist(), before);
    scaler.update();
    assert.equal(scaler.getScale(), 512);
    p.grad = torch.tensor([NaN, 1], { dtype: 'float32' });
    assert.equal(scaler.step(opt), false);
    scaler.update();
    assert.equal(scaler.getScale(), 256);

    // growthInterval good steps in a row double it; unscale_ before clipping is the usual order.
    for (let i = 0; i < 3; i++) {
      p.grad = torch.tensor([256, 512], { dtype: 'float32' });
      scaler.unscale_(opt);
      assertClose(p.grad!, [1, 2]);
      assert.throws(() => scaler.unscale_(opt), /already been called/);
      assert.equal(scaler.step(opt), true);
      scaler.update();
    }
    assert.equal(scaler.getScale(), 512);
    assert.deepEqual(scaler.stateDict(), { scale: 512, growth_factor: 2, backoff_factor: 0.5, growth_interval: 3, _growth_tracker: 0 });
    const half = scaler.scale(torch.tensor(1000, { dtype: 'float16' }));
    assert.equal(half.dtype, 'float32', 'a float16 loss is scaled in float32 (no overflow)');
    assert.equal(half.item(), 512000);
    const off = new optim.GradScaler({ enabled: false });
    assert.equal(off.scale(loss), loss);
  });
});

test('gradient accumulation: two micro-batches of 2 (loss / 2 each) give the gradients of one batch of 4', () => {
  torch.scope(() => {
    torch.manualSeed(7);
    const model = new nn.Sequential(new nn.Linear(3, 5, true, { dtype: 'float64' }), new nn.GELU(), new nn.Linear(5, 1, true, { dtype: 'float64' }));
    const x = torch.randn(4, 3, { dtype: 'float64' }),
      y = torch.randn(4, 1, { dtype: 'float64' });
    torch.scope(() => nn.functional.mseLoss(model.forward(x), y).backward());
    const full = model.parameters().map((p) => flat(p.grad!.tolist()));
    model.zeroGrad();
    for (const [xs, ys] of [
      [x.slice(0, 0, 2), y.slice(0, 0, 2)],
      [x.slice(0, 2, 4), y.slice(0, 2, 4)],
    ])
      torch.scope(() => nn.functional.mseLoss(model.forward(xs), ys).div(2).backward());
    model.parameters().forEach((p, i) => assert.ok(maxAbsDiff(flat(p.grad!.tolist()), full[i]) < 1e-14));
  });
});
