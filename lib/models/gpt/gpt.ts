// ϵLlamaGen's autoregressive backbone: upstream `Transformer` (semanticist/stage2/gpt.py, derived
// from LlamaGen / gpt-fast; docs/upstream/gpt.md#backbone, #sampling), here `GPT`. Class-conditional, over continuous
// tokens: the sequence is [class embedding × clsTokenNum, z_proj(token_0) … z_proj(token_{L−1})],
// with a learned absolute position embedding (no RoPE), an extra RMSNorm on the input, pre-norm
// Llama blocks (fused `wqkv` without bias, `wo`, SwiGLU FFN), a final RMSNorm, and per-token
// learned `diffusion_pos_embed_learned` added to the condition handed to the diffusion head.
// Position j of the head condition (sequence position clsTokenNum − 1 + j) predicts token j.
//
// Field names are the checkpoint keys, declared in upstream's registration order so stateDict()
// lists them as upstream's named_parameters: pos_embed_learned, diffusion_pos_embed_learned,
// cls_embedding.embedding_table.weight, z_proj.{weight,bias}, z_proj_ln.weight,
// layers.N.{attention.wqkv, attention.wo, feed_forward.w1, feed_forward.w3, feed_forward.w2,
// attention_norm, ffn_norm}.weight, norm.weight, then the head under `diffloss.` (when given).
//
// The diffusion head is not part of this file: the constructor takes it (or a factory for it) and
// mounts it as the field `diffloss`, AFTER the backbone's init, so it keeps its own init (as
// upstream, which builds DiffLoss after initialize_weights()).
//
// Two ways to run it:
//   condition(tokens, labels)   the training path (whole sequence, causal SDPA): the head condition
//                               z (B, L, dim) = norm(h)[:, clsTokenNum−1 : −1] + diffusion_pos_embed;
//                               forward(tokens, labels) = diffloss.forward(tokens.detach(), z, …).
//   setupCaches / forwardCached the gpt-fast KV-cache path used by generation: prefill the class
//                               token(s), then decode one token per position; each call returns
//                               the head condition for its last position, (B, dim).
// The KV cache lives outside the module tree (no `kv_cache` keys in stateDict, unlike upstream
// The sizes and options are in gpt-sizes.ts, the layers in gpt-layers.ts (both re-exported here).
// where KVCache is a submodule with buffers) and is freed by clearCaches() or dispose().
import { Tensor } from '../../core/tensor.js';
import { scope, keep } from '../../core/scope.js';
import { noGrad } from '../../core/modes.js';
import { cat } from '../../core/functions.js';
import { ones, tensor, linspace } from '../../core/creation.js';
import { slice } from '../../core/indexing.js';
import type { DType } from '../../core/dtype.js';
import { Module } from '../../nn/module.js';
import { Parameter } from '../../nn/parameter.js';
import { ModuleList } from '../../nn/containers.js';
import { Linear } from '../../nn/layers/linear.js';
import { Embedding } from '../../nn/layers/embedding.js';
import * as init from '../../nn/init.js';
import { findMultiple, ffnHiddenDim, GPT_SIZES, gptConfig, type GptName, type GptOptions, type GptConfig } from './gpt-sizes.js';
import { GptRMSNorm, LabelEmbedder, KVCache, TransformerBlock, type LabelDropOptions } from './gpt-layers.js';

export * from './gpt-sizes.js';
export * from './gpt-layers.js';

const shapeStr = (t: Tensor | readonly number[]) => `(${(t instanceof Tensor ? t.shape : t).join(', ')})`;

/** What a head factory gets: the head's condition width and token channels (DiffLoss's option names). */
export interface GptHeadDims {
  zChannels: number;
  targetChannels: number;
}

/** Intermediates of a forward, by the fixture's names: 'input_norm', 'layer_<i>', 'final_norm'. */
export type GptCapture = (name: string, t: Tensor) => void;

export interface GptConditionOptions extends LabelDropOptions {
  /**
   * Called with each intermediate (B, clsTokenNum + L, dim): 'input_norm' (after z_proj_ln),
   * 'layer_<i>' (after block i), 'final_norm'. It runs inside the forward's scope: the tensors
   * are freed when it returns (keep a clone of what you need).
   */
  capture?: GptCapture;
}

export interface GptCacheInfo {
  maxBatchSize: number;
  maxSeqLength: number;
  dtype: DType;
}

interface CacheState extends GptCacheInfo {
  caches: KVCache[];
  causalMask: Tensor;
}

/** Upstream `Transformer` (see the file header). H is the diffusion head's type. */
export class GPT<H extends Module = Module> extends Module {
  pos_embed_learned: Parameter;
  diffusion_pos_embed_learned: Parameter;
  cls_embedding: LabelEmbedder;
  z_proj: Linear;
  z_proj_ln: GptRMSNorm;
  layers: ModuleList<TransformerBlock>;
  norm: GptRMSNorm;
  /** The diffusion head (upstream DiffLoss), or null for a backbone alone. */
  diffloss: H | null;
  readonly config: GptConfig;
  /** Per-block drop-path probabilities (float32 linspace, as upstream). */
  readonly dpr: number[];
  #cache: CacheState | null = null;

  constructor(o: GptOptions, head?: H | ((dims: GptHeadDims) => H) | null) {
    super();
    const c = (this.config = gptConfig(o));
    const { dim } = c;
    this.pos_embed_learned = Parameter.empty([1, c.clsTokenNum + c.numSlots, dim]);
    this.diffusion_pos_embed_learned = Parameter.empty([1, c.numSlots, dim]);
    this.cls_embedding = new LabelEmbedder(c.numClasses, dim, c.classDropoutProb);
    this.z_proj = new Linear(c.slotDim, dim, true);
    this.z_proj_ln = new GptRMSNorm(dim, c.normEps);
    this.dpr = scope(() => linspace(0, c.dropPathRate, c.nLayer, { dtype: 'float32' }).tolist() as number[]);
    const hiddenDim = ffnHiddenDim(dim, c.multipleOf, c.ffnDimMultiplier);
    this.layers = new ModuleList(
      this.dpr.map(
        (dp) =>
          new TransformerBlock(dim, c.nHead, {
            hiddenDim,
            normEps: c.normEps,
            attnDropoutP: c.attnDropoutP,
            ffnDropoutP: c.ffnDropoutP,
            residDropoutP: c.residDropoutP,
            dropPath: dp,
          }),
      ),
    );
    this.norm = new GptRMSNorm(dim, c.normEps);
    this.diffloss = null;
    this.initWeights();
    if (head) {
      const h = typeof head === 'function' ? head({ zChannels: dim, targetChannels: c.slotDim }) : head;
      if (!(h instanceof Module)) throw new TypeError('GPT: the head must be a Module');
      this.diffloss = h;
      h.train(this.training);
    }
  }

  get dim(): number {
    return this.config.dim;
  }
  get nLayer(): number {
    return this.config.nLayer;
  }
  get nHead(): number {
    return this.config.nHead;
  }
  get numSlots(): number {
    return this.config.numSlots;
  }
  get slotDim(): number {
    return this.config.slotDim;
  }
  get numClasses(): number {
    return this.config.numClasses;
  }
  get clsTokenNum(): number {
    return this.config.clsTokenNum;
  }

  /**
   * Upstream initialize_weights on the backbone only: normal(0, 0.02) on both position tables and
   * on every Linear weight and Embedding table, zero Linear biases; RMSNorm weights stay 1. The
   * head (`diffloss`) is left alone.
   */
  initWeights(): void {
    scope(() => {
      init.normal_(this.pos_embed_learned, 0, 0.02);
      init.normal_(this.diffusion_pos_embed_learned, 0, 0.02);
      const fn = (m: Module) => {
        if (m instanceof Linear) {
          init.normal_(m.weight, 0, 0.02);
          if (m.bias) init.zeros_(m.bias);
        } else if (m instanceof Embedding) {
          init.normal_(m.weight, 0, 0.02);
        }
      };
      for (const [name, child] of this.namedChildren()) if (name !== 'diffloss') child.apply(fn);
    });
  }

  /** The backbone's parameters (every one not under `diffloss.`). */
  backboneParameters(): [string, Parameter][] {
    return this.namedParameters().filter(([k]) => !k.startsWith('diffloss.'));
  }
  numBackboneParameters(): number {
    return this.backboneParameters().reduce((n, [, p]) => n + p.numel(), 0);
  }

  // ---- training path -------------------------------------------------------------------------

  private checkTokens(tokens: Tensor, where_: string, maxLen: number): void {
    const C = this.slotDim;
    if (tokens.ndim !== 3 || tokens.shape[2] !== C || tokens.shape[1] < 1 || tokens.shape[1] > maxLen)
      throw new Error(`GPT.${where_}: tokens must be (B, L, ${C}) with 1 ≤ L ≤ ${maxLen}, got ${shapeStr(tokens)}`);
    if (!tokens.isFloatingPoint()) throw new Error(`GPT.${where_}: tokens must be floating point, got ${tokens.dtype}`);
  }

  private checkLabels(labels: Tensor, B: number, where_: string): void {
    if (labels.ndim !== 1 || labels.shape[0] !== B) throw new Error(`GPT.${where_}: labels must be (${B}) to match the batch, got ${shapeStr(labels)}`);
  }

  /** z_proj_ln(h) → blocks → norm, reporting the intermediates. */
  private trunk(h: Tensor, mask: Tensor | null, cache: { kvs: KVCache[]; pos: Tensor } | null, capture?: GptCapture): Tensor {
    h = this.z_proj_ln.forward(h);
    capture?.('input_norm', h);
    this.layers.map((layer, i) => {
      h = layer.forward(h, mask, cache ? { kv: cache.kvs[i], pos: cache.pos } : null);
      capture?.(`layer_${i}`, h);
    });
    h = this.norm.forward(h);
    capture?.('final_norm', h);
    return h;
  }

  /**
   * The head condition of the training path: tokens (B, L, slotDim), labels (B) int →
   * z (B, L, dim), z[:, j] = norm(h)[:, clsTokenNum − 1 + j] + diffusion_pos_embed_learned[j]
   * (position j predicts token j). Labels are dropped to the null class in train mode (draws:
   * o.labelRand or rand(B)). Upstream requires L = numSlots; L < numSlots (a prefix) is accepted
   * here and uses the first clsTokenNum + L position rows.
   */
  condition(tokens: Tensor, labels: Tensor, o: GptConditionOptions = {}): Tensor {
    return scope(() => {
      this.checkTokens(tokens, 'condition', this.numSlots);
      const [B, L] = tokens.shape;
      this.checkLabels(labels, B, 'condition');
      const T = this.clsTokenNum;
      const cond = this.cls_embedding.forward(labels, this.training, o).expand(-1, T, -1);
      let h = cat([cond, this.z_proj.forward(tokens)], 1).add(this.pos_embed_learned.narrow(1, 0, T + L));
      h = this.trunk(h, null, null, o.capture);
      return h.narrow(1, T - 1, L).add(this.diffusion_pos_embed_learned.narrow(1, 0, L));
    });
  }

  /**
   * Upstream forward in train mode: the head's loss on the targets tokens.detach() with the
   * condition z = condition(tokens, labels). `head` is passed to the head's forward as its third
   * argument (e.g. replayed draws).
   */
  override forward(tokens: Tensor, labels: Tensor, o: GptConditionOptions & { head?: unknown } = {}): ReturnType<H['forward']> {
    const head = this.diffloss;
    if (!head) throw new Error('GPT.forward: no diffusion head (diffloss) was given; use condition() for the backbone alone');
    return scope(() => {
      const z = this.condition(tokens, labels, o);
      return head.forward(tokens.detach(), z, o.head);
    });
  }

  // ---- KV-cache path -------------------------------------------------------------------------

  /**
   * Allocates a KV cache per layer for maxBatchSize rows and find_multiple(maxSeqLength, 8)
   * positions (upstream setup_caches; generation asks for clsTokenNum + numTokens), in `dtype`
   * (default: z_proj's weight dtype; upstream generate passes the autocast dtype when autocast is
   * on), and the boolean causal mask (maxBatchSize, len, len). Replaces (and frees) any previous cache.
   */
  setupCaches(maxBatchSize: number, maxSeqLength: number, dtype?: DType): GptCacheInfo {
    if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1) throw new Error(`GPT.setupCaches: maxBatchSize must be a positive integer, got ${maxBatchSize}`);
    if (!Number.isInteger(maxSeqLength) || maxSeqLength < 1) throw new Error(`GPT.setupCaches: maxSeqLength must be a positive integer, got ${maxSeqLength}`);
    this.clearCaches();
    const len = findMultiple(maxSeqLength, 8);
    const dt = dtype ?? this.z_proj.weight.dtype;
    const device = this.z_proj.weight.device;
    const caches: KVCache[] = [];
    try {
      for (let i = 0; i < this.nLayer; i++) caches.push(new KVCache(maxBatchSize, len, this.nHead, this.dim / this.nHead, { dtype: dt, device }));
      const causalMask = scope(() => keep(ones([len, len], { dtype: 'bool', device }).tril().unsqueeze(0).repeat(maxBatchSize, 1, 1)));
      this.#cache = { caches, causalMask, maxBatchSize, maxSeqLength: len, dtype: dt };
    } catch (e) {
      for (const kv of caches) kv.dispose();
      throw e;
    }
    return this.cacheInfo!;
  }

  /** The current cache's sizes, or null without one. */
  get cacheInfo(): GptCacheInfo | null {
    const c = this.#cache;
    return c ? { maxBatchSize: c.maxBatchSize, maxSeqLength: c.maxSeqLength, dtype: c.dtype } : null;
  }

  /** The boolean (maxBatchSize, len, len) mask of the current cache (upstream causal_mask; editable in place), or null. */
  get causalMask(): Tensor | null {
    return this.#cache?.causalMask ?? null;
  }

  /** The per-layer caches (for inspection), empty without a cache. */
  get kvCaches(): readonly KVCache[] {
    return this.#cache?.caches ?? [];
  }

  /** Frees the KV caches and the mask (upstream reset_caches). Safe to call without a cache. */
  clearCaches(): void {
    const c = this.#cache;
    this.#cache = null;
    if (!c) return;
    for (const kv of c.caches) kv.dispose();
    c.causalMask.dispose();
  }
  /** Upstream's name for clearCaches. */
  resetCaches(): void {
    this.clearCaches();
  }

  /**
   * One cached step (upstream forward in eval mode with a cache, up to the head), under noGrad:
   *   prefill:  tokens null, labels (B) → the class embedding(s) at inputPos (clsTokenNum positions, 0..T−1);
   *   decode:   tokens (B, S, slotDim), labels null → z_proj(tokens) at inputPos (S positions);
   *   both:     [class embedding(s), z_proj(tokens)] at inputPos (T + S positions) — a prompt (not upstream).
   * The new keys/values are stored at inputPos, the queries attend to the cache under causal-mask rows
   * inputPos, and the result is the head condition for the LAST position p = inputPos[−1]:
   * norm(h)[:, −1] + diffusion_pos_embed_learned[p − clsTokenNum + 1], shape (B, dim).
   * Labels are dropped only in train mode (as upstream; generation runs in eval).
   */
  forwardCached(tokens: Tensor | null, labels: Tensor | null, inputPos: number | readonly number[] | Tensor, o: LabelDropOptions = {}): Tensor {
    const c = this.#cache;
    if (!c) throw new Error('GPT.forwardCached: no KV cache; call setupCaches(maxBatchSize, maxSeqLength) first');
    if (!tokens && !labels) throw new Error('GPT.forwardCached: give tokens (decode), labels (prefill), or both');
    const pos =
      typeof inputPos === 'number' ? [inputPos] : inputPos instanceof Tensor ? (inputPos.reshape(-1).tolist() as number[]).map(Number) : [...inputPos];
    const T = this.clsTokenNum;
    const nPos = this.config.clsTokenNum + this.numSlots;
    if (pos.length === 0) throw new Error('GPT.forwardCached: inputPos is empty');
    for (const p of pos) {
      if (!Number.isInteger(p) || p < 0 || p >= c.maxSeqLength)
        throw new Error(`GPT.forwardCached: position ${p} is outside the KV cache (positions 0..${c.maxSeqLength - 1})`);
      if (p >= nPos) throw new Error(`GPT.forwardCached: position ${p} is outside pos_embed_learned (positions 0..${nPos - 1})`);
    }
    const last = pos[pos.length - 1];
    const tokIdx = last - T + 1;
    if (tokIdx < 0 || tokIdx >= this.numSlots)
      throw new Error(
        `GPT.forwardCached: the last position ${last} predicts token ${tokIdx}, outside 0..${this.numSlots - 1} (positions ${T - 1}..${T + this.numSlots - 2} predict tokens)`,
      );
    let B: number;
    if (tokens) {
      this.checkTokens(tokens, 'forwardCached', this.numSlots);
      B = tokens.shape[0];
    } else {
      B = labels!.shape[0];
    }
    if (labels) this.checkLabels(labels, B, 'forwardCached');
    const S = (labels ? T : 0) + (tokens ? tokens.shape[1] : 0);
    if (S !== pos.length)
      throw new Error(
        `GPT.forwardCached: ${pos.length} positions [${pos.join(', ')}] for ${S} new sequence entries` +
          ` (${labels ? `${T} class token(s)` : ''}${labels && tokens ? ' + ' : ''}${tokens ? `${tokens.shape[1]} token(s) from tokens ${shapeStr(tokens)}` : ''})`,
      );
    if (B > c.maxBatchSize) throw new Error(`GPT.forwardCached: batch ${B} exceeds the cache's maxBatchSize ${c.maxBatchSize}`);
    return noGrad(() =>
      scope(() => {
        const device = this.pos_embed_learned.device;
        const posT = tensor(pos, { dtype: 'int64', device });
        const parts: Tensor[] = [];
        if (labels) parts.push(this.cls_embedding.forward(labels, this.training, o).expand(-1, T, -1));
        if (tokens) parts.push(this.z_proj.forward(tokens));
        let h = parts.length === 1 ? parts[0] : cat(parts, 1);
        const mask = c.causalMask.index(slice(0, B), null, posT); // (B, 1, S, len)
        h = h.add(this.pos_embed_learned.index(':', posT));
        h = this.trunk(h, mask, { kvs: c.caches, pos: posT });
        return h.select(1, S - 1).add(this.diffusion_pos_embed_learned.select(1, tokIdx));
      }),
    );
  }

  /** Prefill: the class token(s) at positions 0..clsTokenNum−1; returns the condition for token 0, (B, dim). */
  prefill(labels: Tensor, o: LabelDropOptions = {}): Tensor {
    return this.forwardCached(
      null,
      labels,
      Array.from({ length: this.clsTokenNum }, (_, i) => i),
      o,
    );
  }

  /** Decode: token k−1 (B, 1, slotDim) or (B, slotDim) at position clsTokenNum − 1 + k; returns the condition for token k. */
  decodeStep(token: Tensor, k: number): Tensor {
    const t = token.ndim === 2 ? token.unsqueeze(1) : token;
    try {
      return this.forwardCached(t, null, [this.clsTokenNum - 1 + k]);
    } finally {
      if (t !== token) t.dispose();
    }
  }

  /** Frees the caches, then every parameter (the module is unusable afterwards). */
  override dispose(): void {
    this.clearCaches();
    super.dispose();
  }

  override extraRepr(): string {
    const c = this.config;
    return `dim=${c.dim}, n_layer=${c.nLayer}, n_head=${c.nHead}, num_slots=${c.numSlots}, slot_dim=${c.slotDim}, num_classes=${c.numClasses}, cls_token_num=${c.clsTokenNum}`;
  }
}

/** A preset of GPT_SIZES (upstream GPT_models[name](**kwargs)). */
export function createGPT<H extends Module = Module>(
  name: GptName,
  o: Omit<GptOptions, 'dim' | 'nLayer' | 'nHead'>,
  head?: H | ((dims: GptHeadDims) => H) | null,
): GPT<H> {
  const size = GPT_SIZES[name];
  if (!size) throw new Error(`unknown GPT preset '${name}' (known: ${Object.keys(GPT_SIZES).join(', ')})`);
  return new GPT<H>({ ...o, ...size }, head);
}
