// The Mersenne Twister MT19937 and numpy's legacy `RandomState(seed).permutation(n)`, bit for bit.
//
// torch-fidelity's Inception Score shuffles the logits with numpy.random.RandomState(2020)
// before splitting them, so the score depends on exactly which rows land in which split. numpy's
// RandomState seeds MT19937 with the reference `init_genrand(seed)` and shuffles with a Fisher-Yates
// pass from the last index down, drawing each index j in [0, i] by masked rejection: take 32-bit
// outputs, keep the low bits under the smallest all-ones mask >= i, retry while the result exceeds
// i. Any other way of drawing (modulo, floats) gives a different permutation.

const N = 624,
  M = 397;
const MATRIX_A = 0x9908b0df,
  UPPER = 0x80000000,
  LOWER = 0x7fffffff;

export class MT19937 {
  private readonly mt = new Uint32Array(N);
  private pos = N;

  /** init_genrand(seed), as numpy's RandomState(seed) for an integer seed in [0, 2^32). */
  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`MT19937 seed must be an integer in [0, 2**32 - 1], got ${seed}`);
    const mt = this.mt;
    mt[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      // 1812433253 * prev + i modulo 2^32; Math.imul keeps the low 32 bits exactly.
      mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
  }

  private twist(): void {
    const mt = this.mt;
    for (let k = 0; k < N; k++) {
      const y = (mt[k] & UPPER) | (mt[(k + 1) % N] & LOWER);
      mt[k] = mt[(k + M) % N] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    this.pos = 0;
  }

  /** genrand_int32: the next tempered 32-bit output, as an unsigned number. */
  nextUint32(): number {
    if (this.pos >= N) this.twist();
    let y = this.mt[this.pos++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** numpy's random_interval(max) for max < 2^32: uniform in [0, max] by masked rejection. */
  interval(max: number): number {
    if (max === 0) return 0;
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    let v: number;
    do v = (this.nextUint32() & mask) >>> 0;
    while (v > max);
    return v;
  }
}

/**
 * numpy.random.RandomState(seed).permutation(n): arange(n) shuffled in place by the legacy
 * shuffle (for i = n-1 down to 1: j = interval(i); swap i and j).
 */
export function randomStatePermutation(n: number, seed: number): Int32Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`permutation length must be a non-negative integer, got ${n}`);
  // numpy draws 64-bit values for bounds of 2^32 and more; an Int32Array cannot hold such n anyway.
  if (n > 0x7fffffff) throw new RangeError(`permutation length ${n} is too large (at most 2^31 - 1 here)`);
  const rng = new MT19937(seed);
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i >= 1; i--) {
    const j = rng.interval(i);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}
