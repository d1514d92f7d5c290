// FrozenVAE: the KL-16 VAE as the Semanticist tokenizer uses it (DiffuseSlot.vae_encode/vae_decode):
// always in eval mode, parameters frozen, every call under no_grad.
//   encode(images in [0, 1]) = posterior(2·images − 1).sample() · scalingFactor   (noise injectable)
//   decode(latents)          = (vae.decode(latents / scalingFactor) + 1) / 2       (not clamped)
// Its children are the wrapped AutoencoderKL's own modules, so a parent holding it in a field `vae`
// gets upstream's keys (vae.encoder..., vae.quant_conv...) and to()/cuda() move it with the parent.
import type { Tensor } from '../../core/tensor.js';
import { scope } from '../../core/scope.js';
import { noGrad } from '../../core/modes.js';
import type { Generator } from '../../core/random.js';
import { Module } from '../../nn/module.js';
import type { Conv2d } from '../../nn/layers/conv.js';
import type { Encoder } from './encoder.js';
import type { Decoder } from './decoder.js';
import { AutoencoderKL } from './autoencoder-kl.js';
import type { DiagonalGaussianDistribution } from './distribution.js';
import type { VaeConfig } from './config.js';

export class FrozenVAE extends Module {
  encoder: Encoder;
  decoder: Decoder;
  quant_conv: Conv2d;
  post_quant_conv: Conv2d;
  /** Latent scale: encode multiplies by it, decode divides by it (MAR KL-16: 0.2325; diffusers: config.scaling_factor). */
  readonly scalingFactor: number;
  readonly #vae: AutoencoderKL;

  /** Wraps (and freezes: eval, requiresGrad false) vae; scalingFactor defaults to vae.config.scalingFactor. */
  constructor(vae: AutoencoderKL, o: { scalingFactor?: number } = {}) {
    super();
    this.#vae = vae;
    this.encoder = vae.encoder;
    this.decoder = vae.decoder;
    this.quant_conv = vae.quant_conv;
    this.post_quant_conv = vae.post_quant_conv;
    this.scalingFactor = o.scalingFactor ?? vae.config.scalingFactor;
    if (!(this.scalingFactor > 0)) throw new RangeError(`FrozenVAE: scalingFactor must be positive, got ${this.scalingFactor}`);
    vae.requiresGrad_(false);
    this.eval();
  }

  /** A FrozenVAE over a new AutoencoderKL of this config (weights to be loaded into .model). */
  static fromConfig(config: VaeConfig, o: { scalingFactor?: number } = {}): FrozenVAE {
    return new FrozenVAE(new AutoencoderKL(config), o);
  }

  /** The wrapped autoencoder. */
  get model(): AutoencoderKL {
    return this.#vae;
  }

  /** Stays in eval mode whatever is asked (upstream re-applies vae.eval() in DiffuseSlot.train). */
  override train(_mode = true): this {
    this.#vae.training = false;
    return super.train(false);
  }

  /** The posterior of images in [0, 1] (mapped to 2x − 1 first), under no_grad. */
  posterior(images: Tensor): DiagonalGaussianDistribution {
    return noGrad(() => this.#vae.encode(scope(() => images.mul(2).sub(1))));
  }

  /** Images in [0, 1] (B, 3, H, W) → scaled latents (B, embedDim, H/16, W/16): a posterior sample × scalingFactor. */
  encode(images: Tensor, o: { noise?: Tensor | null; generator?: Generator } = {}): Tensor {
    return noGrad(() => scope(() => this.posterior(images).sample(o.noise, { generator: o.generator }).mul(this.scalingFactor)));
  }

  /** Scaled latents → images in about [0, 1]: (vae.decode(latents / scalingFactor) + 1) / 2. */
  decode(latents: Tensor): Tensor {
    return noGrad(() => scope(() => this.#vae.decode(latents.div(this.scalingFactor)).add(1).div(2)));
  }
}
