// bf16, the trainer's default precision (docs/upstream/training.md#precision: bf16 autocast, fp32 master weights): the
// tokenizer's loss under CPU autocast computes its matmuls in bf16 yet stays within bf16 rounding of
// the fp32 loss for the same weights and draws; gradients and weights stay fp32; and train.js with
// its default precision trains a few steps with finite losses, logs validation PSNR/SSIM per number of
// tokens at sample_every, and saves fp32 weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import * as torch from '../lib/torch.js';
import { safetensors } from '../lib/serialization/index.js';
import { Tokenizer } from '../lib/models/tokenizer/tokenizer.js';

function tinyTokenizer(): Tokenizer {
  torch.manualSeed(0);
  return new Tokenizer({
    encoder: { patchSize: 8, embedDim: 32, depth: 2, numHeads: 2, mlpRatio: 2, qkvBias: true },
    encImgSize: 32,
    imageChannels: 1,
    numSlots: 4,
    slotDim: 8,
    normSlots: true,
    dropPathRate: 0,
    enableNest: true,
    vae: 'none',
    ditModel: { depth: 2, hiddenSize: 32, numHeads: 2, patchSize: 8 },
  });
}

test('autocast bf16: matmuls run in bf16, the loss is within bf16 rounding of fp32, grads stay fp32', () => {
  const tok = tinyTokenizer();
  // A trained-like decoder: zero-initialised adaLN/output layers would make the output exactly 0 in both precisions.
  torch.noGrad(() => {
    for (const p of tok.parameters()) if (p.ndim >= 2) p.add_(torch.randnLike(p), 0.05);
  });
  torch.scope(() => {
    const images = torch.rand(6, 1, 32, 32);
    const draws = { t: torch.tensor([10, 200, 400, 600, 800, 999]), k: torch.tensor([1, 2, 3, 4, 4, 2]), noise: torch.randn(6, 1, 32, 32) };
    const f32 = tok.loss(images, { draws }).diff_loss;
    const lin = torch.autocast({ device: 'cpu', dtype: 'bfloat16' }, () => tok.encoder2slot.forward(torch.randn(2, 32)));
    assert.equal(lin.dtype, 'bfloat16', 'a Linear under CPU autocast computes in bf16');
    const b16 = torch.autocast({ device: 'cpu', dtype: 'bfloat16' }, () => tok.loss(images, { draws }).diff_loss);
    const a = f32.item(),
      b = b16.item();
    assert.ok(Number.isFinite(b));
    assert.notEqual(a, b, 'bf16 must actually change the arithmetic');
    // bf16 keeps 8 significant bits (relative rounding 2^-9 ≈ 0.2%) per op; a few layers deep, 5% is generous but catches fp32 fallbacks being wrong
    assert.ok(Math.abs(a - b) <= 0.05 * Math.abs(a), `bf16 loss ${b} vs fp32 ${a}`);
    b16.backward();
    for (const [name, p] of tok.namedParameters()) {
      assert.equal(p.dtype, 'float32', `${name} stays fp32`);
      if (p.grad) assert.equal(p.grad.dtype, 'float32', `${name}.grad is fp32`);
    }
    const encGrad = tok.encoder.patch_embed.proj.weight.grad;
    assert.ok(encGrad && encGrad.abs().sum().item() > 0, 'gradients reach the encoder through the bf16 decoder');
  });
  tok.dispose();
});

test('train.js trains in its default precision (bf16) and saves fp32 weights', { timeout: 240_000 }, () => {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'train-bf16-'));
  const config = join(dir, 'tiny.yaml');
  // no `precision` key: the default applies
  writeFileSync(
    config,
    stringify({
      trainer: {
        target: 'DiffusionTrainer',
        params: {
          num_epoch: 1,
          max_steps: 12,
          valid_size: 8,
          blr: 2e-3,
          warmup_epochs: 0.001,
          batch_size: 8,
          num_workers: 0,
          save_every: 12,
          sample_every: 6,
          eval_num_tokens: [1, 4],
          seed: 1,
          threads: 1,
          result_folder: join(dir, 'run'),
          model: {
            target: 'DiffuseSlot',
            params: {
              encoder: { patch_size: 8, embed_dim: 32, depth: 1, num_heads: 2, mlp_ratio: 2, qkv_bias: true },
              enc_img_size: 32,
              image_channels: 1,
              num_slots: 4,
              slot_dim: 4,
              norm_slots: true,
              dit_model: { depth: 1, hidden_size: 32, num_heads: 2, patch_size: 8 },
              vae: 'none',
              enable_nest: true,
              num_sampling_steps: '5',
            },
          },
          dataset: { target: 'FashionMNIST', params: { split: 'test', img_size: 32 } },
        },
      },
    }),
  );
  const run = spawnSync(process.execPath, [join(root, 'train.js'), '--cfg', config], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stderr, /^cpu, bf16 \(autocast bfloat16, fp32 master weights\)/m, 'the run states its device and precision first');
  const records = readFileSync(join(dir, 'run', 'logs', 'semanticist.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const losses = records.filter((r) => typeof r.diff_loss === 'number').map((r) => r.diff_loss as number);
  // validation PSNR/SSIM per number of tokens at each sample_every step
  const evals = records.filter((r) => typeof r['val/psnr_k1'] === 'number');
  assert.deepEqual(
    evals.map((r) => r.step),
    [6, 12],
  );
  for (const r of evals)
    for (const k of [1, 4]) {
      assert.ok(r[`val/psnr_k${k}`] > 0 && r[`val/psnr_k${k}`] < 60, `psnr k${k} ${r[`val/psnr_k${k}`]}`);
      assert.ok(r[`val/ssim_k${k}`] > -1 && r[`val/ssim_k${k}`] <= 1);
    }
  assert.equal(losses.length, 12);
  assert.ok(losses.every(Number.isFinite));
  const { entries } = safetensors.readHeader(join(dir, 'run', 'models', 'step12', 'model.safetensors'));
  assert.ok(entries.length > 10);
  for (const e of entries) assert.equal(e.dtype, 'float32', `${e.name} saved as fp32`);
});

test('norms under CPU autocast take a bf16 input with fp32 affine parameters and compute in fp32 (PyTorch 2.x policy)', () =>
  torch.scope(() => {
    const ln = new torch.nn.LayerNorm(8);
    const lin = new torch.nn.Linear(8, 8);
    const x = torch.randn(3, 8);
    const y = torch.autocast({ device: 'cpu', dtype: 'bfloat16' }, () => ln.forward(lin.forward(x)));
    assert.equal(y.dtype, 'float32');
    const h = torch.autocast({ device: 'cpu', dtype: 'bfloat16' }, () => lin.forward(x));
    assert.equal(h.dtype, 'bfloat16');
    const ref = ln.forward(h.float());
    assert.ok(y.sub(ref).abs().max().item() < 1e-5);
    const gn = torch.autocast({ device: 'cpu', dtype: 'bfloat16' }, () =>
      torch.nn.functional.groupNorm(torch.randn(2, 4, 3, 3).bfloat16(), 2, torch.ones(4), torch.zeros(4)),
    );
    assert.equal(gn.dtype, 'float32');
    // outside autocast nothing is cast: same-dtype calls are untouched
    assert.equal(torch.nn.functional.groupNorm(torch.randn(2, 4, 3, 3).bfloat16(), 2, torch.ones(4).bfloat16(), torch.zeros(4).bfloat16()).dtype, 'bfloat16');
    ln.dispose();
    lin.dispose();
  }));
