// Jobs on a CUDA device (run by scripts/gpu-check.sh on a GPU machine; skipped by name without
// CUDA): training steps in fp32, bf16 and fp16 with the loss scaler, a CUDA run resumed on the CPU,
// a decode and generate() whose outputs stay on the device and repeat with the same seed, pinned
// host memory, and a CUDA out-of-memory that is a TorchError, not a crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import * as torch from '../lib/torch.js';
import { Tokenizer } from '../lib/models/tokenizer/tokenizer.js';
import { buildGptFromConfig } from '../lib/models/gpt/gpt-model-config.js';
import { generate } from '../lib/models/gpt/generate.js';
import { loggedByStep } from './run-log.js';

const skip = torch.cuda.isAvailable() ? false : 'no CUDA device here (scripts/gpu-check.sh runs these on a GPU machine)';
const root = fileURLToPath(new URL('../../', import.meta.url));
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
  num_sampling_steps: '5',
};

function tinyConfig(dir: string, params: Record<string, unknown>): string {
  const file = join(dir, 'tiny.yaml');
  writeFileSync(
    file,
    stringify({
      trainer: {
        target: 'DiffusionTrainer',
        params: {
          num_epoch: 1,
          max_steps: 6,
          valid_size: 8,
          blr: 2e-3,
          warmup_epochs: 0.001,
          batch_size: 8,
          num_workers: 0,
          save_every: 3,
          sample_every: 6,
          eval_num_tokens: [1, 4],
          eval_size: 16,
          seed: 1,
          result_folder: join(dir, 'run'),
          model: { target: 'DiffuseSlot', params: tokParams },
          dataset: { target: 'FashionMNIST', params: { split: 'test', img_size: 32 } },
          test_dataset: { target: 'FashionMNIST', params: { split: 'test', img_size: 32 } },
          ...params,
        },
      },
    }),
  );
  return file;
}
const train = (args: string[]) => spawnSync(process.execPath, [join(root, 'train.js'), ...args], { encoding: 'utf8' });

for (const precision of ['fp32', 'bf16', 'fp16']) {
  test(`train.js on cuda:0 in ${precision}: the run says so, trains, evaluates`, { skip, timeout: 300_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'cuda-'));
    const r = train(['--cfg', tinyConfig(dir, { precision }), '--device', 'cuda:0']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`^cuda:0, ${precision}`, 'm'));
    if (precision === 'fp16') assert.match(r.stderr, /dynamic loss scale 65536/);
    const losses = loggedByStep(join(dir, 'run'), 'semanticist', 'diff_loss');
    assert.equal(losses.size, 6);
    assert.ok([...losses.values()].every(Number.isFinite));
    assert.match(r.stderr, /reconstruction of 16 test images/);
  });
}

test('a CUDA run resumes on the CPU and back (checkpoints map to any device)', { skip, timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'cuda-'));
  const cfg = tinyConfig(dir, { precision: 'fp32', max_steps: 3 });
  assert.equal(train(['--cfg', cfg, '--device', 'cuda']).status, 0);
  const r = train(['--cfg', cfg, '--device', 'cpu', '--opt', 'trainer.params.max_steps=5', '--resume']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout + r.stderr, /resumed from .*step3/);
  assert.match(r.stdout + r.stderr, /generator state\(s\) for this job's 1 .*the saved CUDA state is not used/);
  const back = train(['--cfg', cfg, '--device', 'cuda', '--opt', 'trainer.params.max_steps=6', '--resume']);
  assert.equal(back.status, 0, back.stderr);
  assert.deepEqual([...loggedByStep(join(dir, 'run'), 'semanticist', 'diff_loss').keys()], [1, 2, 3, 4, 5, 6]);
});

test('decode and generate() on CUDA: outputs on the device, the same seed gives the same images', { skip }, () =>
  torch.scope(() => {
    torch.manualSeed(0);
    const tok = Tokenizer.fromConfig({ trainer: { params: { model: { params: tokParams } } } }).to('cuda:0');
    tok.eval();
    const tokens = torch.randn([2, 4, 4], { device: 'cuda:0' });
    const a = tok.decode(tokens, { numTokens: 2, cfg: 3, steps: '5', seed: 7 });
    const b = tok.decode(tokens, { numTokens: 2, cfg: 3, steps: '5', seed: 7 });
    assert.equal(a.device, 'cuda:0');
    assert.equal(a.sub(b).abs().max().item(), 0, 'same seed, same kernels, same device: the same images');
    const gpt = buildGptFromConfig({
      target: 'GPT',
      params: {
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
      },
    }).to('cuda:0');
    gpt.eval();
    const labels = torch.tensor([1, 2], { device: 'cuda:0' });
    const g1 = generate(gpt, labels, 4, { cfgScale: 2, generator: torch.seededGenerator('cuda:0', 3)! });
    const g2 = generate(gpt, labels, 4, { cfgScale: 2, generator: torch.seededGenerator('cuda:0', 3)! });
    assert.equal(g1.device, 'cuda:0');
    assert.equal(g1.sub(g2).abs().max().item(), 0);
    tok.dispose();
    gpt.dispose();
  }),
);

test('pinned host memory and an asynchronous copy to the device', { skip }, () =>
  torch.scope(() => {
    const host = torch.arange(12, { dtype: 'float32' });
    const pinned = host.pinMemory();
    assert.equal(pinned.isPinned(), true);
    assert.equal(host.isPinned(), false);
    const dev = pinned.to({ device: 'cuda:0', nonBlocking: true });
    torch.cuda.synchronize();
    assert.deepEqual(dev.cpu().tolist(), host.tolist());
  }),
);

test('a CUDA out-of-memory is a TorchError naming the op, and the process carries on', { skip }, () => {
  assert.throws(
    () => torch.empty([1 << 20, 1 << 20, 64], { device: 'cuda:0' }),
    (e: any) => e instanceof torch.TorchError && /out of memory/i.test(e.message) && !!e.op,
  );
  torch.scope(() => assert.equal(torch.ones([4], { device: 'cuda:0' }).sum().item(), 4));
});
