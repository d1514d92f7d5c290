// torch-fidelity's Inception-v3 feature extractor against the fidelity fixtures (data-driven from
// fixtures.json): the formula weights, the state-dict layout and strict loading through the real
// file loader, the weight-file lookup and its error, the TF1 resize bit for bit, all six features
// of the case inputs, and the two image folders read and batched as torch-fidelity does.
//
// Tolerance for features: max|a − ref| ≤ 1e-5 · max|ref| per tensor. The reference ran PyTorch on
// one CPU thread; other batch sizes, thread counts and kernels (here libtorch 1.13, mkldnn convs,
// OpenBLAS) sum the convolutions' and the fc's dot products in other orders. The fixtures measured
// those effects at ≤ 8e-7 of each tensor's max (batch 1 vs batched, 2 threads vs 1), so 1e-5 gives
// a ~10× margin while still catching any real error (a wrong pool, padding or BN eps moves the
// features by 1e-2 or more). An element-wise relative rule would be meaningless: many features are
// exactly or nearly 0 after the ReLUs. The resize has no sums, so it is compared at abs 1e-6 and
// is in fact exact.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as torch from '../lib/torch.js';
import { safetensors, save } from '../lib/serialization/index.js';
import {
  InceptionV3Features,
  loadInceptionStateDict,
  resizeBilinearTf1,
  findInceptionWeights,
  fidelityImageBatches,
  INCEPTION_FEATURES,
  INCEPTION_WEIGHTS_FILE,
  INCEPTION_WEIGHTS_URL,
  type InceptionFeature,
} from '../lib/eval/fidelity/index.js';
import { FIDELITY_FIXTURES, fidelityFixturesJson } from './fixture-paths.js';
import { buildFidelityStateDict } from './fidelity-weights.js';
import { tempDir } from './data-helpers.js';

const fx = fidelityFixturesJson();
const FEATURES: InceptionFeature[] = fx.case_features.features;
const caseFeatures = safetensors.loadFile(join(FIDELITY_FIXTURES, fx.case_features.file));
const caseMetrics = safetensors.loadFile(join(FIDELITY_FIXTURES, fx.case_metrics.file));
const ref = (data: Map<string, torch.Tensor>, name: string) => {
  const t = data.get(name);
  if (!t) throw new Error(`fidelity fixtures: no tensor '${name}'`);
  return t;
};

/** The formula weights, built and checked once per file (≈ 0.6 s). */
let builtWeights: Map<string, torch.Tensor> | null = null;
const weights = () => (builtWeights ??= buildFidelityStateDict(fx.weights));

/** The extractor loaded from a saved .pth through the real loader (findInceptionWeights + torch.load), once. */
let loaded: { model: InceptionV3Features; path: string } | null = null;
function model(): { model: InceptionV3Features; path: string } {
  if (loaded) return loaded;
  const path = join(tempDir('fid-weights-'), INCEPTION_WEIGHTS_FILE);
  save(weights(), path);
  return (loaded = { model: InceptionV3Features.fromPretrained({ weightsPath: path }), path });
}
// the saved weights are ~95 MB: remove them when the file's tests are done
after(() => {
  if (loaded) rmSync(dirname(loaded.path), { recursive: true, force: true });
});

/** max|a − b| ≤ rel · max|b| (see the header for why this rule and 1e-5). */
function assertFeatureClose(got: torch.Tensor, want: torch.Tensor, what: string, rel = 1e-5): void {
  assert.deepEqual(got.shape, want.shape, `${what}: shape`);
  assert.equal(got.dtype, 'float32', `${what}: dtype`);
  torch.scope(() => {
    const scale = want.abs().max().item();
    const err = got.double().sub(want.double()).abs().max().item();
    assert.ok(err <= rel * scale, `${what}: max |diff| ${err} > ${rel} · max|ref| = ${rel * scale}`);
  });
}

test('the formula weights reproduce every tensor of the fixture (hash vectors, bit checksums, first values)', () => {
  const sd = weights(); // buildFidelityStateDict throws on any checksum or hash-vector mismatch
  assert.equal(sd.size, fx.weights.n_tensors);
  assert.deepEqual(
    [...sd.keys()],
    fx.weights.tensors.map((e: any) => e.name),
  );
  for (const e of fx.weights.tensors) {
    if (!e.first) continue;
    const got = Array.from(sd.get(e.name)!.flatten().slice(0, 0, e.first.length).toTypedArray() as ArrayLike<number | bigint>, Number);
    assert.deepEqual(got, e.first, `${e.name} first values`);
  }
});

test("InceptionV3Features has torch-fidelity's state-dict entries, in order, with their shapes and dtypes", () => {
  const m = new InceptionV3Features();
  torch.scope(() => {
    const sd = m.stateDict();
    assert.deepEqual(
      Object.keys(sd),
      fx.weights.tensors.map((e: any) => e.name),
    );
    for (const e of fx.weights.tensors) {
      assert.deepEqual(sd[e.name].shape, e.shape, `${e.name} shape`);
      assert.equal(sd[e.name].dtype, e.dtype, `${e.name} dtype`);
    }
  });
  assert.equal(m.training, false);
  m.train();
  assert.equal(m.training, false, 'stays in eval mode');
  assert.ok(m.parameters().every((p) => !p.requiresGrad));
  m.dispose();
});

test('a saved .pth loads strictly through findInceptionWeights + torch.load, bit for bit; TORCH_HOME is searched', () => {
  const { model: m, path } = model();
  torch.scope(() => {
    const sd = m.stateDict();
    for (const [k, t] of weights()) assert.ok(torch.equal(sd[k], t), `${k} differs after loading`);
  });
  // the torch hub cache layout: $TORCH_HOME/hub/checkpoints/<file>
  const torchHome = tempDir('fid-torch-home-');
  mkdirSync(join(torchHome, 'hub', 'checkpoints'), { recursive: true });
  symlinkSync(path, join(torchHome, 'hub', 'checkpoints', INCEPTION_WEIGHTS_FILE));
  assert.equal(
    findInceptionWeights(null, { env: { TORCH_HOME: torchHome }, home: '/nonexistent-home' }),
    join(torchHome, 'hub', 'checkpoints', INCEPTION_WEIGHTS_FILE),
  );
  const home = tempDir('fid-home-');
  mkdirSync(join(home, '.cache', 'torch', 'hub', 'checkpoints'), { recursive: true });
  symlinkSync(path, join(home, '.cache', 'torch', 'hub', 'checkpoints', INCEPTION_WEIGHTS_FILE));
  assert.equal(findInceptionWeights(undefined, { env: {}, home }), join(home, '.cache', 'torch', 'hub', 'checkpoints', INCEPTION_WEIGHTS_FILE));
});

test('loading as torch-fidelity: absent num_batches_tracked counters are filled, any other missing/extra key or shape is an error naming it', () => {
  const m = new InceptionV3Features();
  // torch-fidelity's conversion script writes no num_batches_tracked entries
  const noCounters = new Map([...weights()].filter(([k]) => !k.endsWith('.num_batches_tracked')));
  assert.equal(noCounters.size, fx.weights.n_tensors - fx.weights.tensors.filter((e: any) => e.rule === 'bn_num_batches_tracked').length);
  loadInceptionStateDict(m, noCounters, 'converted.pth');
  torch.scope(() => assert.ok(torch.equal(m.stateDict()['Mixed_7c.branch_pool.bn.running_var'], weights().get('Mixed_7c.branch_pool.bn.running_var')!)));
  const without = new Map(weights());
  without.delete('Mixed_6b.branch7x7dbl_4.conv.weight');
  assert.throws(
    () => loadInceptionStateDict(m, without, 'a.pth'),
    /^Error: a\.pth: .*Missing key\(s\) in state_dict: "Mixed_6b\.branch7x7dbl_4\.conv\.weight"/s,
  );
  const extra = new Map(weights());
  extra.set('AuxLogits.fc.weight', torch.zeros([1]));
  assert.throws(() => loadInceptionStateDict(m, extra, 'b.pth'), /b\.pth: .*Unexpected key\(s\) in state_dict: "AuxLogits\.fc\.weight"/s);
  const wrong = new Map(weights());
  wrong.set('fc.bias', torch.zeros([1000]));
  assert.throws(() => loadInceptionStateDict(m, wrong, 'c.pth'), /c\.pth: .*size mismatch for fc\.bias: .*\[1000\].*\[1008\]/s);
  m.dispose();
});

test('no weight file: one error naming the file, every place looked, where to get it and where to put it', () => {
  const env = { TORCH_HOME: '/nonexistent/torch-home', XDG_CACHE_HOME: '/nonexistent/xdg' };
  const home = '/nonexistent/home';
  let msg = '';
  try {
    findInceptionWeights(null, { env, home });
  } catch (e) {
    msg = (e as Error).message;
  }
  const places = ['/nonexistent/torch-home/hub/checkpoints/', '/nonexistent/xdg/torch/hub/checkpoints/', '/nonexistent/home/.cache/torch/hub/checkpoints/'].map(
    (p) => p + INCEPTION_WEIGHTS_FILE,
  );
  for (const s of [INCEPTION_WEIGHTS_FILE, INCEPTION_WEIGHTS_URL, '--feature-extractor-weights-path', 'Nothing is downloaded', ...places])
    assert.ok(msg.includes(s), `error mentions ${s}:\n${msg}`);
  assert.match(msg, /put it at\n {2}\/nonexistent\/torch-home\/hub\/checkpoints\/weights-inception/);
  // an explicit path that does not exist is an error too: a cached copy does not stand in for it
  assert.throws(() => findInceptionWeights('/nonexistent/given.pth', { env, home }), /Looked at the given path:\n {2}\/nonexistent\/given\.pth/);
});

test('TF1 resize: the first conv input of the fixture image equals the recorded one; any size, exact float32 steps', () => {
  const { model: m } = model();
  const r = fx.case_features.resized;
  const got = torch.scope(() => m.preprocess(ref(caseFeatures, `in.${r.input}`)).slice(0, r.image_index, r.image_index + 1));
  assert.deepEqual(got.shape, r.shape);
  assert.ok(torch.scope(() => got.sub(ref(caseFeatures, r.name)).abs().max().item()) <= 1e-6);
  got.dispose();
  torch.scope(() => {
    // an independent scalar implementation of the same float32 steps, on an odd non-square size
    const H = 7,
      W = 11,
      OH = 5,
      OW = 13;
    const img = torch
      .arange(0, 2 * H * W)
      .float()
      .mul(37.3)
      .remainder(255)
      .reshape(1, 2, H, W);
    const px = img.flatten().toTypedArray() as Float32Array;
    const f = Math.fround;
    const axis = (n: number, m2: number, j: number) => {
      const s = f(f(j) * f(n / m2));
      const lo = Math.trunc(s);
      return [lo, Math.min(lo + 1, n - 1), f(s - lo)];
    };
    const want = new Float32Array(2 * OH * OW);
    for (let c = 0; c < 2; c++)
      for (let y = 0; y < OH; y++)
        for (let x = 0; x < OW; x++) {
          const [y0, y1, fy] = axis(H, OH, y),
            [x0, x1, fx2] = axis(W, OW, x);
          const p = (yy: number, xx: number) => px[c * H * W + yy * W + xx];
          const top = f(p(y0, x0) + f(f(p(y0, x1) - p(y0, x0)) * fx2));
          const bot = f(p(y1, x0) + f(f(p(y1, x1) - p(y1, x0)) * fx2));
          want[c * OH * OW + y * OW + x] = f(top + f(f(bot - top) * fy));
        }
    assert.deepEqual(Array.from(resizeBilinearTf1(img, [OH, OW]).flatten().toTypedArray() as Float32Array), Array.from(want));
    // 299 → 299 is the identity; a 1 × 1 image becomes constant
    const big = torch.rand([1, 3, 299, 299]);
    assert.ok(torch.equal(resizeBilinearTf1(big, 299), big));
    const one = torch.full([1, 3, 1, 1], 42, { dtype: 'float32' });
    assert.ok(torch.equal(resizeBilinearTf1(one, 299), torch.full([1, 3, 299, 299], 42, { dtype: 'float32' })));
  });
});

test('all six features of every case input (one batch each) match torch-fidelity', () => {
  const { model: m } = model();
  for (const [name, info] of Object.entries<any>(fx.case_features.inputs)) {
    const x = ref(caseFeatures, `in.${name}`);
    assert.deepEqual(x.shape, info.shape, `in.${name} shape`);
    assert.equal(x.dtype, info.dtype);
    const t0 = performance.now();
    const feats = m.forward(x, FEATURES);
    const ms = performance.now() - t0;
    FEATURES.forEach((f, i) => assertFeatureClose(feats[i], ref(caseFeatures, `out.${name}.${f}`), `${name}.${f}`));
    torch.dispose(feats);
    console.log(`# ${name} ${JSON.stringify(info.shape)}: ${(ms / 1000).toFixed(1)} s for all features`);
  }
});

test('features come in the order asked for; a shallow request stops early and equals the full run; logits alone use one linear', () => {
  const { model: m } = model();
  torch.scope(() => {
    const x = ref(caseFeatures, 'in.images_small');
    const [f64, f192] = m.forward(x, ['64', '192']);
    const [logits, again64] = m.forward(x, ['logits', '64']);
    // the stem is the same computation on the same input: bit-identical
    assert.ok(torch.equal(f64, again64));
    assertFeatureClose(f192, ref(caseFeatures, 'out.images_small.192'), '192 alone');
    assertFeatureClose(logits, ref(caseFeatures, 'out.images_small.logits'), 'logits without logits_unbiased');
    assert.deepEqual(
      m.forward(x).map((t) => t.shape),
      [[4, 2048]],
      "default feature '2048'",
    );
    assert.throws(() => m.forward(x, ['pool3' as InceptionFeature]), /unknown feature 'pool3' \(choose from 64, 192, 768, 2048, logits_unbiased, logits\)/);
    assert.throws(() => m.forward(x, ['64', '64']), /listed twice/);
    assert.throws(() => m.forward(x, []), /no feature requested/);
    assert.throws(() => m.forward(x.float(), ['64']), /expected uint8 images, got float32/);
    assert.throws(() => m.forward(x.slice(1, 0, 1), ['64']), /expected \(N, 3, H, W\) images, got \[4, 1, 64, 64\]/);
  });
  assert.deepEqual([...INCEPTION_FEATURES], FEATURES);
});

test('images_a/ and images_b/ read and batched as torch-fidelity (min(64, N)) give its 2048 and logits_unbiased features', async () => {
  const { model: m } = model();
  for (const [folder, key] of [
    ['images_a', 'a'],
    ['images_b', 'b'],
  ] as const) {
    const count = fx.images[folder].count;
    const batches: number[] = [];
    const got: Record<'2048' | 'logits_unbiased', torch.Tensor[]> = { '2048': [], logits_unbiased: [] };
    const t0 = performance.now();
    for await (const b of fidelityImageBatches(join(FIDELITY_FIXTURES, folder))) {
      batches.push(b.images.shape[0]);
      assert.deepEqual(b.images.shape.slice(1), [3, fx.images[folder].height, fx.images[folder].width]);
      if (folder === 'images_a' && batches.length === 1) {
        // the case input images_small is images_a's first four files as torch-fidelity read them
        const small = ref(caseFeatures, 'in.images_small');
        torch.scope(() => assert.ok(torch.equal(b.images.slice(0, 0, small.shape[0]), small)));
      }
      const [f2048, logits] = m.forward(b.images, ['2048', 'logits_unbiased']);
      got['2048'].push(f2048);
      got.logits_unbiased.push(logits);
      b.images.dispose();
    }
    const s = (performance.now() - t0) / 1000;
    console.log(`# ${folder}: ${count} images in batches ${JSON.stringify(batches)}: ${s.toFixed(1)} s (${(count / s).toFixed(2)} images/s)`);
    const bs = Math.min(64, count);
    assert.equal(fx.case_metrics.batch_independence.batch_used_by_torch_fidelity[folder], bs);
    assert.deepEqual(
      batches,
      Array.from({ length: Math.ceil(count / bs) }, (_, i) => Math.min(bs, count - i * bs)),
    );
    for (const f of ['2048', 'logits_unbiased'] as const) {
      const all = torch.cat(got[f], 0);
      assertFeatureClose(all, ref(caseMetrics, `out.${key}.${f}`), `${folder}.${f}`);
      all.dispose();
      torch.dispose(got[f]);
    }
  }
});
