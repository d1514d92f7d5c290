// Evaluation across ranks: each rank scores its shard of a DistributedSampler (shuffle off: rank r
// holds items r, r+W, r+2W, …, the last ones padded by wrapping around), and every rank needs the
// whole list in dataset order without the padding (upstream's concat_all_gather, then trim).
import type { Tensor } from '../core/tensor.js';
import { scope } from '../core/scope.js';
import { emptyLike } from '../core/creation.js';
import { stack } from '../core/functions.js';
import { allGather, getWorldSize, type ProcessGroup } from './process-group.js';

/**
 * Gathers `rows` (n, ...) from every rank and returns (total, ...) in dataset order: row j of rank
 * r is item j·W + r; items from `total` on are the sampler's padding and are dropped. Every rank
 * must pass the same n (DistributedSampler without dropLast guarantees it).
 */
export function allGatherRows(rows: Tensor, total: number, group?: ProcessGroup): Tensor {
  const W = getWorldSize(group);
  if (W === 1) return rows.narrow(0, 0, Math.min(total, rows.size(0))).clone();
  return scope(() => {
    const x = rows.contiguous();
    const parts = Array.from({ length: W }, () => emptyLike(x));
    allGather(parts, x, { group });
    const n = x.size(0);
    if (total > n * W) throw new RangeError(`allGatherRows: ${total} items but only ${n} × ${W} rows gathered`);
    // (W, n, ...) → (n, W, ...) → (n·W, ...): back to the sampler's interleaved order.
    const all = stack(parts, 1).reshape([n * W, ...x.shape.slice(1)]);
    return all.narrow(0, 0, total).clone();
  });
}
