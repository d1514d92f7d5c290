// nn layers: parameter names and shapes, PyTorch's default initialisation (statistics within
// bounds), forward values against nn.functional or hand formulas; nn.init.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../lib/torch.js';
import * as nn from '../lib/nn/index.js';
import { assertClose } from './helpers.js';

const F = nn.functional;
const { init } = nn;
const shapes = (m: nn.Module) => Object.fromEntries(m.namedParameters().map(([k, p]) => [k, p.shape]));
const stats = (t: torch.Tensor) =>
  torch.scope(() => ({
    min: t.min().item(),
    max: t.max().item(),
    mean: t.mean().item(),
    std: t.std().item(),
  }));

test('Linear: names, shapes, kaiming_uniform(a=√5) init, forward = x·Wᵀ + b', () => {
  torch.scope(() => {
    torch.manualSeed(0);
    const lin = new nn.Linear(256, 128);
    assert.deepEqual(shapes(lin), { weight: [128, 256], bias: [128] });
    const bound = 1 / Math.sqrt(256);
    const w = stats(lin.weight),
      b = stats(lin.bias!);
    assert.ok(w.min >= -bound && w.max <= bound && w.max > 0.95 * bound);
    assert.ok(Math.abs(w.std - bound / Math.sqrt(3)) < 0.02 * bound, `std ${w.std}`);
    assert.ok(b.min >= -bound && b.max <= bound);
    const x = torch.randn(3, 256);
    assertClose(lin.forward(x), x.matmul(lin.weight.T).add(lin.bias!).tolist(), 1e-5, [3, 128]);
    assert.deepEqual(shapes(new nn.Linear(4, 2, false)), { weight: [2, 4] });
    assert.equal(new nn.Linear(4, 2, true, { dtype: 'float64' }).weight.dtype, 'float64');
  });
});

test('Conv2d and ConvTranspose2d: weight layouts, init bounds, forward vs functional', () => {
  torch.scope(() => {
    torch.manualSeed(1);
    const conv = new nn.Conv2d(8, 16, 3, { stride: 2, padding: 1 });
    assert.deepEqual(shapes(conv), { weight: [16, 8, 3, 3], bias: [16] });
    const bound = 1 / Math.sqrt(8 * 9);
    const w = stats(conv.weight);
    assert.ok(w.min >= -bound && w.max <= bound && w.max > 0.95 * bound);
    const x = torch.randn(2, 8, 9, 9);
    const y = conv.forward(x);
    assert.deepEqual(y.shape, [2, 16, 5, 5]);
    assert.ok(y.equal(F.conv2d(x, conv.weight, conv.bias, { stride: 2, padding: 1 })));
    assert.deepEqual(shapes(new nn.Conv2d(4, 8, [1, 3], { groups: 2, bias: false })), { weight: [8, 2, 1, 3] });

    const up = new nn.ConvTranspose2d(16, 4, 4, { stride: 2, padding: 1 });
    assert.deepEqual(shapes(up), { weight: [16, 4, 4, 4], bias: [4] });
    const tb = 1 / Math.sqrt(4 * 16); // PyTorch's fan_in of the (in, out, k, k) weight is out·k·k
    assert.ok(stats(up.weight).max <= tb && stats(up.weight).max > 0.9 * tb);
    assert.deepEqual(up.forward(y).shape, [2, 4, 10, 10]);
    assert.throws(() => new nn.Conv2d(3, 4, 1, { groups: 2 }), /divisible by groups/);
  });
});

test('LayerNorm / GroupNorm / RMSNorm: flags, ones/zeros init, forward values', () => {
  torch.scope(() => {
    assert.deepEqual(shapes(new nn.LayerNorm(6)), { weight: [6], bias: [6] });
    assert.deepEqual(shapes(new nn.LayerNorm(6, { bias: false })), { weight: [6] });
    assert.deepEqual(shapes(new nn.LayerNorm(6, { elementwiseAffine: false })), {});
    const ln = new nn.LayerNorm([2, 3], { eps: 1e-6 });
    assert.deepEqual(ln.weight!.tolist(), [
      [1, 1, 1],
      [1, 1, 1],
    ]);
    assert.deepEqual(ln.bias!.tolist(), [
      [0, 0, 0],
      [0, 0, 0],
    ]);
    const x = torch.randn(4, 2, 3);
    const manual = torch.scope(() => {
      const mu = x.mean([-2, -1], true);
      const v = x.sub(mu).pow(2).mean([-2, -1], true);
      return x.sub(mu).div(v.add(1e-6).sqrt());
    });
    assertClose(ln.forward(x), manual.tolist(), 1e-5);

    const gn = new nn.GroupNorm(2, 4);
    assert.deepEqual(shapes(gn), { weight: [4], bias: [4] });
    const xi = torch.randn(2, 4, 3, 3);
    assert.ok(gn.forward(xi).equal(F.groupNorm(xi, 2, gn.weight, gn.bias, 1e-5)));
    assert.throws(() => new nn.GroupNorm(3, 4), /divisible/);

    const rms = new nn.RMSNorm(3, { eps: 1e-6 });
    assert.deepEqual(shapes(rms), { weight: [3] });
    const xr = torch.tensor(
      [
        [1, 2, 2],
        [3, 0, 4],
      ],
      { dtype: 'float32' },
    );
    const r = [Math.sqrt(3 + 1e-6), Math.sqrt(25 / 3 + 1e-6)];
    assertClose(
      rms.forward(xr),
      [
        [1 / r[0], 2 / r[0], 2 / r[0]],
        [3 / r[1], 0, 4 / r[1]],
      ],
      1e-6,
    );
  });
});

test('BatchNorm2d: PyTorch keys, eval with running statistics, training updates them (momentum or cumulative)', () => {
  torch.scope(() => {
    const bn = new nn.BatchNorm2d(3, { eps: 0.001 });
    assert.deepEqual(Object.keys(bn.stateDict()), ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
    assert.equal(bn.num_batches_tracked!.dtype, 'int64');
    assert.deepEqual(bn.num_batches_tracked!.shape, []);
    assert.equal(bn.toString(), 'BatchNorm2d(3, eps=0.001, momentum=0.1, affine=True, track_running_stats=True)');
    const x = torch
      .arange(0, 2 * 3 * 4 * 5)
      .float()
      .reshape(2, 3, 4, 5)
      .sin()
      .mul(3);
    // training: batch statistics (biased variance) normalise; the running ones move by momentum, with the unbiased variance
    const mean = x.mean([0, 2, 3]),
      varB = x.var([0, 2, 3], false),
      varU = x.var([0, 2, 3], true);
    const norm = (m: torch.Tensor, v: torch.Tensor) => x.sub(m.reshape(1, 3, 1, 1)).div(v.add(0.001).sqrt().reshape(1, 3, 1, 1));
    assertClose(bn.forward(x), norm(mean, varB).tolist(), 1e-5);
    assertClose(bn.running_mean!, mean.mul(0.1).tolist(), 1e-6);
    assertClose(bn.running_var!, varU.mul(0.1).add(0.9).tolist(), 1e-6);
    assert.equal(bn.num_batches_tracked!.item(), 1);
    // eval: the running statistics, weight and bias
    torch.noGrad(() => {
      bn.weight!.fill_(2);
      bn.bias!.fill_(0.5);
    });
    bn.eval();
    assertClose(bn.forward(x), norm(bn.running_mean!, bn.running_var!).mul(2).add(0.5).tolist(), 1e-5);
    assert.equal(bn.num_batches_tracked!.item(), 1, 'eval does not count batches');
    // momentum null: the running statistics are the plain average over the batches seen
    const cum = new nn.BatchNorm2d(3, { momentum: null });
    cum.forward(x);
    cum.forward(x.mul(2));
    assertClose(cum.running_mean!, mean.mul(1.5).tolist(), 1e-6);
    assert.equal(cum.num_batches_tracked!.item(), 2);
    assert.throws(() => bn.forward(x.flatten(2)), /expected 4D input/);
    assert.throws(() => bn.forward(torch.zeros(1, 4, 2, 2)), /input has 4 channels/);
  });
});

test('Embedding: N(0, 1) init, padding row zero, lookup', () => {
  torch.scope(() => {
    torch.manualSeed(2);
    const e = new nn.Embedding(1000, 16, { paddingIdx: -1 });
    assert.deepEqual(shapes(e), { weight: [1000, 16] });
    assert.equal(e.paddingIdx, 999);
    const s = stats(e.weight);
    assert.ok(Math.abs(s.mean) < 0.03 && Math.abs(s.std - 1) < 0.03, JSON.stringify(s));
    assert.equal(e.weight.select(0, 999).abs().sum().item(), 0);
    const idx = torch.tensor([[3, 999]]);
    const y = e.forward(idx);
    assert.deepEqual(y.shape, [1, 2, 16]);
    assert.ok(y.select(1, 0).squeeze(0).equal(e.weight.select(0, 3)));
  });
});

test('Dropout and DropPath: identity in eval or with p = 0; per-element vs per-sample in training', () => {
  torch.scope(() => {
    torch.manualSeed(3);
    const x = torch.ones(400, 50);
    const d = new nn.Dropout(0.25);
    const y = d.forward(x);
    const zeroFrac = y.eq(0).float().mean().item();
    assert.ok(Math.abs(zeroFrac - 0.25) < 0.02, `${zeroFrac}`);
    assert.ok(
      y
        .eq(0)
        .logicalOr(y.eq(1 / 0.75))
        .all()
        .item(),
    );
    d.eval();
    assert.ok(d.forward(x).equal(x));

    const dp = new nn.DropPath(0.25);
    const z = dp.forward(x);
    const rowSums = z.sum(1).tolist() as number[];
    for (const s of rowSums) assert.ok(s === 0 || Math.abs(s - 50 / 0.75) < 1e-3, `row sum ${s}`);
    const dropped = rowSums.filter((s) => s === 0).length / 400;
    assert.ok(Math.abs(dropped - 0.25) < 0.07, `${dropped}`);
    assert.equal(new nn.DropPath(0).forward(x), x);
    dp.eval();
    assert.equal(dp.forward(x), x);
    const noScale = nn.dropPath(x, 0.5, true, false);
    assert.ok(noScale.eq(0).logicalOr(noScale.eq(1)).all().item());
    assert.equal(dp.toString(), 'DropPath(drop_prob=0.25)');
  });
});

test('GELU (exact and tanh), SiLU, Identity, Upsample', () => {
  torch.scope(() => {
    const xs = [-2, -0.5, 0, 0.7, 3];
    const x = torch.tensor(xs, { dtype: 'float64' });
    const erf = (v: number) => torch.scope(() => torch.tensor([v], { dtype: 'float64' }).erf().item());
    assertClose(
      new nn.GELU().forward(x),
      xs.map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2))),
      1e-12,
    );
    const tanhGelu = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
    assertClose(new nn.GELU('tanh').forward(x), xs.map(tanhGelu), 1e-12);
    assertClose(
      new nn.SiLU().forward(x),
      xs.map((v) => v / (1 + Math.exp(-v))),
      1e-12,
    );
    assert.equal(new nn.Identity().forward(x), x);
    assert.throws(() => new nn.GELU('fast' as any), /approximate/);

    const img = torch.arange(4, { dtype: 'float32' }).view(1, 1, 2, 2);
    const up = new nn.Upsample({ scaleFactor: 2, mode: 'nearest' }).forward(img);
    assert.deepEqual(up.tolist(), [
      [
        [
          [0, 0, 1, 1],
          [0, 0, 1, 1],
          [2, 2, 3, 3],
          [2, 2, 3, 3],
        ],
      ],
    ]);
    assert.deepEqual(new nn.Upsample({ size: [3, 5], mode: 'bilinear' }).forward(img).shape, [1, 1, 3, 5]);
  });
});

test('init: fans and gains as PyTorch', () => {
  torch.scope(() => {
    assert.deepEqual(init.calculateFanInAndFanOut(torch.empty(16, 8, 3, 3)), [72, 144]);
    assert.deepEqual(init.calculateFanInAndFanOut(torch.empty(5, 7)), [7, 5]);
    assert.throws(() => init.calculateFanInAndFanOut(torch.empty(5)), /fewer than 2 dimensions/);
    assert.equal(init.calculateGain('relu'), Math.SQRT2);
    assert.equal(init.calculateGain('tanh'), 5 / 3);
    assert.equal(init.calculateGain('leaky_relu', Math.sqrt(5)), Math.sqrt(1 / 3));
    assert.equal(init.calculateGain('linear'), 1);
  });
});

test('init: uniform/normal families within their bounds and statistics', () => {
  torch.scope(() => {
    torch.manualSeed(4);
    const w = torch.empty(400, 300, { requiresGrad: true });
    init.xavierUniform_(w);
    const xb = Math.sqrt(6 / 700);
    let s = stats(w);
    assert.ok(s.min >= -xb && s.max <= xb && Math.abs(s.std - xb / Math.sqrt(3)) < 0.01 * xb);
    init.xavierNormal_(w, 2);
    s = stats(w);
    assert.ok(Math.abs(s.std - 2 * Math.sqrt(2 / 700)) < 0.01 * 2 * Math.sqrt(2 / 700));
    init.kaimingUniform_(w, 0, 'fan_out', 'relu');
    const kb = Math.sqrt(2) * Math.sqrt(3 / 400);
    s = stats(w);
    assert.ok(s.min >= -kb && s.max <= kb && s.max > 0.99 * kb);
    init.kaimingNormal_(w, 0, 'fan_in', 'relu');
    assert.ok(Math.abs(stats(w).std - Math.sqrt(2 / 300)) < 0.01 * Math.sqrt(2 / 300));
    init.normal_(w, 1, 0.5);
    s = stats(w);
    assert.ok(Math.abs(s.mean - 1) < 0.01 && Math.abs(s.std - 0.5) < 0.01);
    init.uniform_(w, -3, -1);
    s = stats(w);
    assert.ok(s.min >= -3 && s.max <= -1 && Math.abs(s.mean + 2) < 0.01);
    assert.deepEqual(init.constant_(torch.empty(2), 1.5).tolist(), [1.5, 1.5]);
    assert.deepEqual(init.zeros_(torch.ones(2)).tolist(), [0, 0]);
    assert.deepEqual(init.ones_(torch.zeros(2)).tolist(), [1, 1]);
    assert.equal(w.requiresGrad, true);
  });
});

test("init.truncNormal_: values in [a, b] with the truncated normal's mean and std", () => {
  torch.scope(() => {
    torch.manualSeed(5);
    const t = torch.empty(200000, { dtype: 'float64' });
    init.truncNormal_(t, 0, 0.02, -0.04, 0.04);
    let s = stats(t);
    assert.ok(s.min >= -0.04 && s.max <= 0.04);
    // N(0, σ) truncated at ±2σ: std = σ·√(1 − 2·2·φ(2)/(2Φ(2) − 1)) ≈ 0.8796σ
    assert.ok(Math.abs(s.std - 0.8796 * 0.02) < 0.005 * 0.02, `std ${s.std}`);
    // One-sided: N(0, 1) on [0, 3] has mean (φ(0) − φ(3)) / (Φ(3) − Φ(0)) ≈ 0.79115
    init.truncNormal_(t, 0, 1, 0, 3);
    s = stats(t);
    assert.ok(s.min >= 0 && s.max <= 3);
    assert.ok(Math.abs(s.mean - 0.79115) < 0.005, `mean ${s.mean}`);
    // Far tail bounds exercise erf's continued fraction: N(0, 1) on [3, 4], mean ≈ 3.26045
    init.truncNormal_(t, 0, 1, 3, 4);
    assert.ok(Math.abs(stats(t).mean - 3.26045) < 0.005, `tail mean ${stats(t).mean}`);
  });
});
