// Memory: a long training loop with one torch.scope per step frees everything it creates (live
// tensors, allocator bytes and RSS stay flat), and tensors dropped outside any scope are freed by
// the GC safety net once the event loop turns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../lib/torch.js';

const F = torch.nn.functional;
const here = dirname(fileURLToPath(import.meta.url));
/** test/fixtures-scripts/, reached from the compiled dist/test/ as well as from test/. */
const fixtures = existsSync(resolve(here, 'fixtures-scripts')) ? resolve(here, 'fixtures-scripts') : resolve(here, '../../test/fixtures-scripts');
const MiB = 2 ** 20;

// RSS slack between iteration 1,000 and 10,000. What may legitimately move RSS in a leak-free loop:
// V8's heap (each step makes ~40 short-lived JS wrappers and closures; young-generation semi-spaces
// and old-space growth are a few MiB to ~16 MiB), tcmalloc's page caches, and glibc arenas holding
// libtorch's own small allocations (autograd nodes, TensorImpls). Measured on this machine: +2 MiB.
// A real per-step leak is far larger over 9,000 steps: one leaked 64×32 float gradient is 8 KiB/step
// = 70 MiB, one leaked autograd graph of this MLP ~ 30 KiB/step = 260 MiB.
const RSS_SLACK_MIB = 32;

test('10,000 MLP training steps in torch.scope leak no tensors, no allocator bytes, no RSS', (t) => {
  torch.manualSeed(0);
  const tensorsBefore = torch.memory().numTensors;
  // Parameters and data are created in a scope that returns them: only these 6 tensors survive.
  const { params, x, y } = torch.scope(() => ({
    params: [torch.randn(32, 64).mul(1 / Math.sqrt(32)), torch.zeros(64), torch.randn(64, 1).mul(1 / Math.sqrt(64)), torch.zeros(1)].map((p) =>
      p.detach().requiresGrad_(),
    ),
    x: torch.randn(16, 32),
    y: torch.randn(16, 1),
  }));
  const created = params.length + 2;
  assert.equal(torch.memory().numTensors, tensorsBefore + created);
  const [w1, b1, w2, b2] = params;
  const lr = 0.05;

  const step = (): number =>
    torch.scope(() => {
      const h = x.matmul(w1).add(b1).relu();
      const loss = F.mseLoss(h.matmul(w2).add(b2), y);
      loss.backward();
      torch.noGrad(() => {
        for (const p of params) p.sub_(p.grad!, lr);
      });
      for (const p of params) p.grad = null;
      return loss.item();
    });

  const N = 10_000;
  const t0 = performance.now();
  let first = NaN,
    last = NaN,
    rss1k = 0,
    bytes1k = 0,
    tensors1k = 0;
  for (let i = 1; i <= N; i++) {
    const loss = step();
    if (i === 1) first = loss;
    if (i === N) last = loss;
    if (i === 1000) {
      rss1k = process.memoryUsage().rss;
      bytes1k = torch.memory().allocatedBytes;
      tensors1k = torch.memory().numTensors;
    }
  }
  const ms = performance.now() - t0;
  const rss10k = process.memoryUsage().rss;
  const m = torch.memory();
  t.diagnostic(
    `${N} steps in ${ms.toFixed(0)} ms (${((ms / N) * 1000).toFixed(0)} µs/step); loss ${first.toFixed(4)} → ${last.toExponential(2)}; ` +
      `RSS ${(rss1k / MiB).toFixed(1)} → ${(rss10k / MiB).toFixed(1)} MiB; allocator ${bytes1k} → ${m.allocatedBytes} B; live tensors ${m.numTensors}`,
  );

  assert.ok(last < first / 10, `the loop trains (loss ${first} → ${last})`);
  assert.equal(m.numTensors, tensorsBefore + created, 'live tensors after the loop = before + parameters and data');
  assert.equal(tensors1k, m.numTensors);
  assert.equal(m.allocatedBytes, bytes1k, 'tensor storage bytes held by the allocator are the same at step 1,000 and 10,000');
  assert.ok(
    rss10k - rss1k < RSS_SLACK_MIB * MiB,
    `RSS grew ${((rss10k - rss1k) / MiB).toFixed(1)} MiB between step 1,000 and ${N} (slack ${RSS_SLACK_MIB} MiB)`,
  );
  for (const p of params) assert.equal(p.grad, null);
  torch.dispose(params, x, y);
  assert.equal(torch.memory().numTensors, tensorsBefore);
});

test('tensors dropped outside any scope are freed by the GC safety net (child process, --expose-gc)', (t) => {
  const script = resolve(fixtures, 'gc-safety-net.mjs');
  const r = spawnSync(process.execPath, ['--expose-gc', script, '20'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.signal, null, `child killed by ${r.signal}; stderr:\n${r.stderr}`);
  assert.equal(r.status, 0, `child exited ${r.status}; stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { created: number; peak: number; beforeGc: number; after: number; allocatedBytes: number };
  t.diagnostic(`GC safety net: ${JSON.stringify(out)}`);
  assert.equal(out.created, 40_000);
  assert.ok(out.peak > 0, 'tensors were live before the GC');
  // Everything unreachable is collected after gc() and a turn of the event loop; allow a few
  // stragglers that were still on the stack when gc() ran.
  assert.ok(out.after <= 10, `${out.after} of ${out.created} tensors still live after gc()`);
  assert.ok(out.after < out.beforeGc || out.beforeGc === 0, 'the count dropped');
});
