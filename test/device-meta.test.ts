// Every tensor of a job on the job's device: a tokenizer training step, an AR training step, a
// decode and generate() with the device 'meta' (shapes only). libtorch raises as soon as a tensor
// of another device meets a meta one, so a tensor created on the CPU behind the caller's back
// fails these. libtorch 1.13's meta coverage is too thin for this (relu and layer_norm have no meta
// kernels there), so on 1.x the tests are skipped by name; CI also runs them on PyTorch 2.x's libtorch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../lib/torch.js';
import { native } from '../lib/core/native.js';
import { Tokenizer } from '../lib/models/tokenizer/tokenizer.js';
import { buildGptFromConfig } from '../lib/models/gpt/gpt-model-config.js';
import { generate } from '../lib/models/gpt/generate.js';
import { setUpJobDevice } from '../lib/train/job-device.js';
import { setUpOptimization, optimizerStep } from '../lib/train/optimization.js';
import { checkParams } from '../lib/config/schema.js';
import { TOKENIZER_TRAINER_SCHEMA } from '../lib/train/tokenizer-trainer-config.js';

const major = Number(torch.config().torchVersion.split('.')[0]);
const skip = major < 2 ? `libtorch ${torch.config().torchVersion} has no meta kernels for relu/layer_norm (needs libtorch 2.x)` : false;

// Ops whose meta kernels PyTorch registers in Python only (so C++ libtorch has none): given shape
// kernels computed on zero-filled CPU stand-ins (native/meta-shapes.cc), which still refuse any
// argument on another device.
const META_VIA_CPU: string[] = [
  'convolution',
  'index_select',
  'logical_or.out',
  'where.self',
  'native_batch_norm',
  'where.self_out',
  'native_layer_norm_backward',
  'std.correction',
  'embedding_dense_backward',
  'convolution_backward',
];
if (!skip) native.metaViaCpu(META_VIA_CPU);

const tokParams = {
  encoder: { patch_size: 8, embed_dim: 32, depth: 1, num_heads: 2, mlp_ratio: 2, qkv_bias: true },
  enc_img_size: 32,
  image_channels: 1,
  num_slots: 4,
  slot_dim: 4,
  norm_slots: true,
  dit_model: { depth: 1, hidden_size: 32, num_heads: 2, patch_size: 8 },
  vae: 'none',
  predict_xstart: true,
  enable_nest: true,
  num_sampling_steps: '2',
};
const gptParams = {
  dim: 32,
  n_layer: 1,
  n_head: 2,
  num_slots: 4,
  slot_dim: 4,
  num_classes: 10,
  cls_token_num: 1,
  diffloss_d: 1,
  diffloss_w: 32,
  diffusion_batch_mul: 2,
  use_si: true,
  cond_method: 'concat',
};
/** Trainer params as a config would give them: the schema's defaults, then the test's values. */
const params = (over: Record<string, unknown>) =>
  checkParams(TOKENIZER_TRAINER_SCHEMA, { batch_size: 2, grad_accum_steps: 1, blr: 1e-3, warmup_epochs: 0, max_steps: 2, ...over }, { path: 'trainer.params' });

const allOn = (ts: Iterable<torch.Tensor>, device: string) => [...ts].every((t) => t.device === device);

test('a tokenizer training step with every tensor on the meta device', { skip }, () => {
  const P = params({ device: 'meta', precision: 'fp32' });
  const jd = setUpJobDevice(P);
  assert.equal(jd.device, 'meta');
  const tok = Tokenizer.fromConfig({ trainer: { params: { model: { params: tokParams } } } });
  tok.to(jd.device).train();
  const opt = setUpOptimization(tok, P, 10, 1);
  const host = torch.rand([2, 1, 32, 32]);
  torch.scope(() => {
    const images = jd.toDevice(host);
    const l = jd.precision.autocast(() => tok.loss(images, { epoch: 1 }));
    assert.equal(l.diff_loss.device, 'meta');
    l.diff_loss.backward();
  });
  assert.ok(optimizerStep(tok, opt, 1, P.max_grad_norm, jd.precision.scaler));
  assert.ok(allOn(tok.parameters(), 'meta'), 'parameters stay on meta');
  for (const s of opt.optimizer.state.values())
    assert.ok(
      allOn(
        Object.values(s).filter((v): v is torch.Tensor => v instanceof torch.Tensor),
        'meta',
      ),
    );
  assert.ok(allOn(opt.ema!.shadows, 'meta'), 'EMA shadows on meta');
  host.dispose();
  tok.dispose();
});

test('a decode (DDPM and DDIM, CFG) on the meta device', { skip }, () =>
  torch.scope(() => {
    const tok = Tokenizer.fromConfig({ trainer: { params: { model: { params: tokParams } } } }).to('meta');
    tok.eval();
    const tokens = torch.randn([2, 4, 4], { device: 'meta' });
    for (const sampler of ['ddpm', 'ddim'] as const) {
      const out = tok.decode(tokens, { numTokens: 2, cfg: 3, steps: '2', sampler, seed: 0 });
      assert.equal(out.device, 'meta');
      assert.deepEqual(out.shape, [2, 1, 32, 32]);
    }
    tok.dispose();
  }),
);

test('an AR training step and generate() on the meta device', { skip }, () => {
  const P = params({ device: 'meta', precision: 'fp32' });
  const jd = setUpJobDevice(P);
  const gpt = buildGptFromConfig({ target: 'GPT', params: gptParams });
  gpt.to(jd.device).train();
  const opt = setUpOptimization(gpt, P, 10, 1);
  torch.scope(() => {
    const tokens = jd.toDevice(torch.randn([3, 4, 4]));
    const labels = jd.toDevice(torch.tensor([1, 2, 3]));
    const { loss } = jd.precision.autocast(() => gpt.forward(tokens, labels) as { loss: torch.Tensor });
    assert.equal(loss.device, 'meta');
    loss.backward();
  });
  optimizerStep(gpt, opt, 1, 1.0, null);
  assert.ok(allOn(gpt.parameters(), 'meta'));
  gpt.eval();
  torch.scope(() => {
    const out = generate(gpt, torch.tensor([1, 2], { device: 'meta' }), 4, { cfgScale: 2, cfgSchedule: 'linear' });
    assert.equal(out.device, 'meta');
    assert.deepEqual(out.shape, [2, 4, 4]);
  });
  gpt.dispose();
});

test('bf16 or fp16 on the meta device is refused by name (autocast runs kernels)', () => {
  assert.throws(() => setUpJobDevice(params({ device: 'meta', precision: 'bf16' })), /trainer\.params\.precision 'bf16' on the meta device/);
});

test('the check these tests rely on: a tensor of another device meeting a meta one raises', { skip }, () =>
  torch.scope(() => {
    const m = torch.zeros([2, 3], { device: 'meta' });
    assert.throws(() => m.add(torch.ones([2, 3])), /device/);
    // also through a stand-in kernel (where.self is one of META_VIA_CPU)
    assert.throws(
      () => torch.where(m.gt(0), m, torch.ones([2, 3])),
      /Expected all tensors to be on the same device, but found at least two devices, meta and cpu/,
    );
    // a 0-dim CPU scalar may meet any device, in libtorch's kernels and in the stand-ins alike
    assert.deepEqual(torch.where(m.gt(0), m, torch.tensor(1)).shape, [2, 3]);
  }),
);
