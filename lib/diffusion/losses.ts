// Likelihood terms of the ADM Gaussian diffusion: KL between Gaussians and the discretized
// Gaussian log-likelihood of 8-bit data (used for the VB term at t = 0).
import type { Tensor } from '../core/tensor.js';
import { where } from '../core/functions.js';

/** KL(N(mean1, e^logvar1) || N(mean2, e^logvar2)), elementwise. */
export function normalKl(mean1: Tensor, logvar1: Tensor, mean2: Tensor, logvar2: Tensor): Tensor {
  const a = logvar2.sub(logvar1).add(-1);
  const b = logvar1.sub(logvar2).exp();
  const c = mean1.sub(mean2).pow(2).mul(logvar2.neg().exp());
  return a.add(b).add(c).mul(0.5);
}

/**
 * A fast approximation of the standard normal CDF (tanh form), as ADM uses: the same float ops as
 * upstream in x's dtype, except that tanh is evaluated in float64 and rounded back, i.e. correctly
 * rounded. Float32 tanh kernels differ in the last ulp between libtorch builds: for |x| ≈ 8..9.2,
 * 1.13's returns ±1 where 2.x's returns ±(1 − 2⁻²⁴), and where the CDF saturates that ulp is all
 * of cdf (or 1 − cdf), so the decoder NLL's log jumps between log(2⁻²⁵) and the 1e-12 clamp.
 * 2.x's kernel gives the correctly rounded value there (checked on those arguments and on the
 * fixtures' t = 0 entries), so with this both families reproduce the upstream reference.
 */
export function approxStandardNormalCdf(x: Tensor): Tensor {
  const inner = x.add(x.pow(3).mul(0.044715)).mul(Math.sqrt(2 / Math.PI));
  const t = inner.dtype === 'float32' ? inner.double().tanh().to('float32') : inner.tanh();
  return t.add(1).mul(0.5);
}

/** log-likelihood of x (scaled to [-1, 1], 256 bins) under N(means, e^(2·logScales)). */
export function discretizedGaussianLogLikelihood(x: Tensor, means: Tensor, logScales: Tensor): Tensor {
  const centered = x.sub(means);
  const invStdv = logScales.neg().exp();
  const cdfPlus = approxStandardNormalCdf(invStdv.mul(centered.add(1 / 255)));
  const cdfMin = approxStandardNormalCdf(invStdv.mul(centered.sub(1 / 255)));
  const logCdfPlus = cdfPlus.clamp(1e-12).log();
  const logOneMinusCdfMin = cdfMin.rsub(1).clamp(1e-12).log();
  const logCdfDelta = cdfPlus.sub(cdfMin).clamp(1e-12).log();
  return where(x.lt(-0.999), logCdfPlus, where(x.gt(0.999), logOneMinusCdfMin, logCdfDelta));
}

/** Mean over every dim but the first. */
export function meanFlat(t: Tensor): Tensor {
  const dims = Array.from({ length: t.ndim - 1 }, (_, i) => i + 1);
  return dims.length ? t.mean(dims) : t.clone();
}
