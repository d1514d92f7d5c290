// Data-parallel training end to end: the tiny tokenizer config on 2 ranks through launch.js (Gloo
// over loopback). Only rank 0 writes; the logged loss is the mean over ranks. One rank killed with
// SIGKILL mid-run makes the launcher stop the other and exit non-zero naming it, within 60 s,
// leaving nothing running; `--resume` through launch.js then logs exactly the losses of an
// uninterrupted 2-rank run (per-rank draws are seeded from seed, rank and step).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { loggedByStep, alive } from './run-log.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'train-ddp-'));
const config = join(dir, 'tiny.yaml');
writeFileSync(
  config,
  stringify({
    trainer: {
      target: 'semanticist.engine.diffusion_trainer.DiffusionTrainer',
      params: {
        num_epoch: 1,
        max_steps: 30,
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
        eval_size: 9,
        ddp_bucket_cap_mb: 0.05,
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
        test_dataset: { target: 'FashionMNIST', params: { split: 'test', img_size: 32 } },
      },
    },
  }),
);

const launchArgs = (out: string, extra: string[] = []) => [
  join(root, 'launch.js'),
  '--nproc-per-node',
  '2',
  '--standalone',
  '--kill-grace',
  '5',
  join(root, 'train.js'),
  '--cfg',
  config,
  '--opt',
  `trainer.params.result_folder=${out}`,
  ...extra,
];
const losses = (out: string) => loggedByStep(out, 'semanticist', 'diff_loss');

test('2 ranks through launch.js: train, one rank killed, resume = the uninterrupted run', { timeout: 300_000 }, async () => {
  const a = join(dir, 'a');
  const runA = spawnSync(process.execPath, launchArgs(a), { encoding: 'utf8' });
  assert.equal(runA.status, 0, runA.stderr);
  const outA = runA.stdout + runA.stderr;
  assert.match(outA, /\[rank0\]: finished at step 30/);
  assert.doesNotMatch(outA, /\[rank1\]: finished/, 'only rank 0 reports');
  const ref = losses(a);
  assert.equal(ref.size, 30);
  assert.ok(existsSync(join(a, 'models', 'step30', 'complete.json')));
  assert.match(outA, /\[rank0\]: cpu, fp32; lr 6\.250e-5 \(blr 0\.001 × 16 \/ 256\)/, 'lr from the global batch 2 × 8');
  assert.match(outA, /data parallel over 2 ranks \(gloo, \d+ gradient buckets?\)/);
  // 9 test images over 2 ranks: rank 1's shard is padded with image 0, which the gather drops
  assert.match(outA, /\[rank0\]: reconstruction of 9 test images .*2 ranks/);

  // the same run, rank 1 killed mid-training
  const b = join(dir, 'b');
  const child = spawn(process.execPath, launchArgs(b), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let killedAt = 0,
    t0 = 0;
  await new Promise<void>((resolve, reject) => {
    const poll = setInterval(() => {
      let last = 0;
      try {
        last = Math.max(0, ...losses(b).keys());
      } catch {
        /* no log yet */
      }
      const m = /rank 0 pid (\d+), rank 1 pid (\d+)/.exec(stderr);
      if (m && last >= 10) {
        clearInterval(poll);
        killedAt = last;
        t0 = Date.now();
        process.kill(Number(m[2]), 'SIGKILL');
        resolve();
      }
    }, 10);
    child.on('exit', (code) => {
      clearInterval(poll);
      reject(new Error(`run ended (${code}) before a rank could be killed:\n${stderr}`));
    });
  });
  const code = await exited;
  assert.ok(killedAt < 30, 'killed mid-training');
  assert.equal(code, 1);
  assert.ok(Date.now() - t0 < 60_000, `launcher took ${Date.now() - t0} ms to stop`);
  assert.match(stderr, /launch\.js: failed: rank 1 \(local rank 1, pid \d+\) was killed by signal SIGKILL/);
  const [, p0, p1] = /rank 0 pid (\d+), rank 1 pid (\d+)/.exec(stderr)!;
  assert.equal(alive(Number(p0)), false, 'rank 0 was stopped');
  assert.equal(alive(Number(p1)), false);

  const runB = spawnSync(process.execPath, launchArgs(b, ['--resume']), { encoding: 'utf8' });
  assert.equal(runB.status, 0, runB.stderr);
  const outB = runB.stdout + runB.stderr;
  assert.match(outB, /\[rank0\]: resumed from .*step\d+ at step \d+/);
  const got = losses(b);
  assert.equal(got.size, 30);
  for (const [s, v] of ref) assert.equal(got.get(s), v, `step ${s}: ${got.get(s)} vs ${v}`);
  assert.deepEqual(readdirSync(join(b, 'models')).sort(), readdirSync(join(a, 'models')).sort());
});
