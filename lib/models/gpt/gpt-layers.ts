// The pieces of ϵLlamaGen's backbone (docs/upstream/gpt.md#backbone), under upstream's key names: RMSNorm in float32,
// the label embedder with its null class and replayable drop, the SwiGLU feed-forward, the
// gpt-fast KV cache (outside the module tree), attention with a fused wqkv, and the pre-norm block.
import { Tensor } from '../../core/tensor.js';
import { scope, keep } from '../../core/scope.js';
import { where } from '../../core/functions.js';
import { rand, zeros } from '../../core/creation.js';
import { slice } from '../../core/indexing.js';
import type { Generator } from '../../core/random.js';
import type { DType } from '../../core/dtype.js';
import { Module } from '../../nn/module.js';
import { Parameter } from '../../nn/parameter.js';
import { Linear } from '../../nn/layers/linear.js';
import { Embedding } from '../../nn/layers/embedding.js';
import { Dropout, DropPath } from '../../nn/layers/dropout.js';
import { scaledDotProductAttention, silu } from '../../nn/functional.js';
import * as init from '../../nn/init.js';
import { labelTableRows } from './gpt-sizes.js';

const shapeStr = (t: Tensor | readonly number[]) => `(${(t instanceof Tensor ? t.shape : t).join(', ')})`;

/** Upstream's RMSNorm: x·rsqrt(mean(x²) + eps) computed in float32, cast back to x's dtype, then × weight. */
export class GptRMSNorm extends Module {
  weight: Parameter;
  readonly eps: number;

  constructor(dim: number, eps = 1e-5) {
    super();
    this.eps = eps;
    this.weight = Parameter.empty([dim]);
    scope(() => init.ones_(this.weight));
  }

  override forward(x: Tensor): Tensor {
    return scope(() => {
      const xf = x.dtype === 'float32' || x.dtype === 'float64' ? x : x.float();
      let y = xf.mul(xf.mul(xf).mean(-1, true).add(this.eps).rsqrt());
      if (y.dtype !== x.dtype) y = y.to(x.dtype);
      return y.mul(this.weight);
    });
  }
  override extraRepr(): string {
    return `(${this.weight.shape[0]},), eps=${this.eps}`;
  }
}

/** Draws for the label drop: a replayed uniform draw, forced ids, or a generator. */
export interface LabelDropOptions {
  /** (B) uniforms standing in for upstream's torch.rand(B): a label is dropped where < dropoutProb. */
  labelRand?: Tensor | null;
  /** (B) upstream force_drop_ids: a label is dropped where == 1 (applies in eval too). */
  forceDropIds?: Tensor | null;
  /** Generator for the rand(B) draw when labelRand is absent. */
  generator?: Generator;
}

/** Upstream LabelEmbedder: class labels → (B, 1, dim), with the CFG label drop in training. */
export class LabelEmbedder extends Module {
  embedding_table: Embedding;
  readonly numClasses: number;
  readonly dropoutProb: number;

  constructor(numClasses: number, hiddenSize: number, dropoutProb: number) {
    super();
    this.numClasses = numClasses;
    this.dropoutProb = dropoutProb;
    this.embedding_table = new Embedding(labelTableRows(numClasses, dropoutProb), hiddenSize);
  }

  /** Labels with the dropped ones replaced by the null class numClasses (upstream token_drop). */
  tokenDrop(labels: Tensor, o: LabelDropOptions = {}): Tensor {
    return scope(() => {
      const B = labels.shape[0];
      let drop: Tensor;
      if (o.forceDropIds) {
        if (o.forceDropIds.numel() !== B) throw new Error(`LabelEmbedder: forceDropIds must have ${B} entries, got ${shapeStr(o.forceDropIds)}`);
        drop = o.forceDropIds.reshape(B).eq(1);
      } else {
        if (o.labelRand && o.labelRand.numel() !== B)
          throw new Error(`LabelEmbedder: labelRand must have ${B} entries (one per label), got ${shapeStr(o.labelRand)}`);
        const u = o.labelRand ? o.labelRand.reshape(B).to({ device: labels.device }) : rand([B], { device: labels.device, generator: o.generator });
        drop = u.lt(this.dropoutProb);
      }
      return where(drop, this.numClasses, labels);
    });
  }

  /** labels (B) int → (B, 1, dim); dropped (train with p > 0, or forceDropIds) → the null row. */
  override forward(labels: Tensor, train: boolean, o: LabelDropOptions = {}): Tensor {
    return scope(() => {
      const rows = this.embedding_table.numEmbeddings;
      if (labels.ndim !== 1 || labels.isFloatingPoint() || labels.dtype === 'bool')
        throw new Error(`LabelEmbedder: labels must be a 1-D integer tensor (B), got ${labels.dtype} ${shapeStr(labels)}`);
      // The range check reads one bool back (a host sync on CUDA, once per forward): an index out of
      // range would otherwise be a CUDA device-side assert that poisons the context. Meta tensors
      // have no values to check.
      if (labels.numel() > 0 && labels.device !== 'meta' && labels.lt(0).logicalOr(labels.ge(rows)).any().item())
        throw new Error(
          `LabelEmbedder: labels must be in [0, ${rows - 1}] (${this.numClasses} classes${rows > this.numClasses ? `, ${this.numClasses} = null` : ''}), got ${JSON.stringify(labels.tolist())}`,
        );
      let l = labels;
      if (o.forceDropIds && rows === this.numClasses)
        throw new Error('LabelEmbedder: forceDropIds needs the null class row, but classDropoutProb is 0 (the table has no null row)');
      if ((train && this.dropoutProb > 0) || o.forceDropIds) l = this.tokenDrop(labels, o);
      return this.embedding_table.forward(l).unsqueeze(1);
    });
  }
}

/** SwiGLU: ffn_dropout(w2(silu(w1 x) · w3 x)), no biases. */
export class FeedForward extends Module {
  w1: Linear;
  w3: Linear;
  w2: Linear;
  ffn_dropout: Dropout;

  constructor(dim: number, hiddenDim: number, ffnDropoutP = 0) {
    super();
    this.w1 = new Linear(dim, hiddenDim, false);
    this.w3 = new Linear(dim, hiddenDim, false);
    this.w2 = new Linear(hiddenDim, dim, false);
    this.ffn_dropout = new Dropout(ffnDropoutP);
  }

  override forward(x: Tensor): Tensor {
    return scope(() => this.ffn_dropout.forward(this.w2.forward(silu(this.w1.forward(x)).mul(this.w3.forward(x)))));
  }
}

/**
 * gpt-fast KV cache of one attention layer: k and v stores (maxBatchSize, nHead, maxSeqLength,
 * headDim), zero-filled, kept outside every scope until dispose().
 */
export class KVCache {
  readonly kCache: Tensor;
  readonly vCache: Tensor;
  readonly maxBatchSize: number;
  readonly maxSeqLength: number;

  constructor(maxBatchSize: number, maxSeqLength: number, nHead: number, headDim: number, o: { dtype: DType; device: string }) {
    this.maxBatchSize = maxBatchSize;
    this.maxSeqLength = maxSeqLength;
    const shape = [maxBatchSize, nHead, maxSeqLength, headDim];
    this.kCache = keep(zeros(shape, { dtype: o.dtype, device: o.device }));
    this.vCache = keep(zeros(shape, { dtype: o.dtype, device: o.device }));
  }

  get dtype(): DType {
    return this.kCache.dtype;
  }

  /**
   * Writes k, v (B, H, S, hd) at sequence positions inputPos (S int64) of batch rows 0..B−1 (cast
   * to the cache dtype), and returns the first B rows of both stores, in k's dtype, as (B, H, maxSeqLength, hd).
   */
  update(inputPos: Tensor, k: Tensor, v: Tensor): [Tensor, Tensor] {
    if (this.kCache.isDisposed) throw new Error('KVCache.update: the cache was disposed');
    const [B, , S] = k.shape;
    if (inputPos.numel() !== S) throw new Error(`KVCache.update: ${inputPos.numel()} positions for ${S} new keys`);
    if (B > this.maxBatchSize) throw new Error(`KVCache.update: batch ${B} exceeds the cache's maxBatchSize ${this.maxBatchSize}`);
    return scope(() => {
      const rows = slice(0, B);
      const dt = this.kCache.dtype;
      this.kCache.indexPut([rows, ':', inputPos], k.dtype === dt ? k : k.to(dt));
      this.vCache.indexPut([rows, ':', inputPos], v.dtype === dt ? v : v.to(dt));
      let keys = this.kCache.narrow(0, 0, B),
        values = this.vCache.narrow(0, 0, B);
      if (dt !== k.dtype) {
        keys = keys.to(k.dtype);
        values = values.to(v.dtype);
      }
      return [keys, values] as [Tensor, Tensor];
    });
  }

  dispose(): void {
    this.kCache.dispose();
    this.vCache.dispose();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** The KV-cache state a cached forward hands to each layer. */
export interface CacheStep {
  kv: KVCache;
  pos: Tensor;
}

/** Causal multi-head attention: fused `wqkv` (no bias), `wo` (no bias), resid_dropout after wo. No RoPE. */
export class GptAttention extends Module {
  wqkv: Linear;
  wo: Linear;
  resid_dropout: Dropout;
  readonly dim: number;
  readonly nHead: number;
  readonly headDim: number;
  readonly attnDropoutP: number;

  constructor(dim: number, nHead: number, o: { attnDropoutP?: number; residDropoutP?: number } = {}) {
    super();
    if (dim % nHead !== 0) throw new Error(`GptAttention: dim ${dim} is not divisible by ${nHead} heads`);
    this.dim = dim;
    this.nHead = nHead;
    this.headDim = dim / nHead;
    this.attnDropoutP = o.attnDropoutP ?? 0;
    this.wqkv = new Linear(dim, 3 * dim, false);
    this.wo = new Linear(dim, dim, false);
    this.resid_dropout = new Dropout(o.residDropoutP ?? 0.1);
  }

  /**
   * x (B, S, dim). Without a cache: causal attention over the S tokens. With one: k, v are stored
   * at cache.pos and the queries attend over the whole cache under `mask` (boolean, true = may attend,
   * (B, 1, S, maxSeqLength)).
   */
  override forward(x: Tensor, mask: Tensor | null = null, cache: CacheStep | null = null): Tensor {
    return scope(() => {
      const [B, S] = x.shape;
      const { dim, nHead: H, headDim: hd } = this;
      const [xq, xk, xv] = this.wqkv
        .forward(x)
        .split([dim, dim, dim], -1)
        .map((t) => t.reshape(B, S, H, hd).transpose(1, 2));
      const [keys, values] = cache ? cache.kv.update(cache.pos, xk, xv) : [xk, xv];
      const y = scaledDotProductAttention(xq, keys, values, {
        attnMask: mask,
        isCausal: mask === null,
        dropoutP: this.training ? this.attnDropoutP : 0,
      });
      return this.resid_dropout.forward(this.wo.forward(y.transpose(1, 2).reshape(B, S, dim)));
    });
  }
}

/** Pre-norm Llama block: h = x + dp(attention(attention_norm(x))); h + dp(feed_forward(ffn_norm(h))). */
export class TransformerBlock extends Module {
  attention: GptAttention;
  feed_forward: FeedForward;
  attention_norm: GptRMSNorm;
  ffn_norm: GptRMSNorm;
  drop_path: DropPath;

  constructor(
    dim: number,
    nHead: number,
    o: {
      hiddenDim: number;
      normEps: number;
      attnDropoutP: number;
      ffnDropoutP: number;
      residDropoutP: number;
      dropPath: number;
    },
  ) {
    super();
    this.attention = new GptAttention(dim, nHead, { attnDropoutP: o.attnDropoutP, residDropoutP: o.residDropoutP });
    this.feed_forward = new FeedForward(dim, o.hiddenDim, o.ffnDropoutP);
    this.attention_norm = new GptRMSNorm(dim, o.normEps);
    this.ffn_norm = new GptRMSNorm(dim, o.normEps);
    this.drop_path = new DropPath(o.dropPath);
  }

  override forward(x: Tensor, mask: Tensor | null = null, cache: CacheStep | null = null): Tensor {
    return scope(() => {
      const h = x.add(this.drop_path.forward(this.attention.forward(this.attention_norm.forward(x), mask, cache)));
      return h.add(this.drop_path.forward(this.feed_forward.forward(this.ffn_norm.forward(h))));
    });
  }
}
