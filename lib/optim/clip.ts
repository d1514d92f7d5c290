// clipGradNorm_: scales gradients in place so their total p-norm is at most maxNorm
// (torch.nn.utils.clip_grad_norm_), with foreach calls and no device-to-host sync.
import { Tensor } from '../core/tensor.js';
import { scope } from '../core/scope.js';
import { noGrad } from '../core/modes.js';
import { aten } from '../core/aten.js';
import { stack } from '../core/functions.js';
import { scalarTensor } from '../core/creation.js';

/**
 * Returns the total norm of all gradients (viewed as one vector), before clipping, as a 0-d
 * tensor. Gradients are multiplied by min(1, maxNorm / (total + 1e-6)).
 */
export function clipGradNorm_(params: Iterable<Tensor> | Tensor, maxNorm: number, normType = 2, opts: { errorIfNonfinite?: boolean } = {}): Tensor {
  const ps = params instanceof Tensor ? [params] : [...params];
  return scope(() =>
    noGrad(() => {
      const grads = ps.map((p) => p.grad).filter((g): g is Tensor => g !== null);
      if (grads.length === 0) return scalarTensor(0);
      const norms: Tensor[] = aten._foreach_norm(grads, normType);
      const total: Tensor = normType === Infinity ? (norms.length === 1 ? norms[0] : stack(norms).max()) : aten.linalg_vector_norm(stack(norms), normType);
      if (opts.errorIfNonfinite && !Number.isFinite(total.item()))
        throw new Error(`The total norm of order ${normType} for gradients from \`parameters\` is non-finite, so it cannot be clipped.`);
      const coef = total.add(1e-6).reciprocal().mul(maxNorm).clamp(null, 1);
      aten._foreach_mul_.List(
        grads,
        grads.map(() => coef),
      );
      return total;
    }),
  );
}
