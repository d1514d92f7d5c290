// What both trainers need to train data-parallel (docs/upstream/training.md#setup): the model wrapped in DDP on c10d,
// accumulation micro-steps that do not communicate, per-rank random draws that a resumed run
// reproduces, and logged values averaged over ranks.
import * as torch from '../torch.js';
import type { Module } from '../nn/module.js';
import type { Tensor } from '../core/tensor.js';
import { DistributedDataParallel } from '../distributed/ddp.js';
import { allReduce } from '../distributed/process-group.js';
import type { DdpParams } from './trainer-keys.js';

export interface DataParallel {
  rank: number;
  worldSize: number;
  ddp: DistributedDataParallel | null;
}

/** Wraps `model` in DDP when there is more than one rank (parameters then come from rank 0). */
export function dataParallel(model: Module, P: DdpParams, rank: number, worldSize: number): DataParallel {
  const ddp = worldSize > 1 ? new DistributedDataParallel(model, ddpOptions(P)) : null;
  return { rank, worldSize, ddp };
}

/** The DDP options of the trainer params (bucket_cap_mb, find_unused_parameters). */
export function ddpOptions(P: DdpParams): { bucketCapMb: number; findUnusedParameters: boolean } {
  return { bucketCapMb: P.ddp_bucket_cap_mb, findUnusedParameters: P.find_unused_parameters };
}

/**
 * Runs one micro-step's forward pass `fn` (only the forward: the caller runs backward on its
 * result afterwards): armed to synchronise on the last micro-step of an accumulation, local
 * (noSync) on the others.
 */
export function microStep<T>(dp: DataParallel, lastMicro: boolean, fn: () => T): T {
  if (!dp.ddp) return fn();
  const ddp = dp.ddp;
  return lastMicro ? ddp.forwardWith(fn) : ddp.noSync(() => ddp.forwardWith(fn));
}

/**
 * With several ranks, the default generator is re-seeded before each optimizer step from (seed,
 * rank, step): ranks draw different noise, and a resumed run draws what the uninterrupted one did
 * (rank 0's checkpointed generator state cannot stand for the other ranks'). One rank keeps the
 * checkpointed stream.
 */
export function seedStep(dp: DataParallel, seed: number, step: number): void {
  if (dp.worldSize > 1) torch.manualSeed(BigInt(seed) * 1_000_003n + BigInt(dp.rank) * 65_537n + BigInt(step) + 1n);
}

/**
 * The logged values of a step as numbers, averaged over ranks: the scalar tensors are stacked on
 * their device (in float64), all-reduced there with several ranks (NCCL needs device tensors),
 * and read back in one host transfer, the step's only sync. Undefined entries stay undefined.
 */
export function meanOverRanks<K extends string>(dp: DataParallel, values: Record<K, Tensor | undefined>): Record<K, number | undefined> {
  const keys = (Object.keys(values) as K[]).filter((k) => values[k] !== undefined);
  const out = {} as Record<K, number | undefined>;
  for (const k of Object.keys(values) as K[]) out[k] = undefined;
  if (!keys.length) return out;
  const avg = torch.scope(() => {
    const t = torch.stack(keys.map((k) => values[k]!.detach().reshape([]).double()));
    if (dp.worldSize > 1) allReduce(t, { op: 'avg' });
    return t.tolist() as number[];
  });
  keys.forEach((k, i) => {
    out[k] = avg[i];
  });
  return out;
}

/** For the run log: ', data parallel over N ranks (backend), K gradient buckets' (empty for one rank). */
export function describe(dp: DataParallel): string {
  return dp.ddp
    ? `, data parallel over ${dp.worldSize} ranks (${dp.ddp.group.backend}, ${dp.ddp.buckets.length} gradient bucket${dp.ddp.buckets.length === 1 ? '' : 's'})`
    : '';
}
