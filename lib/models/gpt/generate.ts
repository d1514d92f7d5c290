// Class-conditional generation of continuous tokens with ϵLlamaGen (upstream generate.py, docs/upstream/gpt.md#sampling):
// KV-cached autoregression over the GPT, each token drawn by the diffusion head's SDE sampler.
//
//   1. With cfgScale > 1 the batch is doubled: [labels; null class] (the null class is numClasses).
//   2. Caches for clsTokenNum + numTokens positions (rounded up to a multiple of 8), in the autocast
//      dtype when autocast is on (upstream get_autocast_dtype), else the weights' dtype.
//   3. Prefill the class token(s) → condition for token 0 → head.sample at cfg_0.
//   4. For k = 1..n−1: feed token k−1 (the same token to both halves) at position clsTokenNum−1+k →
//      condition for token k → head.sample at cfg_k.
//   CFG schedule (upstream get_cfg): 'constant' → cfgScale; 'linear' → 1 + (cfgScale − 1)(k + 1)/n,
//   so the last token gets the full scale. CFG itself lives in the head (v_u + s(v_c − v_u)).
// The tokens come back as (B, n, slotDim) in the cache dtype (as upstream's `seq`), and the caches are
// freed before returning, also on error.
import type { Tensor } from '../../core/tensor.js';
import { scope } from '../../core/scope.js';
import { noGrad, autocastState } from '../../core/modes.js';
import { deviceType } from '../../core/device.js';
import { cat, stack } from '../../core/functions.js';
import { fullLike } from '../../core/creation.js';
import type { DType } from '../../core/dtype.js';
import type { Generator } from '../../core/random.js';
import type { GPT } from './gpt.js';
import { cfgSchedule, type DiffLoss } from './diffloss.js';

export interface GenerateOptions {
  /** Guidance scale (default 1: no CFG, the batch is not doubled). */
  cfgScale?: number;
  /** How the scale ramps over the tokens (default 'constant', as upstream's default). */
  cfgSchedule?: 'linear' | 'constant';
  /** Scales the head's SDE noise (default 1). */
  temperature?: number;
  /** The KV cache's dtype (default: the autocast dtype when autocast is on for the weights' device, else the weights'). */
  cacheDtype?: DType;
  generator?: Generator;
  /** Replays the head's initial draw for token k ((B, C): duplicated for the CFG halves). */
  noise?: (k: number) => Tensor;
  /** Replays the head's Euler–Maruyama draw i of token k (shaped like the rows sampled). */
  stepNoise?: (k: number, i: number, like: Tensor) => Tensor;
  /** Called per token with its condition (all rows), scale and sampled token (B, C); do not keep them without cloning. */
  onToken?: (k: number, info: { cond: Tensor; cfg: number; token: Tensor }) => void;
}

/** Generates numTokens tokens per label: (B, numTokens, slotDim). */
export function generate(gpt: GPT<DiffLoss>, labels: Tensor, numTokens: number, o: GenerateOptions = {}): Tensor {
  const head = gpt.diffloss;
  if (!head) throw new Error('generate: the GPT has no diffusion head (diffloss)');
  if (labels.ndim !== 1) throw new Error(`generate: labels must be (B), got (${labels.shape.join(', ')})`);
  if (!Number.isInteger(numTokens) || numTokens < 1 || numTokens > gpt.config.numSlots)
    throw new Error(`generate: numTokens must be an integer in 1..${gpt.config.numSlots}, got ${numTokens}`);
  const cfgScale = o.cfgScale ?? 1;
  const schedule = o.cfgSchedule ?? 'constant';
  const doubled = cfgScale > 1;
  const B = labels.shape[0];
  const ac = autocastState(deviceType(gpt.z_proj.weight.device));
  const dtype = o.cacheDtype ?? (ac.enabled ? ac.dtype : gpt.z_proj.weight.dtype);
  return noGrad(() =>
    scope(() => {
      const allLabels = doubled ? cat([labels, fullLike(labels, gpt.config.numClasses)], 0) : labels;
      gpt.setupCaches(doubled ? 2 * B : B, gpt.clsTokenNum + numTokens, dtype);
      try {
        const tokens: Tensor[] = [];
        let cond = gpt.prefill(allLabels);
        for (let k = 0; k < numTokens; k++) {
          if (k > 0) {
            const prev = tokens[k - 1];
            cond = gpt.decodeStep(doubled ? cat([prev, prev], 0) : prev, k);
          }
          const cfg = cfgSchedule(cfgScale, k, numTokens, schedule);
          // upstream passes the scheduled scale to the head; with a doubled batch it is > 1 here
          const token = head.sample(cond, {
            cfg: doubled ? cfg : 1,
            temperature: o.temperature,
            generator: o.generator,
            noise: o.noise?.(k),
            stepNoise: o.stepNoise ? (i, like) => o.stepNoise!(k, i, like) : undefined,
          });
          o.onToken?.(k, { cond, cfg, token });
          tokens.push(token);
        }
        return stack(tokens, 1).to(dtype);
      } finally {
        gpt.clearCaches();
      }
    }),
  );
}
