// Parameter: a Tensor that a Module owns (torch.nn.Parameter). It requires grad by default and is
// never owned by a scope (it is kept), so it lives until its module is disposed or it is collected.
import { native } from '../core/native.js';
import { opIndex } from '../core/ops.js';
import { Tensor } from '../core/tensor.js';
import { keep, scope } from '../core/scope.js';
import { empty, type TensorOptions } from '../core/creation.js';

const DETACH = opIndex('detach');

export class Parameter extends Tensor {
  /** A parameter sharing data's storage (as nn.Parameter(data)); data itself is left as it was. */
  constructor(data: Tensor, requiresGrad = true) {
    super(native.call(DETACH, data._h));
    keep(this);
    if (requiresGrad) this.requiresGrad_(true);
  }

  /** An uninitialised parameter of the given shape, made without leaving temporaries behind. */
  static empty(shape: readonly number[], o: TensorOptions = {}): Parameter {
    return scope(() => new Parameter(empty(shape, { dtype: o.dtype, device: o.device }), o.requiresGrad ?? true));
  }

  override toString(): string {
    return `Parameter containing:\n${super.toString()}`;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this._h === 0 ? 'Parameter(<disposed>)' : this.toString();
  }
}

export function isParameter(x: unknown): x is Parameter {
  return x instanceof Parameter;
}
