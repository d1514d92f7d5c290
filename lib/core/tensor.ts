// The Tensor class: a small JS object holding a native handle, with PyTorch's method names.
//
// Each method calls the dispatcher with a pre-resolved operator index; results are wrapped in new
// Tensor objects that the current scope owns (see scope.ts). Method semantics follow PyTorch.
import { native } from './native.js';
import { track, release, keep, tensorBrand, type Owned } from './scope.js';
import { opIndex, opIndexOrMissing } from './ops.js';
import { arrayTypeFor, normDtype, type DType, type DeviceLike, type AnyTypedArray } from './dtype.js';
import { formatTensor } from './format.js';

const call = native.call;

// Operators used by the methods below, resolved once when the module loads.
const O = {
  add: opIndex('add', 'Tensor'),
  addS: opIndex('add', 'Scalar'),
  add_: opIndex('add_', 'Tensor'),
  addS_: opIndex('add_', 'Scalar'),
  sub: opIndex('sub', 'Tensor'),
  subS: opIndex('sub', 'Scalar'),
  sub_: opIndex('sub_', 'Tensor'),
  subS_: opIndex('sub_', 'Scalar'),
  rsubS: opIndex('rsub', 'Scalar'),
  mul: opIndex('mul', 'Tensor'),
  mulS: opIndex('mul', 'Scalar'),
  mul_: opIndex('mul_', 'Tensor'),
  mulS_: opIndex('mul_', 'Scalar'),
  div: opIndex('div', 'Tensor'),
  divS: opIndex('div', 'Scalar'),
  div_: opIndex('div_', 'Tensor'),
  divS_: opIndex('div_', 'Scalar'),
  divMode: opIndex('div', 'Tensor_mode'),
  divSMode: opIndex('div', 'Scalar_mode'),
  remainder: opIndex('remainder', 'Tensor'),
  remainderS: opIndex('remainder', 'Scalar'),
  pow: opIndex('pow', 'Tensor_Tensor'),
  powS: opIndex('pow', 'Tensor_Scalar'),
  pow_: opIndex('pow_', 'Scalar'),
  neg: opIndex('neg'),
  abs: opIndex('abs'),
  sqrt: opIndex('sqrt'),
  rsqrt: opIndex('rsqrt'),
  exp: opIndex('exp'),
  log: opIndex('log'),
  log1p: opIndex('log1p'),
  expm1: opIndex('expm1'),
  log2: opIndex('log2'),
  sin: opIndex('sin'),
  cos: opIndex('cos'),
  tanh: opIndex('tanh'),
  sigmoid: opIndex('sigmoid'),
  relu: opIndex('relu'),
  sign: opIndex('sign'),
  floor: opIndex('floor'),
  ceil: opIndex('ceil'),
  round: opIndex('round'),
  trunc: opIndex('trunc'),
  reciprocal: opIndex('reciprocal'),
  square: opIndex('square'),
  erf: opIndex('erf'),
  atan2: opIndex('atan2'),
  clamp: opIndex('clamp'),
  clampT: opIndex('clamp', 'Tensor'),
  clamp_: opIndex('clamp_'),
  maximum: opIndex('maximum'),
  minimum: opIndex('minimum'),
  lerpS_: opIndex('lerp_', 'Scalar'),
  lerpT_: opIndex('lerp_', 'Tensor'),
  lerpS: opIndex('lerp', 'Scalar'),
  lerpT: opIndex('lerp', 'Tensor'),
  addcmul: opIndex('addcmul'),
  addcmul_: opIndex('addcmul_'),
  addcdiv: opIndex('addcdiv'),
  addcdiv_: opIndex('addcdiv_'),
  matmul: opIndex('matmul'),
  mm: opIndex('mm'),
  bmm: opIndex('bmm'),
  baddbmm: opIndex('baddbmm'),
  eq: opIndex('eq', 'Tensor'),
  eqS: opIndex('eq', 'Scalar'),
  ne: opIndex('ne', 'Tensor'),
  neS: opIndex('ne', 'Scalar'),
  lt: opIndex('lt', 'Tensor'),
  ltS: opIndex('lt', 'Scalar'),
  le: opIndex('le', 'Tensor'),
  leS: opIndex('le', 'Scalar'),
  gt: opIndex('gt', 'Tensor'),
  gtS: opIndex('gt', 'Scalar'),
  ge: opIndex('ge', 'Tensor'),
  geS: opIndex('ge', 'Scalar'),
  logicalAnd: opIndex('logical_and'),
  logicalOr: opIndex('logical_or'),
  logicalNot: opIndex('logical_not'),
  isnan: opIndex('isnan'),
  isfinite: opIndex('isfinite'),
  equal: opIndex('equal'),
  allclose: opIndex('allclose'),
  sum: opIndex('sum'),
  sumDim: opIndex('sum', 'dim_IntList'),
  mean: opIndex('mean'),
  meanDim: opIndex('mean', 'dim'),
  prod: opIndex('prod'),
  prodDim: opIndex('prod', 'dim_int'),
  varDim: opIndex('var', 'dim'),
  stdDim: opIndex('std', 'dim'),
  max: opIndex('max'),
  maxDim: opIndex('max', 'dim'),
  min: opIndex('min'),
  minDim: opIndex('min', 'dim'),
  amax: opIndex('amax'),
  amin: opIndex('amin'),
  argmax: opIndex('argmax'),
  argmin: opIndex('argmin'),
  all: opIndex('all'),
  allDim: opIndex('all', 'dim'),
  any: opIndex('any'),
  anyDim: opIndex('any', 'dim'),
  normS: opIndex('norm', 'ScalarOpt_dim'),
  norm: opIndex('norm', 'Scalar'),
  logsumexp: opIndex('logsumexp'),
  cumsum: opIndex('cumsum'),
  softmax: opIndex('softmax', 'int'),
  logSoftmax: opIndex('log_softmax', 'int'),
  view: opIndex('view'),
  viewDtype: opIndex('view', 'dtype'),
  reshape: opIndex('reshape'),
  permute: opIndex('permute'),
  transpose: opIndex('transpose', 'int'),
  t: opIndex('t'),
  flatten: opIndex('flatten', 'using_ints'),
  unflatten: opIndex('unflatten', 'int'),
  squeeze: opIndex('squeeze'),
  squeezeDim: opIndex('squeeze', 'dim'),
  unsqueeze: opIndex('unsqueeze'),
  expand: opIndex('expand'),
  repeat: opIndex('repeat'),
  contiguous: opIndex('contiguous'),
  narrow: opIndex('narrow'),
  select: opIndex('select', 'int'),
  slice: opIndex('slice', 'Tensor'),
  indexSelect: opIndex('index_select'),
  gather: opIndex('gather'),
  scatter: opIndex('scatter', 'src'),
  scatterS: opIndex('scatter', 'value'),
  scatterAdd: opIndex('scatter_add'),
  index: opIndex('index', 'Tensor'),
  indexPut_: opIndex('index_put_'),
  maskedFill: opIndex('masked_fill', 'Scalar'),
  maskedFillT: opIndex('masked_fill', 'Tensor'),
  maskedFill_: opIndex('masked_fill_', 'Scalar'),
  where: opIndex('where', 'self'),
  chunk: opIndex('chunk'),
  unbind: opIndex('unbind', 'int'),
  split: opIndex('split', 'Tensor'),
  splitSizes: opIndex('split_with_sizes'),
  tril: opIndex('tril'),
  triu: opIndex('triu'),
  flip: opIndex('flip'),
  roll: opIndex('roll'),
  movedim: opIndex('movedim', 'int'),
  toDtype: opIndex('to', 'dtype'),
  toDevice: opIndex('to', 'device'),
  clone: opIndex('clone'),
  pinMemory: opIndex('pin_memory'),
  isPinned: opIndex('is_pinned'),
  detach: opIndex('detach'),
  detach_: opIndex('detach_'),
  copy_: opIndex('copy_'),
  zero_: opIndex('zero_'),
  fill_: opIndex('fill_', 'Scalar'),
  normal_: opIndex('normal_'),
  uniform_: opIndex('uniform_'),
  sort: opIndex('sort'),
  topk: opIndex('topk'),
  outer: opIndex('outer'),
};
const argsortIdx = opIndexOrMissing('argsort');

/** Shape arguments may be given as varargs (t.view(2, 3)) or one array (t.view([2, 3])). */
export function sizes(args: (number | readonly number[])[]): number[] {
  return args.length === 1 && Array.isArray(args[0]) ? (args[0] as number[]) : (args as number[]);
}

export type Scalar = number | boolean;
export type TensorOrScalar = Tensor | Scalar;

export interface ToOptions {
  dtype?: DType | string;
  device?: DeviceLike;
  copy?: boolean;
  nonBlocking?: boolean;
}
export interface BackwardOptions {
  retainGraph?: boolean;
  createGraph?: boolean;
  inputs?: Tensor[];
}

export class Tensor implements Owned {
  /** Native handle; 0 once disposed. */
  _h: number;
  _f = 0;

  constructor(handle: number) {
    this._h = handle;
    track(this);
  }

  // ---- metadata ------------------------------------------------------------------------

  get shape(): number[] {
    return native.shape(this._h);
  }
  size(dim?: number): any {
    const s = native.shape(this._h);
    return dim === undefined ? s : s[dim < 0 ? dim + s.length : dim];
  }
  get ndim(): number {
    return native.dim(this._h);
  }
  dim(): number {
    return native.dim(this._h);
  }
  numel(): number {
    return native.numel(this._h);
  }
  get dtype(): DType {
    return native.dtype(this._h) as DType;
  }
  get device(): string {
    return native.device(this._h);
  }
  get isCuda(): boolean {
    return this.device.startsWith('cuda');
  }
  stride(dim?: number): any {
    const s = native.strides(this._h);
    return dim === undefined ? s : s[dim < 0 ? dim + s.length : dim];
  }
  storageOffset(): number {
    return native.storageOffset(this._h);
  }
  isContiguous(): boolean {
    return native.isContiguous(this._h);
  }
  isFloatingPoint(): boolean {
    const d = this.dtype;
    return d === 'float32' || d === 'float64' || d === 'float16' || d === 'bfloat16';
  }
  elementSize(): number {
    return { float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1 }[this.dtype];
  }
  /** True once dispose() ran (or a scope freed it). */
  get isDisposed(): boolean {
    return this._h === 0;
  }

  // ---- autograd ------------------------------------------------------------------------

  get requiresGrad(): boolean {
    return native.requiresGrad(this._h);
  }
  set requiresGrad(v: boolean) {
    native.setRequiresGrad(this._h, v);
  }
  requiresGrad_(v = true): this {
    native.setRequiresGrad(this._h, v);
    return this;
  }
  /** The accumulated gradient (a new handle onto it on each read), or null. */
  get grad(): Tensor | null {
    const g = native.grad(this._h);
    return g === null ? null : new Tensor(g);
  }
  set grad(g: Tensor | null) {
    native.setGrad(this._h, g === null ? null : g?._h);
  }
  get isLeaf(): boolean {
    return native.isLeaf(this._h);
  }
  /** Name of the autograd node that made this tensor (e.g. 'MulBackward0'), or null. */
  get gradFn(): string | null {
    return native.gradFn(this._h);
  }
  retainGrad(): void {
    native.retainGrad(this._h);
  }
  backward(gradient?: Tensor | null, opts: BackwardOptions = {}): void {
    native.backward(
      this._h,
      gradient ? gradient._h : null,
      !!opts.retainGraph,
      !!opts.createGraph,
      opts.inputs?.map((t) => t?._h),
    );
  }
  detach(): Tensor {
    return new Tensor(call(O.detach, this._h));
  }
  detach_(): this {
    call(O.detach_, this._h);
    return this;
  }

  // ---- memory --------------------------------------------------------------------------

  /** Frees the native tensor now. Later use throws. Safe to call twice. */
  dispose(): void {
    release(this);
  }
  [Symbol.dispose](): void {
    release(this);
  }
  /** Exempts this tensor from scope disposal (see torch.keep). */
  keep(): this {
    return keep(this);
  }

  // ---- data ----------------------------------------------------------------------------

  item(): number {
    return native.item(this._h) as number;
  }
  /** A copy of the elements in a typed array (float16/bfloat16 come back as Float32Array). */
  toTypedArray(): AnyTypedArray {
    const { ctor, via } = arrayTypeFor(this.dtype);
    return new ctor(native.toBuffer(this._h, via));
  }
  /** Nested arrays of numbers (booleans for bool tensors), or a number for a 0-d tensor. */
  tolist(): any {
    const shape = this.shape;
    const flat = this.toTypedArray();
    const isBool = this.dtype === 'bool';
    const conv = (v: number | bigint) => (isBool ? v !== 0 : Number(v));
    if (shape.length === 0) return conv(flat[0]);
    let i = 0;
    const build = (d: number): any[] => {
      const out = new Array(shape[d]);
      for (let k = 0; k < shape[d]; k++) out[k] = d === shape.length - 1 ? conv(flat[i++]) : build(d + 1);
      return out;
    };
    return build(0);
  }
  toString(): string {
    return formatTensor(this);
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this._h === 0 ? 'tensor(<disposed>)' : formatTensor(this);
  }

  // ---- conversion ----------------------------------------------------------------------

  /** to(dtype), to(device), to({dtype, device, copy}). */
  to(target: DType | DeviceLike | ToOptions | Tensor, opts: { copy?: boolean; nonBlocking?: boolean } = {}): Tensor {
    let o: ToOptions;
    if (target instanceof Tensor) o = { dtype: target.dtype, device: target.device };
    else if (typeof target === 'string') {
      if (isDtypeName(target)) o = { dtype: target };
      else if (/^(cpu|cuda|mps|meta)(:\d+)?$/.test(target)) o = { device: target };
      else throw new TypeError(`to(): '${target}' is neither a dtype (float32, int64, ...) nor a device ('cpu', 'cuda:0', ...)`);
    } else o = target;
    const copy = !!(o.copy ?? opts.copy);
    const nb = !!(o.nonBlocking ?? opts.nonBlocking);
    const dt = o.dtype === undefined ? this.dtype : normDtype(o.dtype);
    if (o.device !== undefined) return new Tensor(call(O.toDevice, this._h, o.device, dt, nb, copy));
    return new Tensor(call(O.toDtype, this._h, dt, nb, copy));
  }
  float(): Tensor {
    return this.to('float32');
  }
  double(): Tensor {
    return this.to('float64');
  }
  half(): Tensor {
    return this.to('float16');
  }
  bfloat16(): Tensor {
    return this.to('bfloat16');
  }
  long(): Tensor {
    return this.to('int64');
  }
  int(): Tensor {
    return this.to('int32');
  }
  bool(): Tensor {
    return this.to('bool');
  }
  cpu(): Tensor {
    return this.to('cpu');
  }
  cuda(device: number | string = 0): Tensor {
    return this.to(typeof device === 'number' ? `cuda:${device}` : device);
  }
  type(dtype: DType): Tensor {
    return this.to(dtype);
  }
  clone(): Tensor {
    return new Tensor(call(O.clone, this._h));
  }
  contiguous(): Tensor {
    return new Tensor(call(O.contiguous, this._h));
  }
  /** A copy in page-locked host memory (for asynchronous host→CUDA copies); needs a CUDA libtorch. */
  pinMemory(): Tensor {
    return new Tensor(call(O.pinMemory, this._h, null));
  }
  isPinned(): boolean {
    return call(O.isPinned, this._h, null) as boolean;
  }

  // ---- arithmetic ----------------------------------------------------------------------

  add(other: TensorOrScalar, alpha?: number): Tensor {
    return new Tensor(typeof other === 'object' ? call(O.add, this._h, other?._h, alpha) : call(O.addS, this._h, other, alpha));
  }
  sub(other: TensorOrScalar, alpha?: number): Tensor {
    return new Tensor(typeof other === 'object' ? call(O.sub, this._h, other?._h, alpha) : call(O.subS, this._h, other, alpha));
  }
  /** other - this (Python's `2 - t`). */
  rsub(other: Scalar, alpha?: number): Tensor {
    return new Tensor(call(O.rsubS, this._h, other, alpha));
  }
  mul(other: TensorOrScalar): Tensor {
    return new Tensor(typeof other === 'object' ? call(O.mul, this._h, other?._h) : call(O.mulS, this._h, other));
  }
  div(other: TensorOrScalar, roundingMode?: 'trunc' | 'floor'): Tensor {
    if (roundingMode !== undefined)
      return new Tensor(typeof other === 'object' ? call(O.divMode, this._h, other?._h, roundingMode) : call(O.divSMode, this._h, other, roundingMode));
    return new Tensor(typeof other === 'object' ? call(O.div, this._h, other?._h) : call(O.divS, this._h, other));
  }
  remainder(other: TensorOrScalar): Tensor {
    return new Tensor(typeof other === 'object' ? call(O.remainder, this._h, other?._h) : call(O.remainderS, this._h, other));
  }
  pow(exponent: TensorOrScalar): Tensor {
    return new Tensor(typeof exponent === 'object' ? call(O.pow, this._h, exponent?._h) : call(O.powS, this._h, exponent));
  }
  neg(): Tensor {
    return new Tensor(call(O.neg, this._h));
  }
  abs(): Tensor {
    return new Tensor(call(O.abs, this._h));
  }
  sqrt(): Tensor {
    return new Tensor(call(O.sqrt, this._h));
  }
  rsqrt(): Tensor {
    return new Tensor(call(O.rsqrt, this._h));
  }
  exp(): Tensor {
    return new Tensor(call(O.exp, this._h));
  }
  expm1(): Tensor {
    return new Tensor(call(O.expm1, this._h));
  }
  log(): Tensor {
    return new Tensor(call(O.log, this._h));
  }
  log1p(): Tensor {
    return new Tensor(call(O.log1p, this._h));
  }
  log2(): Tensor {
    return new Tensor(call(O.log2, this._h));
  }
  sin(): Tensor {
    return new Tensor(call(O.sin, this._h));
  }
  cos(): Tensor {
    return new Tensor(call(O.cos, this._h));
  }
  tanh(): Tensor {
    return new Tensor(call(O.tanh, this._h));
  }
  sigmoid(): Tensor {
    return new Tensor(call(O.sigmoid, this._h));
  }
  relu(): Tensor {
    return new Tensor(call(O.relu, this._h));
  }
  erf(): Tensor {
    return new Tensor(call(O.erf, this._h));
  }
  sign(): Tensor {
    return new Tensor(call(O.sign, this._h));
  }
  floor(): Tensor {
    return new Tensor(call(O.floor, this._h));
  }
  ceil(): Tensor {
    return new Tensor(call(O.ceil, this._h));
  }
  round(): Tensor {
    return new Tensor(call(O.round, this._h));
  }
  trunc(): Tensor {
    return new Tensor(call(O.trunc, this._h));
  }
  reciprocal(): Tensor {
    return new Tensor(call(O.reciprocal, this._h));
  }
  square(): Tensor {
    return new Tensor(call(O.square, this._h));
  }
  atan2(other: Tensor): Tensor {
    return new Tensor(call(O.atan2, this._h, other?._h));
  }
  clamp(min?: TensorOrScalar | null, max?: TensorOrScalar | null): Tensor {
    if ((min !== null && typeof min === 'object') || (max !== null && typeof max === 'object')) {
      const lo = tensorOrNull(min, this),
        hi = tensorOrNull(max, this);
      try {
        return new Tensor(call(O.clampT, this._h, lo?._h ?? null, hi?._h ?? null));
      } finally {
        // free the temporaries made for scalar bounds
        if (lo !== null && lo !== min) lo.dispose();
        if (hi !== null && hi !== max) hi.dispose();
      }
    }
    return new Tensor(call(O.clamp, this._h, min ?? null, max ?? null));
  }
  clip(min?: TensorOrScalar | null, max?: TensorOrScalar | null): Tensor {
    return this.clamp(min, max);
  }
  maximum(other: Tensor): Tensor {
    return new Tensor(call(O.maximum, this._h, other?._h));
  }
  minimum(other: Tensor): Tensor {
    return new Tensor(call(O.minimum, this._h, other?._h));
  }
  lerp(end: Tensor, weight: TensorOrScalar): Tensor {
    return new Tensor(typeof weight === 'object' ? call(O.lerpT, this._h, end?._h, weight?._h) : call(O.lerpS, this._h, end?._h, weight));
  }
  addcmul(t1: Tensor, t2: Tensor, value?: number): Tensor {
    return new Tensor(call(O.addcmul, this._h, t1?._h, t2?._h, value));
  }
  addcdiv(t1: Tensor, t2: Tensor, value?: number): Tensor {
    return new Tensor(call(O.addcdiv, this._h, t1?._h, t2?._h, value));
  }
  matmul(other: Tensor): Tensor {
    return new Tensor(call(O.matmul, this._h, other?._h));
  }
  mm(other: Tensor): Tensor {
    return new Tensor(call(O.mm, this._h, other?._h));
  }
  bmm(other: Tensor): Tensor {
    return new Tensor(call(O.bmm, this._h, other?._h));
  }
  outer(other: Tensor): Tensor {
    return new Tensor(call(O.outer, this._h, other?._h));
  }
  baddbmm(b1: Tensor, b2: Tensor, beta?: number, alpha?: number): Tensor {
    return new Tensor(call(O.baddbmm, this._h, b1?._h, b2?._h, beta, alpha));
  }

  // ---- in place ------------------------------------------------------------------------

  add_(other: TensorOrScalar, alpha?: number): this {
    typeof other === 'object' ? call(O.add_, this._h, other?._h, alpha) : call(O.addS_, this._h, other, alpha);
    return this;
  }
  sub_(other: TensorOrScalar, alpha?: number): this {
    typeof other === 'object' ? call(O.sub_, this._h, other?._h, alpha) : call(O.subS_, this._h, other, alpha);
    return this;
  }
  mul_(other: TensorOrScalar): this {
    typeof other === 'object' ? call(O.mul_, this._h, other?._h) : call(O.mulS_, this._h, other);
    return this;
  }
  div_(other: TensorOrScalar): this {
    typeof other === 'object' ? call(O.div_, this._h, other?._h) : call(O.divS_, this._h, other);
    return this;
  }
  pow_(exponent: Scalar): this {
    call(O.pow_, this._h, exponent);
    return this;
  }
  lerp_(end: Tensor, weight: TensorOrScalar): this {
    typeof weight === 'object' ? call(O.lerpT_, this._h, end?._h, weight?._h) : call(O.lerpS_, this._h, end?._h, weight);
    return this;
  }
  addcmul_(t1: Tensor, t2: Tensor, value?: number): this {
    call(O.addcmul_, this._h, t1?._h, t2?._h, value);
    return this;
  }
  addcdiv_(t1: Tensor, t2: Tensor, value?: number): this {
    call(O.addcdiv_, this._h, t1?._h, t2?._h, value);
    return this;
  }
  copy_(src: Tensor, nonBlocking = false): this {
    call(O.copy_, this._h, src?._h, nonBlocking);
    return this;
  }
  zero_(): this {
    call(O.zero_, this._h);
    return this;
  }
  fill_(value: Scalar): this {
    call(O.fill_, this._h, value);
    return this;
  }
  normal_(mean = 0, std = 1, generator?: { _g: number }): this {
    call(O.normal_, this._h, mean, std, generator?._g);
    return this;
  }
  uniform_(from = 0, to = 1, generator?: { _g: number }): this {
    call(O.uniform_, this._h, from, to, generator?._g);
    return this;
  }
  clamp_(min?: Scalar | null, max?: Scalar | null): this {
    call(O.clamp_, this._h, min ?? null, max ?? null);
    return this;
  }
  maskedFill_(mask: Tensor, value: Scalar): this {
    call(O.maskedFill_, this._h, mask?._h, value);
    return this;
  }

  // ---- comparisons ---------------------------------------------------------------------

  eq(o: TensorOrScalar): Tensor {
    return new Tensor(typeof o === 'object' ? call(O.eq, this._h, o?._h) : call(O.eqS, this._h, o));
  }
  ne(o: TensorOrScalar): Tensor {
    return new Tensor(typeof o === 'object' ? call(O.ne, this._h, o?._h) : call(O.neS, this._h, o));
  }
  lt(o: TensorOrScalar): Tensor {
    return new Tensor(typeof o === 'object' ? call(O.lt, this._h, o?._h) : call(O.ltS, this._h, o));
  }
  le(o: TensorOrScalar): Tensor {
    return new Tensor(typeof o === 'object' ? call(O.le, this._h, o?._h) : call(O.leS, this._h, o));
  }
  gt(o: TensorOrScalar): Tensor {
    return new Tensor(typeof o === 'object' ? call(O.gt, this._h, o?._h) : call(O.gtS, this._h, o));
  }
  ge(o: TensorOrScalar): Tensor {
    return new Tensor(typeof o === 'object' ? call(O.ge, this._h, o?._h) : call(O.geS, this._h, o));
  }
  logicalAnd(o: Tensor): Tensor {
    return new Tensor(call(O.logicalAnd, this._h, o?._h));
  }
  logicalOr(o: Tensor): Tensor {
    return new Tensor(call(O.logicalOr, this._h, o?._h));
  }
  logicalNot(): Tensor {
    return new Tensor(call(O.logicalNot, this._h));
  }
  isnan(): Tensor {
    return new Tensor(call(O.isnan, this._h));
  }
  isfinite(): Tensor {
    return new Tensor(call(O.isfinite, this._h));
  }
  /** Same shape and elements (torch.equal). */
  equal(o: Tensor): boolean {
    return call(O.equal, this._h, o?._h);
  }
  allclose(o: Tensor, rtol = 1e-5, atol = 1e-8, equalNan = false): boolean {
    return call(O.allclose, this._h, o?._h, rtol, atol, equalNan);
  }

  // ---- reductions ----------------------------------------------------------------------

  sum(dim?: number | number[] | null, keepdim = false, dtype?: DType): Tensor {
    if (dim === undefined || dim === null) return new Tensor(call(O.sum, this._h, dtype));
    return new Tensor(call(O.sumDim, this._h, dim, keepdim, dtype));
  }
  mean(dim?: number | number[] | null, keepdim = false, dtype?: DType): Tensor {
    if (dim === undefined || dim === null) return new Tensor(call(O.mean, this._h, dtype));
    return new Tensor(call(O.meanDim, this._h, dim, keepdim, dtype));
  }
  prod(dim?: number | null, keepdim = false, dtype?: DType): Tensor {
    if (dim === undefined || dim === null) return new Tensor(call(O.prod, this._h, dtype));
    return new Tensor(call(O.prodDim, this._h, dim, keepdim, dtype));
  }
  /** Variance; unbiased (Bessel's correction) by default, as in PyTorch. */
  var(dim?: number | number[] | null, unbiased = true, keepdim = false): Tensor {
    return new Tensor(call(O.varDim, this._h, dim ?? null, unbiased, keepdim));
  }
  std(dim?: number | number[] | null, unbiased = true, keepdim = false): Tensor {
    return new Tensor(call(O.stdDim, this._h, dim ?? null, unbiased, keepdim));
  }
  /** max() of all elements; max(dim, keepdim) → {values, indices}; max(other) → elementwise. */
  max(): Tensor;
  max(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  max(other: Tensor): Tensor;
  max(dim?: number | Tensor, keepdim = false): any {
    if (dim === undefined) return new Tensor(call(O.max, this._h));
    if (typeof dim === 'object') return this.maximum(dim);
    const [v, i] = call(O.maxDim, this._h, dim, keepdim);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  min(): Tensor;
  min(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  min(other: Tensor): Tensor;
  min(dim?: number | Tensor, keepdim = false): any {
    if (dim === undefined) return new Tensor(call(O.min, this._h));
    if (typeof dim === 'object') return this.minimum(dim);
    const [v, i] = call(O.minDim, this._h, dim, keepdim);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  amax(dim: number | number[] = [], keepdim = false): Tensor {
    return new Tensor(call(O.amax, this._h, dim, keepdim));
  }
  amin(dim: number | number[] = [], keepdim = false): Tensor {
    return new Tensor(call(O.amin, this._h, dim, keepdim));
  }
  argmax(dim?: number | null, keepdim = false): Tensor {
    return new Tensor(call(O.argmax, this._h, dim ?? null, keepdim));
  }
  argmin(dim?: number | null, keepdim = false): Tensor {
    return new Tensor(call(O.argmin, this._h, dim ?? null, keepdim));
  }
  all(dim?: number, keepdim = false): Tensor {
    return new Tensor(dim === undefined ? call(O.all, this._h) : call(O.allDim, this._h, dim, keepdim));
  }
  any(dim?: number, keepdim = false): Tensor {
    return new Tensor(dim === undefined ? call(O.any, this._h) : call(O.anyDim, this._h, dim, keepdim));
  }
  /** p-norm over all elements, or over dim. */
  norm(p: number = 2, dim?: number | number[] | null, keepdim = false): Tensor {
    if (dim === undefined || dim === null) return new Tensor(call(O.norm, this._h, p));
    return new Tensor(call(O.normS, this._h, p, dim, keepdim));
  }
  logsumexp(dim: number | number[], keepdim = false): Tensor {
    return new Tensor(call(O.logsumexp, this._h, dim, keepdim));
  }
  cumsum(dim: number, dtype?: DType): Tensor {
    return new Tensor(call(O.cumsum, this._h, dim, dtype));
  }
  softmax(dim: number, dtype?: DType): Tensor {
    return new Tensor(call(O.softmax, this._h, dim, dtype));
  }
  logSoftmax(dim: number, dtype?: DType): Tensor {
    return new Tensor(call(O.logSoftmax, this._h, dim, dtype));
  }
  sort(dim = -1, descending = false): { values: Tensor; indices: Tensor } {
    const [v, i] = call(O.sort, this._h, dim, descending);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  argsort(dim = -1, descending = false): Tensor {
    if (argsortIdx >= 0) return new Tensor(call(argsortIdx, this._h, dim, descending));
    const { values, indices } = this.sort(dim, descending);
    values.dispose();
    return indices;
  }
  topk(k: number, dim = -1, largest = true, sorted = true): { values: Tensor; indices: Tensor } {
    const [v, i] = call(O.topk, this._h, k, dim, largest, sorted);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }

  // ---- views and indexing --------------------------------------------------------------

  view(...shape: (number | number[])[]): Tensor;
  view(dtype: DType): Tensor;
  view(...args: any[]): Tensor {
    if (typeof args[0] === 'string') return new Tensor(call(O.viewDtype, this._h, args[0]));
    return new Tensor(call(O.view, this._h, sizes(args)));
  }
  reshape(...shape: (number | readonly number[])[]): Tensor {
    return new Tensor(call(O.reshape, this._h, sizes(shape)));
  }
  viewAs(other: Tensor): Tensor {
    return this.view(other.shape);
  }
  reshapeAs(other: Tensor): Tensor {
    return this.reshape(other.shape);
  }
  permute(...dims: (number | readonly number[])[]): Tensor {
    return new Tensor(call(O.permute, this._h, sizes(dims)));
  }
  transpose(dim0: number, dim1: number): Tensor {
    return new Tensor(call(O.transpose, this._h, dim0, dim1));
  }
  /** Transpose of a ≤2-D tensor. */
  t(): Tensor {
    return new Tensor(call(O.t, this._h));
  }
  get T(): Tensor {
    return this.permute([...Array(this.ndim).keys()].reverse());
  }
  /** Swaps the last two dims (Python's .mT). */
  get mT(): Tensor {
    return this.transpose(-2, -1);
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    return new Tensor(call(O.flatten, this._h, startDim, endDim));
  }
  unflatten(dim: number, sizes: number[]): Tensor {
    return new Tensor(call(O.unflatten, this._h, dim, sizes));
  }
  squeeze(dim?: number): Tensor {
    return new Tensor(dim === undefined ? call(O.squeeze, this._h) : call(O.squeezeDim, this._h, dim));
  }
  unsqueeze(dim: number): Tensor {
    return new Tensor(call(O.unsqueeze, this._h, dim));
  }
  expand(...shape: (number | readonly number[])[]): Tensor {
    return new Tensor(call(O.expand, this._h, sizes(shape), false));
  }
  expandAs(other: Tensor): Tensor {
    return this.expand(other.shape);
  }
  repeat(...reps: (number | readonly number[])[]): Tensor {
    return new Tensor(call(O.repeat, this._h, sizes(reps)));
  }
  movedim(source: number, destination: number): Tensor {
    return new Tensor(call(O.movedim, this._h, source, destination));
  }
  flip(dims: number | number[]): Tensor {
    return new Tensor(call(O.flip, this._h, dims));
  }
  roll(shifts: number | number[], dims: number | number[] = []): Tensor {
    return new Tensor(call(O.roll, this._h, shifts, dims));
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return new Tensor(call(O.narrow, this._h, dim, start, length));
  }
  /** The sub-tensor at `index` along dim (the dim is removed); negative indices count from the end. */
  select(dim: number, index: number): Tensor {
    return new Tensor(call(O.select, this._h, dim, index));
  }
  /** Python's t[start:end:step] along dim; start/end may be negative or null (open), step > 0. */
  slice(dim = 0, start: number | null = null, end: number | null = null, step = 1): Tensor {
    return new Tensor(call(O.slice, this._h, dim, start, end, step));
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return new Tensor(call(O.indexSelect, this._h, dim, index?._h));
  }
  gather(dim: number, index: Tensor): Tensor {
    return new Tensor(call(O.gather, this._h, dim, index?._h, false));
  }
  scatter(dim: number, index: Tensor, src: TensorOrScalar): Tensor {
    return new Tensor(typeof src === 'object' ? call(O.scatter, this._h, dim, index?._h, src?._h) : call(O.scatterS, this._h, dim, index?._h, src));
  }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return new Tensor(call(O.scatterAdd, this._h, dim, index?._h, src?._h));
  }
  maskedFill(mask: Tensor, value: TensorOrScalar): Tensor {
    return new Tensor(typeof value === 'object' ? call(O.maskedFillT, this._h, mask?._h, value?._h) : call(O.maskedFill, this._h, mask?._h, value));
  }
  /** Elements of this where cond is true, else of other. */
  where(cond: Tensor, other: Tensor): Tensor {
    return new Tensor(call(O.where, cond?._h, this._h, other?._h));
  }
  /** Advanced indexing with index tensors per dim (null keeps a dim whole), as t[idx0, idx1]. */
  indexTensors(indices: (Tensor | null)[]): Tensor {
    return new Tensor(
      call(
        O.index,
        this._h,
        indices.map((t) => (t ? t?._h : null)),
      ),
    );
  }
  indexPut_(indices: (Tensor | null)[], values: Tensor, accumulate = false): this {
    call(
      O.indexPut_,
      this._h,
      indices.map((t) => (t ? t?._h : null)),
      values?._h,
      accumulate,
    );
    return this;
  }
  /** The slices along dim, each without that dim. */
  unbind(dim = 0): Tensor[] {
    return (call(O.unbind, this._h, dim) as number[]).map((h) => new Tensor(h));
  }
  chunk(chunks: number, dim = 0): Tensor[] {
    return (call(O.chunk, this._h, chunks, dim) as number[]).map((h) => new Tensor(h));
  }
  /** split(size) in pieces of `size`, or split([s0, s1, ...]) in pieces of those sizes. */
  split(splitSize: number | number[], dim = 0): Tensor[] {
    const hs: number[] = typeof splitSize === 'number' ? call(O.split, this._h, splitSize, dim) : call(O.splitSizes, this._h, splitSize, dim);
    return hs.map((h) => new Tensor(h));
  }
  tril(diagonal = 0): Tensor {
    return new Tensor(call(O.tril, this._h, diagonal));
  }
  triu(diagonal = 0): Tensor {
    return new Tensor(call(O.triu, this._h, diagonal));
  }
}

(Tensor.prototype as any)[tensorBrand] = true;

function isDtypeName(s: string): boolean {
  try {
    normDtype(s);
    return true;
  } catch {
    return false;
  }
}

function tensorOrNull(x: TensorOrScalar | null | undefined, like: Tensor): Tensor | null {
  if (x === null || x === undefined) return null;
  if (typeof x === 'object') return x;
  // A scalar bound beside a tensor bound: make it a tensor of the input's dtype (the caller frees it).
  const d = new Tensor(native.fromBuffer(new Float64Array([Number(x)]), [], 'float64'));
  const t = d.to(like.dtype);
  d.dispose();
  return t;
}

/** Wraps a native handle (for code that calls native ops directly). */
export function wrap(h: number): Tensor {
  return new Tensor(h);
}
export function isTensor(x: unknown): x is Tensor {
  return x instanceof Tensor;
}
