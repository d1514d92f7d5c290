// `node launch.js --nproc-per-node N [--nnodes M --node-rank R --master-addr A --master-port P]
// SCRIPT [ARGS...]`: torchrun for Node. Starts one process per local rank with torchrun's
// environment (RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, GROUP_RANK, ROLE_*, MASTER_ADDR,
// MASTER_PORT, TORCHELASTIC_*, OMP_NUM_THREADS), prefixes each output line with its rank, and when
// a rank fails stops the others (SIGTERM, then SIGKILL after a grace period) and exits non-zero
// naming the first rank that failed. Rank 0 serves the rendezvous store (no agent store).
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { randomUUID } from 'node:crypto';
import { freePort } from '../distributed/free-port.js';

export interface LaunchOptions {
  nprocPerNode: number;
  nnodes: number;
  nodeRank: number;
  masterAddr: string;
  masterPort: number;
  /** Run the script with node (default) or execute it as a command (--no-node / --no-python). */
  node: boolean;
  /** Seconds between SIGTERM and SIGKILL when stopping ranks. */
  killGrace: number;
  script: string;
  args: string[];
  runId: string;
}

const USAGE = `usage: node launch.js [--nproc-per-node N|auto] [--nnodes M] [--node-rank R] [--master-addr A]
       [--master-port P] [--standalone] [--no-node] [--kill-grace S] SCRIPT [ARGS...]`;

/** Parses launcher flags up to the script (torchrun's spellings with - or _ both accepted). */
export function parseLaunchArgs(argv: string[]): LaunchOptions {
  const o: LaunchOptions = {
    nprocPerNode: 1,
    nnodes: 1,
    nodeRank: 0,
    masterAddr: '127.0.0.1',
    masterPort: 29500,
    node: true,
    killGrace: 10,
    script: '',
    args: [],
    runId: randomUUID(),
  };
  let standalone = false,
    i = 0;
  const value = (flag: string): string => {
    const v = argv[++i];
    if (v === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
    return v;
  };
  const intFlag = (flag: string, v: string, min: number): number => {
    if (!/^\d+$/.test(v) || Number(v) < min) throw new Error(`${flag} must be an integer ≥ ${min} (got '${v}')`);
    return Number(v);
  };
  for (; i < argv.length; i++) {
    let a = argv[i];
    if (!a.startsWith('--')) break;
    let inline: string | undefined;
    const eq = a.indexOf('=');
    if (eq > 0) {
      inline = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    const flag = a.replace(/_/g, '-');
    const v = () => inline ?? value(flag);
    switch (flag) {
      case '--nproc-per-node': {
        const s = v();
        o.nprocPerNode = s === 'auto' || s === 'cpu' ? availableParallelism() : intFlag(flag, s, 1);
        break;
      }
      case '--nnodes':
        o.nnodes = intFlag(flag, v(), 1);
        break;
      case '--node-rank':
        o.nodeRank = intFlag(flag, v(), 0);
        break;
      case '--master-addr':
        o.masterAddr = v();
        break;
      case '--master-port':
        o.masterPort = intFlag(flag, v(), 1);
        break;
      case '--rdzv-id':
      case '--run-id':
        o.runId = v();
        break;
      case '--kill-grace':
        o.killGrace = intFlag(flag, v(), 0);
        break;
      case '--standalone':
        standalone = true;
        break;
      case '--no-node':
      case '--no-python':
        o.node = false;
        break;
      case '--help':
        throw new Error(USAGE);
      default:
        throw new Error(`unknown launcher option ${argv[i]}\n${USAGE}`);
    }
  }
  if (i >= argv.length) throw new Error(`no script to run\n${USAGE}`);
  o.script = argv[i];
  o.args = argv.slice(i + 1);
  if (o.nodeRank >= o.nnodes) throw new Error(`--node-rank ${o.nodeRank} is not below --nnodes ${o.nnodes}`);
  if (o.masterPort > 65535) throw new Error(`--master-port ${o.masterPort} is not a TCP port`);
  if (standalone) {
    if (o.nnodes !== 1) throw new Error('--standalone is for a single node (--nnodes 1)');
    o.masterAddr = '127.0.0.1';
    o.masterPort = 0; // a free port is chosen at start
  }
  return o;
}

/** torchrun's environment for local rank `local` (OMP_NUM_THREADS: the cores shared out, unless set). */
export function rankEnv(o: LaunchOptions, local: number, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const worldSize = o.nnodes * o.nprocPerNode,
    rank = o.nodeRank * o.nprocPerNode + local;
  return {
    ...base,
    RANK: String(rank),
    LOCAL_RANK: String(local),
    WORLD_SIZE: String(worldSize),
    LOCAL_WORLD_SIZE: String(o.nprocPerNode),
    GROUP_RANK: String(o.nodeRank),
    GROUP_WORLD_SIZE: String(o.nnodes),
    ROLE_NAME: 'default',
    ROLE_RANK: String(rank),
    ROLE_WORLD_SIZE: String(worldSize),
    MASTER_ADDR: o.masterAddr,
    MASTER_PORT: String(o.masterPort),
    TORCHELASTIC_RUN_ID: o.runId,
    TORCHELASTIC_RESTART_COUNT: '0',
    TORCHELASTIC_MAX_RESTARTS: '0',
    OMP_NUM_THREADS: base.OMP_NUM_THREADS || String(Math.max(1, Math.floor(availableParallelism() / o.nprocPerNode))),
  };
}

/** Copies a stream line by line with a prefix (a partial last line is flushed at the end). */
function prefixLines(src: NodeJS.ReadableStream, dst: NodeJS.WritableStream, prefix: string): void {
  let rest = '';
  src.setEncoding('utf8');
  src.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop()!;
    if (lines.length) dst.write(lines.map((l) => prefix + l + '\n').join(''));
  });
  src.on('end', () => {
    if (rest) dst.write(prefix + rest + '\n');
  });
}

/** Runs the ranks of this node; resolves with the launcher's exit code. */
export async function launch(o: LaunchOptions): Promise<number> {
  if (o.masterPort === 0) o.masterPort = await freePort();
  const say = (m: string) => process.stderr.write(`launch.js: ${m}\n`);
  const children: { rank: number; local: number; p: ChildProcess; done: Promise<void> }[] = [];
  let failure: string | null = null;
  let stopping = false;

  const stopAll = (signal: NodeJS.Signals) => {
    for (const c of children) {
      if (c.p.exitCode === null && c.p.signalCode === null) {
        try {
          process.kill(-c.p.pid!, signal);
        } catch {
          /* already gone */
        }
      }
    }
  };
  let killTimer: NodeJS.Timeout | null = null;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    stopAll('SIGTERM');
    killTimer = setTimeout(() => stopAll('SIGKILL'), o.killGrace * 1000);
  };

  for (let local = 0; local < o.nprocPerNode; local++) {
    const env = rankEnv(o, local);
    const rank = Number(env.RANK);
    const [cmd, args] = o.node ? [process.execPath, [o.script, ...o.args]] : [o.script, o.args];
    // Each rank leads its own process group, so stopping it also stops anything it started.
    const p = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    prefixLines(p.stdout!, process.stdout, `[rank${rank}]: `);
    prefixLines(p.stderr!, process.stderr, `[rank${rank}]: `);
    const done = new Promise<void>((resolve) => {
      p.on('error', (e) => {
        failure ??= `rank ${rank} could not be started: ${e.message}`;
        stop();
        resolve();
      });
      p.on('exit', (code, sig) => {
        if ((code !== 0 || sig) && !stopping) {
          failure ??= `rank ${rank} (local rank ${local}, pid ${p.pid}) ${sig ? `was killed by signal ${sig}` : `failed with exit code ${code}`}`;
          say(`${failure}; stopping the other ranks`);
          stop();
        }
        resolve();
      });
    });
    children.push({ rank, local, p, done });
  }
  say(
    `started ${o.nprocPerNode} rank(s) of ${o.nnodes * o.nprocPerNode} on node ${o.nodeRank} (master ${o.masterAddr}:${o.masterPort}): ` +
      children.map((c) => `rank ${c.rank} pid ${c.p.pid}`).join(', '),
  );

  const onSignal = (sig: NodeJS.Signals) => {
    failure ??= `launcher received ${sig}`;
    say(`${sig}: stopping the ranks`);
    stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  await Promise.all(children.map((c) => c.done));
  if (killTimer) clearTimeout(killTimer);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (failure) {
    say(`failed: ${failure}`);
    return 1;
  }
  return 0;
}

export async function main(argv = process.argv.slice(2)): Promise<number> {
  return launch(parseLaunchArgs(argv));
}
