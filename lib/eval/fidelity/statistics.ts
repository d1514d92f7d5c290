// FID statistics of a feature set, computed as torch-fidelity computes them, and their .npz files.
//
// torch-fidelity turns the N x D float32 features into numpy and takes
//   mu    = np.mean(features, axis=0)            float32
//   sigma = np.cov(features, rowvar=False)       float64
// np.mean over axis 0 of a C-order float32 array adds the rows one after another in float32 (the
// pairwise summation numpy is known for applies along the contiguous axis only) and divides by N;
// we do exactly that, so mu equals torch-fidelity's bit for bit. np.cov converts to float64,
// subtracts the float64 mean (also a row-by-row sum) and forms X^T X / (N - 1) (numpy multiplies by
// 1 / (N - 1)) with BLAS; our product comes from libtorch's BLAS in blocks of rows, equal to numpy's
// up to the rounding of the sums' order, and is made exactly symmetric like numpy's syrk result.
//
// Files: keys `mu` (float32) and `sigma` (float64), as torch-fidelity's fid_statistics_file.
// torch-fidelity asserts that both mus and both sigmas of an FID have equal dtypes, so a file with
// another dtype (a float64 mu, say) cannot be compared with freshly computed statistics: it is
// refused when loaded, naming the file and the dtypes.
import * as torch from '../../torch.js';
import type { Tensor } from '../../torch.js';
import { CheckpointError } from '../../serialization/errors.js';
import { loadNpz, saveNpz } from './npz.js';

export interface FidStatistics {
  /** [D] float32. */
  mu: Tensor;
  /** [D, D] float64. */
  sigma: Tensor;
  /** Where they came from (a file path), for error messages. */
  source?: string;
}

/** Rows per block when reading the features and accumulating X^T X (bounds the float64 copies). */
const ROWS = 1024;

/** mu and sigma of N x D float32 features (any device; the result is on the CPU). */
export function fidStatistics(features: Tensor): FidStatistics {
  if (features.ndim !== 2) throw new TypeError(`fidStatistics: features must be N x D, got shape [${features.shape}]`);
  if (features.dtype !== 'float32') throw new TypeError(`fidStatistics: features must be float32 (torch-fidelity's extractor output), got ${features.dtype}`);
  const [n, d] = features.shape;
  if (n === 0) throw new RangeError('fidStatistics: no features (N = 0)');
  return torch.scope(() => {
    const x = features.device === 'cpu' ? features : features.cpu();
    // Pass 1: row-by-row sums, float32 (numpy's mean of float32) and float64 (np.cov's mean).
    const acc32 = new Float32Array(d),
      acc64 = new Float64Array(d);
    for (let r0 = 0; r0 < n; r0 += ROWS) {
      const rows = Math.min(ROWS, n - r0);
      const block = x.narrow(0, r0, rows).contiguous().toTypedArray() as Float32Array;
      for (let i = 0; i < rows; i++) {
        const o = i * d;
        // A Float32Array store rounds the (exact-in-float64) sum of two float32 values to float32,
        // which is exactly float32 addition.
        for (let j = 0; j < d; j++) {
          const v = block[o + j];
          acc32[j] += v;
          acc64[j] += v;
        }
      }
    }
    const mu32 = acc32.map((s) => s / n); // float64 quotient rounded once to float32, as numpy's
    const mu64 = acc64.map((s) => s / n);
    const mean64 = torch.fromTypedArray(mu64, [d]);
    // Pass 2: X^T X of the centred float64 features, block by block.
    const xtx = torch.zeros([d, d], { dtype: 'float64' });
    for (let r0 = 0; r0 < n; r0 += ROWS) {
      torch.scope(() => {
        const c = x
          .narrow(0, r0, Math.min(ROWS, n - r0))
          .double()
          .sub(mean64);
        xtx.add_(c.t().mm(c));
      });
    }
    // The upper triangle mirrored: exactly symmetric, as numpy's X^T X (BLAS syrk) is.
    const upper = xtx.triu();
    const sigma = upper.add(upper.triu(1).t()).mul(1 / (n - 1));
    return { mu: torch.fromTypedArray(mu32, [d]), sigma };
  });
}

/** Writes statistics as torch-fidelity's fid_statistics_file (.npz with `mu` and `sigma`), atomically. */
export function saveFidStatistics(path: string, stats: FidStatistics, opts: { compress?: boolean } = {}): void {
  checkStatistics(stats, path);
  saveNpz(path, { mu: stats.mu, sigma: stats.sigma }, opts);
}

/**
 * Reads a fid_statistics_file (keys `mu`, `sigma`; other keys are ignored). The dtypes must be
 * torch-fidelity's own (float32 mu, float64 sigma): anything else would fail its dtype assertion
 * against freshly computed statistics, so it is refused here with the file and dtypes named.
 */
export function loadFidStatistics(path: string): FidStatistics {
  const m = loadNpz(path, { keys: ['mu', 'sigma'] });
  const stats: FidStatistics = { mu: m.get('mu')!, sigma: m.get('sigma')!, source: path };
  try {
    checkStatistics(stats, path);
  } catch (e) {
    stats.mu.dispose();
    stats.sigma.dispose();
    throw e;
  }
  return stats;
}

/** Shapes [D] and [D, D], dtypes float32 and float64; errors name `where` and what was found. */
export function checkStatistics(stats: FidStatistics, where = stats.source ?? 'FID statistics'): void {
  const { mu, sigma } = stats;
  if (mu.dtype !== 'float32' || sigma.dtype !== 'float64') {
    throw new CheckpointError(
      where,
      `FID statistics have mu ${mu.dtype} and sigma ${sigma.dtype}; torch-fidelity's are mu float32 and sigma float64 ` +
        `and it asserts equal dtypes on both sides of an FID (mu1.dtype == mu2.dtype, sigma1.dtype == sigma2.dtype), so this file would fail there ` +
        `(convert it, e.g. numpy.savez(path, mu=mu.astype(numpy.float32), sigma=sigma.astype(numpy.float64)))`,
    );
  }
  const d = mu.shape[0];
  if (mu.ndim !== 1 || sigma.ndim !== 2 || sigma.shape[0] !== d || sigma.shape[1] !== d) {
    throw new CheckpointError(where, `FID statistics must be mu [D] and sigma [D, D]; got mu [${mu.shape}] and sigma [${sigma.shape}]`);
  }
}
