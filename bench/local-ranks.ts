// The benchmarks' parent side: runs this same script once per local rank (RANK, WORLD_SIZE,
// LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR/PORT, OMP_NUM_THREADS set), collects the JSON lines
// each rank prints, and kills the others soon after one fails (they would wait in a collective
// until the timeout), on Ctrl-C, or at the deadline.
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '../lib/distributed/free-port.js';

export interface RankOut {
  code: number | null;
  signal: string | null;
  lines: Record<string, any>[];
  stderr: string;
}

export async function runLocalRanks(script: string, ranks: number, threads: number, timeoutS: number): Promise<RankOut[]> {
  const port = await freePort();
  const children: ChildProcess[] = [];
  const killAll = () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  };
  const onSignal = () => {
    killAll();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const deadline = setTimeout(() => {
    console.error(`timed out after ${timeoutS} s: killing the ranks`);
    killAll();
  }, timeoutS * 1000);
  try {
    return await Promise.all(
      Array.from(
        { length: ranks },
        (_, rank) =>
          new Promise<RankOut>((resolve) => {
            const c = spawn(process.execPath, [script, ...process.argv.slice(2)], {
              env: {
                ...process.env,
                RANK: String(rank),
                WORLD_SIZE: String(ranks),
                LOCAL_RANK: String(rank),
                LOCAL_WORLD_SIZE: String(ranks),
                MASTER_ADDR: '127.0.0.1',
                MASTER_PORT: String(port),
                OMP_NUM_THREADS: String(threads),
              },
              stdio: ['ignore', 'pipe', 'pipe'],
            });
            children.push(c);
            const out: RankOut = { code: null, signal: null, lines: [], stderr: '' };
            let buf = '';
            c.stdout!.on('data', (d) => {
              buf += d;
              let nl: number;
              while ((nl = buf.indexOf('\n')) >= 0) {
                const line = buf.slice(0, nl);
                buf = buf.slice(nl + 1);
                try {
                  out.lines.push(JSON.parse(line));
                } catch {
                  console.log(`[rank ${rank}] ${line}`);
                }
              }
            });
            c.stderr!.on('data', (d) => {
              out.stderr += d;
            });
            c.on('exit', (code, signal) => {
              out.code = code;
              out.signal = signal;
              if (code !== 0) setTimeout(killAll, 2000);
              resolve(out);
            });
          }),
      ),
    );
  } finally {
    clearTimeout(deadline);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
