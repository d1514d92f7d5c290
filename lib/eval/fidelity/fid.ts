// The Fréchet Inception Distance exactly as torch-fidelity computes it from two statistics:
//
//   diff = mu1 - mu2                                   (float32, mu's dtype)
//   tr_covmean = np.sum(np.sqrt(np.linalg.eigvals(sigma1.dot(sigma2)).astype(complex128)).real)
//   fid = diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_covmean
//
// The eigenvalues are all D of the float64 product from a general (non-symmetric) solver, LAPACK
// geev here as in numpy (libtorch's linalg_eigvals), square-rooted as complex numbers; only the
// real parts are summed, so a negative real eigenvalue adds 0. With fewer images than dimensions
// the product has rank < D and the solver returns the null space as noise of size ~1e-7 whose
// roots add a small positive bias to the trace: that bias is part of torch-fidelity's number, so we
// keep the same route (frechetDistanceLowRank in low-rank.ts computes the bias-free value).
// d.d is a float32 dot product as numpy's (BLAS sdot); the traces and the final sum are float64
// in numpy's order, with numpy's pairwise summation.
//
// Threads: geev's QR iterations are long chains of small BLAS-1/2 calls, where extra threads
// mostly wait for each other. On this project's shared 2-core machine the 2048 x 2048 solve took
// 2.2-2.8 s with one thread and 14-17 s with two (numpy alike: 3.0 s vs 10 s), so the solver runs
// on one intra-op thread by default (`solverThreads`; null keeps the process setting). The thread
// count does not change the result beyond rounding.
import * as torch from '../../torch.js';
import type { Tensor } from '../../torch.js';
import { checkStatistics, type FidStatistics } from './statistics.js';
import { numpySum } from './numpy-sum.js';

export interface FidParts {
  /** d.d in float32 (as used). */
  muTerm: number;
  traceSigma1: number;
  traceSigma2: number;
  /** Sum of Re sqrt(eigenvalues of sigma1 . sigma2). */
  trCovmean: number;
  fid: number;
  /** The eigenvalues of sigma1 . sigma2 as interleaved (re, im) pairs, solver order. */
  eigenvalues: Float64Array;
}

export interface FidOptions {
  /** Intra-op threads for the eigen-solver (default 1; null: the process setting). */
  solverThreads?: number | null;
}

/** torch-fidelity's FID between two statistics (mu float32 [D], sigma float64 [D, D]). */
export function frechetDistance(stats1: FidStatistics, stats2: FidStatistics, opts: FidOptions = {}): number {
  return frechetDistanceParts(stats1, stats2, opts).fid;
}

/** The FID and its pieces (for tests and diagnostics). */
export function frechetDistanceParts(stats1: FidStatistics, stats2: FidStatistics, opts: FidOptions = {}): FidParts {
  const name1 = stats1.source ?? 'the first statistics',
    name2 = stats2.source ?? 'the second statistics';
  checkStatistics(stats1, name1);
  checkStatistics(stats2, name2);
  // torch-fidelity's assertions: equal shapes (and dtypes, which checkStatistics fixed for both).
  if (stats1.mu.shape[0] !== stats2.mu.shape[0]) {
    throw new RangeError(`FID: ${name1} has D = ${stats1.mu.shape[0]} features but ${name2} has ${stats2.mu.shape[0]}`);
  }
  return torch.scope(() => {
    const cpu = (t: Tensor) => (t.device === 'cpu' ? t : t.cpu());
    const [mu1, mu2, s1, s2] = [stats1.mu, stats2.mu, stats1.sigma, stats2.sigma].map(cpu);
    const diff = mu1.sub(mu2);
    const muTerm = torch.ops.aten.dot(diff, diff).item();
    const traceSigma1 = trace(s1),
      traceSigma2 = trace(s2);
    const product = s1.mm(s2);
    const eig = withThreads(opts.solverThreads === undefined ? 1 : opts.solverThreads, () =>
      torch.ops.aten.view_as_real(torch.ops.aten.linalg_eigvals(product)).contiguous(),
    );
    const eigenvalues = eig.toTypedArray() as Float64Array;
    const roots = new Float64Array(eigenvalues.length / 2);
    for (let i = 0; i < roots.length; i++) roots[i] = sqrtRe(eigenvalues[2 * i], eigenvalues[2 * i + 1]);
    const trCovmean = numpySum(roots);
    const fid = muTerm + traceSigma1 + traceSigma2 - 2 * trCovmean;
    return { muTerm, traceSigma1, traceSigma2, trCovmean, fid, eigenvalues: Float64Array.from(eigenvalues) };
  });
}

/** Runs fn with `n` intra-op threads (null: unchanged), restoring the previous count. */
function withThreads<T>(n: number | null, fn: () => T): T {
  const before = torch.getNumThreads();
  if (n === null || n === before) return fn();
  torch.setNumThreads(n);
  try {
    return fn();
  } finally {
    torch.setNumThreads(before);
  }
}

/** np.trace of a float64 square matrix: numpy's pairwise sum of the diagonal. */
function trace(m: Tensor): number {
  const n = m.shape[0];
  const diag = torch.ops.aten.diagonal(m).contiguous().toTypedArray() as Float64Array;
  return numpySum(diag, 0, 1, n);
}

/**
 * Re sqrt(a + bi) on the principal branch (C99 csqrt, which numpy uses): sqrt((|z| + a) / 2) for
 * a >= 0; for a < 0 the equivalent |b| / (2 sqrt((|z| - a) / 2)), which avoids cancellation and
 * is 0 for a negative real number.
 */
export function sqrtRe(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return NaN;
  if (a === 0 && b === 0) return 0;
  const r = Math.hypot(a, b);
  if (a >= 0) return Math.sqrt((r + a) / 2);
  return Math.abs(b) / (2 * Math.sqrt((r - a) / 2));
}
