// train.js end to end on a tiny Fashion-MNIST config: it trains, checkpoints and logs; a run killed
// with SIGKILL mid-training and resumed with --resume auto then logs exactly the losses of an
// uninterrupted run with the same seed (data order, noise draws, optimizer and EMA all restored).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { loggedByStep } from './run-log.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'train-'));
const config = join(dir, 'tiny.yaml');
writeFileSync(
  config,
  stringify({
    trainer: {
      target: 'semanticist.engine.diffusion_trainer.DiffusionTrainer',
      params: {
        num_epoch: 1,
        max_steps: 40,
        valid_size: 8,
        blr: 1e-3,
        warmup_epochs: 0.001,
        batch_size: 8,
        num_workers: 0,
        precision: 'fp32',
        save_every: 4,
        sample_every: 1000,
        seed: 3,
        keep_last: 2,
        threads: 1,
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

const train = (out: string, extra: string[] = []) => [join(root, 'train.js'), '--cfg', config, '--opt', `trainer.params.result_folder=${out}`, ...extra];
const losses = (out: string) => loggedByStep(out, 'semanticist', 'diff_loss');

test('a run killed with SIGKILL and resumed logs the same losses as an uninterrupted run', { timeout: 240_000 }, async () => {
  const a = join(dir, 'a');
  execFileSync(process.execPath, train(a), { stdio: 'pipe' });
  const ref = losses(a);
  assert.equal(ref.size, 40);
  assert.ok(existsSync(join(a, 'models', 'step40', 'complete.json')));
  assert.ok(existsSync(join(a, 'config.yaml')));

  const b = join(dir, 'b');
  const child = spawn(process.execPath, train(b), { stdio: 'ignore' });
  const killedAt = await new Promise<number>((resolve, reject) => {
    const poll = setInterval(() => {
      let last = 0;
      try {
        last = Math.max(0, ...losses(b).keys());
      } catch {
        /* no log yet */
      }
      if (last >= 14) {
        child.kill('SIGKILL');
        clearInterval(poll);
        resolve(last);
      }
    }, 10);
    child.on('exit', (code) => {
      clearInterval(poll);
      if (code !== null) reject(new Error(`run ended (${code}) before it could be killed`));
    });
  });
  assert.ok(killedAt < 40, 'killed mid-training');
  execFileSync(process.execPath, train(b, ['--resume']), { stdio: 'pipe' });
  const got = losses(b);
  assert.equal(got.size, 40);
  for (const [step, loss] of ref) assert.equal(got.get(step), loss, `loss at step ${step}`);
});

test('train.js names a bad key and exits 1', () => {
  try {
    execFileSync(process.execPath, train(join(dir, 'c'), ['--opt', 'trainer.params.batchsize=2']), { stdio: 'pipe' });
    assert.fail('expected an error');
  } catch (e: any) {
    assert.equal(e.status, 1);
    assert.match(String(e.stderr), /unknown key 'trainer.params.batchsize'/);
  }
});
