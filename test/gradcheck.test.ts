// Autograd: float64 central-difference gradient checks (gradcheck-helpers.ts) of the differentiable
// ops of the typed surface — elementwise math, matmul family, reductions, views and indexing, and
// the nn.functional layers — and the autograd API itself (backward options, retainGraph,
// createGraph, torch.autograd.grad, accumulation, .grad, detach, leaves, gradFn, retainGrad).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../lib/torch.js';
import { assertClose } from './helpers.js';
import { f64, gradcheck, randNested } from './gradcheck-helpers.js';

const F = torch.nn.functional;
/** Runs a test body in a scope and checks that it leaves no native tensor behind. */
const run = (fn: () => void) => () => {
  const before = torch.memory().numTensors;
  torch.scope(fn);
  assert.equal(torch.memory().numTensors, before, 'tensors leaked');
};
/** A float64 leaf requiring grad, uniform in [lo, hi). */
const leaf = (shape: number[], seed: number, lo = -1, hi = 1) => f64(randNested(shape, seed, lo, hi), true);
/** Values at least `gap` away from 0 (for relu and the like). */
const awayFromZero = (shape: number[], seed: number, gap = 0.2) =>
  f64(
    JSON.parse(JSON.stringify(randNested(shape, seed)), (_, v) => (typeof v === 'number' ? v + Math.sign(v || 1) * gap : v)),
    true,
  );

// ---- elementwise -------------------------------------------------------------------------------

test(
  'gradcheck: add, sub, mul, div, pow (tensor and scalar forms, with broadcasting)',
  run(() => {
    const a = leaf([3, 4], 1),
      b = leaf([4], 2),
      pos = leaf([3, 4], 3, 0.5, 2),
      e = leaf([3, 4], 4, -1.5, 1.5);
    gradcheck('add', (x, y) => x.add(y), [a, b]);
    gradcheck('add alpha', (x, y) => x.add(y, 2.5), [a, b]);
    gradcheck('add scalar', (x) => x.add(3), [a]);
    gradcheck('sub', (x, y) => x.sub(y, 0.5), [a, b]);
    gradcheck('rsub', (x) => x.rsub(2), [a]);
    gradcheck('mul', (x, y) => x.mul(y), [a, b]);
    gradcheck('mul scalar', (x) => x.mul(-1.5), [a]);
    gradcheck('div', (x, y) => x.div(y), [a, pos]);
    gradcheck('div scalar', (x) => x.div(3), [a]);
    gradcheck('pow scalar', (x) => x.pow(3), [a]);
    gradcheck('pow fractional', (x) => x.pow(2.5), [pos]);
    gradcheck('pow tensor', (x, y) => x.pow(y), [pos, e]);
    gradcheck('torch.add/mul', (x, y) => torch.mul(torch.add(x, y), y), [a, b]);
  }),
);

test(
  'gradcheck: exp, log, sqrt, rsqrt, tanh, sigmoid, relu (away from 0), erf, clamp (away from bounds), abs, square',
  run(() => {
    const x = leaf([2, 5], 10, -2, 2),
      pos = leaf([2, 5], 11, 0.3, 3);
    gradcheck('exp', (t) => t.exp(), [x]);
    gradcheck('log', (t) => t.log(), [pos]);
    gradcheck('log1p', (t) => t.log1p(), [pos]);
    gradcheck('sqrt', (t) => t.sqrt(), [pos]);
    gradcheck('rsqrt', (t) => t.rsqrt(), [pos]);
    gradcheck('tanh', (t) => t.tanh(), [x]);
    gradcheck('sigmoid', (t) => t.sigmoid(), [x]);
    gradcheck('relu', (t) => t.relu(), [awayFromZero([2, 5], 12)]);
    gradcheck('erf', (t) => t.erf(), [x]);
    gradcheck('abs', (t) => t.abs(), [awayFromZero([2, 5], 13)]);
    gradcheck('square', (t) => t.square(), [x]);
    gradcheck('sin/cos', (t) => t.sin().mul(t.cos()), [x]);
    // clamp at ±0.5 with values at least 0.05 from the bounds: the gradient is 1 inside, 0 outside
    const c = f64(
      randNested([3, 4], 14, -1, 1).map((r: number[]) => r.map((v) => (Math.abs(Math.abs(v) - 0.5) < 0.05 ? v + 0.1 : v))),
      true,
    );
    gradcheck('clamp', (t) => t.clamp(-0.5, 0.5), [c]);
    gradcheck('clamp min only', (t) => t.clamp(0.5), [c]);
    gradcheck('lerp', (s, t) => s.lerp(t, 0.3), [x, leaf([2, 5], 15)]);
    gradcheck('addcmul', (s, t, u) => s.addcmul(t, u, 0.7), [x, leaf([2, 5], 16), leaf([2, 5], 17)]);
  }),
);

test(
  'gradcheck: matmul (1-D, 2-D, batched broadcast), mm, bmm, baddbmm, einsum, outer',
  run(() => {
    gradcheck('matmul 2d', (a, b) => a.matmul(b), [leaf([3, 4], 20), leaf([4, 2], 21)]);
    gradcheck('matmul vec', (a, b) => a.matmul(b), [leaf([4], 22), leaf([4, 3], 23)]);
    gradcheck('matmul batched broadcast', (a, b) => a.matmul(b), [leaf([2, 3, 4], 24), leaf([4, 2], 25)]);
    gradcheck('mm', (a, b) => a.mm(b), [leaf([2, 3], 26), leaf([3, 3], 27)]);
    gradcheck('bmm', (a, b) => a.bmm(b), [leaf([2, 2, 3], 28), leaf([2, 3, 2], 29)]);
    gradcheck('baddbmm', (c, a, b) => c.baddbmm(a, b, 0.5, 2), [leaf([2, 2, 2], 30), leaf([2, 2, 3], 31), leaf([2, 3, 2], 32)]);
    gradcheck('einsum bij,bjk->bik', (a, b) => torch.einsum('bij,bjk->bik', a, b), [leaf([2, 2, 3], 33), leaf([2, 3, 2], 34)]);
    gradcheck('einsum ij,ij->i', (a, b) => torch.einsum('ij,ij->i', [a, b]), [leaf([3, 4], 35), leaf([3, 4], 36)]);
    gradcheck('outer', (a, b) => a.outer(b), [leaf([3], 37), leaf([4], 38)]);
  }),
);

// ---- reductions -------------------------------------------------------------------------------

test(
  'gradcheck: sum, mean, var, std, norm, logsumexp, cumsum, softmax, logSoftmax, max over dim, amax',
  run(() => {
    const x = leaf([3, 4], 40, -2, 2);
    gradcheck('sum', (t) => t.sum(), [x]);
    gradcheck('sum dims keepdim', (t) => t.sum([0, 1], true), [x]);
    gradcheck('sum dim', (t) => t.sum(1), [x]);
    gradcheck('mean', (t) => t.mean(), [x]);
    gradcheck('mean dim', (t) => t.mean(0, true), [x]);
    gradcheck('var unbiased', (t) => t.var(1), [x]);
    gradcheck('var biased', (t) => t.var(0, false), [x]);
    gradcheck('var all', (t) => t.var(), [x]);
    gradcheck('std', (t) => t.std(1, true, true), [x]);
    gradcheck('norm 2', (t) => t.norm(), [x]);
    gradcheck('norm 3 dim', (t) => t.norm(3, 1), [x]);
    gradcheck('norm 1 dim', (t) => t.norm(1, 0), [awayFromZero([3, 4], 41)]);
    gradcheck('logsumexp', (t) => t.logsumexp(1), [x]);
    gradcheck('logsumexp dims', (t) => t.logsumexp([0, 1], true), [x]);
    gradcheck('cumsum', (t) => t.cumsum(1), [x]);
    gradcheck('softmax', (t) => t.softmax(1), [x]);
    gradcheck('softmax dim 0', (t) => t.softmax(0), [x]);
    gradcheck('logSoftmax', (t) => t.logSoftmax(-1), [x]);
    gradcheck('prod', (t) => t.prod(1), [leaf([3, 4], 42, 0.5, 1.5)]);
    // distinct values, so the max is unique and differentiable
    const d = f64(
      [
        [0.1, 0.9, -0.3, 0.5],
        [1.2, -0.7, 0.4, 0.0],
        [-0.2, -0.1, -0.6, 0.8],
      ],
      true,
    );
    gradcheck('max dim values', (t) => t.max(1).values, [d]);
    gradcheck('max dim keepdim', (t) => t.max(0, true).values, [d]);
    gradcheck('min dim', (t) => t.min(1).values, [d]);
    gradcheck('amax', (t) => t.amax(1), [d]);
    gradcheck('max all', (t) => t.max(), [d]);
  }),
);

// ---- views and indexing -------------------------------------------------------------------------

test(
  'gradcheck: permute, transpose, reshape, expand, gather, indexSelect, narrow, slice with step, select',
  run(() => {
    const x = leaf([2, 3, 4], 50);
    gradcheck('permute', (t) => t.permute(2, 0, 1), [x]);
    gradcheck('transpose', (t) => t.transpose(0, 2), [x]);
    gradcheck('reshape', (t) => t.reshape(6, 4).mul(t.reshape(6, 4)), [x]);
    gradcheck('flatten', (t) => t.flatten(1), [x]);
    gradcheck('expand', (t) => t.expand(3, 2, 4).mul(f64(randNested([3, 2, 4], 51))), [leaf([1, 2, 4], 52)]);
    gradcheck('expand new dims', (t) => t.expand(2, 3, 4), [leaf([4], 53)]);
    const idx = torch.tensor([
      [
        [0, 2],
        [1, 1],
        [3, 0],
      ],
      [
        [2, 2],
        [0, 1],
        [3, 3],
      ],
    ]);
    gradcheck('gather (repeated indices accumulate)', (t) => t.gather(2, idx), [x]);
    gradcheck('indexSelect', (t) => t.indexSelect(1, torch.tensor([2, 0, 2])), [x]);
    gradcheck('narrow', (t) => t.narrow(2, 1, 2), [x]);
    gradcheck('slice step 2', (t) => t.slice(2, 0, null, 2), [x]);
    gradcheck('slice negative start', (t) => t.slice(1, -2, null, 1), [x]);
    gradcheck('select', (t) => t.select(1, -1), [x]);
    gradcheck('squeeze/unsqueeze', (t) => t.unsqueeze(1).squeeze(1), [x]);
    gradcheck('flip', (t) => t.flip([0, 2]), [x]);
    gradcheck('repeat', (t) => t.repeat(2, 1, 1), [x]);
    gradcheck('tril', (t) => t.tril(), [leaf([3, 3], 54)]);
  }),
);

test(
  'gradcheck: cat, stack, where, maskedFill, chunk/split, scatter',
  run(() => {
    const a = leaf([2, 3], 60),
      b = leaf([2, 3], 61),
      c = leaf([1, 3], 62);
    gradcheck('cat dim 0', (x, y) => torch.cat([x, y], 0), [a, c]);
    gradcheck('cat dim 1', (x, y) => torch.cat([x, y], 1), [a, b]);
    gradcheck('stack', (x, y) => torch.stack([x, y], 1), [a, b]);
    const cond = torch.tensor([
      [true, false, true],
      [false, false, true],
    ]);
    gradcheck('where', (x, y) => torch.where(cond, x, y), [a, b]);
    gradcheck('where scalar other', (x) => torch.where(cond, x, 0.5), [a]);
    gradcheck('Tensor.where', (x, y) => x.where(cond, y), [a, b]);
    gradcheck('maskedFill', (x) => x.maskedFill(cond, -2), [a]);
    gradcheck('chunk', (x) => x.chunk(3, 1)[1], [a]);
    gradcheck('split sizes', (x) => x.split([1, 2], 1)[1].mul(2), [a]);
    const idx = torch.tensor([
      [0, 1, 0],
      [1, 0, 1],
    ]);
    gradcheck('scatterAdd', (x, s) => x.scatterAdd(0, idx, s), [a, b]);
  }),
);

// ---- nn.functional -----------------------------------------------------------------------------

test(
  'gradcheck: linear, conv2d (stride, padding, dilation, groups, same), convTranspose2d',
  run(() => {
    gradcheck('linear', (x, w, b) => F.linear(x, w, b), [leaf([2, 3], 70), leaf([4, 3], 71), leaf([4], 72)]);
    gradcheck('linear no bias', (x, w) => F.linear(x, w), [leaf([2, 2, 3], 73), leaf([2, 3], 74)]);
    gradcheck('conv2d', (x, w, b) => F.conv2d(x, w, b, { stride: [2, 1], padding: 1 }), [leaf([1, 2, 4, 4], 75), leaf([3, 2, 3, 2], 76), leaf([3], 77)]);
    gradcheck('conv2d dilation groups', (x, w) => F.conv2d(x, w, null, { dilation: 2, groups: 2, padding: [1, 2] }), [
      leaf([1, 4, 5, 4], 78),
      leaf([2, 2, 2, 2], 79),
    ]);
    gradcheck("conv2d 'same'", (x, w) => F.conv2d(x, w, null, { padding: 'same' }), [leaf([1, 1, 4, 3], 80), leaf([2, 1, 2, 3], 81)]);
    gradcheck('convTranspose2d', (x, w, b) => F.convTranspose2d(x, w, b, { stride: 2, padding: 1, outputPadding: 1 }), [
      leaf([1, 2, 3, 3], 82),
      leaf([2, 2, 3, 3], 83),
      leaf([2], 84),
    ]);
    gradcheck('convTranspose2d groups dilation', (x, w) => F.convTranspose2d(x, w, null, { groups: 2, dilation: [1, 2] }), [
      leaf([1, 2, 2, 3], 85),
      leaf([2, 1, 2, 2], 86),
    ]);
  }),
);

test(
  'gradcheck: layerNorm, groupNorm, rmsNorm (input and affine parameters)',
  run(() => {
    gradcheck('layerNorm', (x, w, b) => F.layerNorm(x, [4], w, b), [leaf([3, 4], 90, -2, 2), leaf([4], 91), leaf([4], 92)]);
    gradcheck('layerNorm 2 dims', (x) => F.layerNorm(x, [2, 3]), [leaf([2, 2, 3], 93, -2, 2)]);
    gradcheck('groupNorm', (x, w, b) => F.groupNorm(x, 2, w, b), [leaf([2, 4, 2, 2], 94, -2, 2), leaf([4], 95), leaf([4], 96)]);
    gradcheck('rmsNorm', (x, w) => F.rmsNorm(x, [4], w), [leaf([3, 4], 97, -2, 2), leaf([4], 98)]);
    gradcheck('rmsNorm 2 dims eps', (x) => F.rmsNorm(x, [2, 3], null, 0.1), [leaf([2, 2, 3], 99, -2, 2)]);
  }),
);

test(
  'gradcheck: gelu (exact and tanh), silu, softmax, interpolate bilinear/bicubic, pad reflect, avgPool2d',
  run(() => {
    const x = leaf([2, 5], 100, -3, 3);
    gradcheck('gelu', (t) => F.gelu(t), [x]);
    gradcheck('gelu tanh', (t) => F.gelu(t, 'tanh'), [x]);
    gradcheck('silu', (t) => F.silu(t), [x]);
    gradcheck('mish', (t) => F.mish(t), [x]);
    gradcheck('softplus', (t) => F.softplus(t, 2), [x]);
    gradcheck('F.softmax', (t) => F.softmax(t, 0), [x]);
    const img = leaf([1, 2, 3, 4], 101);
    gradcheck('interpolate bilinear up', (t) => F.interpolate(t, { size: [5, 6], mode: 'bilinear' }), [img]);
    gradcheck('interpolate bilinear align', (t) => F.interpolate(t, { size: [2, 7], mode: 'bilinear', alignCorners: true }), [img]);
    gradcheck('interpolate bicubic', (t) => F.interpolate(t, { size: [5, 3], mode: 'bicubic' }), [img]);
    gradcheck('interpolate bicubic align', (t) => F.interpolate(t, { scaleFactor: 2, mode: 'bicubic', alignCorners: true }), [img]);
    gradcheck('interpolate bilinear antialias', (t) => F.interpolate(t, { size: [2, 2], mode: 'bilinear', antialias: true }), [img]);
    gradcheck('interpolate nearest', (t) => F.interpolate(t, { size: [5, 7] }), [img]);
    gradcheck('pad reflect', (t) => F.pad(t, [2, 1, 1, 2], 'reflect'), [img]);
    gradcheck('pad replicate', (t) => F.pad(t, [1, 2, 0, 1], 'replicate'), [img]);
    gradcheck('pad constant', (t) => F.pad(t, [1, 1, 1, 0], 'constant', 3), [img]);
    gradcheck('avgPool2d', (t) => F.avgPool2d(t, 2, 1, 1, false, false), [img]);
    gradcheck('adaptiveAvgPool2d', (t) => F.adaptiveAvgPool2d(t, [2, 3]), [img]);
    // distinct values so each window's max is unique
    const m = leaf([1, 1, 4, 4], 102);
    gradcheck('maxPool2d', (t) => F.maxPool2d(t, 2, 1), [m]);
  }),
);

test(
  'gradcheck: embedding weight, scaledDotProductAttention (masks), losses, cosineSimilarity, normalize',
  run(() => {
    const idx = torch.tensor([
      [0, 3, 3],
      [1, 0, 2],
    ]);
    gradcheck('embedding weight', (w) => F.embedding(idx, w), [leaf([4, 3], 110)]);
    // (with paddingIdx the padding row's gradient is 0 by definition, not the derivative: see functional.test)
    const q = leaf([2, 3, 4], 112),
      k = leaf([2, 5, 4], 113),
      v = leaf([2, 5, 2], 114);
    gradcheck('sdpa', (a, b, c) => F.scaledDotProductAttention(a, b, c), [q, k, v]);
    const keep = torch.tensor([
      [true, false, true, true, false],
      [false, true, true, false, false],
      [true, true, true, true, true],
    ]);
    gradcheck('sdpa bool mask', (a, b, c) => F.scaledDotProductAttention(a, b, c, { attnMask: keep }), [q, k, v]);
    const add = f64(randNested([3, 5], 115));
    gradcheck('sdpa float mask', (a, b, c) => F.scaledDotProductAttention(a, b, c, { attnMask: add }), [q, k, v]);
    const oneRowNone = torch.tensor([
      [true, false, true, true, false],
      [false, false, false, false, false],
      [true, true, true, true, true],
    ]);
    gradcheck('sdpa with a query that sees no key', (a, b, c) => F.scaledDotProductAttention(a, b, c, { attnMask: oneRowNone }), [q, k, v]);
    gradcheck('sdpa causal', (a, b, c) => F.scaledDotProductAttention(a, b, c, { isCausal: true, scale: 0.7 }), [q, k, v]);
    const y = leaf([3, 4], 116),
      t = f64(randNested([3, 4], 117));
    gradcheck('mseLoss', (a) => F.mseLoss(a, t), [y]);
    gradcheck('mseLoss sum both', (a, b) => F.mseLoss(a, b, 'sum'), [y, leaf([3, 4], 118)]);
    gradcheck('l1Loss', (a) => F.l1Loss(a, t.add(3)), [y]);
    const cls = torch.tensor([1, 0, 3]),
      w = f64([0.5, 1, 2, 1.5]);
    gradcheck('crossEntropy', (a) => F.crossEntropy(a, cls), [y]);
    gradcheck('crossEntropy weight smoothing', (a) => F.crossEntropy(a, cls, { weight: w, labelSmoothing: 0.2 }), [y]);
    gradcheck('crossEntropy ignoreIndex none', (a) => F.crossEntropy(a, torch.tensor([1, -100, 3]), { reduction: 'none' }), [y]);
    gradcheck('crossEntropy probabilities', (a) => F.crossEntropy(a, t.softmax(1)), [y]);
    gradcheck('nllLoss', (a) => F.nllLoss(a.logSoftmax(1), cls, { weight: w }), [y]);
    gradcheck('bce with logits', (a) => F.binaryCrossEntropyWithLogits(a, t.sigmoid()), [y]);
    gradcheck('cosineSimilarity', (a, b) => F.cosineSimilarity(a, b), [y, leaf([3, 4], 119)]);
    gradcheck('normalize', (a) => F.normalize(a), [y]);
    gradcheck('normalize p=3 dim 0', (a) => F.normalize(a, 3, 0), [y]);
  }),
);

// ---- the checker itself --------------------------------------------------------------------------

test(
  'the gradient checker catches a wrong gradient',
  run(() => {
    // a gradient scaled by 1.001 through a custom composition: x.detach() hides a term from autograd
    const x = leaf([3], 120, 0.5, 1);
    assert.throws(() => gradcheck('wrong', (t) => t.mul(t.detach()), [x]), /finite difference/);
  }),
);

// ---- autograd API ------------------------------------------------------------------------------

test(
  'backward with a gradient argument: x.grad = Jᵀ·g',
  run(() => {
    const x = f64([1, -2, 3], true);
    const y = x.mul(x); // dy_i/dx_i = 2x_i
    y.backward(f64([1, 0.5, -1]));
    assertClose(x.grad!, [2, -2, -6], 0);
    assert.throws(() => x.mul(x).backward(), torch.TorchError, 'a non-scalar output needs a gradient');
    // the inputs option accumulates into the listed leaves only
    const a = f64([1, 2], true),
      b = f64([3, 4], true);
    a.mul(b)
      .sum()
      .backward(null, { inputs: [a] });
    assertClose(a.grad!, [3, 4], 0);
    assert.equal(b.grad, null);
  }),
);

test(
  'retainGraph: a second backward works only when the first retained the graph',
  run(() => {
    const x = f64([0.5, 1], true);
    const y = x.exp().sum();
    y.backward(null, { retainGraph: true });
    y.backward();
    assertClose(x.grad!, [2 * Math.exp(0.5), 2 * Math.exp(1)], 1e-12);
    const z = x.exp().sum();
    z.backward();
    assert.throws(
      () => z.backward(),
      (e: unknown) => e instanceof torch.TorchError && /second time|already been freed/.test((e as Error).message),
    );
  }),
);

test(
  'createGraph: second derivatives (d²/dx² x³ = 6x) through backward and autograd.grad',
  run(() => {
    const x = f64(2, true);
    const y = x.pow(3);
    const [g] = torch.autograd.grad(y, x, { createGraph: true });
    assert.equal(g!.item(), 12);
    assert.ok(g!.requiresGrad, 'the first derivative is itself differentiable');
    const [g2] = torch.autograd.grad(g!, x);
    assert.equal(g2!.item(), 12); // 6·2
    // the same with backward(createGraph): x.grad carries a graph
    const x2 = f64([1, 3], true);
    x2.pow(3).sum().backward(null, { createGraph: true });
    const gx = x2.grad!;
    assertClose(gx, [3, 27], 1e-12);
    assert.ok(gx.requiresGrad);
    x2.grad = null;
    gx.sum().backward();
    assertClose(x2.grad!, [6, 18], 1e-12);
    // third derivative of x³ is 6
    const x3 = f64(0.7, true);
    const [d1] = torch.autograd.grad(x3.pow(3), x3, { createGraph: true });
    const [d2] = torch.autograd.grad(d1!, x3, { createGraph: true });
    const [d3] = torch.autograd.grad(d2!, x3);
    assertClose(d3!, 6, 1e-12);
  }),
);

test(
  'torch.autograd.grad: does not touch .grad; gradOutputs; allowUnused gives null; several inputs',
  run(() => {
    const x = f64([1, 2], true),
      u = f64([5], true);
    const y = x.mul(x).sum();
    const [g] = torch.autograd.grad(y, [x], { retainGraph: true });
    assertClose(g!, [2, 4], 0);
    assert.equal(x.grad, null, 'grad() leaves .grad alone');
    assert.throws(() => torch.autograd.grad(y, [x, u], { retainGraph: true }), /not have been used in the graph/, 'an unused input is an error by default');
    const [gx, gu] = torch.autograd.grad(y, [x, u], { allowUnused: true });
    assertClose(gx!, [2, 4], 0);
    assert.equal(gu, null);
    const z = x.mul(3);
    const [gz] = torch.autograd.grad(z, x, { gradOutputs: [f64([1, -1])] });
    assertClose(gz!, [3, -3], 0);
    const a = f64(2, true),
      b = f64(3, true);
    const [ga, gb] = torch.autograd.grad(a.mul(b).add(a), [a, b]);
    assert.deepEqual([ga!.item(), gb!.item()], [4, 2]);
  }),
);

test(
  'gradients accumulate over backward calls; .grad = null resets; .grad can be assigned',
  run(() => {
    const x = f64([1, 2, 3], true);
    x.mul(3).sum().backward();
    x.mul(3).sum().backward();
    assertClose(x.grad!, [6, 6, 6], 0);
    x.grad = null;
    assert.equal(x.grad, null);
    x.mul(x).sum().backward();
    assertClose(x.grad!, [2, 4, 6], 0);
    x.grad = f64([10, 10, 10]);
    x.sum().backward();
    assertClose(x.grad!, [11, 11, 11], 0);
  }),
);

test(
  'detach: no grad, no gradFn, shares storage; leaves, isLeaf, requiresGrad_ on a non-leaf',
  run(() => {
    const x = f64([1, 2], true);
    const y = x.mul(2);
    const d = y.detach();
    assert.equal(d.requiresGrad, false);
    assert.equal(d.gradFn, null);
    assert.equal(d.isLeaf, true);
    const xd = x.detach();
    torch.noGrad(() => xd.add_(1));
    assertClose(x, [2, 3], 0, [2]); // same storage
    assert.equal(x.isLeaf, true);
    assert.equal(y.isLeaf, false);
    assert.equal(torch.ones(2).isLeaf, true);
    assert.equal(torch.ones(2).mul(2).isLeaf, true, 'results of ops on tensors without grad are leaves');
    assert.equal(y.requiresGrad, true);
    // requiresGrad_ on a leaf toggles; on a non-leaf it may be set true (no-op) but not false
    const l = f64([1]);
    l.requiresGrad_();
    assert.equal(l.requiresGrad, true);
    l.requiresGrad_(false);
    assert.equal(l.requiresGrad, false);
    y.requiresGrad_(true);
    assert.equal(y.requiresGrad, true);
  }),
);

test(
  'requiresGrad_(false) on a non-leaf is an error (PyTorch: only leaves can change requires_grad)',
  run(() => {
    const y = f64([1, 2], true).mul(2);
    assert.throws(() => y.requiresGrad_(false), /leaf/);
    assert.throws(() => {
      y.requiresGrad = false;
    }, /leaf/);
  }),
);

test(
  'gradFn names the autograd node; retainGrad keeps a non-leaf gradient',
  run(() => {
    const x = f64([1, 2], true),
      w = f64([3, 4], true);
    assert.equal(x.gradFn, null);
    assert.equal(x.mul(w).gradFn, 'MulBackward0');
    assert.equal(x.add(w).gradFn, 'AddBackward0');
    assert.equal(x.sum().gradFn, 'SumBackward0');
    assert.equal(x.exp().gradFn, 'ExpBackward0');
    assert.equal(torch.noGrad(() => x.mul(w)).gradFn, null);
    const y = x.mul(w);
    y.retainGrad();
    const z = x.mul(w);
    y.mul(y).sum().add(z.sum()).backward();
    assertClose(y.grad!, [6, 16], 0); // 2y
    assert.equal(z.grad, null, 'a non-leaf without retainGrad keeps no gradient');
    assertClose(x.grad!, [2 * 3 * 3 + 3, 2 * 8 * 4 + 4], 0); // 2y·w + w
  }),
);
