// The Inception Score exactly as torch-fidelity computes it from the unbiased logits (N x C):
//
//   rows reordered by numpy.random.RandomState(rng_seed).permutation(N)   (shuffle = True)
//   p = softmax, log p = log_softmax over the classes, in float64
//   split i of `splits`: rows [floor(i N / splits), floor((i + 1) N / splits)),
//     q = mean of p over the rows, score_i = exp(mean over the rows of sum_c p (log p - log q))
//   ISC = numpy mean and population std (ddof 0) of the scores
//
// The permutation decides which images share a split, so it must be numpy's to the bit
// (mt19937.ts). NaN comes out as in torch-fidelity: fewer rows than splits leaves empty splits
// (the mean of nothing), and a class whose probability underflows to exactly 0 in every row of a
// split gives 0 * inf (logit gaps above ~745).
import * as torch from '../../torch.js';
import type { Tensor } from '../../torch.js';
import { randomStatePermutation } from './mt19937.js';
import { numpyMean, numpyStd } from './numpy-sum.js';

export interface IscOptions {
  /** Number of splits (torch-fidelity's isc_splits, default 10). */
  splits?: number;
  /** Shuffle the rows first (isc_shuffle, default true). */
  shuffle?: boolean;
  /** Seed of the shuffle (rng_seed, default 2020). */
  rngSeed?: number;
}

export interface IscResult {
  mean: number;
  /** Population std (ddof 0) of the split scores. */
  std: number;
  splitScores: number[];
  /** Rows per split, in order. */
  splitSizes: number[];
  /** The row order used (original row of each shuffled row); null without shuffling. */
  perm: Int32Array | null;
}

/** torch-fidelity's Inception Score of N x C logits (its `logits_unbiased` feature). */
export function inceptionScore(logitsUnbiased: Tensor, opts: IscOptions = {}): IscResult {
  const { splits = 10, shuffle = true, rngSeed = 2020 } = opts;
  if (logitsUnbiased.ndim !== 2) throw new TypeError(`inceptionScore: logits must be N x C, got shape [${logitsUnbiased.shape}]`);
  if (!logitsUnbiased.isFloatingPoint()) throw new TypeError(`inceptionScore: logits must be floating point, got ${logitsUnbiased.dtype}`);
  if (!Number.isSafeInteger(splits) || splits < 1) throw new RangeError(`inceptionScore: splits must be a positive integer, got ${splits}`);
  const n = logitsUnbiased.shape[0];
  const perm = shuffle ? randomStatePermutation(n, rngSeed) : null;
  return torch.scope(() => {
    let x = logitsUnbiased;
    if (perm) x = x.indexSelect(0, torch.fromTypedArray(perm, [n]).to(x.device).long());
    x = x.double();
    const p = x.softmax(1),
      logP = x.logSoftmax(1);
    const splitScores: number[] = [],
      splitSizes: number[] = [];
    for (let i = 0; i < splits; i++) {
      const lo = floorDiv(i * n, splits),
        hi = floorDiv((i + 1) * n, splits);
      splitSizes.push(hi - lo);
      splitScores.push(
        torch.scope(() => {
          const pc = p.narrow(0, lo, hi - lo),
            logPc = logP.narrow(0, lo, hi - lo);
          const logQ = pc.mean(0, true).log();
          return pc.mul(logPc.sub(logQ)).sum(1).mean().exp().item();
        }),
      );
    }
    return { mean: numpyMean(splitScores), std: numpyStd(splitScores), splitScores, splitSizes, perm };
  });
}

/** Python's a // b for non-negative integers, without floating-point rounding. */
function floorDiv(a: number, b: number): number {
  return (a - (a % b)) / b;
}
