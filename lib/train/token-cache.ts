// The AR trainer's token cache (upstream GPTTrainer._build_cache, docs/upstream/gpt.md#token-cache): the frozen tokenizer
// encoder runs once over this rank's share of the dataset, every configured view of every image
// (tencrop_cached: 20, centercrop_cached: 2), in float32, and the first numTokens tokens go to flat
// files in a configurable folder (not upstream's hard-coded /dev/shm):
//   slots_rank{r}_of_{W}.f32     float32 [rows, numTokens, slotDim], row = image i · views + view v
//   targets_rank{r}_of_{W}.i64   int64 [rows] (class labels)
//   cache_rank{r}_of_{W}.json    the key it was built for and the shapes, written last (atomically):
//                                a folder without it, or with another key, is rebuilt
// The key names what the tokens depend on (tokenizer weights, dataset, views, numTokens), so the
// cache is reused when they are unchanged and rebuilt otherwise. Each epoch draws `numImages` rows
// with replacement over all cached rows from a generator seeded 42 + rank + epoch (upstream's
// CacheDataLoader; its numpy stream is not reproduced). Rows are read with positioned reads, so the
// cache never has to fit in memory.
import { openSync, closeSync, readSync, writeSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import * as torch from '../torch.js';
import type { Tensor } from '../core/tensor.js';
import { writeFileAtomic } from '../serialization/atomic.js';

/** What the cached tokens depend on; any difference means a rebuild. */
export type TokenCacheKey = Record<string, string | number | boolean | null>;

export interface TokenCacheManifest {
  key: TokenCacheKey;
  numImages: number;
  views: number;
  numTokens: number;
  slotDim: number;
  complete: true;
}

/** A batch source for building: yields images (B, C, H, W) or (B, V, C, H, W) with labels (B); the consumer frees them. */
export type CacheSource = AsyncIterable<{ images: Tensor; labels: Tensor }>;

export interface BuildOptions {
  dir: string;
  key: TokenCacheKey;
  rank?: number;
  worldSize?: number;
  numTokens: number;
  /** Images (N, C, H, W) in [0, 1] → tokens (N, ≥ numTokens, slotDim), float32 (the encoder in eval mode). */
  encode: (images: Tensor) => Tensor;
  /** Called after each source batch with the number of images done. */
  progress?: (imagesDone: number) => void;
}

const names = (rank: number, worldSize: number) => ({
  slots: `slots_rank${rank}_of_${worldSize}.f32`,
  targets: `targets_rank${rank}_of_${worldSize}.i64`,
  manifest: `cache_rank${rank}_of_${worldSize}.json`,
});

export class TokenCache {
  readonly numRows: number;
  #slotsFd: number | null;
  #targets: BigInt64Array;
  readonly #rowBytes: number;

  private constructor(
    readonly dir: string,
    readonly manifest: TokenCacheManifest,
    readonly rank: number,
    readonly worldSize: number,
  ) {
    const n = names(rank, worldSize);
    this.numRows = manifest.numImages * manifest.views;
    this.#rowBytes = manifest.numTokens * manifest.slotDim * 4;
    const slotsPath = join(dir, n.slots);
    const expect = this.numRows * this.#rowBytes;
    if (statSync(slotsPath).size !== expect) throw new Error(`token cache ${slotsPath}: ${statSync(slotsPath).size} bytes, expected ${expect}`);
    const t = readFileSync(join(dir, n.targets));
    if (t.byteLength !== this.numRows * 8) throw new Error(`token cache ${join(dir, n.targets)}: ${t.byteLength} bytes, expected ${this.numRows * 8}`);
    this.#targets = new BigInt64Array(t.buffer.slice(t.byteOffset, t.byteOffset + t.byteLength));
    this.#slotsFd = openSync(slotsPath, 'r');
  }

  get numImages(): number {
    return this.manifest.numImages;
  }
  get views(): number {
    return this.manifest.views;
  }
  get numTokens(): number {
    return this.manifest.numTokens;
  }
  get slotDim(): number {
    return this.manifest.slotDim;
  }

  /** The complete cache in dir for this key, or null (absent, incomplete or built for another key). */
  static open(dir: string, key: TokenCacheKey, rank = 0, worldSize = 1): TokenCache | null {
    const m = join(dir, names(rank, worldSize).manifest);
    if (!existsSync(m)) return null;
    let manifest: TokenCacheManifest;
    try {
      manifest = JSON.parse(readFileSync(m, 'utf8'));
    } catch {
      return null;
    }
    if (!manifest.complete || !isDeepStrictEqual(manifest.key, key)) return null;
    return new TokenCache(dir, manifest, rank, worldSize);
  }

  /** Opens the cache for this key, or builds it from source (this rank's images, in order). */
  static async openOrBuild(source: CacheSource, o: BuildOptions): Promise<{ cache: TokenCache; built: boolean }> {
    const rank = o.rank ?? 0,
      worldSize = o.worldSize ?? 1;
    const found = TokenCache.open(o.dir, o.key, rank, worldSize);
    if (found) return { cache: found, built: false };
    return { cache: await TokenCache.build(source, o), built: true };
  }

  /** Encodes every view of every image of source into the cache files (replacing any old ones). */
  static async build(source: CacheSource, o: BuildOptions): Promise<TokenCache> {
    const rank = o.rank ?? 0,
      worldSize = o.worldSize ?? 1;
    const n = names(rank, worldSize);
    mkdirSync(o.dir, { recursive: true });
    rmSync(join(o.dir, n.manifest), { force: true }); // incomplete from here on
    const slotsFd = openSync(join(o.dir, n.slots), 'w');
    const targets: bigint[] = [];
    let numImages = 0,
      views = 0,
      slotDim = 0;
    try {
      for await (const batch of source) {
        try {
          torch.noGrad(() =>
            torch.scope(() => {
              const imgs = batch.images;
              const B = imgs.shape[0];
              const V = imgs.ndim === 5 ? imgs.shape[1] : 1;
              if (views === 0) views = V;
              else if (V !== views) throw new Error(`token cache: a batch has ${V} views per image, earlier ones ${views}`);
              const flat = imgs.ndim === 5 ? imgs.flatten(0, 1) : imgs; // (B·V, C, H, W), image-major
              const tokens = o.encode(flat);
              if (tokens.ndim !== 3 || tokens.shape[0] !== B * V || tokens.shape[1] < o.numTokens)
                throw new Error(`token cache: encode gave (${tokens.shape.join(', ')}), expected (${B * V}, ≥ ${o.numTokens}, D)`);
              if (slotDim === 0) slotDim = tokens.shape[2];
              const bytes = tokens.narrow(1, 0, o.numTokens).float().contiguous().toTypedArray() as Float32Array;
              writeSync(slotsFd, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
              for (const label of batch.labels.tolist() as number[]) for (let v = 0; v < V; v++) targets.push(BigInt(label));
              numImages += B;
            }),
          );
        } finally {
          torch.dispose(batch.images, batch.labels);
        }
        o.progress?.(numImages);
      }
    } finally {
      closeSync(slotsFd);
    }
    if (numImages === 0) throw new Error('token cache: the source yielded no images');
    writeFileAtomic(join(o.dir, n.targets), new Uint8Array(BigInt64Array.from(targets).buffer));
    const manifest: TokenCacheManifest = { key: o.key, numImages, views, numTokens: o.numTokens, slotDim, complete: true };
    writeFileAtomic(join(o.dir, n.manifest), new TextEncoder().encode(JSON.stringify(manifest, null, 1)));
    return new TokenCache(o.dir, manifest, rank, worldSize);
  }

  /** Rows by index: tokens (n, numTokens, slotDim) float32 and labels (n) int64. */
  rows(indices: readonly number[]): { tokens: Tensor; labels: Tensor } {
    if (this.#slotsFd === null) throw new Error('TokenCache: closed');
    const buf = Buffer.allocUnsafe(indices.length * this.#rowBytes);
    const labels = new BigInt64Array(indices.length);
    indices.forEach((r, i) => {
      if (!Number.isInteger(r) || r < 0 || r >= this.numRows) throw new RangeError(`TokenCache.rows: row ${r} is outside 0..${this.numRows - 1}`);
      const got = readSync(this.#slotsFd!, buf, i * this.#rowBytes, this.#rowBytes, r * this.#rowBytes);
      if (got !== this.#rowBytes) throw new Error(`TokenCache.rows: short read of row ${r} (${got} of ${this.#rowBytes} bytes)`);
      labels[i] = this.#targets[r];
    });
    const f32 = new Float32Array(buf.buffer, buf.byteOffset, indices.length * this.numTokens * this.slotDim);
    return {
      tokens: torch.fromTypedArray(f32, [indices.length, this.numTokens, this.slotDim]),
      labels: torch.fromTypedArray(labels, [indices.length]),
    };
  }

  /** This epoch's row order: numImages draws with replacement over all rows, seed 42 + rank + epoch. */
  epochRows(epoch: number): number[] {
    const g = new torch.Generator().manualSeed(42 + this.rank + epoch);
    return torch.scope(() => torch.randint(0, this.numRows, [this.numImages], { generator: g }).tolist() as number[]);
  }

  /** The epoch's batches of row indices (the last partial batch dropped, as upstream's drop_last). */
  epochBatches(epoch: number, batchSize: number): number[][] {
    const rows = this.epochRows(epoch);
    const out: number[][] = [];
    for (let i = 0; i + batchSize <= rows.length; i += batchSize) out.push(rows.slice(i, i + batchSize));
    return out;
  }

  close(): void {
    if (this.#slotsFd !== null) {
      closeSync(this.#slotsFd);
      this.#slotsFd = null;
    }
  }
}
