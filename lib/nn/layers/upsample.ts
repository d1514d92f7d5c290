// Upsample: resizes (N, C, H, W) images by a size or a scale factor (F.interpolate as a module).
import type { Tensor } from '../../core/tensor.js';
import { interpolate, type InterpolateOptions } from '../functional.js';
import { Module } from '../module.js';

export class Upsample extends Module {
  readonly size?: InterpolateOptions['size'];
  readonly scaleFactor?: InterpolateOptions['scaleFactor'];
  readonly mode: NonNullable<InterpolateOptions['mode']>;
  readonly alignCorners?: boolean;

  constructor(o: {
    size?: InterpolateOptions['size'];
    scaleFactor?: InterpolateOptions['scaleFactor'];
    mode?: InterpolateOptions['mode'];
    alignCorners?: boolean;
  }) {
    super();
    this.size = o.size;
    this.scaleFactor = o.scaleFactor;
    this.mode = o.mode ?? 'nearest';
    this.alignCorners = o.alignCorners;
  }

  override forward(x: Tensor): Tensor {
    return interpolate(x, { size: this.size, scaleFactor: this.scaleFactor, mode: this.mode, alignCorners: this.alignCorners });
  }
  override extraRepr(): string {
    const v = (x: unknown) => (x === undefined ? 'None' : Array.isArray(x) ? `(${x.join(', ')})` : String(x));
    return this.size !== undefined ? `size=${v(this.size)}, mode='${this.mode}'` : `scale_factor=${v(this.scaleFactor)}, mode='${this.mode}'`;
  }
}
