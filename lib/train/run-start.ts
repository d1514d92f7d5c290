// The start both trainers share: intra-op threads, the seed for model init, and the run folder
// with the config actually used (upstream copies the YAML to result_folder/config.yaml); only
// rank 0 writes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../torch.js';
import type { LoopParams } from './trainer-keys.js';

export function startRun(
  P: Pick<LoopParams, 'threads' | 'seed' | 'result_folder' | 'log_dir'>,
  configText: string,
  rank: number,
): { resultDir: string; modelsDir: string; logDir: string } {
  if (P.threads) torch.setNumThreads(P.threads);
  torch.manualSeed(P.seed);
  const resultDir: string = P.result_folder;
  if (rank === 0) {
    mkdirSync(resultDir, { recursive: true });
    writeFileSync(join(resultDir, 'config.yaml'), configText);
  }
  // upstream's log_dir (accelerate's project_dir) when given, else the run folder's logs/
  return { resultDir, modelsDir: join(resultDir, 'models'), logDir: P.log_dir ?? join(resultDir, 'logs') };
}
