// Tokenizer encoder parity with the upstream fixtures (case 1: the causal slot ViT, encoder2slot,
// the standardised tokens; case 2 out.mask_k: the nested sampler in eval), built from
// fixtures.json config.tokenizer and the tokenizer checkpoint (encoder.* / encoder2slot.* keys),
// plus properties: slot causality, token statistics, training masks, the nesting schedule,
// pos-embed interpolation, drop path, and the ViT-B/16 parameter count (docs/upstream/tokenizer.md).
// Sizes and k come from fixtures.json; a case the set does not list is skipped by name.
// Tolerance for float32 outputs: |a − b| ≤ 1e-5·max(1, max|ref|) (the README's single-forward
// rule: the encoder has no CFG or schedule coefficients to amplify rounding); masks exact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as torch from '../lib/torch.js';
import { Linear } from '../lib/nn/layers/linear.js';
import { loadStateDict, stripPrefix, removeSegment } from '../lib/serialization/index.js';
import { VisionTransformer, VIT_SIZES, createVitEncoder } from '../lib/models/tokenizer/vit-encoder.js';
import { standardizeTokens, encodeSlots } from '../lib/models/tokenizer/slot-tokens.js';
import { NestedSampler, prefixMask, nestEnabled, useNestedMask } from '../lib/models/tokenizer/nested-sampler.js';
import { UPSTREAM_FIXTURES, fixturesJson } from './fixture-paths.js';
import { assertNear, loadCase, needs } from './parity.js';

const cfg = fixturesJson().config;
const tc = cfg.tokenizer;
const recipe = VIT_SIZES.vit_base_patch16; // the recipe upstream uses, at the fixture's sizes
const encoderOptions = {
  imgSize: tc.enc_img_size,
  patchSize: tc.patch_size,
  embedDim: tc.embed_dim,
  depth: tc.depth,
  numHeads: tc.num_heads,
  mlpRatio: tc.mlp_ratio,
  qkvBias: recipe.qkvBias,
  numSlots: tc.num_slots,
  dropPathRate: tc.drop_path_rate,
};

const case1 = loadCase('case1_encoder.safetensors');
const case2 = loadCase('case2_dit.safetensors');
const get = (m: (k: string) => torch.Tensor, k: string): torch.Tensor => m(k);

const sd = loadStateDict(join(UPSTREAM_FIXTURES, 'tokenizer_state_dict.pkl'));
const only = (m: Map<string, torch.Tensor>, prefix: string) => stripPrefix(new Map([...m].filter(([k]) => k.startsWith(prefix))), prefix);

function buildEncoder(): VisionTransformer {
  const enc = new VisionTransformer(encoderOptions);
  enc.loadStateDict(only(sd, 'encoder.')); // strict
  return enc.eval();
}
function buildEncoder2slot(): Linear {
  const l = new Linear(tc.embed_dim, tc.slot_dim);
  l.loadStateDict(only(sd, 'encoder2slot.'));
  return l.eval();
}
const encoder = buildEncoder();
const encoder2slot = buildEncoder2slot();
const images = () => get(case1, 'in.images');

test('checkpoint: encoder keys load strictly, in the checkpoint order; the _orig_mod file matches after rewriting', () =>
  torch.scope(() => {
    const keys = [...sd.keys()].filter((k) => k.startsWith('encoder.')).map((k) => k.slice('encoder.'.length));
    assert.deepEqual(Object.keys(encoder.stateDict()), keys);
    const orig = removeSegment(loadStateDict(join(UPSTREAM_FIXTURES, 'tokenizer_state_dict_orig_mod.pkl')), '_orig_mod.');
    assert.deepEqual([...orig.keys()].sort(), [...sd.keys()].sort());
    for (const [k, v] of sd) assert.ok(orig.get(k)!.equal(v), k);
    const enc = new VisionTransformer(encoderOptions);
    enc.loadStateDict(only(orig, 'encoder.'));
    new Linear(tc.embed_dim, tc.slot_dim).loadStateDict(only(orig, 'encoder2slot.'));
    for (const [k, v] of Object.entries(enc.stateDict())) assert.ok(v.equal(sd.get(`encoder.${k}`)!), k);
    enc.dispose();
  }));

test('case 1: prepare_tokens, blocks, mask, slot features, encoder2slot, tokens match upstream', (t) =>
  void (
    needs(t, 'case1_encoder') &&
    torch.noGrad(() =>
      torch.scope(() => {
        assertNear(encoder.prepareTokens(images()), get(case1, 'out.prepare_tokens'), 'prepare_tokens');
        const blocks: torch.Tensor[] = [];
        const masks: (torch.Tensor | null)[] = [];
        const feats = encoder.forward(images(), {
          isCausal: true,
          onBlock: (_i, x, m) => {
            blocks.push(torch.keep(x.clone()));
            masks.push(m ? torch.keep(m.clone()) : null);
          },
        });
        assert.equal(blocks.length, tc.depth);
        blocks.forEach((b, i) => assertNear(b, get(case1, `out.block_${i}`), `block_${i}`));
        const refMask = get(case1, 'out.attn_mask');
        for (const m of masks) {
          assert.ok(m, 'causal forward passes a mask');
          assert.equal(m.dtype, 'bool');
          assert.ok(m.to('uint8').equal(refMask), 'attn_mask');
        }
        torch.dispose(blocks, masks);
        assertNear(feats, get(case1, 'out.slot_features'), 'slot_features');
        const lin = encoder2slot.forward(feats);
        assertNear(lin, get(case1, 'out.slots_linear'), 'slots_linear');
        assertNear(standardizeTokens(lin), get(case1, 'out.tokens'), 'tokens');
        assertNear(encodeSlots(encoder, encoder2slot, images()), get(case1, 'out.tokens'), 'encodeSlots');
      }),
    )
  ));

test('case 2: the nested sampler in eval with K = args.dit_k gives out.mask_k', (t) =>
  void (
    needs(t, 'case2_dit') &&
    torch.scope(() => {
      const ref = get(case2, 'out.mask_k');
      const sampler = new NestedSampler(tc.num_slots).eval();
      const mask = sampler.forward(ref.size(0), { inferenceWithNSlots: cfg.args.dit_k });
      assert.equal(mask.dtype, 'bool');
      assert.ok(mask.to('uint8').equal(ref));
      // K = -1 keeps everything; K beyond numSlots is clamped, as upstream
      assert.ok(sampler.forward(3).all().item());
      assert.ok(
        sampler
          .forward(3, { inferenceWithNSlots: tc.num_slots + 5 })
          .all()
          .item(),
      );
    })
  ));

test('slot causality: perturbing slot j changes token j and leaves tokens < j unchanged', (t) =>
  void (
    needs(t, 'case1_encoder') &&
    torch.noGrad(() =>
      torch.scope(() => {
        const enc = buildEncoder();
        const S = tc.num_slots;
        const base = encodeSlots(enc, encoder2slot, images());
        for (const j of [0, Math.floor(S / 2), S - 1]) {
          const saved = enc.slot_embed.clone();
          enc.slot_embed.narrow(1, j, 1).add_(torch.randn([1, 1, tc.embed_dim]));
          const out = encodeSlots(enc, encoder2slot, images());
          enc.slot_embed.copy_(saved);
          if (j > 0) {
            const err = out
              .narrow(1, 0, j)
              .sub(base.narrow(1, 0, j))
              .abs()
              .max()
              .item();
            assert.ok(err <= 1e-6, `slot ${j}: tokens < ${j} moved by ${err}`);
          }
          assert.ok(
            out
              .narrow(1, j, 1)
              .sub(base.narrow(1, j, 1))
              .abs()
              .max()
              .item() > 1e-3,
            `slot ${j}: token ${j} did not change`,
          );
        }
        // without the mask (isCausal false) earlier tokens do see later slots
        const full = encoder.forward(images(), { isCausal: false });
        assert.ok(full.sub(encoder.forward(images())).abs().max().item() > 1e-3);
        enc.dispose();
      }),
    )
  ));

test('tokens have per-token mean 0 and unbiased std 1 (tolerance 1e-5)', (t) =>
  void (
    needs(t, 'case1_encoder') &&
    torch.noGrad(() =>
      torch.scope(() => {
        const tokens = encodeSlots(encoder, encoder2slot, images());
        assert.ok(tokens.mean(-1).abs().max().item() <= 1e-5);
        assert.ok(tokens.std(-1, true).sub(1).abs().max().item() <= 1e-5);
        // standardizeTokens itself: unbiased, no eps
        const x = torch.tensor([[1, 2, 3, 6]], { dtype: 'float32' });
        const mean = 3,
          std = Math.sqrt((4 + 1 + 0 + 9) / 3);
        assert.deepEqual(
          (standardizeTokens(x).tolist() as number[][])[0].map((v) => Math.round(v * 1e5) / 1e5),
          [1, 2, 3, 6].map((v) => Math.round(((v - mean) / std) * 1e5) / 1e5),
        );
      }),
    )
  ));

test('nested sampler in training: prefix masks with k in 1..numSlots; injected k replays the draws', () =>
  torch.scope(() => {
    const S = tc.num_slots;
    const sampler = new NestedSampler(S).train();
    const mask = sampler.forward(2000);
    assert.deepEqual(mask.shape, [2000, S]);
    const m = mask.to('int64');
    const k = m.sum(1);
    assert.ok(k.min().item() >= 1 && k.max().item() <= S, 'k in 1..S');
    assert.equal(k.min().item(), 1, 'k = 1 drawn');
    assert.equal(k.max().item(), S, 'k = S drawn');
    assert.ok(
      m
        .narrow(1, 0, S - 1)
        .ge(m.narrow(1, 1, S - 1))
        .all()
        .item(),
      'masks are prefixes',
    );
    assert.ok(mask.equal(prefixMask(k, S)));
    // replay of case 3's recorded draws rng.lossB.k = [3, 16]
    const kk = torch.tensor(cfg.args.lossB_k as number[]);
    const replay = sampler.forward(kk.size(0), { k: kk }).to('int64');
    assert.deepEqual(replay.sum(1).tolist(), cfg.args.lossB_k);
    // the draw is randint(1, S + 1) on the default generator
    torch.manualSeed(7);
    const a = sampler.forward(5);
    torch.manualSeed(7);
    assert.ok(a.equal(prefixMask(torch.randint(1, S + 1, [5]), S)));
    assert.throws(() => sampler.eval().forward(2, { k: kk }), /training draw/);
  }));

test('nesting schedule: on from epoch >= enableNestAfter, sticky; -1 never switches', () => {
  const after = tc.enable_nest_after;
  assert.equal(nestEnabled(after - 1, after), false);
  assert.equal(nestEnabled(after, after), true);
  assert.equal(nestEnabled(after + 10, after), true);
  assert.equal(nestEnabled(0, after, true), true, 'sticky');
  assert.equal(nestEnabled(null, after), false, 'eval (epoch None) leaves it off');
  assert.equal(nestEnabled(null, after, true), true);
  assert.equal(nestEnabled(1000, -1), false);
  let flag = false;
  const seen = [];
  for (let epoch = 0; epoch < after + 3; epoch++) {
    flag = nestEnabled(epoch, after, flag);
    seen.push(flag);
  }
  assert.equal(seen.indexOf(true), after);
  assert.equal(useNestedMask(false), false);
  assert.equal(useNestedMask(true), true);
  assert.equal(useNestedMask(false, 5), true);
});

test('pos-embed interpolation: identity at the native size, right shapes elsewhere, CLS and slot rows kept, DINO resize', (t) =>
  void (
    needs(t, 'case7_dinov2') &&
    torch.noGrad(() =>
      torch.scope(() => {
        const p = tc.patch_size,
          S = tc.num_slots,
          D = tc.embed_dim;
        const native = encoder.interpolatePosEncoding(tc.enc_img_size, tc.enc_img_size);
        assert.ok(native.equal(encoder.pos_embed));
        const P = encoder.numPatches;
        for (const [h, w] of [
          [tc.enc_img_size + 2 * p, tc.enc_img_size + 2 * p],
          [tc.enc_img_size, tc.enc_img_size + 2 * p],
          [2 * p, 3 * p],
        ]) {
          const gh = h / p,
            gw = w / p;
          const pos = encoder.interpolatePosEncoding(h, w);
          assert.deepEqual(pos.shape, [1, 1 + gh * gw + S, D]);
          assert.ok(pos.narrow(1, 0, 1).equal(encoder.pos_embed.narrow(1, 0, 1)), 'CLS row');
          assert.ok(pos.narrow(1, 1 + gh * gw, S).equal(encoder.pos_embed.narrow(1, 1 + P, S)), 'slot rows');
          const x = torch.rand([1, 3, h, w]);
          assert.deepEqual(encoder.prepareTokens(x).shape, [1, 1 + gh * gw + S, D]);
          assert.deepEqual(encoder.forward(x).shape, [1, S, D]);
        }
        // The resize is DINO's: with numSlots 0 and DINOv2's table (case 7) it gives out.pos_embed_interp.
        const dino = loadStateDict(join(UPSTREAM_FIXTURES, 'dinov2_state_dict.pkl')).get('pos_embed')!;
        const c7 = loadCase('case7_dinov2.safetensors');
        const ref = get(c7, 'out.pos_embed_interp');
        const grid = Math.round(Math.sqrt(dino.size(1) - 1));
        const dp = cfg.dinov2.class_kwargs.patch_size;
        const plain = new VisionTransformer({ imgSize: grid * dp, patchSize: dp, embedDim: dino.size(2), depth: 1, numHeads: 1, numSlots: 0 });
        plain.pos_embed.copy_(dino);
        const side = Math.sqrt(ref.size(1) - 1) * dp;
        assertNear(plain.interpolatePosEncoding(side, side), ref, 'DINOv2 pos_embed_interp');
        plain.dispose();
      }),
    )
  ));

test('drop path: linear ramp over blocks, active in train, inactive in eval', () =>
  torch.noGrad(() =>
    torch.scope(() => {
      const enc = new VisionTransformer({ ...encoderOptions, dropPathRate: 0.9 });
      const dpr = enc.blocks.map((b) => b.drop_path.dropProb);
      assert.equal(dpr[0], 0);
      assert.ok(Math.abs(dpr[dpr.length - 1] - 0.9) < 1e-6);
      for (let i = 1; i < dpr.length; i++) assert.ok(Math.abs(dpr[i] - (0.9 * i) / (dpr.length - 1)) < 1e-6);
      assert.deepEqual(
        encoder.dpr.map((v) => Math.fround(v)),
        encoder.dpr,
      );
      const x = torch.rand([8, 3, tc.enc_img_size, tc.enc_img_size]);
      enc.train();
      torch.manualSeed(1);
      const a = enc.forward(x);
      torch.manualSeed(2);
      const b = enc.forward(x);
      assert.ok(a.sub(b).abs().max().item() > 1e-4, 'train: outputs depend on the drop draws');
      enc.eval();
      torch.manualSeed(1);
      const c = enc.forward(x);
      torch.manualSeed(2);
      assert.ok(c.equal(enc.forward(x)), 'eval: deterministic');
      enc.dispose();
    }),
  ));

test('init and sizes: the upstream init statistics; ViT-B/16 at 256 px with 256 slots has 86.24 M parameters (docs/upstream/tokenizer.md)', () =>
  torch.noGrad(() =>
    torch.scope(() => {
      torch.manualSeed(0);
      const enc = new VisionTransformer(encoderOptions);
      const qkv = enc.blocks.at(0).attn.qkv;
      assert.ok(Math.abs(qkv.weight.std().item() - 0.02) < 0.002);
      assert.equal(qkv.bias!.abs().max().item(), 0);
      assert.ok(qkv.weight.abs().max().item() <= 0.02 * 6);
      assert.equal(enc.norm.weight!.sub(1).abs().max().item(), 0);
      assert.ok(Math.abs(enc.pos_embed.std().item() - 0.02) < 0.003);
      // patch conv keeps PyTorch's default init: uniform within 1/sqrt(fan_in)
      const bound = 1 / Math.sqrt(3 * tc.patch_size * tc.patch_size);
      assert.ok(enc.patch_embed.proj.weight.abs().max().item() <= bound);
      assert.ok(enc.patch_embed.proj.weight.std().item() > (0.5 * bound) / Math.sqrt(3));
      enc.dispose();
      const big = createVitEncoder('vit_base_patch16', { imgSize: 256, numSlots: 256, dropPathRate: 0.1 });
      assert.equal(big.numParameters(), 86_237_952);
      assert.deepEqual(big.pos_embed.shape, [1, 513, 768]);
      assert.equal(new Linear(768, 16).numParameters(), 12_304);
      big.dispose();
    }),
  ));
