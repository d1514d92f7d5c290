// The launch environment: torchrun's contract (and launch.js's), torchrun's agent store, Slurm's
// variables under srun, compressed node lists, and errors that name the variable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readLaunchEnv, expandNodeList } from '../lib/distributed/env.js';

test('no launcher: rank 0 of 1', () => {
  const e = readLaunchEnv({});
  assert.equal(e.launcher, 'none');
  assert.deepEqual([e.rank, e.worldSize, e.localRank, e.localWorldSize], [0, 1, 0, 1]);
});

test("torchrun's variables, including its agent store", () => {
  const e = readLaunchEnv({
    RANK: '5',
    WORLD_SIZE: '8',
    LOCAL_RANK: '1',
    LOCAL_WORLD_SIZE: '4',
    GROUP_RANK: '1',
    MASTER_ADDR: 'node7',
    MASTER_PORT: '29400',
    TORCHELASTIC_USE_AGENT_STORE: 'True',
    TORCHELASTIC_RESTART_COUNT: '2',
    TORCHELASTIC_RUN_ID: 'job42',
  });
  assert.deepEqual(e, {
    rank: 5,
    worldSize: 8,
    localRank: 1,
    localWorldSize: 4,
    groupRank: 1,
    masterAddr: 'node7',
    masterPort: 29400,
    launcher: 'torchrun',
    agentStore: true,
    restartCount: 2,
    runId: 'job42',
  });
  // by hand: only RANK and WORLD_SIZE; local values default to one node
  const m = readLaunchEnv({ RANK: '1', WORLD_SIZE: '2', MASTER_ADDR: '127.0.0.1', MASTER_PORT: '1234' });
  assert.deepEqual([m.localRank, m.localWorldSize, m.groupRank, m.agentStore], [1, 2, 0, false]);
});

test('bad torchrun variables are named', () => {
  assert.throws(() => readLaunchEnv({ RANK: '0' }), /environment variable WORLD_SIZE is not set/);
  assert.throws(() => readLaunchEnv({ RANK: 'one', WORLD_SIZE: '2' }), /RANK='one' is not a non-negative integer/);
  assert.throws(() => readLaunchEnv({ RANK: '2', WORLD_SIZE: '2' }), /RANK 2 is not below WORLD_SIZE 2/);
  assert.throws(() => readLaunchEnv({ RANK: '0', WORLD_SIZE: '2', MASTER_PORT: '70000' }), /MASTER_PORT 70000 is not a TCP port/);
});

test('Slurm under srun: rank, size, local rank, node, master from the node list, port from the job id', () => {
  const e = readLaunchEnv({
    SLURM_PROCID: '6',
    SLURM_NTASKS: '8',
    SLURM_STEP_NUM_TASKS: '8',
    SLURM_STEP_ID: '0',
    SLURM_LOCALID: '2',
    SLURM_NODEID: '1',
    SLURM_STEP_NODELIST: 'gpu[07-08]',
    SLURM_STEP_TASKS_PER_NODE: '4(x2)',
    SLURM_JOB_ID: '123456',
  });
  assert.deepEqual(e, {
    rank: 6,
    worldSize: 8,
    localRank: 2,
    localWorldSize: 4,
    groupRank: 1,
    masterAddr: 'gpu07',
    masterPort: 15000 + (123456 % 20000),
    launcher: 'slurm',
    agentStore: false,
    restartCount: 0,
    runId: '123456',
  });
  // MASTER_ADDR/MASTER_PORT given win; uneven tasks per node
  const f = readLaunchEnv({
    SLURM_PROCID: '8',
    SLURM_NTASKS: '9',
    SLURM_STEP_ID: '3',
    SLURM_LOCALID: '0',
    SLURM_NODEID: '2',
    SLURM_TASKS_PER_NODE: '4(x2),1',
    SLURM_NODELIST: 'a,b,c',
    MASTER_ADDR: 'head',
    MASTER_PORT: '2000',
  });
  assert.deepEqual([f.localWorldSize, f.masterAddr, f.masterPort], [1, 'head', 2000]);
  // a batch script itself (no step) is a single process; torchrun inside Slurm wins over Slurm's variables
  assert.equal(readLaunchEnv({ SLURM_PROCID: '0', SLURM_NTASKS: '8' }).launcher, 'none');
  assert.equal(readLaunchEnv({ SLURM_PROCID: '0', SLURM_NTASKS: '8', SLURM_STEP_ID: '0', RANK: '3', WORLD_SIZE: '4' }).rank, 3);
});

test("Slurm's compressed node lists", () => {
  assert.deepEqual(expandNodeList('gpu[01-03,07],cpu5'), ['gpu01', 'gpu02', 'gpu03', 'gpu07', 'cpu5']);
  assert.deepEqual(expandNodeList('n[8-11]'), ['n8', 'n9', 'n10', 'n11']);
  assert.deepEqual(expandNodeList('solo'), ['solo']);
  assert.deepEqual(expandNodeList('r[1-2]-ib'), ['r1-ib', 'r2-ib']);
});
