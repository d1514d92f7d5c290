// The AR configs (configs/autoregressive_{l,xl}.yaml) and the class → image generator:
//   - the configs load with upstream's values (docs/upstream/configs.md), asserted key by key; gpt_model maps to GPT-L's options and head; the counts from the
//     config alone equal gptBackboneParamCount (GPT-L is never allocated);
//   - unknown / misspelled keys and wrong types are errors that name them;
//   - loadImageGenerator on the upstream fixtures (the tiny GPT of case 4/5 and the tiny
//     tokenizer of case 3 with its tiny MAR VAE — compatible: the GPT's 8 tokens of 16 channels ≤ the
//     tokenizer's 16 of 16): both GPT pickles (plain and `_orig_mod.`) give identical weights, equal to
//     the fixture's; class → tokens → images end to end; the k = n prefix decode equals upstream's
//     drop_mask None decode; a slot_dim mismatch is a clear error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { parse } from 'yaml';
import * as torch from '../lib/torch.js';
import { loadStateDict, save as torchSave, safetensors } from '../lib/serialization/index.js';
import { gptBackboneParamCount } from '../lib/models/gpt/gpt.js';
import { gptOptionsFromConfig, buildGptFromConfig, gptParamCount, diffLossParamCount, GPT_PARAM_KEYS } from '../lib/models/gpt/gpt-model-config.js';
import { loadArConfig } from '../lib/train/ar-trainer-config.js';
import { readGptCheckpoint } from '../lib/models/gpt/gpt-checkpoint.js';
import { loadImageGenerator } from '../lib/train/load-image-generator.js';
import { ImageGenerator } from '../lib/models/gpt/image-generator.js';
import { tokenizerOptionsFromParams } from '../lib/models/tokenizer/config.js';
import { Tokenizer } from '../lib/models/tokenizer/tokenizer.js';
import { UPSTREAM_FIXTURES, fixturesJson } from './fixture-paths.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cfgFile = (v: string) => join(root, `configs/autoregressive_${v}.yaml`);
const fx = fixturesJson();
const F = (name: string) => join(UPSTREAM_FIXTURES, name);

// ---- the configs -------------------------------------------------------------------------------

for (const [v, cfg, dit] of [
  ['l', 6.0, 'DiT-L-2'],
  ['xl', 5.0, 'DiT-XL-2'],
] as const) {
  test(`autoregressive_${v}.yaml: upstream's values (GPT-L, 12 × 1536 head, cfg ${cfg}, linear schedule)`, () => {
    const c = loadArConfig(cfgFile(v));
    assert.equal(c.target, 'semanticist.engine.gpt_trainer.GPTTrainer');
    const g = c.gptModel;
    assert.equal(g.target, 'GPT-L');
    assert.equal(g.preset, 'GPT-L');
    assert.deepEqual(g.gpt, {
      dim: 1024,
      nLayer: 24,
      nHead: 16,
      numSlots: 32,
      slotDim: 16,
      numClasses: 1000,
      clsTokenNum: 1,
      attnDropoutP: 0,
      residDropoutP: 0.1,
      ffnDropoutP: 0.1,
      dropPathRate: 0,
      classDropoutProb: 0.1,
    });
    assert.deepEqual(g.head, {
      depth: 12,
      width: 1536,
      numSamplingSteps: '100',
      diffusionBatchMul: 4,
      predictXstart: false,
      useSi: true,
      condMethod: 'concat',
      targetChannels: 16,
      zChannels: 1024,
    });
    assert.equal(g.ckptPath, null, 'ckpt_path: None');
    const P = c.params;
    assert.equal(P.cfg, cfg);
    assert.equal(P.cfg_schedule, 'linear');
    assert.equal(P.ae_cfg, 1.0);
    assert.equal(P.train_num_slots, 32);
    assert.equal(P.test_num_slots, 32);
    assert.equal(P.blr, 1e-4);
    assert.equal(P.cosine_lr, false);
    assert.equal(P.warmup_epochs, 100);
    assert.equal(P.batch_size, 256);
    assert.equal(P.max_grad_norm, 1.0);
    assert.equal(P.enable_ema, true);
    assert.equal(P.enable_cache_latents, true);
    assert.equal(P.precision, 'bf16');
    assert.equal(P.temperature, 1.0, "GPTTrainer's default");
    assert.equal(P.dataset?.params.aug, 'tencrop_cached');
    // the tokenizer entry parses with the tokenizer's schema (cond_method is upstream's ignored leftover)
    assert.equal(c.aeModel.params.cond_method, 'token');
    const { cond_method: _c, ...ae } = c.aeModel.params;
    const t = tokenizerOptionsFromParams(ae);
    assert.equal(t.ditModel, dit);
    assert.equal(t.numSlots, 256);
    assert.equal(t.slotDim, 16);
    assert.equal(t.useRepa, undefined, "the AR config leaves use_repa at DiffuseSlot's default (False)");
    assert.equal(c.aeModel.params.ckpt_path, `./output/tokenizer/models_${v}/models/step250000/ema.safetensors`);
  });
}

test('parameter counts from the config alone: GPT-L backbone = gptBackboneParamCount (309.4 M), head 179.1 M', () => {
  const c = gptOptionsFromConfig(cfgFile('l'));
  const n = gptParamCount(c);
  assert.equal(n.backbone, gptBackboneParamCount(c.gpt));
  assert.equal(n.backbone, 309_441_536);
  assert.equal(n.head, 179_125_264);
  assert.equal(n.total, 488_566_800);
  assert.deepEqual(gptParamCount(cfgFile('xl')), n, 'both configs use GPT-L');
  // the analytic counts are those of a built model (at the fixture's tiny size)
  const g = fx.config.gpt;
  const tiny = {
    target: 'Transformer',
    params: {
      dim: g.dim,
      n_layer: g.n_layer,
      n_head: g.n_head,
      num_slots: g.num_slots,
      slot_dim: g.slot_dim,
      num_classes: g.num_classes,
      diffloss_d: g.diffloss_d,
      diffloss_w: g.diffloss_w,
      use_si: true,
      cond_method: 'concat',
    },
  };
  for (const cond of ['concat', 'adaln']) {
    const spec = { ...tiny, params: { ...tiny.params, cond_method: cond } };
    const gpt = buildGptFromConfig(spec);
    const counts = gptParamCount(spec);
    assert.equal(gpt.numBackboneParameters(), counts.backbone);
    const head = gpt
      .namedParameters()
      .filter(([k]) => k.startsWith('diffloss.'))
      .reduce((s, [, p]) => s + p.numel(), 0);
    assert.equal(head, counts.head, cond);
    assert.equal(diffLossParamCount(gptOptionsFromConfig(spec).head), head);
    gpt.dispose();
  }
});

test('gpt_model targets: presets, upstream function names and the Transformer class with explicit sizes', () => {
  const params = { num_slots: 4, slot_dim: 8, use_si: true, cond_method: 'concat', diffloss_d: 1, diffloss_w: 16 };
  const ref = gptOptionsFromConfig({ target: 'GPT-B', params });
  for (const target of ['GPT_B', 'semanticist.stage2.gpt.GPT_B']) assert.deepEqual(gptOptionsFromConfig({ target, params }).gpt, ref.gpt, target);
  assert.deepEqual(gptOptionsFromConfig({ gpt_model: { target: 'GPT-B', params } }).gpt, ref.gpt, 'a top-level gpt_model');
  assert.deepEqual(gptOptionsFromConfig({ trainer: { params: { gpt_model: { target: 'GPT-B', params } } } }).gpt, ref.gpt);
  const tr = gptOptionsFromConfig({ target: 'semanticist.stage2.gpt.Transformer', params: { ...params, dim: 32, n_layer: 1, n_head: 2 } });
  assert.equal(tr.preset, null);
  assert.deepEqual([tr.gpt.dim, tr.gpt.nLayer, tr.gpt.nHead], [32, 1, 2]);
  assert.equal(tr.head.zChannels, 32);
  // upstream Transformer's defaults for absent keys
  const d = gptOptionsFromConfig({ target: 'GPT-B', params: { use_si: true } });
  assert.deepEqual([d.gpt.numSlots, d.gpt.slotDim, d.head.depth, d.head.width, d.head.condMethod, d.head.diffusionBatchMul], [16, 256, 3, 1024, 'adaln', 4]);
  assert.throws(() => gptOptionsFromConfig({ target: 'Transformer', params }), /gpt_model\.params\.dim is required with target 'Transformer'/);
  assert.throws(
    () => gptOptionsFromConfig({ target: 'GPT-L', params: { ...params, dim: 512 } }),
    /gpt_model\.params\.dim: target 'GPT-L' sets dim, n_layer and n_head/,
  );
  assert.throws(() => gptOptionsFromConfig({ target: 'GPT-M', params }), /unknown GPT 'GPT-M' \(valid: GPT-B, GPT-L, GPT-XL/);
  assert.throws(() => gptOptionsFromConfig({ params }), /gpt_model\.target: missing/);
});

test('unknown or misspelled keys and wrong types are named errors', () => {
  const params = parse(readFileSync(cfgFile('l'), 'utf8')).trainer.params.gpt_model.params;
  const gm = (p: Record<string, unknown>) => ({ target: 'GPT-L', params: { ...params, ...p } });
  assert.throws(
    () => gptOptionsFromConfig(gm({ diffloss_dd: 12 })),
    (e: Error) => /unknown key 'gpt_model\.params\.diffloss_dd' \(valid: dim, n_layer, .*diffloss_d, diffloss_w/.test(e.message),
  );
  assert.throws(() => gptOptionsFromConfig(gm({ num_slot: 32 })), /unknown key 'gpt_model\.params\.num_slot'/);
  assert.throws(() => gptOptionsFromConfig(gm({ num_slots: '32' })), /gpt_model\.params\.num_slots must be an integer, got "32"/);
  assert.throws(() => gptOptionsFromConfig(gm({ resid_dropout_p: 'high' })), /resid_dropout_p must be a number/);
  assert.throws(() => gptOptionsFromConfig(gm({ use_si: 'True' })), /use_si must be a boolean, got "True"/);
  assert.throws(() => gptOptionsFromConfig(gm({ num_sampling_steps: 1.5 })), /num_sampling_steps must be a step count/);
  assert.throws(() => gptOptionsFromConfig(gm({ cond_method: 'token' })), /gpt_model\.params\.cond_method must be 'concat' or 'adaln', got 'token'/);
  // use_si False (or absent: upstream's default) selects the cosine-DDPM head, 100 sampling steps by default
  assert.equal(gptOptionsFromConfig(gm({ use_si: false })).head.useSi, false);
  const { use_si: _u, ...noSi } = params;
  const ddpm = gptOptionsFromConfig({ target: 'GPT-L', params: noSi }).head;
  assert.equal(ddpm.useSi, false);
  assert.equal(String(ddpm.numSamplingSteps), '100');
  assert.throws(() => gptOptionsFromConfig({ target: 'GPT-L', params, extra: 1 }), /gpt_model: unknown key 'extra' \(valid: target, params\)/);
  assert.ok(Object.keys(GPT_PARAM_KEYS).includes('ckpt_path'));
  // the whole file: trainer.params keys are GPTTrainer's, type-checked
  const file = cfgFile('l');
  assert.throws(
    () => loadArConfig(file, ['trainer.params.cfg_scale=4']),
    (e: Error) => e.message.includes("unknown key 'trainer.params.cfg_scale'") && /valid: ae_model, gpt_model, .*cfg, cfg_schedule/.test(e.message),
  );
  assert.throws(() => loadArConfig(file, ['trainer.params.cfg=six']), /trainer\.params\.cfg must be a number, got "six"/);
  assert.throws(() => loadArConfig(file, ['trainer.params.train_num_slots=2.5']), /train_num_slots must be an integer/);
  assert.throws(() => loadArConfig(file, ['trainer.params.cfg_schedule=cosine']), /cfg_schedule must be 'linear' or 'constant', got 'cosine'/);
  assert.throws(
    () => loadArConfig(file, ['trainer.params.gpt_model.params.diffloss_w=wide']),
    /trainer\.params\.gpt_model\.params\.diffloss_w must be an integer/,
  );
  assert.throws(() => loadArConfig(file, ['trainer.target=semanticist.engine.diffusion_trainer.DiffusionTrainer']), /is not the AR trainer/);
  assert.throws(() => loadArConfig(join(root, 'configs/tokenizer_l.yaml')), /not the AR trainer/);
  const o = loadArConfig(file, ['trainer.params.cfg=4', 'trainer.params.gpt_model.params.num_slots=16']);
  assert.equal(o.params.cfg, 4);
  assert.equal(o.gptModel.gpt.numSlots, 16);
  assert.match(o.text, /with --opt trainer\.params\.cfg=4/);
});

// ---- the generator on the fixtures ------------------------------------------------------------

const tc = fx.config.tokenizer;
const g = fx.config.gpt;

/** An AR config at the fixtures' sizes, in the upstream layout, pointing at the fixture weights. */
function tinyArConfig(over: { gpt?: Record<string, unknown>; ae?: Record<string, unknown> } = {}) {
  return {
    trainer: {
      target: 'semanticist.engine.gpt_trainer.GPTTrainer',
      params: {
        ae_cfg: 1.0,
        cfg: 4.0,
        cfg_schedule: 'linear',
        train_num_slots: g.num_slots,
        test_num_slots: g.num_slots,
        ae_model: {
          target: 'semanticist.stage1.diffuse_slot.DiffuseSlot',
          params: {
            encoder: { patch_size: tc.patch_size, embed_dim: tc.embed_dim, depth: tc.depth, num_heads: tc.num_heads, mlp_ratio: tc.mlp_ratio, qkv_bias: true },
            enc_img_size: tc.enc_img_size,
            enc_causal: true,
            num_slots: tc.num_slots,
            slot_dim: tc.slot_dim,
            norm_slots: true,
            cond_method: 'token',
            dit_model: { depth: tc.dit_depth, hidden_size: tc.dit_hidden, num_heads: tc.dit_heads, patch_size: tc.dit_patch },
            vae: 'mar-tiny',
            num_sampling_steps: tc.num_sampling_steps,
            ckpt_path: F('tokenizer_state_dict.pkl'),
            vae_checkpoint: F('vae_state_dict.safetensors'),
            vae_config: fx.config.vae,
            ...over.ae,
          },
        },
        gpt_model: {
          target: 'Transformer',
          params: {
            dim: g.dim,
            n_layer: g.n_layer,
            n_head: g.n_head,
            num_slots: g.num_slots,
            slot_dim: g.slot_dim,
            num_classes: g.num_classes,
            cls_token_num: g.cls_token_num,
            class_dropout_prob: g.class_dropout_prob,
            diffloss_d: g.diffloss_d,
            diffloss_w: g.diffloss_w,
            diffusion_batch_mul: g.diffusion_batch_mul,
            use_si: true,
            cond_method: 'concat',
            ckpt_path: F('gpt_state_dict.pkl'),
            ...over.gpt,
          },
        },
      },
    },
  };
}

test('fixture sizes: the GPT (8 tokens of 16) fits the tokenizer (16 tokens of 16)', () => {
  assert.equal(g.slot_dim, tc.slot_dim);
  assert.ok(g.num_slots <= tc.num_slots);
});

const gen = loadImageGenerator({ config: tinyArConfig() });

test('fromPretrained: both GPT pickles (plain, _orig_mod.) give identical weights, equal to the fixture', () =>
  torch.scope(() => {
    const other = loadImageGenerator({
      config: tinyArConfig(),
      checkpoint: F('gpt_state_dict_orig_mod.pkl'),
      tokenizerCheckpoint: F('tokenizer_state_dict_orig_mod.pkl'),
    });
    try {
      const ref = loadStateDict(F('gpt_state_dict.pkl'));
      const a = gen.gpt.stateDict(),
        b = other.gpt.stateDict();
      assert.deepEqual(Object.keys(a), [...ref.keys()]);
      for (const [k, t] of ref) {
        assert.ok(a[k].equal(t), `plain: ${k}`);
        assert.ok(b[k].equal(t), `_orig_mod: ${k}`);
      }
      const ta = gen.tokenizer.stateDict(),
        tb = other.tokenizer.stateDict();
      for (const k of Object.keys(ta)) assert.ok(ta[k].equal(tb[k]), `tokenizer ${k}`);
      assert.ok(
        gen.loadReport.some((l) => /^gpt: .*gpt_state_dict\.pkl: \d+ tensors loaded$/.test(l)),
        gen.loadReport.join('\n'),
      );
      assert.ok(!gen.loadReport.some((l) => /^gpt: (missing|unexpected)/.test(l)), 'every GPT weight is loaded, nothing is left over');
      assert.ok(
        other.loadReport.some((l) => /gpt: \d+ key\(s\) renamed: '_orig_mod\.'/.test(l)),
        other.loadReport.join('\n'),
      );
      // the AR config's tokenizer has use_repa at its default (False): the fixture's REPA projector is left over
      assert.ok(
        gen.loadReport.some((l) => /^tokenizer: unexpected \(ignored\): dit\.projector\./.test(l)),
        gen.loadReport.join('\n'),
      );
      assert.equal(gen.gpt.training, false);
      assert.equal(gen.tokenizer.training, false);
      assert.deepEqual(gen.defaults, { numTokens: g.num_slots, cfg: 4, cfgSchedule: 'linear', temperature: 1, aeCfg: 1 });
    } finally {
      other.dispose();
    }
  }));

test('class → tokens → images end to end (tiny, 5 decoder steps): shapes, range, seeds', () =>
  torch.scope(() => {
    const labels = fx.config.args.gen_labels as number[];
    // 4 of the GPT's 8 tokens: each token is 250 SDE steps of the head with CFG (≈ 2 s here)
    const n = 4;
    const out = gen.generate(labels, { numTokens: n, prefixes: [1, 2, n], steps: '5', seed: 0 });
    assert.deepEqual([...out.keys()], [1, 2, n]);
    for (const [k, img] of out) {
      assert.deepEqual(img.shape, [labels.length, 3, tc.enc_img_size, tc.enc_img_size], `k = ${k}`);
      assert.ok(img.isfinite().all().item(), `k = ${k} finite`);
      assert.ok(img.min().item() >= 0 && img.max().item() <= 1, `k = ${k} in [0, 1]`);
    }
    assert.ok(!out.get(1)!.equal(out.get(n)!), 'the prefixes decode differently');
    assert.equal(gen.gpt.cacheInfo, null, 'the KV caches are freed');
    // the same seed gives the same tokens; the tokens are (B, n, slot_dim)
    const t1 = gen.generateTokens(torch.tensor(labels, { dtype: 'int64' }), { numTokens: 1, seed: 5, cfg: 2, cfgSchedule: 'constant' });
    const t2 = gen.generateTokens(labels, { numTokens: 1, seed: 5, cfg: 2, cfgSchedule: 'constant' });
    assert.deepEqual(t1.shape, [labels.length, 1, g.slot_dim]);
    assert.ok(t1.equal(t2));
    assert.throws(() => gen.generateTokens(labels, { numTokens: g.num_slots + 1 }), /numTokens must be an integer in 1\.\.8/);
    assert.throws(() => gen.generate(labels, { numTokens: 4, prefixes: [8] }), /prefix 8 is not in 1\.\.4/);
  }));

// Under CPU autocast the diffusion head's affine LayerNorm gets a bf16 input with fp32 weights; our
// functional norms then compute in fp32 (libtorch 1.x's CPU layer_norm would reject the mixed dtypes).
test("under bf16 autocast (upstream's generation) the tokens come back in bf16 and decode as usual", () =>
  torch.scope(() => {
    const t3 = gen.generateTokens([1, 8], { numTokens: 1, seed: 5, cfg: 1, autocast: true });
    assert.equal(t3.dtype, 'bfloat16');
    const img = gen.tokensToImages(t3, { steps: '2', seed: 0 });
    assert.equal(img.dtype, 'float32');
    assert.ok(img.isfinite().all().item());
  }));

test("prefix decode: k = n equals upstream's drop_mask None decode (and the first-n mask); k < n equals appending null tokens from k", () =>
  torch.scope(() => {
    const tok = gen.tokenizer;
    const B = 2,
      n = g.num_slots,
      K = tok.numSlots;
    const tokens = torch.randn([B, n, g.slot_dim], { generator: new torch.Generator().manualSeed(11) });
    const nc = tok.dit.null_cond;
    const withNull = (t: torch.Tensor) => torch.cat([t, nc.narrow(1, t.shape[1], K - t.shape[1]).expand(B, -1, -1)], 1);
    for (const aeCfg of [1, 2]) {
      const o = { steps: '5', seed: 3, cfg: aeCfg };
      const upstream = tok.sample(withNull(tokens), { ...o, dropMask: null });
      const firstN = tok.sample(withNull(tokens), { ...o, dropMask: tok.firstKMask(B, n) });
      assert.ok(upstream.equal(firstN), `cfg ${aeCfg}: the null tokens act as the first-n mask`);
      const ours = gen.tokensToImages(tokens, { steps: '5', seed: 3, aeCfg, clamp: false });
      assert.ok(ours.equal(upstream), `cfg ${aeCfg}: tokensToImages (k = n)`);
      assert.ok(gen.tokensToImages(tokens, { numTokens: n, steps: '5', seed: 3, aeCfg, clamp: false }).equal(upstream));
      const k = 3;
      const prefix = gen.tokensToImages(tokens, { numTokens: k, steps: '5', seed: 3, aeCfg, clamp: false });
      assert.ok(prefix.equal(tok.sample(withNull(tokens.narrow(1, 0, k)), { ...o, dropMask: null })), `cfg ${aeCfg}: prefix ${k}`);
      assert.ok(!prefix.equal(upstream));
    }
    assert.throws(() => gen.tokensToImages(tokens, { numTokens: n + 1 }), /numTokens must be an integer in 1\.\.8/);
    assert.throws(() => gen.tokensToImages(torch.zeros(B, n, 4)), /tokens must be \(B, n, 16\)/);
  }));

test('a slot_dim or num_slots mismatch between the GPT and the tokenizer is a clear error', () => {
  assert.throws(
    () => loadImageGenerator({ config: tinyArConfig({ gpt: { slot_dim: 8, ckpt_path: null } }) }),
    /token width: the GPT models tokens of slot_dim 8 \(gpt_model\.params\.slot_dim\), the tokenizer's tokens have slot_dim 16 \(ae_model\.params\.slot_dim\)/,
  );
  assert.throws(
    () => loadImageGenerator({ config: tinyArConfig({ gpt: { num_slots: 32, ckpt_path: null } }) }),
    /the GPT models 32 tokens \(gpt_model\.params\.num_slots\) but the tokenizer decodes at most 16/,
  );
  const wrong = buildGptFromConfig({
    target: 'Transformer',
    params: { dim: 16, n_layer: 1, n_head: 2, num_slots: 4, slot_dim: 4, use_si: true, diffloss_d: 1, diffloss_w: 8 },
  });
  assert.throws(() => new ImageGenerator(wrong, gen.tokenizer), /slot_dim 4 .* slot_dim 16/);
  wrong.dispose();
});

test('checkpoint errors and layouts: missing tokenizer weights, a non-GPT file, nested EMA dicts, step folders', () =>
  torch.scope(() => {
    assert.throws(
      () => loadImageGenerator({ config: tinyArConfig({ ae: { ckpt_path: './output/tokenizer/models_l/step250000/custom_checkpoint_1.pkl' } }) }),
      /tokenizer weights not found: .*custom_checkpoint_1\.pkl \(trainer\.params\.ae_model\.params\.ckpt_path; upstream's configs point to result_folder\/stepN\/, without the models\/ folder/,
    );
    assert.throws(
      () => loadImageGenerator({ config: tinyArConfig({ ae: { ckpt_path: 'None' } }) }),
      /no tokenizer weights \(trainer\.params\.ae_model\.params\.ckpt_path is None\)/,
    );
    assert.throws(() => loadImageGenerator({ config: tinyArConfig({ gpt: { ckpt_path: 'None' } }) }), /no GPT weights: give checkpoint/);
    assert.throws(() => loadImageGenerator({ config: tinyArConfig(), checkpoint: F('tokenizer_state_dict.pkl') }), /none of its \d+ keys is a GPT weight/);
    assert.throws(
      () => loadImageGenerator({ config: tinyArConfig({ ae: { dit_modle: 'DiT-L-2' } }) }),
      /unknown key 'trainer\.params\.ae_model\.params\.dit_modle'/,
    );

    const dir = mkdtempSync(join(tmpdir(), 'gpt-ckpt-'));
    try {
      const ref = loadStateDict(F('gpt_state_dict.pkl'));
      // a dict nesting the EMA weights next to the raw ones (DDP-prefixed), plus a step counter
      const nested = new Map<string, unknown>([
        ['model', new Map([...ref].map(([k, t]) => [`module.${k}`, t.mul(0)]))],
        ['ema', new Map([...ref].map(([k, t]) => [`module._orig_mod.${k}`, t]))],
        ['step', 5],
      ]);
      torchSave(nested, join(dir, 'nested.pt'));
      const r = readGptCheckpoint(join(dir, 'nested.pt'));
      assert.deepEqual([...r.sd.keys()], [...ref.keys()]);
      assert.ok(
        r.notes.some((l) => /the weights are the 'ema' entry \(the EMA weights\); ignored: model, step/.test(l)),
        r.notes.join('\n'),
      );
      const fresh = loadImageGenerator({ config: tinyArConfig(), checkpoint: join(dir, 'nested.pt') });
      try {
        for (const [k, t] of ref) assert.ok(fresh.gpt.stateDict()[k].equal(t), k);
      } finally {
        fresh.dispose();
      }
      // our trainer's step folder: ema.safetensors preferred over model.safetensors
      const step = join(dir, 'step10');
      mkdirSync(step);
      safetensors.saveFile(ref, join(step, 'ema.safetensors'));
      safetensors.saveFile(new Map([...ref].map(([k, t]) => [k, t.mul(0)])), join(step, 'model.safetensors'));
      const s = readGptCheckpoint(step);
      assert.ok(s.notes[0].includes('using ema.safetensors'));
      for (const [k, t] of ref) assert.ok(s.sd.get(k)!.equal(t), k);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }));

test('the tokenizer from an explicit config and checkpoint, or handed in built', () =>
  torch.scope(() => {
    const { cond_method: _c, ckpt_path: _p, ...ae } = tinyArConfig().trainer.params.ae_model.params;
    const tokConfig = { trainer: { params: { model: { target: 'DiffuseSlot', params: ae } } } };
    const a = loadImageGenerator({ config: tinyArConfig(), tokenizer: tokConfig, tokenizerCheckpoint: F('tokenizer_state_dict.safetensors') });
    try {
      const ta = a.tokenizer.stateDict(),
        ref = gen.tokenizer.stateDict();
      for (const k of Object.keys(ref)) assert.ok(ta[k].equal(ref[k]), k);
    } finally {
      a.dispose();
    }
    assert.throws(() => loadImageGenerator({ config: tinyArConfig(), tokenizer: tokConfig }), /no tokenizer weights: give tokenizerCheckpoint/);
    const built = Tokenizer.fromConfig(tokConfig);
    const b = loadImageGenerator({ config: tinyArConfig(), tokenizer: built });
    assert.equal(b.tokenizer, built);
    assert.ok(b.loadReport.includes('tokenizer: given as a built model'));
    b.dispose();
    const small = Tokenizer.fromConfig({ model: { params: { ...ae, slot_dim: 8 } } });
    assert.throws(() => loadImageGenerator({ config: tinyArConfig(), tokenizer: small }), /slot_dim 16 .* slot_dim 8/);
    assert.doesNotThrow(() => small.stateDict(), 'a tokenizer handed in is not freed when fromPretrained fails');
    small.dispose();
  }));

test('fresh weights on request (checkpoint: null) and dispose() frees both models', () => {
  const before = torch.memory().numTensors;
  const fresh = loadImageGenerator({ config: tinyArConfig(), checkpoint: null, tokenizerCheckpoint: null });
  assert.ok(fresh.loadReport.includes('gpt: no checkpoint: weights are freshly initialised'));
  assert.ok(fresh.loadReport.includes('tokenizer: no checkpoint: weights are freshly initialised'));
  fresh.dispose();
  assert.ok(torch.memory().numTensors <= before + 2, `tensors left: ${torch.memory().numTensors - before}`);
});

test.after(() => gen.dispose());
