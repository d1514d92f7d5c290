// torch.nn.functional: the layers' math as functions, with PyTorch's names and defaults.
// Where the linked libtorch lacks a fused op (1.13: scaled_dot_product_attention, rms_norm) the
// function is composed from basic ops with the same semantics.
import { native } from '../core/native.js';
import { opIndex, opIndexOrMissing } from '../core/ops.js';
import { Tensor } from '../core/tensor.js';
import { scope } from '../core/scope.js';
import { full } from '../core/creation.js';
import type { DType } from '../core/dtype.js';

const call = native.call;
const O = {
  linear: opIndex('linear'),
  conv2d: opIndex('conv2d'),
  conv2dPad: opIndex('conv2d', 'padding'),
  convT2d: opIndex('conv_transpose2d', 'input'),
  layerNorm: opIndex('layer_norm'),
  groupNorm: opIndex('group_norm'),
  batchNorm: opIndex('batch_norm'),
  gelu: opIndex('gelu'),
  silu: opIndex('silu'),
  mish: opIndex('mish'),
  leakyRelu: opIndex('leaky_relu'),
  elu: opIndex('elu'),
  softplus: opIndex('softplus'),
  dropout: opIndex('dropout'),
  pad: opIndexOrMissing('pad'),
  constantPad: opIndex('constant_pad_nd'),
  nearest: opIndex('upsample_nearest2d', 'vec'),
  bilinear: opIndex('upsample_bilinear2d', 'vec'),
  bicubic: opIndex('upsample_bicubic2d', 'vec'),
  bilinearAA: opIndexOrMissing('_upsample_bilinear2d_aa', 'vec'),
  bicubicAA: opIndexOrMissing('_upsample_bicubic2d_aa', 'vec'),
  avgPool2d: opIndex('avg_pool2d'),
  maxPool2d: opIndex('max_pool2d'),
  adaptiveAvgPool2d: opIndex('adaptive_avg_pool2d'),
  embedding: opIndex('embedding'),
  sdpa: opIndexOrMissing('scaled_dot_product_attention'),
  rmsNorm: opIndexOrMissing('rms_norm'),
  mse: opIndex('mse_loss'),
  l1: opIndex('l1_loss'),
  crossEntropy: opIndex('cross_entropy_loss'),
  nll: opIndex('nll_loss_nd'),
  bce: opIndex('binary_cross_entropy_with_logits'),
  cosineSimilarity: opIndex('cosine_similarity'),
  oneHot: opIndex('one_hot'),
  pixelShuffle: opIndex('pixel_shuffle'),
  pixelUnshuffle: opIndex('pixel_unshuffle'),
};

type Pair = number | [number, number];
type Reduction = 'none' | 'mean' | 'sum';
const reductionCode = (r: Reduction = 'mean'): number => {
  const c = { none: 0, mean: 1, sum: 2 }[r];
  if (c === undefined) throw new TypeError(`reduction must be 'none', 'mean' or 'sum', got '${r}'`);
  return c;
};
const h = (t: Tensor | null | undefined): number | null => (t ? t._h : null);

export function linear(input: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  return new Tensor(call(O.linear, input._h, weight._h, h(bias)));
}

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair | 'same' | 'valid';
  dilation?: Pair;
  groups?: number;
}
export function conv2d(input: Tensor, weight: Tensor, bias?: Tensor | null, o: Conv2dOptions = {}): Tensor {
  const { stride = 1, padding = 0, dilation = 1, groups = 1 } = o;
  if (typeof padding === 'string') return new Tensor(call(O.conv2dPad, input._h, weight._h, h(bias), stride, padding, dilation, groups));
  return new Tensor(call(O.conv2d, input._h, weight._h, h(bias), stride, padding, dilation, groups));
}

export interface ConvTranspose2dOptions {
  stride?: Pair;
  padding?: Pair;
  outputPadding?: Pair;
  groups?: number;
  dilation?: Pair;
}
export function convTranspose2d(input: Tensor, weight: Tensor, bias?: Tensor | null, o: ConvTranspose2dOptions = {}): Tensor {
  const { stride = 1, padding = 0, outputPadding = 0, groups = 1, dilation = 1 } = o;
  return new Tensor(call(O.convT2d, input._h, weight._h, h(bias), stride, padding, outputPadding, groups, dilation));
}

/**
 * A low-precision input with fp32 affine parameters under autocast runs in fp32, as PyTorch 2.x's
 * autocast policy for the norms does (libtorch 1.13's CPU autocast leaves them alone, and the op
 * then rejects the mixed dtypes).
 */
function normInput(input: Tensor, weight?: Tensor | null): Tensor {
  if (!weight || weight.dtype === input.dtype || input.dtype === 'float32') return input;
  const device = input.device.startsWith('cuda') ? 'cuda' : 'cpu';
  return native.autocastState(device)[0] ? input.float() : input;
}

export function layerNorm(input: Tensor, normalizedShape: number[], weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  const x = normInput(input, weight);
  try {
    return new Tensor(call(O.layerNorm, x._h, normalizedShape, h(weight), h(bias), eps, true));
  } finally {
    if (x !== input) x.dispose();
  }
}

/**
 * F.batch_norm: normalises (N, C, ...) per channel. In eval (training false) with the running
 * statistics, in training with the batch's, updating runningMean/runningVar in place by momentum
 * (libtorch's own kernel, so the rounding is PyTorch's: y = x·α + β with α = w/√(var+eps), β = b − mean·α).
 */
export function batchNorm(
  input: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  weight?: Tensor | null,
  bias?: Tensor | null,
  training = false,
  momentum = 0.1,
  eps = 1e-5,
): Tensor {
  if (!training && (!runningMean || !runningVar)) throw new TypeError('batchNorm: eval mode needs runningMean and runningVar');
  return new Tensor(call(O.batchNorm, input._h, h(weight), h(bias), h(runningMean), h(runningVar), training, momentum, eps, true)); // cudnn_enabled: PyTorch's default
}
export function groupNorm(input: Tensor, numGroups: number, weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  const x = normInput(input, weight);
  try {
    return new Tensor(call(O.groupNorm, x._h, numGroups, h(weight), h(bias), eps, true));
  } finally {
    if (x !== input) x.dispose();
  }
}

/**
 * x / sqrt(mean(x², last dims) + eps) · weight, computed in float32 for float16/bfloat16 inputs
 * and cast back; eps defaults to the machine epsilon of that compute type (float32's 2⁻²³, or
 * float64's 2⁻⁵²), as PyTorch's rms_norm.
 */
export function rmsNorm(input: Tensor, normalizedShape: number[], weight?: Tensor | null, eps?: number | null): Tensor {
  if (O.rmsNorm >= 0) return new Tensor(call(O.rmsNorm, input._h, normalizedShape, h(weight), eps ?? null));
  const e = eps ?? (input.dtype === 'float64' ? 2.220446049250313e-16 : 1.1920928955078125e-7);
  const dims = normalizedShape.map((_, i) => -1 - i);
  const low = input.dtype === 'float16' || input.dtype === 'bfloat16';
  return scope(() => {
    const x = low ? input.float() : input;
    let y = x.mul(x.pow(2).mean(dims, true).add(e).rsqrt());
    if (weight) y = y.mul(weight);
    return low ? y.to(input.dtype) : y;
  });
}

/** GELU: exact (erf) by default, or the tanh approximation. */
export function gelu(input: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  return new Tensor(call(O.gelu, input._h, approximate));
}
export function silu(input: Tensor): Tensor {
  return new Tensor(call(O.silu, input._h));
}
export function mish(input: Tensor): Tensor {
  return new Tensor(call(O.mish, input._h));
}
export function relu(input: Tensor): Tensor {
  return input.relu();
}
export function leakyRelu(input: Tensor, negativeSlope = 0.01): Tensor {
  return new Tensor(call(O.leakyRelu, input._h, negativeSlope));
}
export function elu(input: Tensor, alpha = 1): Tensor {
  return new Tensor(call(O.elu, input._h, alpha));
}
export function softplus(input: Tensor, beta = 1, threshold = 20): Tensor {
  return new Tensor(call(O.softplus, input._h, beta, threshold));
}
export function sigmoid(input: Tensor): Tensor {
  return input.sigmoid();
}
export function tanh(input: Tensor): Tensor {
  return input.tanh();
}
export function softmax(input: Tensor, dim: number, dtype?: DType): Tensor {
  return input.softmax(dim, dtype);
}
export function logSoftmax(input: Tensor, dim: number, dtype?: DType): Tensor {
  return input.logSoftmax(dim, dtype);
}

/** Zeroes elements with probability p and scales the rest by 1/(1-p), when training. */
export function dropout(input: Tensor, p = 0.5, training = true): Tensor {
  if (p < 0 || p > 1) throw new RangeError(`dropout probability has to be between 0 and 1, but got ${p}`);
  return new Tensor(call(O.dropout, input._h, p, training));
}

/** Pads the last dims: pad = [left, right, top, bottom, ...] as in PyTorch. */
export function pad(input: Tensor, padding: number[], mode: 'constant' | 'reflect' | 'replicate' | 'circular' = 'constant', value?: number): Tensor {
  if (O.pad >= 0) return new Tensor(call(O.pad, input._h, padding, mode, value ?? null));
  if (mode !== 'constant') throw new Error(`pad mode '${mode}' needs libtorch >= 1.13`);
  return new Tensor(call(O.constantPad, input._h, padding, value ?? 0));
}

export interface InterpolateOptions {
  size?: number | [number, number];
  scaleFactor?: number | [number, number];
  mode?: 'nearest' | 'bilinear' | 'bicubic';
  alignCorners?: boolean;
  antialias?: boolean;
}
/** Resizes (N, C, H, W) images, as F.interpolate. */
export function interpolate(input: Tensor, o: InterpolateOptions): Tensor {
  const mode = o.mode ?? 'nearest';
  if ((o.size === undefined) === (o.scaleFactor === undefined)) throw new TypeError('interpolate: give exactly one of size or scaleFactor');
  if (input.ndim !== 4) throw new TypeError(`interpolate: expected a 4-D (N, C, H, W) input, got ${input.ndim}-D`);
  const size = o.size === undefined ? null : typeof o.size === 'number' ? [o.size, o.size] : o.size;
  const scales = o.scaleFactor === undefined ? null : typeof o.scaleFactor === 'number' ? [o.scaleFactor, o.scaleFactor] : o.scaleFactor;
  if (mode === 'nearest') {
    if (o.alignCorners !== undefined) throw new TypeError('interpolate: alignCorners only applies to bilinear and bicubic');
    if (o.antialias) throw new TypeError('interpolate: antialias only applies to bilinear and bicubic');
    return new Tensor(call(O.nearest, input._h, size, scales));
  }
  const align = o.alignCorners ?? false;
  if (o.antialias) {
    const op = mode === 'bilinear' ? O.bilinearAA : O.bicubicAA;
    if (op < 0) throw new Error('interpolate: antialias needs libtorch >= 1.11');
    return new Tensor(call(op, input._h, size, align, scales));
  }
  if (mode === 'bilinear') return new Tensor(call(O.bilinear, input._h, size, align, scales));
  if (mode === 'bicubic') return new Tensor(call(O.bicubic, input._h, size, align, scales));
  throw new TypeError(`interpolate: unknown mode '${mode}'`);
}

export function avgPool2d(input: Tensor, kernelSize: Pair, stride?: Pair | null, padding: Pair = 0, ceilMode = false, countIncludePad = true): Tensor {
  return new Tensor(call(O.avgPool2d, input._h, kernelSize, stride ?? [], padding, ceilMode, countIncludePad, null));
}
export function maxPool2d(input: Tensor, kernelSize: Pair, stride?: Pair | null, padding: Pair = 0, dilation: Pair = 1, ceilMode = false): Tensor {
  return new Tensor(call(O.maxPool2d, input._h, kernelSize, stride ?? [], padding, dilation, ceilMode));
}
export function adaptiveAvgPool2d(input: Tensor, outputSize: Pair): Tensor {
  return new Tensor(call(O.adaptiveAvgPool2d, input._h, outputSize));
}

/** Rows of weight; the paddingIdx row (negative counts from the end) gets no gradient. */
export function embedding(input: Tensor, weight: Tensor, paddingIdx?: number | null): Tensor {
  let pad = paddingIdx ?? null;
  if (pad !== null) {
    const n = weight.size(0);
    if (pad >= n || pad < -n) throw new RangeError(`embedding: paddingIdx must be within num_embeddings (${n}), got ${pad}`);
    if (pad < 0) pad += n;
  }
  return new Tensor(call(O.embedding, weight._h, input._h, pad ?? -1, false, false));
}

export function oneHot(input: Tensor, numClasses = -1): Tensor {
  return new Tensor(call(O.oneHot, input._h, numClasses));
}
export function pixelShuffle(input: Tensor, upscaleFactor: number): Tensor {
  return new Tensor(call(O.pixelShuffle, input._h, upscaleFactor));
}
export function pixelUnshuffle(input: Tensor, downscaleFactor: number): Tensor {
  return new Tensor(call(O.pixelUnshuffle, input._h, downscaleFactor));
}

export interface SdpaOptions {
  attnMask?: Tensor | null;
  dropoutP?: number;
  isCausal?: boolean;
  scale?: number | null;
}
/**
 * softmax(q·kᵀ·scale + mask)·v over (…, L, E) tensors. A boolean mask marks the pairs that may
 * attend (True = keep); a float mask is added to the scores. isCausal keeps j ≤ i.
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, o: SdpaOptions = {}): Tensor {
  const { attnMask = null, dropoutP = 0, isCausal = false, scale = null } = o;
  if (attnMask && isCausal) throw new TypeError('scaledDotProductAttention: give attnMask or isCausal, not both');
  if (O.sdpa >= 0) {
    const args: unknown[] = [q._h, k._h, v._h, h(attnMask), dropoutP, isCausal];
    if (scale !== null) args.push(scale);
    return new Tensor(call(O.sdpa, ...args));
  }
  return scope(() => {
    const [L, S] = [q.size(-2), k.size(-2)];
    const s = scale ?? 1 / Math.sqrt(q.size(-1));
    let scores = q.matmul(k.transpose(-2, -1)).mul(s);
    if (isCausal) {
      const keep = full([L, S], true, { dtype: 'bool', device: q.device }).tril();
      scores = scores.maskedFill(keep.logicalNot(), -Infinity);
    } else if (attnMask) {
      scores = attnMask.dtype === 'bool' ? scores.maskedFill(attnMask.logicalNot(), -Infinity) : scores.add(attnMask);
    }
    let attn: Tensor;
    if (isCausal || attnMask) {
      // A query that may attend to no key gets zeros, not NaN (PyTorch's _safe_softmax); its
      // scores are zeroed first so that the backward pass stays finite too.
      const none = scores.eq(-Infinity).all(-1, true);
      attn = scores.maskedFill(none, 0).softmax(-1).maskedFill(none, 0);
    } else {
      attn = scores.softmax(-1);
    }
    if (dropoutP > 0) attn = dropout(attn, dropoutP, true);
    return attn.matmul(v);
  });
}

export function mseLoss(input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  return new Tensor(call(O.mse, input._h, target._h, reductionCode(reduction)));
}
export function l1Loss(input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  return new Tensor(call(O.l1, input._h, target._h, reductionCode(reduction)));
}
export interface CrossEntropyOptions {
  weight?: Tensor | null;
  reduction?: Reduction;
  ignoreIndex?: number;
  labelSmoothing?: number;
}
/** Cross entropy of logits (N, C, ...) against class indices (N, ...) or class probabilities. */
export function crossEntropy(input: Tensor, target: Tensor, o: CrossEntropyOptions = {}): Tensor {
  return new Tensor(call(O.crossEntropy, input._h, target._h, h(o.weight), reductionCode(o.reduction), o.ignoreIndex ?? -100, o.labelSmoothing ?? 0));
}
export function nllLoss(input: Tensor, target: Tensor, o: { weight?: Tensor | null; reduction?: Reduction; ignoreIndex?: number } = {}): Tensor {
  return new Tensor(call(O.nll, input._h, target._h, h(o.weight), reductionCode(o.reduction), o.ignoreIndex ?? -100));
}
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  return new Tensor(call(O.bce, input._h, target._h, null, null, reductionCode(reduction)));
}
export function cosineSimilarity(x1: Tensor, x2: Tensor, dim = 1, eps = 1e-8): Tensor {
  return new Tensor(call(O.cosineSimilarity, x1._h, x2._h, dim, eps));
}
/** x / max(‖x‖_p, eps) along dim (F.normalize). */
export function normalize(input: Tensor, p = 2, dim = 1, eps = 1e-12): Tensor {
  return scope(() => input.div(input.norm(p, dim, true).clamp(eps).expandAs(input)));
}
