// The KL-autoencoder's posterior, LDM's DiagonalGaussianDistribution: `parameters` (the moments,
// [mean; logvar] on dim 1) split in two, logvar clamped to [-30, 20], std = exp(logvar / 2),
// var = exp(logvar); sample() = mean + std · noise with noise ~ N(0, I) or given; mode() = mean.
// Its tensors are owned by the scope that was current when it was made; dispose() frees them now.
import type { Tensor } from '../../core/tensor.js';
import { scope } from '../../core/scope.js';
import { randn, zerosLike } from '../../core/creation.js';
import type { Generator } from '../../core/random.js';

const shapeStr = (s: number[]) => `[${s.join(', ')}]`;

export class DiagonalGaussianDistribution {
  readonly parameters: Tensor;
  readonly mean: Tensor;
  readonly logvar: Tensor;
  readonly std: Tensor;
  readonly var: Tensor;
  readonly deterministic: boolean;

  /** parameters: (B, 2·C, ...) moments; deterministic makes std and var zero (sample() = mean). */
  constructor(parameters: Tensor, deterministic = false) {
    if (parameters.ndim < 2 || parameters.size(1) % 2 !== 0) {
      throw new RangeError(`DiagonalGaussianDistribution: parameters must have an even channel count on dim 1, got shape ${shapeStr(parameters.shape)}`);
    }
    this.parameters = parameters;
    this.deterministic = deterministic;
    const t = scope(() => {
      const [mean, rawLogvar] = parameters.chunk(2, 1);
      const logvar = rawLogvar.clamp(-30, 20);
      if (deterministic) return { mean, logvar, std: zerosLike(mean), var: zerosLike(mean) };
      return { mean, logvar, std: logvar.mul(0.5).exp(), var: logvar.exp() };
    });
    this.mean = t.mean;
    this.logvar = t.logvar;
    this.std = t.std;
    this.var = t.var;
  }

  /**
   * mean + std · noise. noise (the shape of mean) replaces the standard-normal draw — e.g. a recorded
   * one; otherwise it is drawn with torch.randn (from `generator` if given) in mean's dtype and device.
   */
  sample(noise?: Tensor | null, o: { generator?: Generator } = {}): Tensor {
    return scope(() => {
      let eps: Tensor;
      if (noise) {
        const [a, b] = [noise.shape, this.mean.shape];
        if (a.length !== b.length || a.some((s, i) => s !== b[i])) {
          throw new RangeError(`DiagonalGaussianDistribution.sample: noise has shape ${shapeStr(a)}, expected the mean's ${shapeStr(b)}`);
        }
        eps = noise.dtype === this.mean.dtype && noise.device === this.mean.device ? noise : noise.to(this.mean);
      } else {
        eps = randn(this.mean.shape, { dtype: this.mean.dtype, device: this.mean.device, generator: o.generator });
      }
      return this.mean.add(this.std.mul(eps));
    });
  }

  /** The mode (= mean; the same tensor, not a copy). */
  mode(): Tensor {
    return this.mean;
  }

  /** KL(self ‖ other), other = N(0, I) when omitted, summed over dims 1.. (0 when deterministic). */
  kl(other?: DiagonalGaussianDistribution): Tensor {
    return scope(() => {
      const dims = Array.from({ length: this.mean.ndim - 1 }, (_, i) => i + 1);
      if (this.deterministic) return zerosLike(this.mean).sum(dims);
      if (!other) return this.mean.pow(2).add(this.var).sub(1).sub(this.logvar).sum(dims).mul(0.5);
      return this.mean.sub(other.mean).pow(2).div(other.var).add(this.var.div(other.var)).sub(1).sub(this.logvar).add(other.logvar).sum(dims).mul(0.5);
    });
  }

  /** Negative log-likelihood of `sample`, summed over dims (0 when deterministic). */
  nll(sample: Tensor, dims: number[] = [1, 2, 3]): Tensor {
    return scope(() => {
      if (this.deterministic) return zerosLike(this.mean).sum(dims);
      const logTwoPi = Math.log(2 * Math.PI);
      return sample.sub(this.mean).pow(2).div(this.var).add(this.logvar).add(logTwoPi).sum(dims).mul(0.5);
    });
  }

  /** Frees the moments and everything computed from them. */
  dispose(): void {
    for (const t of [this.parameters, this.mean, this.logvar, this.std, this.var]) t.dispose();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}
