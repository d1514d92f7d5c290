// Runs the ranks of a distributed test as separate processes (test/dist-worker.ts) over loopback.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { freePort } from '../lib/distributed/free-port.js';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const WORKER = join(dirname(fileURLToPath(import.meta.url)), 'dist-worker.js');

export { freePort };

export interface RankResult {
  code: number | null;
  result: Record<string, any> | null;
  stderr: string;
}

/** Starts `size` ranks of the worker in `mode`; resolves with each rank's exit code and JSON result. */
export async function runRanks(mode: string, size: number, env: Record<string, string> = {}, timeoutMs = 60_000, masterPort?: number): Promise<RankResult[]> {
  const out = mkdtempSync(join(tmpdir(), 'dist-test-'));
  const port = masterPort ?? (await freePort());
  const runs = Array.from(
    { length: size },
    (_, rank) =>
      new Promise<RankResult>((resolve) => {
        const p = spawn(process.execPath, [WORKER], {
          env: {
            ...process.env,
            ...env,
            DIST_TEST_MODE: mode,
            DIST_TEST_OUT: out,
            RANK: String(rank),
            WORLD_SIZE: String(size),
            LOCAL_RANK: String(rank),
            LOCAL_WORLD_SIZE: String(size),
            MASTER_ADDR: '127.0.0.1',
            MASTER_PORT: String(port),
            OMP_NUM_THREADS: '1',
          },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        p.stderr.on('data', (d) => {
          stderr += d;
        });
        const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
        p.on('exit', (code) => {
          clearTimeout(timer);
          const f = join(out, `rank${rank}.json`);
          resolve({ code, result: existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) : null, stderr });
        });
      }),
  );
  const results = await Promise.all(runs);
  rmSync(out, { recursive: true, force: true });
  return results;
}
