// The tokenizer's DiT decoder (lib/models/tokenizer/dit.ts) against the upstream fixtures: case 2
// (every DiT output: pos_embed, patch/timestep/condition embeddings, forward, the block outputs,
// the REPA hook, first-k masking, CFG) and the case 3 outputs that run the DiT (p_mean_variance,
// p_sample with and without CFG, the training-loss model output, and the train-mode outputs of
// the two tokenizer-loss variants), loaded from tokenizer_state_dict.pkl (and the _orig_mod copy).
// Sizes come from fixtures.json config.tokenizer (input size = enc_img_size/16, 16 channels: the
// MAR VAE). Plus properties: first-k decoding uses null_cond for positions ≥ k, CFG at scale 1 is
// the conditional forward, and the train-mode drop with injected draws nulls whole samples.
// Every size, timestep, scale and draw comes from fixtures.json and the case files; a case the set
// does not list is skipped by name.
// Tolerances: the embeddings, pos_embed and first-k mask path of case 2 use the README's 1e-5 of
// max(1, max|ref|) (one or two ops deep). The block outputs, the forward, the REPA hook, CFG
// (u + s·(c − u) scales the rounding of c and u by s and s − 1), p_mean_variance / p_sample
// (pred_xstart divides by √ᾱ_t, ×160 at t = 999) and the train-mode outputs use assertParity
// (test/parity.ts): 4× our own float32 error, measured against a float64 run of the same
// computation, plus 16 ulps of the scale. Timesteps and masks are exact. The drop property
// compares batched with unbatched condition embeddings within the Linear's float32 rounding bound
// (test/rounding.ts), not bit for bit: BLAS may round the two differently.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as torch from '../lib/torch.js';
import { loadStateDict, stripPrefix, removeSegment } from '../lib/serialization/index.js';
import { createDiffusion } from '../lib/diffusion/index.js';
import { DiT, DIT_SIZES, ditSize, createDiT, modulate } from '../lib/models/tokenizer/dit.js';
import { UPSTREAM_FIXTURES, fixturesJson } from './fixture-paths.js';
import { assertNear, assertParity, as64, loadCase, needs } from './parity.js';
import { linearModuleBound, withinBound, assertWithinBound } from './rounding.js';

const cfg = fixturesJson().config;
const tk = cfg.tokenizer;
const args = cfg.args;
// DiffuseSlot with a MAR VAE: the latent is enc_img_size / 16 wide with 16 channels.
const ditOptions = {
  inputSize: tk.enc_img_size / 16,
  patchSize: tk.dit_patch,
  inChannels: 16,
  hiddenSize: tk.dit_hidden,
  depth: tk.dit_depth,
  numHeads: tk.dit_heads,
  numSlots: tk.num_slots,
  slotDim: tk.slot_dim,
  useRepa: true,
  encoderDepth: tk.repa_encoder_depth,
  projectorDim: tk.projector_dim,
  zDim: tk.repa_z_dim,
};

const c2 = loadCase('case2_dit.safetensors');
const c3 = loadCase('case3_diffusion.safetensors');

const ditState = (file: string, rewrite: (sd: Map<string, torch.Tensor>) => Map<string, torch.Tensor> = (sd) => sd) => {
  const sd = rewrite(loadStateDict(join(UPSTREAM_FIXTURES, file)));
  return stripPrefix(new Map([...sd].filter(([k]) => k.startsWith('dit.'))), 'dit.');
};

const dit = new DiT(ditOptions);
const ckptKeys = [...ditState('tokenizer_state_dict.pkl').keys()];
dit.loadStateDict(ditState('tokenizer_state_dict.pkl')); // strict
dit.eval();
// The same weights in float64: the exact value of each computation, against which assertParity
// measures our float32 rounding error.
const dit64 = new DiT(ditOptions);
dit64.loadStateDict(ditState('tokenizer_state_dict.pkl'));
dit64.to('float64').eval();

/** Runs f with the float32 DiT on the inputs and with the float64 one on float64 copies; compares with ref. */
function parity(what: string, ref: torch.Tensor, f: (m: DiT, x: (t: torch.Tensor) => torch.Tensor) => torch.Tensor): void {
  assertParity(
    f(dit, (t) => t),
    f(dit64, as64),
    ref,
    what,
  );
}

test("state dict: the DiT has exactly the checkpoint's dit.* keys, in its order; pos_embed is not saved", () =>
  torch.scope(() => {
    assert.deepEqual(Object.keys(dit.stateDict()), ckptKeys);
    assert.ok(!ckptKeys.includes('pos_embed'));
    assert.ok(dit.namedBuffers().some(([k]) => k === 'pos_embed'));
  }));

test('the _orig_mod checkpoint loads strictly after removing the segment and gives the same weights', () =>
  torch.scope(() => {
    const other = new DiT(ditOptions);
    other.loadStateDict(ditState('tokenizer_state_dict_orig_mod.pkl', (sd) => removeSegment(sd, '_orig_mod.')));
    const a = dit.stateDict(),
      b = other.stateDict();
    for (const k of Object.keys(a)) assert.ok(a[k].equal(b[k]), k);
    other.dispose();
  }));

test('case 2: pos_embed, x_embed, t_emb, cond_emb', (t) =>
  void (
    needs(t, 'case2_dit') &&
    torch.noGrad(() =>
      torch.scope(() => {
        assertNear(dit.pos_embed, c2('out.pos_embed'), 'pos_embed');
        assertNear(dit.x_embedder.forward(c2('in.x_t')).add(dit.pos_embed), c2('out.x_embed'), 'x_embed');
        assertNear(dit.embedTimesteps(c2('in.t')), c2('out.t_emb'), 't_emb');
        assertNear(dit.t_embedder.forward(c2('in.t')), c2('out.t_emb'), 't_embedder.forward');
        assertNear(dit.embedCond(c2('in.tokens')), c2('out.cond_emb'), 'cond_emb');
      }),
    )
  ));

test('case 2: forward, block outputs and the REPA hook', (t) =>
  void (
    needs(t, 'case2_dit') &&
    torch.noGrad(() =>
      torch.scope(() => {
        const blocks: torch.Tensor[] = [],
          blocks64: torch.Tensor[] = [];
        const out = dit.forward(c2('in.x_t'), c2('in.t'), c2('in.tokens'), { onBlock: (_, h) => blocks.push(torch.keep(h.clone())) }); // kept: onBlock runs inside the forward's scope
        const out64 = dit64.forward(as64(c2('in.x_t')), c2('in.t'), as64(c2('in.tokens')), { onBlock: (_, h) => blocks64.push(torch.keep(h.clone())) });
        assertParity(out, out64, c2('out.forward'), 'forward');
        assert.equal(blocks.length, tk.dit_depth);
        blocks.forEach((b, i) => assertParity(b, blocks64[i], c2(`out.block_${i}`), `block_${i}`));
        torch.dispose(blocks, blocks64);
        assert.ok(dit.repaHook);
        assertParity(dit.repaHook!, dit64.repaHook!, c2('out.repa_hook'), 'repa_hook');
        const { output, repa } = dit.forwardWithRepa(c2('in.x_t'), c2('in.t'), c2('in.tokens'));
        assert.ok(output.equal(out));
        assert.ok(repa!.equal(dit.repaHook!), 'forwardWithRepa().repa is the hook');
      }),
    )
  ));

test('case 2: first-k mask, CFG, CFG with the mask', (t) =>
  void (
    needs(t, 'case2_dit') &&
    torch.noGrad(() =>
      torch.scope(() => {
        const k = args.dit_k,
          B = c2('in.x_t').shape[0];
        const mask = c2('out.mask_k');
        assert.deepEqual(
          mask.tolist(),
          Array.from({ length: B }, () => Array.from({ length: tk.num_slots }, (_, i) => (i < k ? 1 : 0))),
        );
        parity('forward_mask_k', c2('out.forward_mask_k'), (m, x) => m.forward(x(c2('in.x_t')), c2('in.t'), x(c2('in.tokens')), { dropMask: mask }));
        const cfgScale = args.dit_cfg;
        parity('forward_with_cfg', c2('out.forward_with_cfg'), (m, x) =>
          m.forwardWithCfg(x(c2('in.cfg_x')), c2('in.cfg_t'), x(c2('in.cfg_tokens')), { cfgScale }),
        );
        parity('forward_with_cfg_mask_k', c2('out.forward_with_cfg_mask_k'), (m, x) =>
          m.forwardWithCfg(x(c2('in.cfg_x')), c2('in.cfg_t'), x(c2('in.cfg_tokens')), { cfgScale, dropMask: c2('out.cfg_mask') }),
        );
      }),
    )
  ));

test('case 3: p_mean_variance and p_sample (respacing from the config) with the DiT; the DiT gets the original timesteps', (t) =>
  void (
    needs(t, 'case3_diffusion') &&
    torch.noGrad(() =>
      torch.scope(() => {
        const gen = createDiffusion(cfg.tokenizer.num_sampling_steps);
        const run = (m: DiT, x: (t: torch.Tensor) => torch.Tensor) => {
          const tokens = x(c3('in.tl.tokens'));
          let seen = null as torch.Tensor | null; // assigned in the model closure
          const model = (xt: torch.Tensor, tt: torch.Tensor) => {
            seen?.dispose();
            seen = torch.keep(tt.clone());
            return m.forward(xt, tt, tokens);
          };
          const pmv = gen.pMeanVariance(model, x(c3('in.pmv.x_t')), c3('in.pmv.t'));
          assert.ok(seen);
          assert.deepEqual(seen!.tolist(), c3('out.pmv.model_t').tolist());
          const ps = gen.pSample(model, x(c3('in.pmv.x_t')), c3('in.pmv.t'), { noise: x(c3('rng.ps.noise')) });
          const cfgModel = (xt: torch.Tensor, tt: torch.Tensor) => m.forwardWithCfg(xt, tt, x(c3('in.psc.tokens')), { cfgScale: args.psc_cfg });
          const psc = gen.pSample(cfgModel, x(c3('in.psc.x')), c3('in.psc.t'), { noise: x(c3('rng.psc.noise')) });
          seen!.dispose();
          return { pmv, ps, psc };
        };
        const a = run(dit, (x) => x),
          e = run(dit64, as64);
        assertParity(a.pmv.mean, e.pmv.mean, c3('out.pmv.mean'), 'pmv.mean');
        assertParity(a.pmv.variance, e.pmv.variance, c3('out.pmv.variance'), 'pmv.variance');
        assertParity(a.pmv.logVariance, e.pmv.logVariance, c3('out.pmv.log_variance'), 'pmv.log_variance');
        assertParity(a.pmv.predXstart, e.pmv.predXstart, c3('out.pmv.pred_xstart'), 'pmv.pred_xstart');
        assertParity(a.ps.sample, e.ps.sample, c3('out.ps.sample'), 'ps.sample');
        assertParity(a.ps.predXstart, e.ps.predXstart, c3('out.ps.pred_xstart'), 'ps.pred_xstart');
        assertParity(a.psc.sample, e.psc.sample, c3('out.psc.sample'), 'psc.sample');
        assertParity(a.psc.predXstart, e.psc.predXstart, c3('out.psc.pred_xstart'), 'psc.pred_xstart');
      }),
    )
  ));

test('case 3: the DiT output inside training_losses (eval)', (t) =>
  void (
    needs(t, 'case3_diffusion') &&
    torch.noGrad(() =>
      torch.scope(() => {
        parity('tl.model_output', c3('out.tl.model_output'), (m, x) => m.forward(x(c3('out.tl.model_x_t')), c3('in.q.t'), x(c3('in.tl.tokens'))));
        const train = createDiffusion('');
        const losses = (m: DiT, x: (t: torch.Tensor) => torch.Tensor) => {
          const tokens = x(c3('in.tl.tokens'));
          return train.trainingLosses((xt, tt) => m.forward(xt, tt, tokens), x(c3('in.q.x0')), c3('in.q.t'), { noise: x(c3('in.q.noise')) });
        };
        const r = losses(dit, (x) => x),
          e = losses(dit64, as64);
        assertParity(r.output, e.output, c3('out.tl.model_output'), 'trainingLosses output');
        assertParity(r.mse, e.mse, c3('out.tl.mse'), 'tl.mse');
      }),
    )
  ));

test('case 3: train-mode DiT outputs of the tokenizer losses (A: injected drop draws; B: nested mask)', (t) =>
  void (
    needs(t, 'case3_diffusion') &&
    torch.noGrad(() =>
      torch.scope(() => {
        dit.train();
        dit64.train();
        try {
          const k = c3('rng.lossB.k');
          const mask = torch.arange(tk.num_slots).unsqueeze(0).lt(k.unsqueeze(1));
          for (const v of ['lossA', 'lossB']) {
            const run = (m: DiT, x: (t: torch.Tensor) => torch.Tensor) => {
              const o = v === 'lossA' ? { dropRand: x(c3('rng.lossA.drop_rand')) } : { dropMask: mask };
              const out = m.forward(x(c3(`out.${v}.model_x_t`)), c3(`rng.${v}.t`), x(c3('in.loss.slots')), o);
              return { out, hook: m.repaHook! };
            };
            const a = run(dit, (x) => x),
              e = run(dit64, as64);
            assertParity(a.out, e.out, c3(`out.${v}.model_output`), `${v}.model_output`);
            assertParity(a.hook, e.hook, c3(`out.${v}.repa_hook`), `${v}.repa_hook`);
          }
        } finally {
          dit.eval();
          dit64.eval();
        }
      }),
    )
  ));

test('property: first-k decoding uses null_cond for positions ≥ k', (t) =>
  void (
    needs(t, 'case2_dit') &&
    torch.noGrad(() =>
      torch.scope(() => {
        const x = c2('in.x_t'),
          t = c2('in.t'),
          tokens = c2('in.tokens');
        const B = x.shape[0],
          K = tk.num_slots,
          k = Math.max(1, Math.floor(K / 2));
        const mask = torch.arange(K).unsqueeze(0).lt(k).expand(B, K);
        const base = dit.forward(x, t, tokens, { dropMask: mask });
        // tokens at positions ≥ k do not matter
        const later = torch.arange(K).ge(k).reshape(1, K, 1).float();
        const changed = tokens.add(torch.randn(tokens.shape).mul(later));
        assert.ok(dit.forward(x, t, changed, { dropMask: mask }).equal(base));
        // tokens before k do
        const early = tokens.add(torch.randn(tokens.shape).mul(later.rsub(1)));
        assert.ok(dit.forward(x, t, early, { dropMask: mask }).sub(base).abs().max().item() > 1e-3);
        // null_cond rows ≥ k do, and rows < k do not
        const saved = dit.null_cond.clone();
        try {
          dit.null_cond.narrow(1, k, K - k).add_(0.5);
          assert.ok(dit.forward(x, t, tokens, { dropMask: mask }).sub(base).abs().max().item() > 1e-3);
          dit.null_cond.copy_(saved);
          dit.null_cond.narrow(1, 0, k).add_(0.5);
          assert.ok(dit.forward(x, t, tokens, { dropMask: mask }).equal(base));
        } finally {
          dit.null_cond.copy_(saved);
        }
        // the mask equals a manual null swap
        const swapped = torch.where(mask.unsqueeze(2), tokens, dit.null_cond);
        assertNear(dit.forward(x, t, swapped), base, 'manual null swap');
      }),
    )
  ));

test('property: CFG at scale 1 is the conditional forward on the eps channels', (t) =>
  void (
    needs(t, 'case2_dit') &&
    torch.noGrad(() =>
      torch.scope(() => {
        const x = c2('in.x_t'),
          t = c2('in.t'),
          tokens = c2('in.tokens');
        const B = x.shape[0],
          C = 16;
        const cond = dit.forward(x, t, tokens);
        const nulls = dit.null_cond.expand(B, -1, -1);
        // the second half of x is ignored
        const out = dit.forwardWithCfg(torch.cat([x, torch.randn(x.shape)]), torch.cat([t, t]), torch.cat([tokens, nulls]), { cfgScale: 1 });
        const [first, second] = out.split(B, 0);
        assertNear(first.narrow(1, 0, C), cond.narrow(1, 0, C), 'eps, conditional half');
        assertNear(second.narrow(1, 0, C), cond.narrow(1, 0, C), 'eps, unconditional half (shared)');
        assertNear(first.narrow(1, C, C), cond.narrow(1, C, C), 'variance channels of the conditional half pass through');
        const uncond = dit.forward(x, t, nulls);
        assertNear(second.narrow(1, C, C), uncond.narrow(1, C, C), 'variance channels of the unconditional half');
      }),
    )
  ));

test('property: train-mode condition drop with injected draws replaces all tokens of the dropped sample', (tc) =>
  void (
    needs(tc, 'case2_dit') &&
    torch.noGrad(() =>
      torch.scope(() => {
        const tokens = c2('in.tokens'),
          x = c2('in.x_t'),
          t = c2('in.t');
        const B = tokens.shape[0],
          K = tk.num_slots;
        const lin = dit.autoenc_cond_embedder;
        // The condition embedding is where(drop, null_cond, tokens) (a copy) then one Linear, so a row of a
        // batch equals the unbatched embedding of what it holds up to the Linear's rounding: BLAS may block
        // a (B·K)-row product differently from a K-row one (test/rounding.ts derives the bound).
        const real = tokens.narrow(0, 0, 1);
        const realEmb = lin.forward(real),
          nullEmb = lin.forward(dit.null_cond);
        const realTol = linearModuleBound(lin, real),
          nullTol = linearModuleBound(lin, dit.null_cond);
        dit.train();
        try {
          // draws: even samples kept (0.5 ≥ 0.1), odd samples dropped (0.05 < 0.1)
          const dropped = Array.from({ length: B }, (_, i) => i % 2 === 1);
          const draws = torch.tensor(dropped.map((d) => (d ? 0.05 : 0.5))).reshape(B, 1, 1);
          const emb = dit.embedCond(tokens, null, draws);
          for (let i = 0; i < B; i++) {
            const row = tokens.narrow(0, i, 1);
            if (dropped[i]) assertWithinBound(emb.narrow(0, i, 1), nullEmb, nullTol, `dropped sample ${i}`);
            else assertWithinBound(emb.narrow(0, i, 1), lin.forward(row), linearModuleBound(lin, row), `kept sample ${i}`);
          }
          const trainOut = dit.forward(x, t, tokens, { dropRand: draws });
          dit.eval();
          const keepMask = torch.tensor(
            dropped.map((d) => Array(K).fill(!d)),
            { dtype: 'bool' },
          );
          assertNear(trainOut, dit.forward(x, t, tokens, { dropMask: keepMask }), 'train drop = eval with an all-null mask row');
          // eval without a mask drops nothing, whatever the draws
          assertNear(dit.embedCond(tokens, null, draws), c2('out.cond_emb'), 'eval ignores draws');
          // a dropMask overrides the random drop in train mode
          dit.train();
          const ones = torch.ones([B, K], { dtype: 'bool' });
          assertNear(dit.embedCond(tokens, ones, torch.zeros([B, 1, 1])), c2('out.cond_emb'), 'mask overrides drop');
          // unseeded draws: drop probability 0.1 per sample, all-or-nothing. Every row of a 2000-sample
          // batch must be the null embedding or the real one within the rounding bound; that is decidable
          // because the two differ somewhere by more than both bounds together.
          const gapRatio = realEmb.double().sub(nullEmb.double()).abs().div(realTol.add(nullTol)).max().item();
          assert.ok(gapRatio > 1, `null and real embeddings closer than the rounding bounds (ratio ${gapRatio})`);
          torch.manualSeed(0);
          const n = 2000;
          const e = dit.embedCond(real.expand(n, K, -1));
          const isNull = withinBound(e, nullEmb, nullTol).all(2).all(1);
          const isReal = withinBound(e, realEmb, realTol).all(2).all(1);
          assert.ok(isNull.logicalAnd(isReal).logicalNot().all().item(), 'no row is both');
          const neither = isNull.logicalOr(isReal).logicalNot().sum().item();
          assert.equal(neither, 0, `${neither} of ${n} rows are neither the null nor the real embedding`);
          // Binomial(2000, 0.1): mean 200, sd 13.4; the window is ±6 sd
          const nDropped = isNull.sum().item();
          assert.ok(nDropped > 0.06 * n && nDropped < 0.14 * n, `dropped ${nDropped} of ${n}`);
        } finally {
          dit.eval();
        }
      }),
    )
  ));

test('init (docs/upstream/tokenizer.md): DiT init, then PyTorch defaults on the added modules', () =>
  torch.noGrad(() =>
    torch.scope(() => {
      torch.manualSeed(1);
      // Sizes of its own (the bounds below are written for them), not the fixture's.
      const m = new DiT({
        inputSize: 4,
        patchSize: 2,
        inChannels: 16,
        hiddenSize: 64,
        depth: 2,
        numHeads: 4,
        numSlots: 16,
        slotDim: 16,
        useRepa: true,
        encoderDepth: 1,
        projectorDim: 32,
        zDim: 16,
      });
      const zero = (t: torch.Tensor) => t.abs().max().item() === 0;
      for (const b of m.blocks) assert.ok(zero(b.adaLN_modulation.stateDict()['1.weight']) && zero(b.adaLN_modulation.stateDict()['1.bias']));
      for (const v of Object.values(m.final_layer.stateDict())) assert.ok(zero(v));
      const sd = m.stateDict();
      const bound = (t: torch.Tensor) => t.abs().max().item();
      // xavier: bound √(6/(in+out)); biases 0
      assert.ok(bound(sd['blocks.0.attn.qkv.weight']) <= Math.sqrt(6 / (64 + 192)));
      assert.ok(bound(sd['blocks.0.attn.qkv.weight']) > 0.9 * Math.sqrt(6 / (64 + 192)));
      assert.ok(zero(sd['blocks.0.attn.qkv.bias']) && zero(sd['blocks.0.mlp.fc1.bias']) && zero(sd['x_embedder.proj.bias']));
      // patch conv as a Linear of fan_in C·p·p
      const pw = Math.sqrt(6 / (16 * 4 + 64));
      assert.ok(bound(sd['x_embedder.proj.weight']) <= pw && bound(sd['x_embedder.proj.weight']) > 0.9 * pw);
      const std = (t: torch.Tensor) => t.std().item();
      assert.ok(Math.abs(std(sd['t_embedder.mlp.0.weight']) - 0.02) < 0.002);
      assert.ok(zero(sd['t_embedder.mlp.0.bias']));
      assert.ok(Math.abs(std(sd['null_cond']) - 0.02) < 0.006);
      // the added Linears keep PyTorch's default (bias uniform ±1/√in, not zero)
      assert.ok(!zero(sd['autoenc_cond_embedder.bias']) && bound(sd['autoenc_cond_embedder.weight']) <= 1 / Math.sqrt(16));
      assert.ok(!zero(sd['projector.0.bias']) && bound(sd['projector.0.weight']) <= 1 / Math.sqrt(64));
      assert.ok(bound(sd['projector.0.weight']) > 0.9 / Math.sqrt(64));
      // a freshly initialised DiT outputs zeros (zero final layer)
      const out = m.forward(torch.randn(2, 16, 4, 4), torch.tensor([3, 500]), torch.randn(2, 16, 16));
      assert.ok(zero(out));
      m.dispose();
    }),
  ));

test('size registry and construction checks', (t) =>
  void (
    needs(t, 'case2_dit') &&
    torch.scope(() => {
      assert.deepEqual(ditSize('DiT-L-2'), { depth: 24, hiddenSize: 1024, numHeads: 16, patchSize: 2 });
      assert.deepEqual(ditSize('DiT-XL/2'), { depth: 28, hiddenSize: 1152, numHeads: 16, patchSize: 2 });
      assert.deepEqual(ditSize('DiT-B-4'), { depth: 12, hiddenSize: 768, numHeads: 12, patchSize: 4 });
      assert.deepEqual(ditSize('DiT-S-8'), { depth: 12, hiddenSize: 384, numHeads: 6, patchSize: 8 });
      assert.equal(Object.keys(DIT_SIZES).length, 12);
      assert.throws(() => ditSize('DiT-M-2'), /unknown DiT model/);
      assert.throws(() => new DiT({ ...ditOptions, encoderDepth: tk.dit_depth + 1 }), /encoderDepth/);
      const noRepa = new DiT({ ...ditOptions, useRepa: false });
      assert.equal(noRepa.projector, null);
      assert.ok(!Object.keys(noRepa.stateDict()).some((k) => k.startsWith('projector.')));
      torch.noGrad(() => noRepa.forward(c2('in.x_t'), c2('in.t'), c2('in.tokens')));
      assert.equal(noRepa.repaHook, null);
      const wrong = 2 * ditOptions.inputSize;
      assert.throws(() => noRepa.forward(torch.randn(1, 16, wrong, wrong), torch.tensor([1]), c2('in.tokens').narrow(0, 0, 1)), /built for/);
      noRepa.dispose();
      // the registry feeds the constructor (sizes only checked, the tiny latent keeps it small)
      const s = ditSize('DiT-S-8');
      const m = createDiT('DiT-S-8', { inputSize: 8, inChannels: 4, numSlots: 2, slotDim: 4 });
      assert.equal(m.blocks.length, s.depth);
      assert.equal(m.hiddenSize, s.hiddenSize);
      assert.deepEqual(m.pos_embed.shape, [1, 1, s.hiddenSize]);
      m.dispose();
      // modulate: x·(1 + scale) + shift per sample
      const x = torch.ones([2, 3, 4]);
      const y = modulate(x, torch.full([2, 4], 1), torch.full([2, 4], 2));
      assert.ok(y.eq(4).all().item());
    })
  ));
