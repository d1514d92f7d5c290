// Nested dropout of the condition tokens (upstream diffuse_slot.py `NestedSampler`;
// docs/upstream/tokenizer.md#nested-dropout): the keep mask mask[b, i] = i < k_b, with
// k_b ~ U{1..numSlots} in training and k = K (inference_with_n_slots) or numSlots in eval; and the
// epoch schedule that turns nesting on.
//
// Who does what in one tokenizer step (upstream DiffuseSlot.forward_with_latents + DiT.embed_cond):
//   1. The tokenizer updates its sticky flag: enableNest = nestEnabled(epoch, enableNestAfter, enableNest)
//      (on from epoch >= enableNestAfter, never off again; enableNestAfter = -1 or epoch null: unchanged).
//   2. It draws t = randint(0, 1000, [B]).
//   3. If useNestedMask(enableNest, K): dropMask = sampler.forward(B, {inferenceWithNSlots: K}); in
//      training this draws k = randint(1, numSlots + 1, [B]) (even when K is given: the training
//      branch wins, as upstream); in eval it is the first-K mask. Else dropMask = null.
//   4. The DiT's embed_cond (lib/models/tokenizer/dit.ts) then, with dropMask given, swaps the
//      dropped positions for null_cond[:, i] and does NO extra random drop; with dropMask null in
//      training, it draws rand(B, 1, 1) and replaces ALL tokens of a sample by null_cond where < 0.1
//      (ordinary CFG dropout, epochs < enableNestAfter); with dropMask null in eval, nothing.
// Draw order in a training step: t, then k (nested regime only), then the diffusion noise, then the
// DiT's all-null draw (non-nested regime only).
import type { Tensor } from '../../core/tensor.js';
import { scope } from '../../core/scope.js';
import { arange, full, randint } from '../../core/creation.js';
import type { Generator } from '../../core/random.js';
import { Module } from '../../nn/module.js';

/** mask[b, i] = i < min(k_b, numSlots) (true = keep the token): (B, numSlots) bool on k's device. */
export function prefixMask(k: Tensor, numSlots: number): Tensor {
  return scope(() => {
    const kk = k.clamp(null, numSlots);
    return arange(numSlots, { device: k.device }).unsqueeze(0).lt(kk.unsqueeze(1));
  });
}

export interface NestedSamplerOptions {
  /** Device of the mask (default cpu). Training draws happen on the CPU generator, then move, as upstream. */
  device?: string;
  /** Eval only: keep the first K tokens (upstream inference_with_n_slots; -1 = all numSlots). */
  inferenceWithNSlots?: number;
  /** Training only: the per-sample k to use instead of drawing (replays recorded randint values). */
  k?: Tensor;
  /** Generator for the training draw. */
  generator?: Generator;
}

/**
 * Upstream NestedSampler. It holds no buffer: upstream's `arange` buffer is absent from the
 * official EMA checkpoints, so strict loading works without it; it is made on the fly here.
 */
export class NestedSampler extends Module {
  constructor(readonly numSlots: number) {
    super();
  }

  /** k ~ U{1..numSlots}: randint(1, numSlots + 1, [n]) (int64, CPU), upstream uniform_sample. */
  uniformSample(n: number, generator?: Generator): Tensor {
    return randint(1, this.numSlots + 1, [n], { generator });
  }

  /** The keep mask (batchSize, numSlots), bool, true = keep; see the file comment for the modes. */
  override forward(batchSize: number, o: NestedSamplerOptions = {}): Tensor {
    const device = o.device ?? 'cpu';
    return scope(() => {
      let k: Tensor;
      if (this.training) {
        k = o.k ?? this.uniformSample(batchSize, o.generator);
        if (k.ndim !== 1 || k.size(0) !== batchSize) throw new Error(`NestedSampler: k must have shape [${batchSize}], got [${k.shape}]`);
        k = k.to({ device, dtype: 'int64' });
      } else {
        if (o.k) throw new Error('NestedSampler: k replaces the training draw; in eval give inferenceWithNSlots');
        const K = o.inferenceWithNSlots ?? -1;
        k = full([batchSize], K === -1 ? this.numSlots : K, { dtype: 'int64', device });
      }
      return prefixMask(k, this.numSlots);
    });
  }

  override extraRepr(): string {
    return `num_slots=${this.numSlots}`;
  }
}

/**
 * The sticky nesting flag after seeing `epoch` (upstream forward_with_latents): true once
 * epoch >= enableNestAfter (enableNestAfter = -1 disables the switch; a null epoch, as in eval,
 * changes nothing); `current` is the flag so far (config enable_nest at start).
 */
export function nestEnabled(epoch: number | null | undefined, enableNestAfter: number, current = false): boolean {
  if (current) return true;
  return epoch !== null && epoch !== undefined && enableNestAfter !== -1 && epoch >= enableNestAfter;
}

/** Whether the DiT gets a nested drop mask (else null, and the DiT does its own all-null p = 0.1 drop in training). */
export function useNestedMask(enableNest: boolean, inferenceWithNSlots = -1): boolean {
  return enableNest || inferenceWithNSlots !== -1;
}

/** The usual token counts to show or evaluate: 1, 2, 4, … below n, then n. */
export function powerOfTwoPrefixes(n: number): number[] {
  const out: number[] = [];
  for (let k = 1; k < n; k *= 2) out.push(k);
  return [...out, n];
}
