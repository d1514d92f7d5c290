// Tensor factories (zeros/ones/full/empty/arange/linspace/eye, rand/randn/randint/randperm, *_like),
// their options (dtype, device, requiresGrad), the RNG (global seed against PyTorch's known values,
// Generator objects, state save/restore) and dtype conversions (.to, .float(), .half(), ...).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../lib/torch.js';
import { assertClose } from './helpers.js';
import { assertExact, build, meanVar } from './helpers-ops.js';

const f32 = (v: any) => torch.tensor(v, { dtype: 'float32' });
const values = (t: torch.Tensor) => Array.from(t.toTypedArray() as ArrayLike<number | bigint>, Number);

test('zeros/ones/empty: shapes as varargs or arrays, default float32, dtype option', () =>
  torch.scope(() => {
    assertExact(torch.zeros(2, 3), 'float32', [
      [0, 0, 0],
      [0, 0, 0],
    ]);
    assertExact(torch.zeros([2]), 'float32', [0, 0]);
    assertExact(torch.ones(3), 'float32', [1, 1, 1]);
    assertExact(torch.ones([1, 2], { dtype: 'int64' }), 'int64', [[1, 1]]);
    assertExact(torch.ones(2, { dtype: 'bool' }), 'bool', [true, true]);
    assertExact(torch.zeros(2, 2, { dtype: 'float64' }), 'float64', [
      [0, 0],
      [0, 0],
    ]);
    assertExact(torch.zeros([], { dtype: 'int32' }), 'int32', 0);
    assert.deepEqual(torch.zeros(0, 4).shape, [0, 4]);
    const e = torch.empty(3, 4, { dtype: 'float64' });
    assert.deepEqual(e.shape, [3, 4]);
    assert.equal(e.dtype, 'float64');
    assert.equal(e.isContiguous(), true);
    assert.deepEqual(torch.empty([2, 0]).shape, [2, 0]);
    assert.equal(torch.empty(1).dtype, 'float32');
    // dtype aliases
    assert.equal(torch.zeros(1, { dtype: 'double' }).dtype, 'float64');
    assert.equal(torch.zeros(1, { dtype: 'long' }).dtype, 'int64');
    assert.equal(torch.zeros(1, { dtype: 'half' }).dtype, 'float16');
    assert.throws(() => torch.zeros(1, { dtype: 'float128' }), /unknown dtype 'float128'/);
    assert.throws(() => torch.zeros(-1), /negative/);
  }));

test('full infers int64 / float32 / bool from the fill value; dtype overrides', () =>
  torch.scope(() => {
    assertExact(torch.full([2], 3), 'int64', [3, 3]);
    assertExact(torch.full([2, 1], -2.5), 'float32', [[-2.5], [-2.5]]);
    assertExact(torch.full([3], true), 'bool', [true, true, true]);
    assertExact(torch.full([2], 3, { dtype: 'float64' }), 'float64', [3, 3]);
    assertExact(torch.full([], 7), 'int64', 7);
    assertExact(torch.full([2], 1.5, { dtype: 'int32' }), 'int32', [1, 1]);
  }));

test('tensor(): dtype inference with mixed booleans, numbers and bigints; copies of tensors', () =>
  torch.scope(() => {
    assertExact(torch.tensor([true, 2]), 'int64', [1, 2]); // torch.tensor([True, 2])
    assertExact(torch.tensor([false, 2.5]), 'float32', [0, 2.5]);
    assertExact(torch.tensor([[true], [false]]), 'bool', [[true], [false]]);
    assertExact(torch.tensor([1n, 2]), 'int64', [1, 2]);
    assertExact(torch.tensor([1, 2.5], { dtype: 'int64' }), 'int64', [1, 2]);
    assertExact(torch.tensor([-1, 256], { dtype: 'uint8' }), 'uint8', [255, 0]); // wraps like a C cast
    assertExact(torch.tensor([NaN, 1]).isnan(), 'bool', [true, false]);
    // torch.tensor(t) is a detached copy
    const src = torch.ones(2, { requiresGrad: true });
    const c = torch.tensor(src);
    assert.equal(c.requiresGrad, false);
    c.fill_(5);
    assertExact(src.detach(), 'float32', [1, 1]);
    assertExact(torch.tensor(src, { dtype: 'float64' }), 'float64', [1, 1]);
  }));

test('arange with one, two and three arguments, float steps, negative steps, options', () =>
  torch.scope(() => {
    assertExact(torch.arange(5), 'int64', [0, 1, 2, 3, 4]);
    assertExact(torch.arange(2, 6), 'int64', [2, 3, 4, 5]);
    assertExact(torch.arange(1, 10, 3), 'int64', [1, 4, 7]);
    assertExact(torch.arange(5, 0, -2), 'int64', [5, 3, 1]);
    assertExact(torch.arange(-3, -1), 'int64', [-3, -2]);
    assertExact(torch.arange(0), 'int64', []);
    assertExact(torch.arange(0, 1, 0.25), 'float32', [0, 0.25, 0.5, 0.75]);
    assertExact(torch.arange(1, 2.5, 0.5), 'float32', [1, 1.5, 2]);
    assertExact(torch.arange(2.5), 'float32', [0, 1, 2]);
    assertExact(torch.arange(1, -1, -0.5), 'float32', [1, 0.5, 0, -0.5]);
    // length is ceil((end - start) / step), as in PyTorch
    assert.equal(torch.arange(0, 1, 0.1).numel(), 10);
    assert.equal(torch.arange(0, 1.05, 0.1).numel(), 11);
    assertClose(
      torch.arange(0, 1, 0.1, { dtype: 'float64' }),
      Array.from({ length: 10 }, (_, i) => i * 0.1),
      1e-12,
    );
    assertExact(torch.arange(4, { dtype: 'float64' }), 'float64', [0, 1, 2, 3]);
    assertExact(torch.arange(1, 4, { dtype: 'float32' }), 'float32', [1, 2, 3]);
    assertExact(torch.arange(0, 6, 2, { dtype: 'int32' }), 'int32', [0, 2, 4]);
    assert.equal(torch.arange(3, { requiresGrad: true, dtype: 'float32' }).requiresGrad, true);
    // libtorch's own message (1.13 says 'larger bound', 2.x corrected it to 'lower bound')
    assert.throws(() => torch.arange(0, 5, -1), /upper bound and (larger|lower) bound inconsistent with step sign/);
    assert.throws(() => torch.arange(0, 5, 0), /step must be nonzero/);
  }));

test('linspace: endpoints included, steps 1, dtype', () =>
  torch.scope(() => {
    assertExact(torch.linspace(0, 1, 5), 'float32', [0, 0.25, 0.5, 0.75, 1]);
    assertExact(torch.linspace(-1, 1, 3), 'float32', [-1, 0, 1]);
    assertExact(torch.linspace(3, 3, 4), 'float32', [3, 3, 3, 3]);
    assertExact(torch.linspace(2, 7, 1), 'float32', [2]);
    assertExact(torch.linspace(0, 1, 0), 'float32', []);
    assertExact(torch.linspace(10, 0, 3), 'float32', [10, 5, 0]);
    assertClose(
      torch.linspace(0, 1, 7, { dtype: 'float64' }),
      Array.from({ length: 7 }, (_, i) => i / 6),
      1e-15,
    );
    assert.equal(torch.linspace(0, 1, 7, { dtype: 'float64' }).dtype, 'float64');
    assertExact(torch.linspace(0, 10, 6, { dtype: 'int64' }), 'int64', [0, 2, 4, 6, 8, 10]);
  }));

test('eye: n×n, n×m, dtype', () =>
  torch.scope(() => {
    assertExact(
      torch.eye(3),
      'float32',
      build([3, 3], ([i, j]) => (i === j ? 1 : 0)),
    );
    assertExact(
      torch.eye(2, 4),
      'float32',
      build([2, 4], ([i, j]) => (i === j ? 1 : 0)),
    );
    assertExact(
      torch.eye(4, 2),
      'float32',
      build([4, 2], ([i, j]) => (i === j ? 1 : 0)),
    );
    assertExact(torch.eye(2, { dtype: 'int64' }), 'int64', [
      [1, 0],
      [0, 1],
    ]);
    assertExact(torch.eye(2, 3, { dtype: 'bool' }), 'bool', [
      [true, false, false],
      [false, true, false],
    ]);
    assert.deepEqual(torch.eye(0).shape, [0, 0]);
  }));

test('rand/randn: shapes, dtypes, ranges and moments', () =>
  torch.scope(() => {
    const r = torch.rand(2, 3);
    assert.deepEqual(r.shape, [2, 3]);
    assert.equal(r.dtype, 'float32');
    assert.deepEqual(torch.rand([4]).shape, [4]);
    assert.deepEqual(torch.rand([]).shape, []);
    assert.equal(torch.rand(2, { dtype: 'float64' }).dtype, 'float64');
    const u = values(torch.rand(50000, { dtype: 'float64' }));
    assert.ok(u.every((v) => v >= 0 && v < 1));
    const su = meanVar(u, false);
    assert.ok(Math.abs(su.mean - 0.5) < 0.01, `mean ${su.mean}`);
    assert.ok(Math.abs(su.var - 1 / 12) < 0.005, `var ${su.var}`);
    const n = torch.randn([3, 4]);
    assert.deepEqual(n.shape, [3, 4]);
    assert.equal(n.dtype, 'float32');
    assert.equal(torch.randn(2, { dtype: 'float16' }).dtype, 'float16');
    const g = values(torch.randn(50000, { dtype: 'float64' }));
    const sg = meanVar(g, true);
    assert.ok(Math.abs(sg.mean) < 0.03, `mean ${sg.mean}`);
    assert.ok(Math.abs(sg.var - 1) < 0.03, `var ${sg.var}`);
    assert.ok(g.some((v) => v < -2) && g.some((v) => v > 2));
    assert.throws(() => torch.rand(2, { dtype: 'int64' }), /not implemented for 'Long'|"check_uniform_bounds" not implemented|Long/);
  }));

test('randint: range [low, high), every value hit, dtype; randperm is a permutation', () =>
  torch.scope(() => {
    const r = torch.randint(3, 7, [2000]);
    assert.equal(r.dtype, 'int64');
    assert.deepEqual(r.shape, [2000]);
    const vs = values(r);
    assert.ok(vs.every((v) => Number.isInteger(v) && v >= 3 && v < 7));
    assert.deepEqual([...new Set(vs)].sort(), [3, 4, 5, 6]);
    assert.deepEqual(torch.randint(-2, 0, [3, 2]).shape, [3, 2]);
    assert.ok(values(torch.randint(-2, 0, [100])).every((v) => v === -2 || v === -1));
    assert.equal(torch.randint(0, 2, [3], { dtype: 'int32' }).dtype, 'int32');
    assert.equal(torch.randint(0, 2, [3], { dtype: 'float32' }).dtype, 'float32');
    assertExact(torch.randint(5, 6, [3]), 'int64', [5, 5, 5]);
    // randint(high, shape): low defaults to 0
    const h = torch.randint(3, [4, 100]);
    assert.deepEqual([h.shape, h.dtype], [[4, 100], 'int64']);
    assert.deepEqual([...new Set(values(h))].sort(), [0, 1, 2]);
    assert.equal(torch.randint(3, [2], { dtype: 'int16' }).dtype, 'int16');
    assert.deepEqual(
      values(torch.randint(10, [6], { generator: new torch.Generator().manualSeed(4) })),
      values(torch.randint(0, 10, [6], { generator: new torch.Generator().manualSeed(4) })),
    );
    assert.throws(() => torch.randint(3, 3, [2]), /random_ expects 'from' to be less than 'to'|from.*less than.*to/);
    for (const n of [0, 1, 10, 100]) {
      const p = torch.randperm(n);
      assert.equal(p.dtype, 'int64');
      assert.deepEqual(
        values(p).sort((a, b) => a - b),
        Array.from({ length: n }, (_, i) => i),
      );
    }
    assert.equal(torch.randperm(5, { dtype: 'int32' }).dtype, 'int32');
    // 100 elements: the identity permutation is (practically) impossible
    assert.notDeepEqual(
      values(torch.randperm(100)),
      Array.from({ length: 100 }, (_, i) => i),
    );
  }));

test('*_like functions copy shape and dtype; options override', () =>
  torch.scope(() => {
    const i = torch.tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const f = torch.tensor([[1.5, 2]], { dtype: 'float64' });
    assertExact(torch.zerosLike(i), 'int64', [
      [0, 0, 0],
      [0, 0, 0],
    ]);
    assertExact(torch.onesLike(f), 'float64', [[1, 1]]);
    assertExact(torch.onesLike(i, { dtype: 'float32' }), 'float32', [
      [1, 1, 1],
      [1, 1, 1],
    ]);
    assertExact(torch.fullLike(i, 7), 'int64', [
      [7, 7, 7],
      [7, 7, 7],
    ]);
    assertExact(torch.fullLike(f, 0.25), 'float64', [[0.25, 0.25]]);
    assertExact(torch.fullLike(i, 2.5, { dtype: 'float32' }), 'float32', [
      [2.5, 2.5, 2.5],
      [2.5, 2.5, 2.5],
    ]);
    const e = torch.emptyLike(f);
    assert.deepEqual([e.shape, e.dtype], [[1, 2], 'float64']);
    const r = torch.randLike(f);
    assert.deepEqual([r.shape, r.dtype], [[1, 2], 'float64']);
    assert.ok(values(r).every((v) => v >= 0 && v < 1));
    const n = torch.randnLike(torch.zeros(3, 1, 2));
    assert.deepEqual([n.shape, n.dtype], [[3, 1, 2], 'float32']);
    assert.equal(torch.randnLike(i, { dtype: 'float64' }).dtype, 'float64');
    const g = torch.zerosLike(f, { requiresGrad: true });
    assert.equal(g.requiresGrad, true);
    // the like-tensor's strides/contiguity do not matter for values
    assertExact(torch.onesLike(i.t()), 'int64', [
      [1, 1],
      [1, 1],
      [1, 1],
    ]);
  }));

test('options: requiresGrad makes leaves, device cpu, int tensors cannot require grad', () =>
  torch.scope(() => {
    const a = torch.zeros(2, { requiresGrad: true });
    assert.equal(a.requiresGrad, true);
    assert.equal(a.isLeaf, true);
    assert.equal(a.gradFn, null);
    assert.equal(torch.zeros(2).requiresGrad, false);
    assert.equal(torch.ones(2, { requiresGrad: true }).requiresGrad, true);
    assert.equal(torch.full([2], 1.5, { requiresGrad: true }).requiresGrad, true);
    assert.equal(torch.randn(2, { requiresGrad: true }).requiresGrad, true);
    assert.equal(torch.rand(2, { requiresGrad: true }).isLeaf, true);
    assert.equal(torch.eye(2, { requiresGrad: true }).requiresGrad, true);
    assert.equal(torch.linspace(0, 1, 3, { requiresGrad: true }).requiresGrad, true);
    assert.equal(torch.tensor([1.5], { requiresGrad: true }).requiresGrad, true);
    assert.throws(() => torch.zeros(2, { dtype: 'int64', requiresGrad: true }), /only Tensors of floating point/i);
    for (const t of [
      torch.zeros(1, { device: 'cpu' }),
      torch.randn(1, { device: 'cpu' }),
      torch.arange(2, { device: 'cpu' }),
      torch.full([1], 2, { device: 'cpu' }),
      torch.eye(1, { device: 'cpu' }),
      torch.tensor([1], { device: 'cpu' }),
    ])
      assert.equal(t.device, 'cpu');
  }));

test('manualSeed(0) reproduces PyTorch: randn and rand', () =>
  torch.scope(() => {
    torch.manualSeed(0);
    assertClose(torch.randn(3), [1.541, -0.2934, -2.1788], 1e-4);
    torch.manualSeed(0);
    assertClose(torch.rand(3), [0.4963, 0.7682, 0.0885], 1e-4);
    torch.manualSeed(0);
    assertClose(
      torch.randn(2, 3),
      [
        [1.541, -0.2934, -2.1788],
        [0.5684, -1.0845, -1.3986],
      ],
      1e-4,
    );
    torch.manualSeed(0);
    assertClose(
      torch.rand(2, 3),
      [
        [0.4963, 0.7682, 0.0885],
        [0.132, 0.3074, 0.6341],
      ],
      1e-4,
    );
    torch.manualSeed(0n);
    assertClose(torch.randn(3), [1.541, -0.2934, -2.1788], 1e-4);
  }));

test('the same seed gives identical sequences; different seeds differ', () =>
  torch.scope(() => {
    const draw = () => [torch.randn(20), torch.rand(7), torch.randint(0, 1000, [9]), torch.randperm(12), torch.empty(5).normal_()].map(values);
    torch.manualSeed(1234);
    const a = draw();
    torch.manualSeed(1234);
    const b = draw();
    assert.deepEqual(a, b);
    torch.manualSeed(1235);
    const c = draw();
    assert.notDeepEqual(a[0], c[0]);
    // consecutive draws without reseeding differ
    torch.manualSeed(1);
    assert.notDeepEqual(values(torch.rand(5)), values(torch.rand(5)));
  }));

test('Generator objects: seeded streams, independent of the global one and of each other', () =>
  torch.scope(() => {
    // a fresh generator seeded with 0 gives the same numbers as the default generator seeded with 0
    const g0 = new torch.Generator().manualSeed(0);
    assertClose(torch.randn(3, { generator: g0 }), [1.541, -0.2934, -2.1788], 1e-4);
    assertClose(torch.rand(3, { generator: new torch.Generator('cpu').manualSeed(0) }), [0.4963, 0.7682, 0.0885], 1e-4);
    assert.equal(new torch.Generator().manualSeed(42).initialSeed(), 42n);

    const g = new torch.Generator().manualSeed(42);
    const ref = [
      torch.randn(4, { generator: g }),
      torch.rand(4, { generator: g }),
      torch.randint(0, 100, [4], { generator: g }),
      torch.randperm(8, { generator: g }),
    ].map(values);
    // the same stream again, with global draws and another generator interleaved
    g.manualSeed(42);
    const other = new torch.Generator().manualSeed(42);
    const got: number[][] = [];
    torch.randn(10);
    got.push(values(torch.randn(4, { generator: g })));
    torch.manualSeed(7);
    values(torch.randn(4, { generator: other }));
    got.push(values(torch.rand(4, { generator: g })));
    torch.rand(3);
    got.push(values(torch.randint(0, 100, [4], { generator: g })));
    got.push(values(torch.randperm(8, { generator: g })));
    assert.deepEqual(got, ref);
    // drawing from a generator leaves the global stream alone
    torch.manualSeed(0);
    torch.randn(5, { generator: g });
    assertClose(torch.randn(3), [1.541, -0.2934, -2.1788], 1e-4);
    // in-place samplers and multinomial take generators too
    const m1 = torch.multinomial(f32([0.2, 0.3, 0.5]), 10, true, new torch.Generator().manualSeed(5));
    const m2 = torch.multinomial(f32([0.2, 0.3, 0.5]), 10, true, new torch.Generator().manualSeed(5));
    assert.deepEqual(m1.tolist(), m2.tolist());
    assertExact(torch.multinomial(f32([0, 0, 1]), 3, true, g), 'int64', [2, 2, 2]);
  }));

test('getState/setState restore a stream; global getRngState/setRngState', () =>
  torch.scope(() => {
    const g = new torch.Generator().manualSeed(99);
    torch.randn(3, { generator: g });
    const s = g.getState();
    assert.equal(s.dtype, 'uint8');
    assert.equal(s.ndim, 1);
    const a = values(torch.randn(6, { generator: g }));
    const a2 = values(torch.rand(6, { generator: g }));
    g.setState(s);
    assert.deepEqual(values(torch.randn(6, { generator: g })), a);
    assert.deepEqual(values(torch.rand(6, { generator: g })), a2);
    // a state moved to another generator continues the same stream there
    const h = new torch.Generator().manualSeed(1);
    h.setState(s);
    assert.deepEqual(values(torch.randn(6, { generator: h })), a);
    // the state tensor is a snapshot: drawing more does not change it
    const before = values(s);
    torch.randn(10, { generator: g });
    assert.deepEqual(values(s), before);

    torch.manualSeed(3);
    torch.rand(2);
    const gs = torch.getRngState();
    const x = values(torch.randn(5));
    torch.randn(100);
    torch.setRngState(gs);
    assert.deepEqual(values(torch.randn(5)), x);
    assert.deepEqual(values(torch.defaultGenerator.getState()), values(torch.getRngState()));
  }));

test('.to(dtype) and the shorthands convert values as PyTorch does', () =>
  torch.scope(() => {
    const x = f32([1.7, -1.7, 0, 2.5]);
    assertExact(x.to('int64'), 'int64', [1, -1, 0, 2]); // truncation toward zero
    assertExact(x.long(), 'int64', [1, -1, 0, 2]);
    assertExact(x.int(), 'int32', [1, -1, 0, 2]);
    assertExact(x.bool(), 'bool', [true, true, false, true]);
    assertExact(x.to({ dtype: 'float64' }), 'float64', [Math.fround(1.7), Math.fround(-1.7), 0, 2.5]);
    assertExact(x.double(), 'float64', [Math.fround(1.7), Math.fround(-1.7), 0, 2.5]);
    assertExact(torch.tensor([true, false]).float(), 'float32', [1, 0]);
    assertExact(torch.tensor([3, -4]).float(), 'float32', [3, -4]);
    assertExact(torch.tensor([3, -4]).to('double'), 'float64', [3, -4]);
    assertExact(x.type('int32'), 'int32', [1, -1, 0, 2]);
    assertExact(x.to(torch.tensor([1], { dtype: 'int16' })), 'int16', [1, -1, 0, 2]);
    assertExact(torch.tensor([3.7, 255]).to('uint8'), 'uint8', [3, 255]);
    // float16 / bfloat16 rounding (read back as float32)
    const h = f32([0.1, 1, 65504, 70000, 1e-8]).half();
    assert.equal(h.dtype, 'float16');
    assert.deepEqual(h.tolist(), [0.0999755859375, 1, 65504, Infinity, 0]);
    const b = f32([0.1, 1, 3e38, 1e-30]).bfloat16();
    assert.equal(b.dtype, 'bfloat16');
    // 0.1 = 1.6 * 2^-4; bfloat16 keeps 7 mantissa bits: round(0.6 * 128) = 77 → (128 + 77) / 2048
    assert.deepEqual(b.tolist().slice(0, 2), [205 / 2048, 1]);
    assert.ok(Number.isFinite(b.tolist()[2]) && Math.abs(b.tolist()[2] / 3e38 - 1) < 0.004);
    assert.ok(b.tolist()[3] > 0); // bfloat16 has float32's exponent range
    assertExact(h.float(), 'float32', [Math.fround(0.0999755859375), 1, 65504, Infinity, 0]);
    // large int64 values convert to float64 exactly
    assertExact(torch.tensor([2 ** 40 + 1]).double(), 'float64', [2 ** 40 + 1]);
    assert.throws(() => x.to('nope' as any), /./);
  }));

test('.to() copies when the dtype changes, aliases when it does not (unless copy)', () =>
  torch.scope(() => {
    const x = f32([1, 2]);
    const d = x.double();
    d.fill_(9);
    assertExact(x, 'float32', [1, 2]);
    const same = x.to('float32');
    same.fill_(5);
    assertExact(x, 'float32', [5, 5]);
    const same2 = x.float();
    same2.fill_(6);
    assertExact(x, 'float32', [6, 6]);
    const copied = x.to('float32', { copy: true });
    copied.fill_(7);
    assertExact(x, 'float32', [6, 6]);
    const copied2 = x.to({ dtype: 'float32', copy: true });
    copied2.fill_(8);
    assertExact(x, 'float32', [6, 6]);
    const onCpu = x.to('cpu');
    assert.equal(onCpu.device, 'cpu');
    onCpu.fill_(1);
    assertExact(x, 'float32', [1, 1]);
    assertExact(x.to({ device: 'cpu', dtype: 'int64' }), 'int64', [1, 1]);
    assertExact(x.cpu(), 'float32', [1, 1]);
    // clone always copies
    const c = x.clone();
    c.fill_(3);
    assertExact(x, 'float32', [1, 1]);
  }));
