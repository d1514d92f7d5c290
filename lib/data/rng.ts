// The augmentation RNG: a small counter-seeded generator (sfc32 over a murmur3-mixed key) so each
// sample's random crop/flip is a pure function of (seed, epoch, index, draw), whichever thread
// or worker decodes it and whether or not the run was resumed. Torch-free.

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Mixes integer keys (each taken as up to 53 bits) into 32-bit words. */
function mixKeys(keys: readonly number[], salt: number): number {
  let h = fmix32(0x9e3779b9 ^ salt);
  for (const k of keys) {
    if (!Number.isSafeInteger(k)) throw new RangeError(`rng key must be a safe integer, got ${k}`);
    const lo = k >>> 0,
      hi = Math.floor(k / 0x100000000) >>> 0;
    h = fmix32(Math.imul(h ^ lo, 0xcc9e2d51) + 0x1b873593);
    h = fmix32(Math.imul(h ^ hi, 0xcc9e2d51) + 0xe6546b64);
  }
  return h;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  /** A generator determined by the keys alone. */
  constructor(...keys: number[]) {
    this.a = mixKeys(keys, 1);
    this.b = mixKeys(keys, 2);
    this.c = mixKeys(keys, 3);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.next();
  }
  /** A uniform uint32 (sfc32). */
  next(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }
  /** Uniform in [0, 1) with 53 random bits. */
  random(): number {
    return ((this.next() >>> 5) * 67108864 + (this.next() >>> 6)) / 9007199254740992;
  }
  /** Uniform integer in [0, n) (unbiased). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 0x100000000) throw new RangeError(`Rng.int: n must be in [1, 2^32], got ${n}`);
    const limit = 0x100000000 - (0x100000000 % n);
    let v: number;
    do v = this.next();
    while (v >= limit);
    return v % n;
  }
}

/** The generator for one sample's augmentation: draw 0 normally, 1+ for a replacement sample. */
export function augmentationRng(seed: number, epoch: number, index: number, draw = 0): Rng {
  return new Rng(seed, epoch, index, draw);
}
