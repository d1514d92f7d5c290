// Training checkpoints: result_folder/models/step{N}/ with the model weights (safetensors), the EMA
// weights, the optimizer and scheduler state, the RNG states, the data position and the config.
// A checkpoint is written into a temporary folder and renamed into place when complete, so a crash
// mid-save never leaves a step folder that looks complete; only the newest `keep` are kept.
import { mkdirSync, readdirSync, renameSync, rmSync, existsSync, readFileSync, writeFileSync, openSync, fsyncSync, closeSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Tensor } from '../core/tensor.js';
import { scope } from '../core/scope.js';
import type { Generator } from '../core/random.js';
import type { Module } from '../nn/module.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { EMA } from '../optim/ema.js';
import type { LRScheduler } from '../optim/schedulers.js';
import type { GradScaler } from '../optim/grad-scaler.js';
import { safetensors, save as torchSave, load as torchLoad } from '../serialization/index.js';

/** Where the data loader is: the next batch to train on is batch `batch` of epoch `epoch`. */
export interface DataPosition {
  epoch: number;
  batch: number;
}

export interface TrainParts {
  model: Module;
  optimizer: Optimizer<any>;
  scheduler?: LRScheduler | null;
  ema?: EMA | null;
  /**
   * Generators whose state is saved and restored: the default CPU generator first, then the job's
   * CUDA generator on CUDA jobs. A checkpoint written on another device restores the generators
   * both have (the CPU's); the rest keep their seeded state, and loadCheckpoint says so.
   */
  generators?: Generator[];
  /** The fp16 loss scaler (scale and growth tracker are saved). */
  scaler?: GradScaler | null;
}

export interface CheckpointMeta {
  step: number;
  data: DataPosition;
  time: string;
  [k: string]: unknown;
}

/** What loadCheckpoint could not restore as saved (e.g. a CUDA generator on a CPU resume). */
export interface LoadNotes {
  notes: string[];
}

const STEP_DIR = /^step(\d+)$/;
const COMPLETE = 'complete.json';

function fsyncFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes models/step{step}/ (atomically) and removes all but the newest `keep` complete checkpoints. */
export function saveCheckpoint(
  modelsDir: string,
  step: number,
  parts: TrainParts,
  o: { data: DataPosition; configText?: string; keep?: number; extra?: Record<string, unknown> },
): string {
  mkdirSync(modelsDir, { recursive: true });
  const final = join(modelsDir, `step${step}`);
  const tmp = join(modelsDir, `.step${step}.partial-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  scope(() => {
    safetensors.saveFile(parts.model.stateDict(), join(tmp, 'model.safetensors'));
    if (parts.ema) safetensors.saveFile(parts.ema.stateDict(), join(tmp, 'ema.safetensors'));
    torchSave(parts.optimizer.stateDict(), join(tmp, 'optimizer.pt'));
    if (parts.generators?.length)
      torchSave(
        parts.generators.map((g) => g.getState()),
        join(tmp, 'rng.pt'),
      );
  });
  if (parts.scheduler) writeFileSync(join(tmp, 'scheduler.json'), JSON.stringify(parts.scheduler.stateDict()));
  if (parts.scaler) writeFileSync(join(tmp, 'scaler.json'), JSON.stringify(parts.scaler.stateDict()));
  if (o.configText !== undefined) writeFileSync(join(tmp, 'config.yaml'), o.configText);
  const meta: CheckpointMeta = { step, data: o.data, time: new Date().toISOString(), ...o.extra };
  writeFileSync(join(tmp, COMPLETE), JSON.stringify(meta, null, 2));
  for (const f of readdirSync(tmp)) fsyncFile(join(tmp, f));
  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  fsyncFile(modelsDir);
  if (o.keep !== undefined && o.keep > 0) {
    for (const old of listCheckpoints(modelsDir).slice(0, -o.keep)) rmSync(old.path, { recursive: true, force: true });
  }
  return final;
}

/** Complete checkpoints in modelsDir, oldest first. */
export function listCheckpoints(modelsDir: string): { step: number; path: string }[] {
  if (!existsSync(modelsDir)) return [];
  return readdirSync(modelsDir)
    .map((name) => ({ m: STEP_DIR.exec(name), path: join(modelsDir, name) }))
    .filter((e) => e.m && existsSync(join(e.path, COMPLETE)) && statSync(e.path).isDirectory())
    .map((e) => ({ step: Number(e.m![1]), path: e.path }))
    .sort((a, b) => a.step - b.step);
}

export function latestCheckpoint(modelsDir: string): string | null {
  const all = listCheckpoints(modelsDir);
  return all.length ? all[all.length - 1].path : null;
}

/** Restores everything saveCheckpoint wrote into the given parts; returns the checkpoint's meta. */
export function loadCheckpoint(dir: string, parts: TrainParts): CheckpointMeta & LoadNotes {
  const notes: string[] = [];
  const metaPath = join(dir, COMPLETE);
  if (!existsSync(metaPath)) throw new Error(`${dir}: not a complete checkpoint (no ${COMPLETE})`);
  const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as CheckpointMeta;
  scope(() => {
    parts.model.loadStateDict(safetensors.loadFile(join(dir, 'model.safetensors')), { strict: true });
    if (parts.ema) parts.ema.loadStateDict(Object.fromEntries(safetensors.loadFile(join(dir, 'ema.safetensors'))));
    parts.optimizer.loadStateDict(mapsToObjects(torchLoad(join(dir, 'optimizer.pt'))));
    if (parts.generators?.length) {
      const states = torchLoad(join(dir, 'rng.pt')) as Tensor[];
      if (!Array.isArray(states) || states.length < 1) throw new Error(`${dir}/rng.pt: expected a list of generator states (the CPU's first)`);
      const n = Math.min(states.length, parts.generators.length);
      for (let i = 0; i < n; i++) parts.generators[i].setState(states[i]);
      if (states.length !== parts.generators.length)
        notes.push(
          `${dir}/rng.pt holds ${states.length} generator state(s) for this job's ${parts.generators.length} (a checkpoint from another device): the CPU generator is restored, ${states.length > n ? 'the saved CUDA state is not used' : "this device's generator keeps its seeded state"}`,
        );
    }
  });
  if (parts.scheduler) parts.scheduler.loadStateDict(JSON.parse(readFileSync(join(dir, 'scheduler.json'), 'utf8')));
  if (parts.scaler) {
    const f = join(dir, 'scaler.json');
    if (existsSync(f)) parts.scaler.loadStateDict(JSON.parse(readFileSync(f, 'utf8')));
    else notes.push(`${dir}: no scaler.json (saved without fp16): the loss scale starts at ${parts.scaler.getScale()}`);
  }
  return { ...meta, notes };
}

/** Dicts come back from torch.load as Maps; the optimizer expects plain objects. */
function mapsToObjects(x: any): any {
  if (x instanceof Map) return Object.fromEntries([...x].map(([k, v]) => [k, mapsToObjects(v)]));
  if (Array.isArray(x)) return x.map(mapsToObjects);
  return x;
}
