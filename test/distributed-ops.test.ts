// c10d from Node: collectives between 2 processes over loopback with Gloo, async waits off the
// JS thread, gathering a padded evaluation shard, and errors instead of hangs when a peer is lost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../lib/torch.js';
import { runRanks } from './dist-helpers.js';

test('allReduce (sum/avg/max), broadcast, allGather, barrier, allGatherRows and an async all-reduce across 2 ranks', async () => {
  const ranks = await runRanks('ops', 2);
  for (const [rank, r] of ranks.entries()) {
    assert.equal(r.code, 0, r.stderr);
    const v = r.result!;
    assert.equal(v.error, undefined, `rank ${rank}: ${v.error}`);
    assert.deepEqual(v.sum, [3, 6, 9, 12]); // [1,2,3,4]·1 + [1,2,3,4]·2
    assert.deepEqual(v.avg, [1.5, 3, 4.5, 6]);
    assert.deepEqual(v.maxInt, [1, 10]); // max of [0,10] and [1,9], int64
    assert.deepEqual(v.broadcast, [8, 8, 8]); // rank 1's value 1 + 7
    assert.deepEqual(v.allGather, [
      [0, 0],
      [1, 10],
    ]);
    // 5 items over 2 ranks: rank 0 has 0,2,4, rank 1 has 1,3 and the padding item 0 again
    assert.deepEqual(v.gathered, [0, 100, 200, 300, 400]);
    assert.deepEqual(v.asyncSum, [3, 3]); // 4 M ones ·1 + ·2
    assert.ok(v.ticks >= 1, 'timers fired while the async all-reduce was waited on a worker thread');
    assert.equal(v.secondWait, 'allReduce: this Work was already waited on');
  }
});

test("a rank that leaves makes the others' all-reduce fail with an error naming the op and rank, not hang", async () => {
  const t0 = Date.now();
  const [r0, r1] = await runRanks('peer-exits', 2, { DIST_TIMEOUT_MS: '20000' });
  assert.equal(r1.code, 3);
  assert.equal(r0.code, 0, r0.stderr);
  assert.equal(r0.result!.name, 'DistributedError');
  assert.match(r0.result!.error, /^allReduce on rank 0 of 2 \(gloo\) failed: /);
  assert.ok(Date.now() - t0 < 30_000, `took ${Date.now() - t0} ms`);
});

test('a missing peer at rendezvous times out with an error (timeout honoured)', async () => {
  const { freePort } = await import('./dist-helpers.js');
  const port = await freePort();
  const t0 = Date.now();
  assert.throws(
    () => torch.distributed.initProcessGroup({ rank: 0, worldSize: 2, masterAddr: '127.0.0.1', masterPort: port, timeout: 1500 }),
    (e: Error) =>
      e.name === 'DistributedError' &&
      /initProcessGroup \(rank 0 of 2, gloo, store 127\.0\.0\.1:\d+\): .* not all 2 ranks joined within 1\.5 s/.test(e.message),
  );
  assert.ok(Date.now() - t0 < 15_000);
  assert.equal(torch.distributed.isInitialized(), false);
});

test('a group of one needs no master address; collectives are the identity; errors are named', () => {
  const g = torch.distributed.initProcessGroup({ env: {} });
  try {
    assert.equal(g.size, 1);
    assert.equal(torch.distributed.getRank(), 0);
    const t = torch.tensor([1.5, 2.5]);
    torch.distributed.allReduce(t, { op: 'avg' });
    assert.deepEqual(t.tolist(), [1.5, 2.5]);
    assert.throws(() => torch.distributed.allReduce(torch.tensor([1, 2]), { op: 'avg' }), /op 'avg' needs a floating-point tensor \(got int64\)/);
    assert.throws(() => torch.distributed.broadcast(t, 1), /src 1 is not a rank of a group of 1/);
    assert.throws(() => torch.distributed.initProcessGroup({ env: {} }), /already initialised/);
  } finally {
    torch.distributed.destroyProcessGroup();
  }
  assert.throws(() => torch.distributed.barrier(), /no process group: call torch\.distributed\.initProcessGroup\(\) first/);
  assert.throws(() => torch.distributed.initProcessGroup({ env: { RANK: '0', WORLD_SIZE: '2' } }), /needs MASTER_ADDR and MASTER_PORT/);
});

test("under torchrun's agent store the ranks join the agent's TCPStore as clients", async () => {
  const { freePort } = await import('./dist-helpers.js');
  const { native } = await import('../lib/core/native.js');
  const port = await freePort();
  const agent = native.distributed.tcpStore('127.0.0.1', port, true, 0, 30_000); // stands in for torchrun's agent
  try {
    const ranks = await runRanks('ops', 2, { TORCHELASTIC_USE_AGENT_STORE: 'True', TORCHELASTIC_RESTART_COUNT: '0' }, 60_000, port);
    for (const r of ranks) {
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.result!.sum, [3, 6, 9, 12]);
    }
    assert.doesNotMatch(ranks[0].stderr, /does not answer/);
    // the ranks' probe reached the agent's store
    assert.equal(native.distributed.storeGet(agent, 'torchnode/probe'), '1');
  } finally {
    native.distributed.releaseStore(agent);
  }
});

test('an agent store that does not answer this libtorch (torchrun on another torch) → rank 0 serves on the next port', async () => {
  const { createServer } = await import('node:net');
  const { freePort } = await import('./dist-helpers.js');
  const port = await freePort();
  const silent = createServer(() => {}); // accepts, never answers
  await new Promise<void>((resolve) => silent.listen(port, '127.0.0.1', resolve));
  try {
    const ranks = await runRanks('ops', 2, { TORCHELASTIC_USE_AGENT_STORE: 'True' }, 60_000, port);
    for (const r of ranks) {
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.result!.sum, [3, 6, 9, 12]);
    }
    assert.match(
      ranks[0].stderr,
      new RegExp(`agent store at 127\\.0\\.0\\.1:${port} does not answer .* rank 0 serves the rendezvous at 127\\.0\\.0\\.1:${port + 1}`),
    );
  } finally {
    silent.close();
  }
});
