// Data types: PyTorch's names, element sizes, and the typed arrays that carry them in JS.
export type DType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';
export type DeviceLike = 'cpu' | 'cuda' | `cuda:${number}` | string;

export const dtypes: readonly DType[] = ['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool'];

/** PyTorch spellings accepted as aliases. */
const aliases: Record<string, DType> = { float: 'float32', double: 'float64', half: 'float16', long: 'int64', int: 'int32', short: 'int16' };

export function normDtype(d: string): DType {
  if ((dtypes as readonly string[]).includes(d)) return d as DType;
  const a = aliases[d];
  if (a) return a;
  throw new TypeError(`unknown dtype '${d}' (expected one of ${dtypes.join(', ')})`);
}

export const isFloating = (d: DType) => d === 'float32' || d === 'float64' || d === 'float16' || d === 'bfloat16';

export type TypedArrayOf<D extends DType> = D extends 'float32' | 'float16' | 'bfloat16'
  ? Float32Array
  : D extends 'float64'
    ? Float64Array
    : D extends 'int64'
      ? BigInt64Array
      : D extends 'int32'
        ? Int32Array
        : D extends 'int16'
          ? Int16Array
          : D extends 'int8'
            ? Int8Array
            : D extends 'uint8' | 'bool'
              ? Uint8Array
              : never;

export type AnyTypedArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;

/**
 * The typed array that reads this dtype's bytes. float16/bfloat16 have no JS array type
 * (Node 20), so they are read as float32 after conversion.
 */
export function arrayTypeFor(d: DType): { ctor: any; via?: DType } {
  switch (d) {
    case 'float32':
      return { ctor: Float32Array };
    case 'float64':
      return { ctor: Float64Array };
    case 'float16':
    case 'bfloat16':
      return { ctor: Float32Array, via: 'float32' };
    case 'int64':
      return { ctor: BigInt64Array };
    case 'int32':
      return { ctor: Int32Array };
    case 'int16':
      return { ctor: Int16Array };
    case 'int8':
      return { ctor: Int8Array };
    case 'uint8':
    case 'bool':
      return { ctor: Uint8Array };
  }
}

/** The dtype a typed array holds, as torch.from_numpy would infer it. */
export function dtypeOfArray(a: ArrayBufferView): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof BigInt64Array) return 'int64';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Int16Array) return 'int16';
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Uint8Array || a instanceof Uint8ClampedArray) return 'uint8';
  throw new TypeError(`unsupported typed array ${a.constructor.name}`);
}
