// Dtype tables of the file formats: element sizes, safetensors dtype codes, PyTorch storage
// class names and torch.<dtype> globals, each mapped to our DType names.
import type { DType } from '../core/dtype.js';

export const itemSize: Record<DType, number> = {
  float64: 8,
  float32: 4,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

/** safetensors dtype code → DType (codes this library can hold). */
export const safetensorsToDType: Record<string, DType> = {
  F64: 'float64',
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U8: 'uint8',
  BOOL: 'bool',
};
export const dtypeToSafetensors: Record<DType, string> = Object.fromEntries(Object.entries(safetensorsToDType).map(([k, v]) => [v, k])) as Record<
  DType,
  string
>;
/** Valid safetensors codes we cannot hold as tensors (reported as unsupported rather than unknown). */
export const safetensorsUnsupported = new Set(['U16', 'U32', 'U64', 'F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'F6_E2M3', 'F6_E3M2', 'F4', 'E8M0', 'C64', 'C128']);

/** torch.<Name>Storage → DType. */
export const storageToDType: Record<string, DType> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};
export const dtypeToStorage: Record<DType, string> = Object.fromEntries(Object.entries(storageToDType).map(([k, v]) => [v, k])) as Record<DType, string>;
/** Storage classes PyTorch has that we cannot hold (complex, quantized). */
export const storageUnsupported = new Set([
  'ComplexFloatStorage',
  'ComplexDoubleStorage',
  'QInt8Storage',
  'QUInt8Storage',
  'QInt32Storage',
  'QUInt4x2Storage',
  'QUInt2x4Storage',
]);

/** torch.<name> dtype globals → DType, or null for dtypes we cannot hold. */
export const torchDTypeGlobals: Record<string, DType | null> = {
  float32: 'float32',
  float: 'float32',
  float64: 'float64',
  double: 'float64',
  float16: 'float16',
  half: 'float16',
  bfloat16: 'bfloat16',
  int64: 'int64',
  long: 'int64',
  int32: 'int32',
  int: 'int32',
  int16: 'int16',
  short: 'int16',
  int8: 'int8',
  uint8: 'uint8',
  bool: 'bool',
  complex64: null,
  complex128: null,
  cfloat: null,
  cdouble: null,
  uint16: null,
  uint32: null,
  uint64: null,
  float8_e4m3fn: null,
  float8_e5m2: null,
  float8_e4m3fnuz: null,
  float8_e5m2fnuz: null,
  qint8: null,
  quint8: null,
  qint32: null,
};
