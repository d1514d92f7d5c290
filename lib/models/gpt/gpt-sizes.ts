// ϵLlamaGen's sizes and options (docs/upstream/gpt.md#backbone): GPT_SIZES, the option defaults (gptConfig), the SwiGLU
// width and the parameter count computed without building the model. No tensors here.
/** n rounded up to a multiple of k (upstream find_multiple). */
export function findMultiple(n: number, k: number): number {
  return n % k === 0 ? n : n + k - (n % k);
}

/**
 * SwiGLU hidden width: find_multiple(int(2·4·dim/3), multipleOf) (2816 for dim 1024). With
 * ffnDimMultiplier (LlamaGen's option; Semanticist's FeedForward has none) the int(2·4·dim/3) is
 * first scaled by it, as LlamaGen does.
 */
export function ffnHiddenDim(dim: number, multipleOf = 256, ffnDimMultiplier: number | null = null): number {
  let hidden = Math.trunc((2 * (4 * dim)) / 3);
  if (ffnDimMultiplier !== null) hidden = Math.trunc(ffnDimMultiplier * hidden);
  return findMultiple(hidden, multipleOf);
}

/** One preset of upstream's GPT_models registry. */
export interface GptSize {
  readonly nLayer: number;
  readonly nHead: number;
  readonly dim: number;
}

/** Upstream's GPT_models (LlamaGen's table; docs/upstream/gpt.md#backbone). Semanticist uses GPT-L (and GPT-XL). */
export const GPT_SIZES = {
  'GPT-B': { nLayer: 12, nHead: 12, dim: 768 },
  'GPT-L': { nLayer: 24, nHead: 16, dim: 1024 },
  'GPT-XL': { nLayer: 36, nHead: 20, dim: 1280 },
  'GPT-XXL': { nLayer: 48, nHead: 24, dim: 1536 },
  'GPT-XXXL': { nLayer: 48, nHead: 40, dim: 2560 },
  'GPT-1B': { nLayer: 22, nHead: 32, dim: 2048 },
  'GPT-3B': { nLayer: 24, nHead: 32, dim: 3200 },
  'GPT-7B': { nLayer: 32, nHead: 32, dim: 4096 },
} as const satisfies Record<string, GptSize>;
export type GptName = keyof typeof GPT_SIZES;

/** Upstream Transformer's constructor arguments (the backbone's), camelCased. */
export interface GptOptions {
  dim: number;
  nLayer: number;
  nHead: number;
  /** Tokens per image the GPT models (upstream num_slots; 32 in the configs). pos_embed holds clsTokenNum + numSlots rows. */
  numSlots: number;
  /** Token channels (upstream slot_dim; the tokenizer's 16). */
  slotDim: number;
  /** Class count (default 1000); with classDropoutProb > 0 the table has one more row, the null class = numClasses. */
  numClasses?: number;
  /** Label drop probability in training, for CFG (default 0.1). */
  classDropoutProb?: number;
  /** Copies of the class embedding at the start of the sequence (default 1). */
  clsTokenNum?: number;
  /** Attention-probability dropout in training (default 0). */
  attnDropoutP?: number;
  /** Dropout after `wo` (default 0.1, upstream's default and the configs'). */
  residDropoutP?: number;
  /** Dropout after `w2` (default 0.1). */
  ffnDropoutP?: number;
  /** Stochastic depth, float32 linspace(0, rate, nLayer) over the blocks (default 0). */
  dropPathRate?: number;
  /** SwiGLU width rounding (default 256; upstream never forwards its own value, so it is always 256 there). */
  multipleOf?: number;
  /** LlamaGen's FFN width multiplier (default null: none; Semanticist has no such option). */
  ffnDimMultiplier?: number | null;
  /** RMSNorm eps of every norm (default 1e-5; upstream never forwards one). */
  normEps?: number;
}

/** The options with every default filled in. */
export type GptConfig = Required<GptOptions>;

export function gptConfig(o: GptOptions): GptConfig {
  const c: GptConfig = {
    numClasses: 1000,
    classDropoutProb: 0.1,
    clsTokenNum: 1,
    attnDropoutP: 0,
    residDropoutP: 0.1,
    ffnDropoutP: 0.1,
    dropPathRate: 0,
    multipleOf: 256,
    ffnDimMultiplier: null,
    normEps: 1e-5,
    ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)),
  } as GptConfig;
  for (const k of ['dim', 'nLayer', 'nHead', 'numSlots', 'slotDim', 'numClasses', 'clsTokenNum', 'multipleOf'] as const) {
    const v = c[k];
    if (!Number.isInteger(v) || v < 1) throw new Error(`GPT: ${k} must be a positive integer, got ${v}`);
  }
  if (c.dim % c.nHead !== 0) throw new Error(`GPT: dim ${c.dim} is not divisible by nHead ${c.nHead}`);
  for (const k of ['classDropoutProb', 'attnDropoutP', 'residDropoutP', 'ffnDropoutP', 'dropPathRate'] as const) {
    const v = c[k];
    if (!(v >= 0 && v <= 1)) throw new Error(`GPT: ${k} must be in [0, 1], got ${v}`);
  }
  return c;
}

/** Rows of cls_embedding.embedding_table: numClasses, plus the null class when classDropoutProb > 0. */
export function labelTableRows(numClasses: number, classDropoutProb: number): number {
  return numClasses + (classDropoutProb > 0 ? 1 : 0);
}

/**
 * The backbone's parameter count (everything but `diffloss.`), from the sizes alone: no model is
 * built. GPT-L with 32 tokens of 16 channels and 1000 classes: 309,441,536 (docs/upstream/gpt.md#parameter-counts: ≈ 309.4 M).
 */
export function gptBackboneParamCount(o: GptOptions): number {
  const c = gptConfig(o);
  const d = c.dim;
  const hidden = ffnHiddenDim(d, c.multipleOf, c.ffnDimMultiplier);
  const perLayer = 3 * d * d + d * d + 3 * d * hidden + 2 * d;
  return (
    (c.clsTokenNum + c.numSlots) * d + // pos_embed_learned
    c.numSlots * d + // diffusion_pos_embed_learned
    labelTableRows(c.numClasses, c.classDropoutProb) * d +
    c.slotDim * d +
    d + // z_proj
    d + // z_proj_ln
    c.nLayer * perLayer +
    d
  ); // norm
}
