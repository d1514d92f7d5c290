// torch.nn.init: in-place initialisers with PyTorch's distributions and fan computations.
// All run under noGrad (parameters are leaves that require grad) and return their tensor.
import type { Tensor } from '../core/tensor.js';
import { noGrad } from '../core/modes.js';
import { aten } from '../core/aten.js';
import type { Generator } from '../core/random.js';

export type FanMode = 'fan_in' | 'fan_out';
export type Nonlinearity =
  | 'linear'
  | 'conv1d'
  | 'conv2d'
  | 'conv3d'
  | 'conv_transpose1d'
  | 'conv_transpose2d'
  | 'conv_transpose3d'
  | 'sigmoid'
  | 'tanh'
  | 'relu'
  | 'leaky_relu'
  | 'selu';

/** The recommended gain for a nonlinearity (torch.nn.init.calculate_gain). */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'conv1d':
    case 'conv2d':
    case 'conv3d':
    case 'sigmoid':
    case 'conv_transpose1d':
    case 'conv_transpose2d':
    case 'conv_transpose3d':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu': {
      const s = param ?? 0.01;
      return Math.sqrt(2 / (1 + s * s));
    }
    case 'selu':
      return 3 / 4;
    default:
      throw new TypeError(`Unsupported nonlinearity ${nonlinearity}`);
  }
}

/** [fanIn, fanOut]: dims 1 and 0 times the receptive field (the product of dims 2...). */
export function calculateFanInAndFanOut(t: Tensor): [number, number] {
  const s = t.shape;
  if (s.length < 2) throw new TypeError('Fan in and fan out can not be computed for tensor with fewer than 2 dimensions');
  const receptive = s.slice(2).reduce((a, b) => a * b, 1);
  return [s[1] * receptive, s[0] * receptive];
}

function fan(t: Tensor, mode: FanMode): number {
  if (mode !== 'fan_in' && mode !== 'fan_out') throw new TypeError(`Mode ${mode} not supported, please use one of fan_in, fan_out`);
  const [fi, fo] = calculateFanInAndFanOut(t);
  return mode === 'fan_in' ? fi : fo;
}

export function uniform_(t: Tensor, a = 0, b = 1, generator?: Generator): Tensor {
  return noGrad(() => t.uniform_(a, b, generator));
}
export function normal_(t: Tensor, mean = 0, std = 1, generator?: Generator): Tensor {
  return noGrad(() => t.normal_(mean, std, generator));
}
export function constant_(t: Tensor, val: number): Tensor {
  return noGrad(() => t.fill_(val));
}
export function zeros_(t: Tensor): Tensor {
  return noGrad(() => t.zero_());
}
export function ones_(t: Tensor): Tensor {
  return noGrad(() => t.fill_(1));
}

/**
 * Normal(mean, std) truncated to [a, b] (absolute bounds, as torch.nn.init.trunc_normal_ and
 * timm): inverse-CDF sampling of a uniform over [cdf(a), cdf(b)], then a clamp.
 */
export function truncNormal_(t: Tensor, mean = 0, std = 1, a = -2, b = 2, generator?: Generator): Tensor {
  const cdf = (x: number) => (1 + erf(x / Math.SQRT2)) / 2;
  const l = cdf((a - mean) / std),
    u = cdf((b - mean) / std);
  return noGrad(() => {
    t.uniform_(2 * l - 1, 2 * u - 1, generator);
    aten.erfinv_(t);
    t.mul_(std * Math.SQRT2).add_(mean);
    return t.clamp_(a, b);
  });
}

export function xavierUniform_(t: Tensor, gain = 1, generator?: Generator): Tensor {
  const [fi, fo] = calculateFanInAndFanOut(t);
  const bound = Math.sqrt(3) * gain * Math.sqrt(2 / (fi + fo));
  return uniform_(t, -bound, bound, generator);
}
export function xavierNormal_(t: Tensor, gain = 1, generator?: Generator): Tensor {
  const [fi, fo] = calculateFanInAndFanOut(t);
  return normal_(t, 0, gain * Math.sqrt(2 / (fi + fo)), generator);
}

/** He init, uniform: bound = gain·√(3/fan); PyTorch's Linear/Conv use a = √5 (bound 1/√fan_in). */
export function kaimingUniform_(t: Tensor, a = 0, mode: FanMode = 'fan_in', nonlinearity: Nonlinearity = 'leaky_relu', generator?: Generator): Tensor {
  if (t.numel() === 0) return t;
  const std = calculateGain(nonlinearity, a) / Math.sqrt(fan(t, mode));
  const bound = Math.sqrt(3) * std;
  return uniform_(t, -bound, bound, generator);
}
export function kaimingNormal_(t: Tensor, a = 0, mode: FanMode = 'fan_in', nonlinearity: Nonlinearity = 'leaky_relu', generator?: Generator): Tensor {
  if (t.numel() === 0) return t;
  return normal_(t, 0, calculateGain(nonlinearity, a) / Math.sqrt(fan(t, mode)), generator);
}

/** erf of a double (JS has no Math.erf): Maclaurin series below 2.5, erfc's continued fraction above (~1e-13). */
function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    // Maclaurin series: erf(x) = 2/√π Σ (-1)^n x^(2n+1) / (n! (2n+1))
    let term = ax,
      sum = ax;
    const x2 = ax * ax;
    for (let n = 1; n < 200; n++) {
      term *= -x2 / n;
      const d = term / (2 * n + 1);
      sum += d;
      if (Math.abs(d) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // Continued fraction for erfc (Lentz), accurate for |x| ≥ 2.5.
  let f = ax,
    c = ax,
    d = 0;
  const tiny = 1e-300;
  for (let n = 1; n < 300; n++) {
    const an = n / 2;
    d = ax + an * d;
    d = d === 0 ? tiny : d;
    d = 1 / d;
    c = ax + an / c;
    c = c === 0 ? tiny : c;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}
