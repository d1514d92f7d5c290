// DistributedDataParallel on c10d's Reducer: 2 ranks × batch 2 give the gradients and parameters of
// 1 rank × batch 4 (float64 model, SGD with momentum, 3 steps), with one bucket or one per tensor,
// and with accumulation micro-steps under noSync() (which must not communicate); memory flat over steps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../lib/torch.js';
import { nn, optim } from '../lib/torch.js';
import { parityModel, parityData } from './dist-worker.js';
import { runRanks } from './dist-helpers.js';
import { maxAbsDiff } from './helpers.js';

// float64; the only difference is the order of the sums (mean of 4 vs. (mean of 2 + mean of 2)/2).
const TOL = 1e-13;

function reference(): { steps: number[][][]; params: number[][] } {
  const model = parityModel();
  const { x, y } = parityData();
  const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
  const steps: number[][][] = [];
  for (let s = 0; s < 3; s++) {
    nn.functional.mseLoss(model.forward(x), y).backward();
    steps.push(model.parameters().map((p) => p.grad!.flatten().tolist() as number[]));
    opt.step();
    opt.zeroGrad();
  }
  return { steps, params: model.parameters().map((p) => p.flatten().tolist() as number[]) };
}

async function check(env: Record<string, string>, expectBuckets: number) {
  const ref = reference();
  const ranks = await runRanks('ddp', 2, env);
  for (const [rank, r] of ranks.entries()) {
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.result!.error, undefined, `rank ${rank}: ${r.result!.error}`);
    assert.equal(r.result!.buckets.length, expectBuckets);
    for (let s = 0; s < 3; s++)
      assert.ok(
        maxAbsDiff(r.result!.steps[s].flat(), ref.steps[s].flat()) < TOL,
        `rank ${rank} step ${s + 1} gradients: ${maxAbsDiff(r.result!.steps[s].flat(), ref.steps[s].flat())}`,
      );
    assert.ok(maxAbsDiff(r.result!.params.flat(), ref.params.flat()) < TOL, `rank ${rank} parameters after 3 steps`);
  }
  // the ranks apply identical updates to identical weights
  assert.deepEqual(ranks[0].result!.params, ranks[1].result!.params);
  // two more steps (5 in all): neither live tensors nor native bytes grow once the state exists
  for (const r of ranks) {
    const m = r.result!.memory as { tensors: number; bytes: number }[];
    assert.equal(m.length, 5);
    for (let s = 2; s < 5; s++) assert.deepEqual(m[s], m[1], `rank memory after step ${s + 1}: ${JSON.stringify(m)}`);
  }
  return ranks;
}

test('DDP: 2 ranks × batch 2 = 1 rank × batch 4 (gradients each step, parameters after 3), one bucket', async () => {
  const ranks = await check({}, 1);
  // all 6 tensors (1,240 bytes) fit the 1 MiB first bucket
  assert.deepEqual(ranks[0].result!.buckets, [[0, 1, 2, 3, 4, 5]]);
});

test('DDP: the same with a bucket per tensor (each launched as its gradient is ready)', async () => {
  const ranks = await check({ DIST_BUCKET_MB: '0.0002' }, 4);
  // ≈210-byte buckets over tensors of 384, 64, 512, 64, 192, 24 bytes, last layer first
  assert.deepEqual(ranks[0].result!.buckets, [[5], [3, 4], [1, 2], [0]]);
});

test('DDP: 2 accumulation micro-steps of batch 1 per rank, the first under noSync(), = batch 4', async () => {
  const ranks = await check({ DIST_ACCUM: '2' }, 1);
  // after the noSync micro-step each rank holds only its own sample's gradient: they differ
  const a = ranks[0].result!.localAfterNoSync,
    b = ranks[1].result!.localAfterNoSync;
  assert.equal(a.length, 6);
  assert.ok(maxAbsDiff(a.flat(2), b.flat(2)) > 1e-4, 'no communication happened under noSync()');
});

test('DDP with a parameter the forward never uses: an error naming the option, or findUnusedParameters', async () => {
  const bad = await runRanks('unused', 2, { DIST_FIND_UNUSED: '0' });
  for (const r of bad) {
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.result!.error, /not used in producing loss.*\[here: DDPOptions\.findUnusedParameters, or the trainer key find_unused_parameters: true\]/s);
  }
  const ok = await runRanks('unused', 2, { DIST_FIND_UNUSED: '1' });
  for (const r of ok) {
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.result!.error, undefined, r.result!.error);
    assert.equal(r.result!.extraGrad, null, 'the unused layer gets no gradient');
  }
  assert.deepEqual(ok[0].result!.params, ok[1].result!.params);
});

test('DDP needs a process group and a trainable parameter', () => {
  assert.throws(() => new torch.distributed.DistributedDataParallel(parityModel()), /needs a process group/);
  torch.distributed.initProcessGroup({ env: {} });
  try {
    const frozen = parityModel().requiresGrad_(false);
    assert.throws(() => new torch.distributed.DistributedDataParallel(frozen), /no parameter that requires grad/);
  } finally {
    torch.distributed.destroyProcessGroup();
  }
});
