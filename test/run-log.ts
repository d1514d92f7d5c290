// Reading what a training run left behind, for the end-to-end tests.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** `key` by step from result_folder/logs/<name>.jsonl; a step logged twice (before a kill and after the resume) keeps the last. */
export function loggedByStep(out: string, name: string, key: string): Map<number, number> {
  const m = new Map<number, number>();
  for (const line of readFileSync(join(out, 'logs', `${name}.jsonl`), 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const r = JSON.parse(line);
    if (typeof r[key] === 'number') m.set(r.step, r[key]);
  }
  return m;
}

/** Whether a process with this pid still exists. */
export const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
