// numpy's float64 sum, mean and population std of a 1-D array, bit for bit.
//
// torch-fidelity finishes its metrics in numpy (np.trace, np.sum of the square roots, np.mean and
// np.std of the split scores). numpy sums a 1-D float64 array with pairwise summation: blocks of
// at most 128 elements are summed with 8 interleaved accumulators, longer runs are split in two
// (the first half a multiple of 8) and the halves added. Doing the same keeps our results equal
// to numpy's rather than merely close.

const BLOCK = 128;

function pairwise(a: ArrayLike<number>, start: number, n: number, stride: number): number {
  if (n < 8) {
    let r = 0;
    for (let i = 0; i < n; i++) r += a[start + i * stride];
    return r;
  }
  if (n <= BLOCK) {
    const r = [0, 1, 2, 3, 4, 5, 6, 7].map((j) => a[start + j * stride]);
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += a[start + (i + j) * stride];
    let res = r[0] + r[1] + (r[2] + r[3]) + (r[4] + r[5] + (r[6] + r[7]));
    for (; i < n; i++) res += a[start + i * stride];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwise(a, start, n2, stride) + pairwise(a, start + n2 * stride, n - n2, stride);
}

/**
 * numpy.sum of the float64 values a[start], a[start + stride], ... (n of them; default all that
 * fit). The reduction starts from the identity 0, so -0.0 sums to +0.0 as in numpy.
 */
export function numpySum(a: ArrayLike<number>, start = 0, stride = 1, n = Math.max(0, Math.ceil((a.length - start) / stride))): number {
  return 0 + pairwise(a, start, n, stride);
}

/** numpy.mean of a 1-D float64 array (NaN for no elements, as numpy's 0/0). */
export function numpyMean(a: ArrayLike<number>): number {
  return numpySum(a) / a.length;
}

/** numpy.std (ddof 0, the population std) of a 1-D float64 array. */
export function numpyStd(a: ArrayLike<number>): number {
  const mean = numpyMean(a);
  const sq = Float64Array.from(a, (x) => (x - mean) * (x - mean));
  return Math.sqrt(numpySum(sq) / a.length);
}
