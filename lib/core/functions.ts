// torch.* functions: the free-function forms of the Tensor methods, plus the ops that take
// several tensors (cat, stack, where, einsum, ...).
import { native } from './native.js';
import { opIndex } from './ops.js';
import { Tensor, type TensorOrScalar, type Scalar } from './tensor.js';
import type { DType } from './dtype.js';

const call = native.call;
const O = {
  cat: opIndex('cat'),
  stack: opIndex('stack'),
  where: opIndex('where', 'self'),
  whereS: opIndex('where', 'ScalarOther'),
  whereSS: opIndex('where', 'Scalar'),
  whereSelfS: opIndex('where', 'ScalarSelf'),
  einsum: opIndex('einsum'),
  broadcastTensors: opIndex('broadcast_tensors'),
  meshgrid: opIndex('meshgrid', 'indexing'),
  cdist: opIndex('cdist'),
  bucketize: opIndex('bucketize', 'Tensor'),
  multinomial: opIndex('multinomial'),
  cumprod: opIndex('cumprod'),
  diag: opIndex('diag'),
};

export const add = (a: Tensor, b: TensorOrScalar, alpha?: number) => a.add(b, alpha);
export const sub = (a: Tensor, b: TensorOrScalar, alpha?: number) => a.sub(b, alpha);
export const mul = (a: Tensor, b: TensorOrScalar) => a.mul(b);
export const div = (a: Tensor, b: TensorOrScalar, roundingMode?: 'trunc' | 'floor') => a.div(b, roundingMode);
export const remainder = (a: Tensor, b: TensorOrScalar) => a.remainder(b);
export const pow = (a: Tensor, b: TensorOrScalar) => a.pow(b);
export const neg = (a: Tensor) => a.neg();
export const abs = (a: Tensor) => a.abs();
export const sqrt = (a: Tensor) => a.sqrt();
export const rsqrt = (a: Tensor) => a.rsqrt();
export const exp = (a: Tensor) => a.exp();
export const expm1 = (a: Tensor) => a.expm1();
export const log = (a: Tensor) => a.log();
export const log1p = (a: Tensor) => a.log1p();
export const log2 = (a: Tensor) => a.log2();
export const sin = (a: Tensor) => a.sin();
export const cos = (a: Tensor) => a.cos();
export const tanh = (a: Tensor) => a.tanh();
export const sigmoid = (a: Tensor) => a.sigmoid();
export const relu = (a: Tensor) => a.relu();
export const erf = (a: Tensor) => a.erf();
export const sign = (a: Tensor) => a.sign();
export const floor = (a: Tensor) => a.floor();
export const ceil = (a: Tensor) => a.ceil();
export const round = (a: Tensor) => a.round();
export const trunc = (a: Tensor) => a.trunc();
export const reciprocal = (a: Tensor) => a.reciprocal();
export const square = (a: Tensor) => a.square();
export const atan2 = (a: Tensor, b: Tensor) => a.atan2(b);
export const clamp = (a: Tensor, min?: TensorOrScalar | null, max?: TensorOrScalar | null) => a.clamp(min, max);
export const clip = clamp;
export const maximum = (a: Tensor, b: Tensor) => a.maximum(b);
export const minimum = (a: Tensor, b: Tensor) => a.minimum(b);
export const lerp = (a: Tensor, end: Tensor, w: TensorOrScalar) => a.lerp(end, w);
export const addcmul = (a: Tensor, t1: Tensor, t2: Tensor, value?: number) => a.addcmul(t1, t2, value);
export const addcdiv = (a: Tensor, t1: Tensor, t2: Tensor, value?: number) => a.addcdiv(t1, t2, value);
export const matmul = (a: Tensor, b: Tensor) => a.matmul(b);
export const mm = (a: Tensor, b: Tensor) => a.mm(b);
export const bmm = (a: Tensor, b: Tensor) => a.bmm(b);
export const outer = (a: Tensor, b: Tensor) => a.outer(b);
export const baddbmm = (input: Tensor, b1: Tensor, b2: Tensor, beta?: number, alpha?: number) => input.baddbmm(b1, b2, beta, alpha);

export const eq = (a: Tensor, b: TensorOrScalar) => a.eq(b);
export const ne = (a: Tensor, b: TensorOrScalar) => a.ne(b);
export const lt = (a: Tensor, b: TensorOrScalar) => a.lt(b);
export const le = (a: Tensor, b: TensorOrScalar) => a.le(b);
export const gt = (a: Tensor, b: TensorOrScalar) => a.gt(b);
export const ge = (a: Tensor, b: TensorOrScalar) => a.ge(b);
export const logicalAnd = (a: Tensor, b: Tensor) => a.logicalAnd(b);
export const logicalOr = (a: Tensor, b: Tensor) => a.logicalOr(b);
export const logicalNot = (a: Tensor) => a.logicalNot();
export const isnan = (a: Tensor) => a.isnan();
export const isfinite = (a: Tensor) => a.isfinite();
export const equal = (a: Tensor, b: Tensor) => a.equal(b);
export const allclose = (a: Tensor, b: Tensor, rtol?: number, atol?: number, equalNan?: boolean) => a.allclose(b, rtol, atol, equalNan);

export const sum = (a: Tensor, dim?: number | number[] | null, keepdim?: boolean, dtype?: DType) => a.sum(dim, keepdim, dtype);
export const mean = (a: Tensor, dim?: number | number[] | null, keepdim?: boolean, dtype?: DType) => a.mean(dim, keepdim, dtype);
export const prod = (a: Tensor, dim?: number | null, keepdim?: boolean, dtype?: DType) => a.prod(dim, keepdim, dtype);
export const var_ = (a: Tensor, dim?: number | number[] | null, unbiased?: boolean, keepdim?: boolean) => a.var(dim, unbiased, keepdim);
export const std = (a: Tensor, dim?: number | number[] | null, unbiased?: boolean, keepdim?: boolean) => a.std(dim, unbiased, keepdim);
export const amax = (a: Tensor, dim?: number | number[], keepdim?: boolean) => a.amax(dim, keepdim);
export const amin = (a: Tensor, dim?: number | number[], keepdim?: boolean) => a.amin(dim, keepdim);
export const argmax = (a: Tensor, dim?: number | null, keepdim?: boolean) => a.argmax(dim, keepdim);
export const argmin = (a: Tensor, dim?: number | null, keepdim?: boolean) => a.argmin(dim, keepdim);
export const norm = (a: Tensor, p?: number, dim?: number | number[] | null, keepdim?: boolean) => a.norm(p, dim, keepdim);
export const logsumexp = (a: Tensor, dim: number | number[], keepdim?: boolean) => a.logsumexp(dim, keepdim);
export const cumsum = (a: Tensor, dim: number, dtype?: DType) => a.cumsum(dim, dtype);
export const cumprod = (a: Tensor, dim: number, dtype?: DType) => new Tensor(call(O.cumprod, a._h, dim, dtype));
export const softmax = (a: Tensor, dim: number, dtype?: DType) => a.softmax(dim, dtype);
export const logSoftmax = (a: Tensor, dim: number, dtype?: DType) => a.logSoftmax(dim, dtype);
export const sort = (a: Tensor, dim?: number, descending?: boolean) => a.sort(dim, descending);
export const argsort = (a: Tensor, dim?: number, descending?: boolean) => a.argsort(dim, descending);
export const topk = (a: Tensor, k: number, dim?: number, largest?: boolean, sorted?: boolean) => a.topk(k, dim, largest, sorted);

export const reshape = (a: Tensor, shape: readonly number[]) => a.reshape(shape);
export const permute = (a: Tensor, dims: readonly number[]) => a.permute(dims);
export const transpose = (a: Tensor, d0: number, d1: number) => a.transpose(d0, d1);
export const flatten = (a: Tensor, startDim?: number, endDim?: number) => a.flatten(startDim, endDim);
export const unflatten = (a: Tensor, dim: number, sizes: number[]) => a.unflatten(dim, sizes);
export const squeeze = (a: Tensor, dim?: number) => a.squeeze(dim);
export const unsqueeze = (a: Tensor, dim: number) => a.unsqueeze(dim);
export const narrow = (a: Tensor, dim: number, start: number, length: number) => a.narrow(dim, start, length);
export const select = (a: Tensor, dim: number, index: number) => a.select(dim, index);
export const indexSelect = (a: Tensor, dim: number, index: Tensor) => a.indexSelect(dim, index);
export const gather = (a: Tensor, dim: number, index: Tensor) => a.gather(dim, index);
export const scatter = (a: Tensor, dim: number, index: Tensor, src: TensorOrScalar) => a.scatter(dim, index, src);
export const scatterAdd = (a: Tensor, dim: number, index: Tensor, src: Tensor) => a.scatterAdd(dim, index, src);
export const maskedFill = (a: Tensor, mask: Tensor, value: TensorOrScalar) => a.maskedFill(mask, value);
export const chunk = (a: Tensor, chunks: number, dim?: number) => a.chunk(chunks, dim);
export const split = (a: Tensor, splitSize: number | number[], dim?: number) => a.split(splitSize, dim);
export const tril = (a: Tensor, diagonal?: number) => a.tril(diagonal);
export const triu = (a: Tensor, diagonal?: number) => a.triu(diagonal);
export const flip = (a: Tensor, dims: number | number[]) => a.flip(dims);
export const roll = (a: Tensor, shifts: number | number[], dims?: number | number[]) => a.roll(shifts, dims);
export const movedim = (a: Tensor, s: number, d: number) => a.movedim(s, d);

/** Concatenates along an existing dim. */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  return new Tensor(
    call(
      O.cat,
      tensors.map((t) => t._h),
      dim,
    ),
  );
}
export const concat = cat;
/** Stacks along a new dim. */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  return new Tensor(
    call(
      O.stack,
      tensors.map((t) => t._h),
      dim,
    ),
  );
}
/** Elements of x where cond is true, else of y (either may be a scalar). */
export function where(cond: Tensor, x: TensorOrScalar, y: TensorOrScalar): Tensor {
  if (typeof x === 'object' && typeof y === 'object') return new Tensor(call(O.where, cond._h, x._h, y._h));
  if (typeof x === 'object') return new Tensor(call(O.whereS, cond._h, x._h, y));
  if (typeof y === 'object') return new Tensor(call(O.whereSelfS, cond._h, x, y._h));
  return new Tensor(call(O.whereSS, cond._h, x, y));
}
export function einsum(equation: string, ...operands: (Tensor | Tensor[])[]): Tensor {
  const ts = (operands.length === 1 && Array.isArray(operands[0]) ? operands[0] : operands) as Tensor[];
  return new Tensor(
    call(
      O.einsum,
      equation,
      ts.map((t) => t._h),
    ),
  );
}
export function broadcastTensors(...ts: Tensor[]): Tensor[] {
  return (
    call(
      O.broadcastTensors,
      ts.map((t) => t._h),
    ) as number[]
  ).map((h) => new Tensor(h));
}
export function meshgrid(tensors: Tensor[], indexing: 'ij' | 'xy' = 'ij'): Tensor[] {
  return (
    call(
      O.meshgrid,
      tensors.map((t) => t._h),
      indexing,
    ) as number[]
  ).map((h) => new Tensor(h));
}
export const cdist = (a: Tensor, b: Tensor, p = 2) => new Tensor(call(O.cdist, a._h, b._h, p));
export const diag = (a: Tensor, diagonal = 0) => new Tensor(call(O.diag, a._h, diagonal));
export function multinomial(probs: Tensor, numSamples: number, replacement = false, generator?: { _g: number }): Tensor {
  return new Tensor(call(O.multinomial, probs._h, numSamples, replacement, generator?._g));
}
export const bucketize = (a: Tensor, boundaries: Tensor, right = false) => new Tensor(call(O.bucketize, a._h, boundaries._h, false, right));
export type { Scalar };
