// The ϵLlamaGen backbone (lib/models/gpt/gpt.ts) against the upstream fixtures, case 4: the
// train-mode intermediates of variants A and B (input_norm, every layer, final_norm, and the head
// condition `hidden`) with the recorded label-drop draws replayed, and the eval-mode KV-cache path
// (`out.kv.hidden`: setup_caches(B, T + L) → a find_multiple(T + L, 8)-position cache, prefill with
// the labels at positions 0..T−1, then decode in.tokens[:, i] at position T + i for i = 0..L−2;
// T = cls_token_num). Weights: gpt_state_dict.pkl,
// backbone keys only (the `diffloss.` keys are the head's, tested in gpt-head.test.ts).
// Sizes, labels and draws come from fixtures.json and the case file; the dropouts are 0 as the
// fixture's call (README). Plus: state-dict key names and order, the GPT-L parameter count
// (docs/upstream/gpt.md: ≈ 309.4 M backbone)
// computed analytically and checked against built models, the cache's lifetime, and input errors.
// Tolerance: |a − b| ≤ 1e-5·max(1, max|ref|) for every float output (the fixtures README's rule).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as torch from '../lib/torch.js';
import { loadStateDict } from '../lib/serialization/index.js';
import { Module } from '../lib/nn/module.js';
import { Parameter } from '../lib/nn/parameter.js';
import { GPT, GPT_SIZES, createGPT, findMultiple, ffnHiddenDim, gptBackboneParamCount, labelTableRows } from '../lib/models/gpt/gpt.js';
import { UPSTREAM_FIXTURES, fixturesJson } from './fixture-paths.js';
import { loadCase, needs } from './parity.js';

const fx = fixturesJson();
const g = fx.config.gpt;
const opts = {
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
};
const c4 = loadCase('case4_gpt.safetensors');
const ckpt = loadStateDict(join(UPSTREAM_FIXTURES, 'gpt_state_dict.pkl')); // named_parameters order
const backboneKeys = [...ckpt.keys()].filter((k) => !k.startsWith('diffloss.'));
const headKeys = [...ckpt.keys()].filter((k) => k.startsWith('diffloss.'));

const gpt = new GPT(opts);
const loaded = gpt.loadStateDict(ckpt, { strict: false });

/** Asserts the tolerance rule and reports the max abs error. */
function near(t: TestContext, got: torch.Tensor, ref: torch.Tensor, what: string, rel = 1e-5): void {
  assert.deepEqual(got.shape, ref.shape, `${what} shape`);
  torch.scope(() => {
    const scale = Math.max(1, ref.abs().max().item() as number);
    const err = got.double().sub(ref.double()).abs().max().item() as number;
    t.diagnostic(`${what}: max abs err ${err.toExponential(2)} (max|ref| ${scale.toFixed(3)})`);
    assert.ok(err <= rel * scale, `${what}: max abs err ${err} > ${rel * scale}`);
  });
}

test("state dict: backbone keys = the checkpoint's non-diffloss keys, in order; only diffloss.* is unexpected, nothing missing", () =>
  torch.scope(() => {
    assert.deepEqual(Object.keys(gpt.stateDict()), backboneKeys);
    assert.deepEqual(loaded.missingKeys, []);
    assert.deepEqual(loaded.unexpectedKeys, headKeys);
    assert.ok(headKeys.length > 0);
    for (const k of backboneKeys) assert.ok(gpt.stateDict()[k].equal(ckpt.get(k)!), k);
    // The fixture's shapes follow from the sizes: SwiGLU width, label table with the null row, position tables.
    const sd = gpt.stateDict();
    assert.deepEqual(sd['layers.0.feed_forward.w1.weight'].shape, [ffnHiddenDim(g.dim), g.dim]);
    assert.deepEqual(sd['cls_embedding.embedding_table.weight'].shape, [g.num_classes + 1, g.dim]);
    assert.deepEqual(sd['pos_embed_learned'].shape, [1, g.cls_token_num + g.num_slots, g.dim]);
    assert.deepEqual(sd['diffusion_pos_embed_learned'].shape, [1, g.num_slots, g.dim]);
  }));

test('a head given to the constructor registers under diffloss., last, keeps its own init, and gets the head dims', () =>
  torch.scope(() => {
    class StandIn extends Module {
      w: Parameter;
      constructor(readonly dims: { zChannels: number; targetChannels: number }) {
        super();
        this.w = new Parameter(torch.full([dims.targetChannels, dims.zChannels], 7, { dtype: 'float32' }));
      }
    }
    const m = new GPT(opts, (d) => new StandIn(d));
    assert.deepEqual(m.diffloss!.dims, { zChannels: g.dim, targetChannels: g.slot_dim });
    const keys = Object.keys(m.stateDict());
    assert.deepEqual(keys, [...backboneKeys, 'diffloss.w']);
    m.initWeights();
    assert.equal(m.diffloss!.w.min().item(), 7);
    assert.equal(m.numBackboneParameters(), gpt.numParameters());
    const r = m.loadStateDict(ckpt, { strict: false });
    assert.deepEqual(r.missingKeys, ['diffloss.w']);
    m.dispose();
  }));

for (const v of ['A', 'B'] as const) {
  test(`case 4 train${v}: input_norm, layers, final_norm, hidden (label_rand replayed)`, (t) =>
    void (
      needs(t, 'case4_gpt') &&
      torch.noGrad(() =>
        torch.scope(() => {
          gpt.train();
          const got = new Map<string, torch.Tensor>();
          const labels = c4('in.labels');
          const labelRand = c4(`rng.train${v}.label_rand`);
          const hidden = gpt.condition(c4('in.tokens'), labels, {
            labelRand,
            capture: (name, x) => {
              got.set(name, torch.keep(x.clone()));
            },
          });
          // The labels whose recorded draw is below class_dropout_prob become the null class.
          const dropped = gpt.cls_embedding.tokenDrop(labels, { labelRand }).tolist();
          const expectDrop = (labelRand.tolist() as number[]).map((u, i) => (u < g.class_dropout_prob ? g.num_classes : (labels.tolist() as number[])[i]));
          assert.deepEqual(dropped, expectDrop);
          const names = ['input_norm', ...Array.from({ length: g.n_layer }, (_, i) => `layer_${i}`), 'final_norm'];
          assert.deepEqual([...got.keys()], names);
          for (const n of names) near(t, got.get(n)!, c4(`out.train${v}.${n}`), `train${v}.${n}`);
          near(t, hidden, c4(`out.train${v}.hidden`), `train${v}.hidden`);
          torch.dispose([...got.values()]);
          gpt.eval();
        }),
      )
    ));
}

test('case 4: a sample has the same condition in A and B where its effective label agrees, another where it does not', (t) =>
  void (
    needs(t, 'case4_gpt') &&
    torch.noGrad(() =>
      torch.scope(() => {
        const labels = c4('in.labels').tolist() as number[];
        const effective = (v: string) =>
          (c4(`rng.train${v}.label_rand`).tolist() as number[]).map((u, i) => (u < g.class_dropout_prob ? g.num_classes : labels[i]));
        const ea = effective('A'),
          eb = effective('B');
        const a = c4('out.trainA.hidden'),
          b = c4('out.trainB.hidden');
        labels.forEach((_, i) => {
          const d = a.select(0, i).sub(b.select(0, i)).abs().max().item() as number;
          if (ea[i] === eb[i]) assert.ok(d < 1e-5, `sample ${i}: same label ${ea[i]} in A and B, conditions differ by ${d}`);
          else assert.ok(d > 1e-2, `sample ${i}: labels ${ea[i]} (A) and ${eb[i]} (B), conditions differ by only ${d}`);
        });
        // In eval mode nothing is dropped: each sample's condition equals that of a variant that kept its label.
        gpt.eval();
        const ev = gpt.condition(c4('in.tokens'), c4('in.labels'), { labelRand: c4('rng.trainB.label_rand') });
        labels.forEach((l, i) => {
          const kept = ea[i] === l ? a : eb[i] === l ? b : null;
          if (kept) assert.ok((ev.select(0, i).sub(kept.select(0, i)).abs().max().item() as number) < 1e-5, `eval sample ${i}`);
        });
      }),
    )
  ));

test('case 4 KV path: setup_caches(B, T + L), prefill at 0..T−1, decode token i at T + i → out.kv.hidden', (t) =>
  void (
    needs(t, 'case4_gpt') &&
    torch.noGrad(() =>
      torch.scope(() => {
        gpt.eval();
        const tokens = c4('in.tokens'),
          labels = c4('in.labels');
        const [B, L] = tokens.shape;
        const T = g.cls_token_num;
        const M = findMultiple(T + L, 8); // upstream rounds max_seq_length up to a multiple of 8
        const info = gpt.setupCaches(B, T + L);
        assert.deepEqual(info, { maxBatchSize: B, maxSeqLength: M, dtype: 'float32' });
        assert.ok(M % 8 === 0 && M >= T + L && M < T + L + 8);
        assert.deepEqual(gpt.causalMask!.shape, [B, M, M]);
        assert.equal(gpt.kvCaches.length, g.n_layer);
        assert.deepEqual(gpt.kvCaches[0].kCache.shape, [B, g.n_head, M, g.dim / g.n_head]);
        const steps = [gpt.forwardCached(null, labels, torch.arange(0, g.cls_token_num))];
        for (let i = 0; i < L - 1; i++) steps.push(gpt.forwardCached(tokens.narrow(1, i, 1), null, torch.tensor([g.cls_token_num + i], { dtype: 'int32' })));
        near(t, torch.stack(steps, 1), c4('out.kv.hidden'), 'kv.hidden');
        // The cached path equals the full causal one for every sample whose label a train variant kept.
        const labelList = labels.tolist() as number[];
        for (const v of ['A', 'B']) {
          (c4(`rng.train${v}.label_rand`).tolist() as number[]).forEach((u, i) => {
            if (u >= g.class_dropout_prob)
              near(
                t,
                torch.stack(steps, 1).select(0, i),
                c4(`out.train${v}.hidden`).select(0, i),
                `kv.hidden[${i}] vs train${v}.hidden (label ${labelList[i]} kept)`,
              );
          });
        }
        // The positions past the last write are still zero; positions 0..L−1 were written.
        const k0 = gpt.kvCaches[0].kCache;
        assert.equal(
          k0
            .narrow(2, T + L - 1, M - (T + L - 1))
            .abs()
            .max()
            .item(),
          0,
        );
        assert.ok(
          (k0
            .narrow(2, 0, T + L - 1)
            .abs()
            .amax([0, 1, 3])
            .min()
            .item() as number) > 0,
        );
        // The prefill/decodeStep helpers give the same, from a fresh cache (setupCaches replaces the old one).
        gpt.setupCaches(B, T + L);
        const again = [gpt.prefill(labels)];
        for (let k = 1; k < L; k++) again.push(gpt.decodeStep(tokens.select(1, k - 1), k));
        near(t, torch.stack(again, 1), c4('out.kv.hidden'), 'kv.hidden (prefill/decodeStep)');
        gpt.clearCaches();
        assert.equal(gpt.cacheInfo, null);
        assert.equal(gpt.causalMask, null);
        torch.dispose(steps, again);
      }),
    )
  ));

test("KV path with a bfloat16 cache (upstream generate's dtype under autocast): kv.hidden to bf16 precision, with and without autocast", (t) =>
  void (
    needs(t, 'case4_gpt') &&
    torch.noGrad(() =>
      torch.scope(() => {
        gpt.eval();
        const tokens = c4('in.tokens'),
          labels = c4('in.labels');
        const [B, L] = tokens.shape;
        const run = () => {
          gpt.setupCaches(B, g.cls_token_num + L, 'bfloat16');
          assert.equal(gpt.kvCaches[0].kCache.dtype, 'bfloat16');
          const s = [gpt.prefill(labels)];
          for (let k = 1; k < L; k++) s.push(gpt.decodeStep(tokens.select(1, k - 1), k));
          gpt.clearCaches();
          return torch.stack(s, 1).float();
        };
        near(t, run(), c4('out.kv.hidden'), 'kv.hidden, bf16 cache', 1e-2);
        near(t, torch.autocast({ device: 'cpu', dtype: 'bfloat16' }, run), c4('out.kv.hidden'), 'kv.hidden, bf16 cache + autocast', 1e-2);
      }),
    )
  ));

test('train mode with dropout, attention dropout and drop-path: gradients reach every backbone parameter', () => {
  const m = new GPT({ ...opts, residDropoutP: 0.1, ffnDropoutP: 0.1, attnDropoutP: 0.1, dropPathRate: 0.1 });
  m.train();
  assert.deepEqual(
    m.dpr.map((x) => Math.round(x * 1e6) / 1e6),
    Array.from({ length: g.n_layer }, (_, i) => Math.round((g.n_layer > 1 ? (0.1 * i) / (g.n_layer - 1) : 0) * 1e6) / 1e6),
  );
  torch.scope(() => {
    const z = m.condition(torch.randn(2, g.num_slots, g.slot_dim), torch.tensor([0, 1]));
    assert.deepEqual(z.shape, [2, g.num_slots, g.dim]);
    z.square().sum().backward();
  });
  assert.deepEqual(
    m
      .namedParameters()
      .filter(([, p]) => !p.grad)
      .map(([k]) => k),
    [],
  );
  m.dispose();
});

test('KV cache: clearCaches frees exactly the cache tensors; dispose() frees them too', () =>
  torch.noGrad(() => {
    const m = new GPT(opts);
    const base = torch.memory().numTensors;
    m.setupCaches(3, 5);
    assert.equal(torch.memory().numTensors, base + 2 * g.n_layer + 1);
    const kv = m.kvCaches[0];
    m.setupCaches(2, 17); // replaces: the old ones are freed
    assert.ok(kv.kCache.isDisposed);
    assert.equal(m.cacheInfo!.maxSeqLength, 24);
    assert.equal(torch.memory().numTensors, base + 2 * g.n_layer + 1);
    m.clearCaches();
    assert.equal(torch.memory().numTensors, base);
    m.setupCaches(1, 8);
    const kv2 = m.kvCaches[1];
    m.dispose();
    assert.ok(kv2.vCache.isDisposed);
  }));

test('parameter count: GPT-L backbone ≈ 309.4 M (docs/upstream/gpt.md), the formula matches built models', () =>
  torch.scope(() => {
    // GPT-L as Semanticist trains it: 32 tokens of 16 channels, 1000 classes, p_drop 0.1, one class token.
    const gptL = { ...GPT_SIZES['GPT-L'], numSlots: 32, slotDim: 16, numClasses: 1000, classDropoutProb: 0.1, clsTokenNum: 1 };
    assert.equal(ffnHiddenDim(1024), 2816);
    const n = gptBackboneParamCount(gptL);
    assert.equal(n, 309_441_536);
    assert.equal((n / 1e6).toFixed(1), '309.4');
    // The formula against real modules: the fixture model and variants exercising every term.
    assert.equal(gptBackboneParamCount(opts), gpt.numParameters());
    for (const o of [
      { ...opts, clsTokenNum: 3, classDropoutProb: 0, multipleOf: 32 },
      { ...opts, dim: 48, nHead: 3, nLayer: 1, numSlots: 5, slotDim: 7, numClasses: 4, ffnDimMultiplier: 1.3, multipleOf: 16 },
    ]) {
      const m = new GPT(o);
      assert.equal(gptBackboneParamCount(o), m.numParameters(), JSON.stringify(o));
      assert.equal(m.cls_embedding.embedding_table.numEmbeddings, labelTableRows(o.numClasses, o.classDropoutProb));
      m.dispose();
    }
    // Presets: the registry as upstream, and createGPT builds one (GPT-B is the smallest; checked without building).
    assert.deepEqual(Object.keys(GPT_SIZES), ['GPT-B', 'GPT-L', 'GPT-XL', 'GPT-XXL', 'GPT-XXXL', 'GPT-1B', 'GPT-3B', 'GPT-7B']);
    assert.throws(() => createGPT('GPT-Q' as any, { numSlots: 4, slotDim: 4 }), /unknown GPT preset 'GPT-Q'/);
  }));

test('init: normal(0.02) on Linear/Embedding and both position tables, zero z_proj bias, unit RMSNorm weights', () =>
  torch.noGrad(() => {
    torch.manualSeed(0);
    const m = new GPT({ ...opts, dim: 256, nHead: 4, nLayer: 1 });
    const std = (x: torch.Tensor) => torch.scope(() => x.std().item() as number);
    for (const x of [
      m.pos_embed_learned,
      m.diffusion_pos_embed_learned,
      m.cls_embedding.embedding_table.weight,
      m.z_proj.weight,
      m.layers.at(0).attention.wqkv.weight,
      m.layers.at(0).feed_forward.w2.weight,
    ]) {
      assert.ok(Math.abs(std(x) - 0.02) < 0.003, `std ${std(x)}`);
    }
    assert.equal(
      torch.scope(() => m.z_proj.bias!.abs().max().item()),
      0,
    );
    assert.equal(
      torch.scope(() => m.norm.weight.sub(1).abs().max().item()),
      0,
    );
    m.dispose();
  }));

test('errors name the bad shape or position', () =>
  torch.noGrad(() =>
    torch.scope(() => {
      gpt.eval();
      const B = 2,
        C = g.slot_dim,
        T = g.cls_token_num,
        L = g.num_slots;
      const labels = torch.tensor(Array.from({ length: B }, (_, i) => i % g.num_classes));
      assert.throws(() => gpt.condition(torch.zeros(B, 3, C + 1), labels), new RegExp(`tokens must be \\(B, L, ${C}\\).*got \\(2, 3, ${C + 1}\\)`));
      assert.throws(() => gpt.condition(torch.zeros(B, g.num_slots + 1, C), labels), new RegExp(`got \\(2, ${g.num_slots + 1}, ${C}\\)`));
      assert.throws(() => gpt.condition(torch.zeros(B, 3, C), torch.tensor([1, 2, 3])), /labels must be \(2\).*got \(3\)/);
      assert.throws(() => gpt.condition(torch.zeros(B, 3, C), torch.tensor([0, g.num_classes + 1])), new RegExp(`labels must be in \\[0, ${g.num_classes}\\]`));
      assert.throws(() => gpt.forwardCached(null, labels, [0]), /no KV cache/);
      assert.throws(() => gpt.forward(torch.zeros(B, 3, C), labels), /no diffusion head/);
      // positions: pos_embed_learned has P = T + L rows, the cache M = find_multiple(P, 8)
      const P = T + L,
        M = findMultiple(P, 8);
      gpt.setupCaches(B, P);
      try {
        assert.throws(
          () => gpt.forwardCached(torch.zeros(B, 1, C), null, [M]),
          new RegExp(`position ${M} is outside the KV cache \\(positions 0\\.\\.${M - 1}\\)`),
        );
        assert.throws(() => gpt.forwardCached(torch.zeros(B, 1, C), null, [-1]), /position -1 is outside the KV cache/);
        if (M > P)
          assert.throws(
            () => gpt.forwardCached(torch.zeros(B, 1, C), null, [M - 1]),
            new RegExp(`position ${M - 1} is outside pos_embed_learned \\(positions 0\\.\\.${P - 1}\\)`),
          );
        assert.throws(
          () => gpt.forwardCached(torch.zeros(B, 1, C), null, [P - 1]),
          new RegExp(`last position ${P - 1} predicts token ${L}, outside 0\\.\\.${L - 1}`),
        );
        assert.throws(() => gpt.forwardCached(torch.zeros(B, 1, C + 2), null, [1]), new RegExp(`got \\(2, 1, ${C + 2}\\)`));
        assert.throws(() => gpt.forwardCached(torch.zeros(B, 2, C), null, [1]), /1 positions \[1\] for 2 new sequence entries/);
        assert.throws(() => gpt.forwardCached(torch.zeros(3, 1, C), null, [1]), /batch 3 exceeds the cache's maxBatchSize 2/);
        assert.throws(() => gpt.forwardCached(null, null, [0]), /give tokens \(decode\), labels \(prefill\), or both/);
      } finally {
        gpt.clearCaches();
      }
      assert.throws(() => gpt.setupCaches(0, 9), /maxBatchSize must be a positive integer/);
      const badHeads = [5, 7, 11, 13].find((h) => g.dim % h !== 0)!;
      assert.throws(() => new GPT({ ...opts, nHead: badHeads }), new RegExp(`dim ${g.dim} is not divisible by nHead ${badHeads}`));
    }),
  ));
