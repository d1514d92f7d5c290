// DINOv2 REPA target encoder parity with the upstream fixtures (case 7, case7_dinov2.safetensors +
// dinov2_state_dict.{pkl,safetensors}): sizes from fixtures.json config.dinov2, every case output
// (ImageNet normalisation, bicubic resize, patch embed, interpolated pos embed, tokens, each block,
// x_prenorm, cls / patch tokens, repa_encode), the key set and order, and the hub ViT-B/14 preset.
// Tolerance for every float32 output: |a - b| <= 1e-5 · max(1, max|ref|).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as torch from '../lib/torch.js';
import { safetensors, loadStateDict } from '../lib/serialization/index.js';
import { DinoVisionTransformer, Dinov2Target, DINOV2_VITB14, dinov2ConfigFromKwargs, dinov2Preprocess, imagenetNormalize } from '../lib/models/dinov2/index.js';
import { UPSTREAM_FIXTURES, fixturesJson } from './fixture-paths.js';
import { assertNear as assertNearRel, loadCase, skipUnless } from './parity.js';

// Every test here needs case 7 and the DINOv2 state dicts; without them each skips by name.
const SKIP = skipUnless('case7_dinov2', 'dinov2_state_dict.pkl', 'dinov2_state_dict.safetensors');
const cfg = fixturesJson().config.dinov2;
const config = SKIP ? DINOV2_VITB14 : dinov2ConfigFromKwargs(cfg.class_kwargs);
const imageSize: number = cfg.image_size;
const PKL = join(UPSTREAM_FIXTURES, 'dinov2_state_dict.pkl');
const SAFE = join(UPSTREAM_FIXTURES, 'dinov2_state_dict.safetensors');
const get = loadCase('case7_dinov2.safetensors');

const REL = 1e-5;
const assertNear = (got: torch.Tensor, ref: torch.Tensor, what: string) => assertNearRel(got, ref, what, REL);

function loadModel(path = PKL): DinoVisionTransformer {
  const m = new DinoVisionTransformer(config);
  torch.scope(() => {
    m.loadStateDict(loadStateDict(path), { strict: true });
  });
  return m.eval();
}

test('config from fixtures.json: sizes, pos_embed grid, key names and order of the checkpoint', { skip: SKIP }, () =>
  torch.scope(() => {
    const m = loadModel();
    const D = cfg.embed_dim;
    assert.equal(m.embedDim, D);
    assert.equal(m.blocks.length, cfg.depth);
    assert.equal(m.config.numHeads, cfg.num_heads);
    assert.deepEqual(m.pos_embed.shape, [1, 1 + cfg.pos_grid * cfg.pos_grid, D]);
    assert.equal(cfg.class_kwargs.img_size / cfg.class_kwargs.patch_size, cfg.pos_grid);
    const sd = loadStateDict(PKL);
    const mine = Object.keys(m.stateDict());
    assert.deepEqual(mine, [...sd.keys()], 'state-dict keys in the official order');
    const st = safetensors.loadFile(SAFE);
    assert.deepEqual([...st.keys()].sort(), [...mine].sort());
    for (const [k, t] of Object.entries(m.stateDict())) assert.deepEqual(t.shape, sd.get(k)!.shape, k);
    m.dispose();
  }),
);

test('hub ViT-B/14 preset matches fixtures.json hub_vitb14_sizes and the fixture class kwargs otherwise', { skip: SKIP }, () => {
  const hub = cfg.hub_vitb14_sizes;
  assert.equal(DINOV2_VITB14.embedDim, hub.embed_dim);
  assert.equal(DINOV2_VITB14.depth, hub.depth);
  assert.equal(DINOV2_VITB14.numHeads, hub.num_heads);
  // the fixture differs from the hub model only in the three sizes
  assert.deepEqual({ ...config, embedDim: 0, depth: 0, numHeads: 0 }, { ...DINOV2_VITB14, embedDim: 0, depth: 0, numHeads: 0 });
});

test('preprocessing: ImageNet normalisation and bicubic resize to config.dinov2.image_size', { skip: SKIP }, () =>
  torch.scope(() => {
    const images = get('in.images');
    assert.equal(images.size(2), cfg.in_size);
    assertNear(imagenetNormalize(images), get('out.normalized'), 'normalized');
    const pre = dinov2Preprocess(images, imageSize);
    assert.deepEqual(pre.shape.slice(2), [imageSize, imageSize]);
    assertNear(pre, get('out.preprocessed'), 'preprocessed');
  }),
);

for (const [label, path] of [
  ['pkl', PKL],
  ['safetensors', SAFE],
] as const) {
  test(`forward parity, weights from ${label}: patch embed, pos embed, tokens, blocks, features`, { skip: SKIP }, () =>
    torch.scope(() => {
      const m = loadModel(path);
      torch.noGrad(() => {
        const x = get('out.preprocessed');
        assertNear(m.patch_embed.forward(x), get('out.patch_embed'), 'patch_embed');
        const n = (imageSize / config.patchSize) ** 2;
        const tokensShape = torch.zeros(x.size(0), 1 + n, config.embedDim);
        assertNear(m.interpolatePosEncoding(tokensShape, imageSize, imageSize), get('out.pos_embed_interp'), 'pos_embed_interp');
        let t = m.prepareTokensWithMasks(x);
        assertNear(t, get('out.prepare_tokens'), 'prepare_tokens');
        for (let i = 0; i < m.blocks.length; i++) {
          t = m.blocks.at(i).forward(t);
          assertNear(t, get(`out.block_${i}`), `block_${i}`);
        }
        const f = m.forwardFeatures(x);
        assertNear(f.xPrenorm, get('out.x_prenorm'), 'x_prenorm');
        assertNear(f.xNormClstoken, get('out.x_norm_clstoken'), 'x_norm_clstoken');
        assertNear(f.xNormPatchtokens, get('out.x_norm_patchtokens'), 'x_norm_patchtokens');
        assert.deepEqual(f.xNormRegtokens.shape, [x.size(0), 0, config.embedDim]);
        assertNear(m.forward(x), get('out.x_norm_clstoken'), 'forward (cls)');
      });
      m.dispose();
    }),
  );
}

test('pos embed: the stored table is returned as is for the training grid; scale factor with the 0.1 offset', { skip: SKIP }, () =>
  torch.scope(() => {
    const m = loadModel();
    const N = m.pos_embed.size(1) - 1;
    const full = m.interpolatePosEncoding(torch.zeros(1, 1 + N, config.embedDim), config.imgSize, config.imgSize);
    assert.equal(full, m.pos_embed);
    // interpolateOffset 0 resizes by size instead, which gives a different table (upstream README: up to 0.72)
    const bySize = new DinoVisionTransformer({ ...config, interpolateOffset: 0 });
    bySize.loadStateDict(m.stateDict());
    const n = (imageSize / config.patchSize) ** 2;
    const a = bySize.interpolatePosEncoding(torch.zeros(1, 1 + n, config.embedDim), imageSize, imageSize);
    assert.ok(a.sub(get('out.pos_embed_interp')).abs().max().item() > 1e-2);
    bySize.dispose();
    m.dispose();
  }),
);

test('Dinov2Target: loads the checkpoint, frozen, repa_encode of [0,1] images', { skip: SKIP }, () =>
  torch.scope(() => {
    for (const path of [PKL, SAFE]) {
      const target = Dinov2Target.load(path, { config, imageSize });
      assert.equal(target.model.training, false);
      assert.ok(target.model.parameters().every((p) => !p.requiresGrad));
      const images = get('in.images').clone().requiresGrad_();
      const z = target.encode(images);
      assert.equal(z.requiresGrad, false);
      assertNear(z, get('out.repa_encode'), 'repa_encode');
      assertNear(z, get('out.x_norm_patchtokens'), 'repa_encode vs x_norm_patchtokens');
      target.dispose();
    }
  }),
);

test('masks replace patch tokens by mask_token (before the pos embed)', { skip: SKIP }, () =>
  torch.scope(() => {
    const m = loadModel();
    torch.noGrad(() => {
      const x = get('out.preprocessed');
      const n = (imageSize / config.patchSize) ** 2;
      const masks = torch.zeros([x.size(0), n], { dtype: 'bool' });
      masks.narrow(1, 0, 1).fill_(true);
      const t = m.prepareTokensWithMasks(x, masks);
      const pe = m.interpolatePosEncoding(t, imageSize, imageSize);
      const want = m.mask_token.add(pe.select(1, 1)).expand(x.size(0), -1);
      assertNear(t.select(1, 1), want, 'masked token');
      assertNear(t.narrow(1, 2, n - 1), get('out.prepare_tokens').narrow(1, 2, n - 1), 'unmasked tokens');
    });
    m.dispose();
  }),
);
