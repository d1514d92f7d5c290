// launch.js (torchrun for Node): torchrun's environment per rank, rank-prefixed output, and a failed
// rank stopping the others (SIGTERM, then SIGKILL for a rank that ignores it) with a non-zero exit
// that names the rank; nothing left running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseLaunchArgs, rankEnv } from '../lib/cli/launch.js';
import { alive } from './run-log.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'launch-'));
const script = join(dir, 'rank.mjs');
// Prints its environment; rank 1 exits with $FAIL_CODE after a moment unless it is empty; every
// rank writes its pid and, with IGNORE_TERM, ignores SIGTERM; the others wait forever.
writeFileSync(
  script,
  `
import { writeFileSync } from 'node:fs';
const e = process.env;
writeFileSync(${JSON.stringify(dir)} + '/pid' + e.RANK, String(process.pid));
console.log(JSON.stringify({ RANK: e.RANK, LOCAL_RANK: e.LOCAL_RANK, WORLD_SIZE: e.WORLD_SIZE, LOCAL_WORLD_SIZE: e.LOCAL_WORLD_SIZE,
  GROUP_RANK: e.GROUP_RANK, MASTER_ADDR: e.MASTER_ADDR, MASTER_PORT: e.MASTER_PORT, OMP_NUM_THREADS: e.OMP_NUM_THREADS,
  TORCHELASTIC_RUN_ID: e.TORCHELASTIC_RUN_ID, args: process.argv.slice(2) }));
process.stderr.write('partial line without newline');
if (e.IGNORE_TERM) process.on('SIGTERM', () => {});
if (e.FAIL_CODE && e.RANK === '1') setTimeout(() => process.exit(Number(e.FAIL_CODE)), 300);
else if (e.FAIL_CODE || e.IGNORE_TERM) setInterval(() => {}, 1000);
`,
);

const launch = (args: string[], env: Record<string, string> = {}) => {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [join(root, 'launch.js'), ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 90_000 });
  return { ...r, ms: Date.now() - t0 };
};
const pids = (n: number) => Array.from({ length: n }, (_, r) => Number(readFileSync(join(dir, `pid${r}`), 'utf8')));

test("each rank gets torchrun's environment and its output lines carry the rank", () => {
  const r = launch(['--nproc-per-node', '3', '--master-port', '29517', script, '--cfg', 'x.yaml'], { OMP_NUM_THREADS: '' });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 3);
  const byRank = new Map(
    lines.map((l) => {
      const m = /^\[rank(\d)\]: (.*)$/.exec(l)!;
      return [Number(m[1]), JSON.parse(m[2])];
    }),
  );
  for (let rank = 0; rank < 3; rank++) {
    const e = byRank.get(rank);
    assert.equal(e.RANK, String(rank));
    assert.equal(e.LOCAL_RANK, String(rank));
    assert.equal(e.WORLD_SIZE, '3');
    assert.equal(e.LOCAL_WORLD_SIZE, '3');
    assert.equal(e.GROUP_RANK, '0');
    assert.equal(e.MASTER_ADDR, '127.0.0.1');
    assert.equal(e.MASTER_PORT, '29517');
    assert.equal(e.TORCHELASTIC_RUN_ID, byRank.get(0).TORCHELASTIC_RUN_ID);
    assert.deepEqual(e.args, ['--cfg', 'x.yaml']);
    assert.ok(Number(e.OMP_NUM_THREADS) >= 1, 'OMP_NUM_THREADS set when the caller left it empty');
  }
  // an unterminated last line is still printed, prefixed
  for (let rank = 0; rank < 3; rank++) assert.ok(r.stderr.includes(`[rank${rank}]: partial line without newline\n`));
});

test('global ranks on node R of M, and OMP_NUM_THREADS shares the cores unless set', () => {
  const o = parseLaunchArgs(['--nnodes=3', '--node_rank', '2', '--nproc_per_node', '2', '--master-addr', '10.0.0.1', 's.js', '--x']);
  const e = rankEnv(o, 1, { OMP_NUM_THREADS: undefined } as NodeJS.ProcessEnv);
  assert.equal(e.RANK, '5');
  assert.equal(e.WORLD_SIZE, '6');
  assert.equal(e.GROUP_RANK, '2');
  assert.equal(e.MASTER_ADDR, '10.0.0.1');
  assert.ok(Number(e.OMP_NUM_THREADS) >= 1);
  assert.equal(rankEnv(o, 0, { OMP_NUM_THREADS: '3' }).OMP_NUM_THREADS, '3');
  assert.deepEqual(o.args, ['--x']);
  assert.throws(() => parseLaunchArgs(['--nnodes', '2', '--node-rank', '2', 's.js']), /--node-rank 2 is not below --nnodes 2/);
  assert.throws(() => parseLaunchArgs(['--nproc-per-node', '0', 's.js']), /--nproc-per-node must be an integer ≥ 1 \(got '0'\)/);
  assert.throws(() => parseLaunchArgs(['--bogus', 's.js']), /unknown launcher option --bogus/);
  assert.throws(() => parseLaunchArgs(['--nproc-per-node', '2']), /no script to run/);
});

test('a failing rank stops the others; the launcher exits non-zero naming the rank and its exit code', () => {
  const r = launch(['--nproc-per-node', '3', '--standalone', script], { FAIL_CODE: '7' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /launch\.js: failed: rank 1 \(local rank 1, pid \d+\) failed with exit code 7/);
  assert.ok(r.ms < 60_000, `${r.ms} ms`);
  for (const pid of pids(3)) assert.equal(alive(pid), false, `pid ${pid} still running`);
});

test('a rank that ignores SIGTERM is killed after the grace period', () => {
  const r = launch(['--nproc-per-node', '2', '--standalone', '--kill-grace', '1', script], { FAIL_CODE: '5', IGNORE_TERM: '1' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /rank 1 \(local rank 1, pid \d+\) failed with exit code 5/);
  for (const pid of pids(2)) assert.equal(alive(pid), false, `pid ${pid} still running`);
});

test('bad launcher flags are named and nothing starts', () => {
  const r = launch(['--nproc-per-node', 'two', script]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--nproc-per-node must be an integer ≥ 1 \(got 'two'\)/);
});

test('two nodes (two launchers, --nnodes 2 --node-rank 0/1) form one group of 4 ranks', async () => {
  const { spawn } = await import('node:child_process');
  const { freePort, WORKER } = await import('./dist-helpers.js');
  const port = await freePort();
  const out = mkdtempSync(join(tmpdir(), 'launch-nodes-'));
  const node = (r: number) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const p = spawn(
        process.execPath,
        [
          join(root, 'launch.js'),
          '--nnodes',
          '2',
          '--node-rank',
          String(r),
          '--nproc-per-node',
          '2',
          '--master-addr',
          '127.0.0.1',
          '--master-port',
          String(port),
          WORKER,
        ],
        { env: { ...process.env, DIST_TEST_MODE: 'ops', DIST_TEST_OUT: out, OMP_NUM_THREADS: '1' } },
      );
      let stdout = '',
        stderr = '';
      p.stdout.on('data', (d) => {
        stdout += d;
      });
      p.stderr.on('data', (d) => {
        stderr += d;
      });
      p.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
  const [a, b] = await Promise.all([node(0), node(1)]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  assert.match(b.stderr, /started 2 rank\(s\) of 4 on node 1/);
  for (let rank = 0; rank < 4; rank++) {
    const r = JSON.parse(readFileSync(join(out, `rank${rank}.json`), 'utf8'));
    assert.equal(r.error, undefined, `rank ${rank}: ${r.error}`);
    assert.deepEqual(r.sum, [10, 20, 30, 40]); // [1,2,3,4] · (1 + 2 + 3 + 4)
    assert.deepEqual(r.broadcast, [10, 10, 10]); // the last rank's 3 + 7
  }
});
