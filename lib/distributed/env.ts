// Where this process sits in a distributed run, read from the launcher's environment: torchrun's
// contract (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, GROUP_RANK, MASTER_ADDR, MASTER_PORT,
// TORCHELASTIC_*; our launch.js sets the same), or Slurm's when started by `srun`.

export interface LaunchEnv {
  rank: number;
  worldSize: number;
  localRank: number;
  localWorldSize: number;
  /** The node's index (torchrun's GROUP_RANK, Slurm's SLURM_NODEID). */
  groupRank: number;
  masterAddr: string | null;
  masterPort: number | null;
  launcher: 'torchrun' | 'slurm' | 'none';
  /** torchrun's agent already serves the TCPStore at MASTER_ADDR:MASTER_PORT (connect as a client). */
  agentStore: boolean;
  /** TORCHELASTIC_RESTART_COUNT: keys of an earlier attempt in the agent's store are not reused. */
  restartCount: number;
  runId: string | null;
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback?: number): number {
  const v = env[name];
  if (v === undefined || v === '') {
    if (fallback === undefined) throw new Error(`environment variable ${name} is not set`);
    return fallback;
  }
  if (!/^\d+$/.test(v.trim())) throw new Error(`environment variable ${name}='${v}' is not a non-negative integer`);
  return Number(v);
}

/** Reads the distributed position of this process; a plain `node train.js` is rank 0 of 1. */
export function readLaunchEnv(env: Env = process.env): LaunchEnv {
  const base = { agentStore: false, restartCount: 0, runId: null as string | null };
  if (env.RANK !== undefined || env.WORLD_SIZE !== undefined) {
    const rank = int(env, 'RANK'),
      worldSize = int(env, 'WORLD_SIZE');
    const localWorldSize = int(env, 'LOCAL_WORLD_SIZE', worldSize);
    const e: LaunchEnv = {
      ...base,
      rank,
      worldSize,
      localRank: int(env, 'LOCAL_RANK', rank % localWorldSize),
      localWorldSize,
      groupRank: int(env, 'GROUP_RANK', Math.floor(rank / localWorldSize)),
      masterAddr: env.MASTER_ADDR || null,
      masterPort: env.MASTER_PORT ? int(env, 'MASTER_PORT') : null,
      launcher: 'torchrun',
      agentStore: env.TORCHELASTIC_USE_AGENT_STORE === 'True',
      restartCount: int(env, 'TORCHELASTIC_RESTART_COUNT', 0),
      runId: env.TORCHELASTIC_RUN_ID ?? null,
    };
    check(e);
    return e;
  }
  // srun sets the step's variables; a batch script itself (no step) stays a single process.
  if (env.SLURM_PROCID !== undefined && env.SLURM_STEP_ID !== undefined && (env.SLURM_STEP_NUM_TASKS ?? env.SLURM_NTASKS)) {
    const worldSize = int(env, env.SLURM_STEP_NUM_TASKS ? 'SLURM_STEP_NUM_TASKS' : 'SLURM_NTASKS');
    const rank = int(env, 'SLURM_PROCID');
    const nodes = expandNodeList(env.SLURM_STEP_NODELIST ?? env.SLURM_JOB_NODELIST ?? env.SLURM_NODELIST ?? '');
    const perNode = slurmTasksOnThisNode(env.SLURM_STEP_TASKS_PER_NODE ?? env.SLURM_TASKS_PER_NODE, int(env, 'SLURM_NODEID', 0));
    const jobId = int(env, 'SLURM_JOB_ID', 0);
    const e: LaunchEnv = {
      ...base,
      rank,
      worldSize,
      localRank: int(env, 'SLURM_LOCALID', 0),
      localWorldSize: perNode ?? worldSize,
      groupRank: int(env, 'SLURM_NODEID', 0),
      masterAddr: env.MASTER_ADDR || nodes[0] || null,
      // Every task of the job derives the same port from the job id unless MASTER_PORT is given.
      masterPort: env.MASTER_PORT ? int(env, 'MASTER_PORT') : 15000 + (jobId % 20000),
      launcher: 'slurm',
      runId: env.SLURM_JOB_ID ?? null,
    };
    check(e);
    return e;
  }
  return { ...base, rank: 0, worldSize: 1, localRank: 0, localWorldSize: 1, groupRank: 0, masterAddr: null, masterPort: null, launcher: 'none' };
}

function check(e: LaunchEnv): void {
  if (e.worldSize < 1) throw new Error(`WORLD_SIZE must be at least 1 (got ${e.worldSize})`);
  if (e.rank >= e.worldSize) throw new Error(`RANK ${e.rank} is not below WORLD_SIZE ${e.worldSize}`);
  if (e.localRank >= e.localWorldSize) throw new Error(`LOCAL_RANK ${e.localRank} is not below LOCAL_WORLD_SIZE ${e.localWorldSize}`);
  if (e.masterPort !== null && (e.masterPort < 1 || e.masterPort > 65535)) throw new Error(`MASTER_PORT ${e.masterPort} is not a TCP port`);
}

/** Slurm's compressed host list, e.g. 'gpu[01-03,07],cpu5' → gpu01 gpu02 gpu03 gpu07 cpu5. */
export function expandNodeList(list: string): string[] {
  const out: string[] = [];
  // split on commas outside brackets
  const parts: string[] = [];
  let depth = 0,
    cur = '';
  for (const ch of list.trim()) {
    if (ch === '[') depth++;
    if (ch === ']') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur) parts.push(cur);
  for (const part of parts) {
    const m = /^([^[]*)\[([^\]]+)\](.*)$/.exec(part);
    if (!m) {
      out.push(part);
      continue;
    }
    const [, prefix, ranges, suffix] = m;
    for (const r of ranges.split(',')) {
      const [a, b] = r.split('-');
      if (b === undefined) {
        out.push(prefix + a + suffix);
        continue;
      }
      for (let i = Number(a); i <= Number(b); i++) out.push(prefix + String(i).padStart(a.length, '0') + suffix);
    }
  }
  return out;
}

/** Tasks on node `nodeId` from SLURM_TASKS_PER_NODE, e.g. '4(x2),3' (nodes 0–1: 4, node 2: 3). */
function slurmTasksOnThisNode(spec: string | undefined, nodeId: number): number | null {
  if (!spec) return null;
  let node = 0;
  for (const part of spec.split(',')) {
    const m = /^(\d+)(?:\(x(\d+)\))?$/.exec(part.trim());
    if (!m) return null;
    const count = Number(m[1]),
      reps = m[2] ? Number(m[2]) : 1;
    if (nodeId < node + reps) return count;
    node += reps;
  }
  return null;
}
