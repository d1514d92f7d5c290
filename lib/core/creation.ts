// Tensor creation: from JS data (numbers, nested arrays, typed arrays) and the factory functions
// (zeros, ones, full, arange, linspace, eye, rand, randn, randint, randperm, *_like).
import { native } from './native.js';
import { opIndex } from './ops.js';
import { Tensor, sizes, type Scalar } from './tensor.js';
import { dtypeOfArray, normDtype, type DType, type DeviceLike } from './dtype.js';
import type { Generator } from './random.js';

const call = native.call;

export interface TensorOptions {
  dtype?: DType | string;
  device?: DeviceLike;
  requiresGrad?: boolean;
}
export interface RandomOptions extends TensorOptions {
  generator?: Generator;
}

type Nested = number | boolean | bigint | readonly Nested[];

const O = {
  empty: opIndex('empty', 'memory_format'),
  zeros: opIndex('zeros'),
  ones: opIndex('ones'),
  full: opIndex('full'),
  arange: opIndex('arange', 'start_step'),
  linspace: opIndex('linspace'),
  eye: opIndex('eye', 'm'),
  rand: opIndex('rand'),
  randG: opIndex('rand', 'generator'),
  randn: opIndex('randn'),
  randnG: opIndex('randn', 'generator'),
  randint: opIndex('randint', 'low'),
  randintG: opIndex('randint', 'low_generator'),
  randperm: opIndex('randperm'),
  randpermG: opIndex('randperm', 'generator'),
  emptyLike: opIndex('empty_like'),
  zerosLike: opIndex('zeros_like'),
  onesLike: opIndex('ones_like'),
  fullLike: opIndex('full_like'),
  randLike: opIndex('rand_like'),
  randnLike: opIndex('randn_like'),
};

function finish(h: number, o: TensorOptions): Tensor {
  const t = new Tensor(h);
  if (o.requiresGrad) t.requiresGrad_(true);
  return t;
}

const dt = (o: TensorOptions, fallback?: DType) => (o.dtype === undefined ? fallback : normDtype(o.dtype));

function shapeOf(data: Nested): number[] {
  const shape: number[] = [];
  let x: Nested = data;
  while (Array.isArray(x)) {
    shape.push(x.length);
    x = x[0];
  }
  return shape;
}

function flatten(data: Nested, shape: number[]): (number | boolean | bigint)[] {
  const out: (number | boolean | bigint)[] = [];
  const walk = (x: Nested, d: number) => {
    if (d === shape.length) {
      if (Array.isArray(x)) throw new TypeError(`tensor(): ragged nested array (too deep at dim ${d})`);
      if (typeof x !== 'number' && typeof x !== 'boolean' && typeof x !== 'bigint')
        throw new TypeError(`tensor(): elements must be numbers, booleans or bigints, got ${x === null ? 'null' : typeof x}`);
      out.push(x as number | boolean | bigint);
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[d]) throw new TypeError(`tensor(): ragged nested array: expected a sequence of length ${shape[d]} at dim ${d}`);
    for (const e of x) walk(e, d + 1);
  };
  walk(data, 0);
  return out;
}

/** The dtype Python would infer: bool for booleans, int64 for integers, float32 otherwise. */
function inferDtype(values: (number | boolean | bigint)[]): DType {
  if (values.length === 0) return 'float32';
  if (values.every((v) => typeof v === 'boolean')) return 'bool';
  // booleans beside integers count as integers (torch.tensor([True, 2]) is int64)
  if (values.every((v) => typeof v !== 'number' || Number.isInteger(v))) return 'int64';
  return 'float32';
}

function fromValues(values: (number | boolean | bigint)[], shape: number[], dtype: DType): Tensor {
  if (dtype === 'float16' || dtype === 'bfloat16') {
    const f = new Tensor(native.fromBuffer(Float32Array.from(values, Number), shape, 'float32'));
    const out = f.to(dtype);
    f.dispose();
    return out;
  }
  return new Tensor(bytesOf(values, shape, dtype));
}

function bytesOf(values: (number | boolean | bigint)[], shape: number[], dtype: DType): number {
  switch (dtype) {
    case 'int64':
      return native.fromBuffer(
        BigInt64Array.from(values, (v) => BigInt(typeof v === 'bigint' ? v : Math.trunc(Number(v)))),
        shape,
        dtype,
      );
    case 'float64':
      return native.fromBuffer(Float64Array.from(values, Number), shape, dtype);
    case 'int32':
      return native.fromBuffer(Int32Array.from(values, Number), shape, dtype);
    case 'int16':
      return native.fromBuffer(Int16Array.from(values, Number), shape, dtype);
    case 'int8':
      return native.fromBuffer(Int8Array.from(values, Number), shape, dtype);
    case 'uint8':
      return native.fromBuffer(Uint8Array.from(values, Number), shape, dtype);
    case 'bool':
      return native.fromBuffer(
        Uint8Array.from(values, (v) => (v ? 1 : 0)),
        shape,
        dtype,
      );
    default:
      return native.fromBuffer(Float32Array.from(values, Number), shape, 'float32');
  }
}

/**
 * torch.tensor(data): a new tensor holding a copy of data (a number, nested arrays, or a typed
 * array; with a typed array, `shape` gives its shape, default 1-D).
 */
export function tensor(data: Nested | ArrayBufferView | Tensor, opts: TensorOptions & { shape?: number[] } = {}): Tensor {
  let t: Tensor;
  if (data instanceof Tensor) {
    const d = data.detach();
    t = d.clone();
    d.dispose();
  } else if (ArrayBuffer.isView(data)) {
    t = new Tensor(native.fromBuffer(data, opts.shape ?? [(data as any).length], dtypeOfArray(data)));
  } else {
    const shape = shapeOf(data as Nested);
    const values = flatten(data as Nested, shape);
    t = fromValues(values, shape, dt(opts, inferDtype(values))!);
  }
  return convert(t, opts);
}

/** Applies dtype/device/requiresGrad options to a fresh tensor, freeing it if replaced. */
function convert(t: Tensor, o: TensorOptions): Tensor {
  const dtype = dt(o);
  if ((dtype && dtype !== t.dtype) || (o.device && o.device !== t.device)) {
    const out = t.to({ dtype, device: o.device });
    t.dispose();
    t = out;
  }
  if (o.requiresGrad) t.requiresGrad_(true);
  return t;
}

/** A tensor over a typed array's values with the given shape (a copy; dtype from the array). */
export function fromTypedArray(data: ArrayBufferView, shape: number[], opts: TensorOptions = {}): Tensor {
  if (!ArrayBuffer.isView(data)) throw new TypeError('fromTypedArray(): data must be a typed array (use tensor() for plain arrays)');
  return tensor(data, { ...opts, shape });
}

type ShapeArgs = (number | readonly number[])[];
/** Splits (…sizes, options?) as PyTorch's factories take them. */
function split<O>(args: (number | readonly number[] | O)[]): [number[], O] {
  const last = args[args.length - 1];
  if (last !== undefined && typeof last === 'object' && !Array.isArray(last)) return [sizes(args.slice(0, -1) as ShapeArgs), last as O];
  return [sizes(args as ShapeArgs), {} as O];
}

export function empty(...args: (number | readonly number[] | TensorOptions)[]): Tensor {
  const [s, o] = split<TensorOptions>(args);
  return finish(call(O.empty, s, dt(o), null, o.device), o);
}
export function zeros(...args: (number | readonly number[] | TensorOptions)[]): Tensor {
  const [s, o] = split<TensorOptions>(args);
  return finish(call(O.zeros, s, dt(o), null, o.device), o);
}
export function ones(...args: (number | readonly number[] | TensorOptions)[]): Tensor {
  const [s, o] = split<TensorOptions>(args);
  return finish(call(O.ones, s, dt(o), null, o.device), o);
}
export function full(shape: readonly number[], value: Scalar, o: TensorOptions = {}): Tensor {
  // PyTorch infers int64 for an integer fill value and bool for a boolean one.
  const fallback: DType = typeof value === 'boolean' ? 'bool' : Number.isInteger(value) ? 'int64' : 'float32';
  return finish(call(O.full, shape, value, dt(o, fallback), null, o.device), o);
}
/** arange(end), arange(start, end, step?, options?) */
export function arange(a: number, b?: number | TensorOptions, c?: number | TensorOptions, d?: TensorOptions): Tensor {
  let start = 0,
    end: number,
    step = 1,
    o: TensorOptions = {};
  if (typeof b !== 'number') {
    end = a;
    o = b ?? {};
  } else if (typeof c !== 'number') {
    start = a;
    end = b;
    o = c ?? {};
  } else {
    start = a;
    end = b;
    step = c;
    o = d ?? {};
  }
  const allInt = Number.isInteger(start) && Number.isInteger(end) && Number.isInteger(step);
  return finish(call(O.arange, start, end, step, dt(o, allInt ? 'int64' : 'float32'), null, o.device), o);
}
export function linspace(start: number, end: number, steps: number, o: TensorOptions = {}): Tensor {
  return finish(call(O.linspace, start, end, steps, dt(o), null, o.device), o);
}
export function eye(n: number, m?: number | TensorOptions, o: TensorOptions = {}): Tensor {
  if (typeof m === 'object') {
    o = m;
    m = undefined;
  }
  return finish(call(O.eye, n, m ?? n, dt(o), null, o.device), o);
}

export function rand(...args: (number | readonly number[] | RandomOptions)[]): Tensor {
  const [s, o] = split<RandomOptions>(args);
  return finish(o.generator ? call(O.randG, s, o.generator._g, dt(o), null, o.device) : call(O.rand, s, dt(o), null, o.device), o);
}
export function randn(...args: (number | readonly number[] | RandomOptions)[]): Tensor {
  const [s, o] = split<RandomOptions>(args);
  return finish(o.generator ? call(O.randnG, s, o.generator._g, dt(o), null, o.device) : call(O.randn, s, dt(o), null, o.device), o);
}
/** Integers uniform in [low, high) (int64 by default); randint(high, shape) draws from [0, high). */
export function randint(high: number, shape: readonly number[], o?: RandomOptions): Tensor;
export function randint(low: number, high: number, shape: readonly number[], o?: RandomOptions): Tensor;
export function randint(low: number, a: number | readonly number[], b?: readonly number[] | RandomOptions, c: RandomOptions = {}): Tensor {
  let high: number, shape: readonly number[], o: RandomOptions;
  if (typeof a === 'number') {
    high = a;
    shape = b as readonly number[];
    o = c;
  } else {
    high = low;
    low = 0;
    shape = a;
    o = (b as RandomOptions | undefined) ?? {};
  }
  return finish(
    o.generator
      ? call(O.randintG, low, high, shape, o.generator._g, dt(o, 'int64'), null, o.device)
      : call(O.randint, low, high, shape, dt(o, 'int64'), null, o.device),
    o,
  );
}
export function randperm(n: number, o: RandomOptions = {}): Tensor {
  return finish(o.generator ? call(O.randpermG, n, o.generator._g, dt(o, 'int64'), null, o.device) : call(O.randperm, n, dt(o, 'int64'), null, o.device), o);
}

export function emptyLike(t: Tensor, o: TensorOptions = {}): Tensor {
  return finish(call(O.emptyLike, t._h, dt(o), null, o.device), o);
}
export function zerosLike(t: Tensor, o: TensorOptions = {}): Tensor {
  return finish(call(O.zerosLike, t._h, dt(o), null, o.device), o);
}
export function onesLike(t: Tensor, o: TensorOptions = {}): Tensor {
  return finish(call(O.onesLike, t._h, dt(o), null, o.device), o);
}
export function fullLike(t: Tensor, value: Scalar, o: TensorOptions = {}): Tensor {
  return finish(call(O.fullLike, t._h, value, dt(o), null, o.device), o);
}
export function randLike(t: Tensor, o: TensorOptions = {}): Tensor {
  return finish(call(O.randLike, t._h, dt(o), null, o.device), o);
}
export function randnLike(t: Tensor, o: TensorOptions = {}): Tensor {
  return finish(call(O.randnLike, t._h, dt(o), null, o.device), o);
}

/** A 0-d tensor (used for scalar arguments that must be tensors). */
export function scalarTensor(v: Scalar, dtype: DType = 'float32'): Tensor {
  return full([], v, { dtype });
}
