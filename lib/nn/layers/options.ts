// Options shared by the layers' constructors: where and in which dtype their parameters live.
import type { DType, DeviceLike } from '../../core/dtype.js';

export interface FactoryOptions {
  dtype?: DType | string;
  device?: DeviceLike;
}
