// MAR's AutoencoderKL (LDM's KL-regularised autoencoder): `encoder`, `decoder`, `quant_conv`
// (1×1, 2·z → 2·embedDim moments) and `post_quant_conv` (1×1, embedDim → z), in the checkpoint's
// names and order (MAR `kl16.ckpt`: encoder.down.{i}.block.{j}...). encode(x) gives the posterior,
// decode(z) the image; both take/give images in [-1, 1]. Loading other layouts: load.ts.
import type { Tensor } from '../../core/tensor.js';
import { scope } from '../../core/scope.js';
import { Module } from '../../nn/module.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { Encoder } from './encoder.js';
import { Decoder } from './decoder.js';
import { DiagonalGaussianDistribution } from './distribution.js';
import { resolveVaeConfig, type VaeConfig } from './config.js';

export class AutoencoderKL extends Module {
  encoder: Encoder;
  decoder: Decoder;
  quant_conv: Conv2d;
  post_quant_conv: Conv2d;
  readonly config: Readonly<Required<VaeConfig>>;

  constructor(config: VaeConfig) {
    super();
    const c = resolveVaeConfig(config);
    this.config = Object.freeze(c);
    this.encoder = new Encoder(c);
    this.decoder = new Decoder(c);
    this.quant_conv = new Conv2d(2 * c.zChannels, 2 * c.embedDim, 1);
    this.post_quant_conv = new Conv2d(c.embedDim, c.zChannels, 1);
  }

  /** Total down-sampling factor, 2^(levels-1) (16 for KL-16). */
  get downsampleFactor(): number {
    return 2 ** (this.config.chMult.length - 1);
  }

  /** quant_conv(encoder(x)): the posterior's moments [mean; logvar], (B, 2·embedDim, h, w). x in [-1, 1]. */
  encodeMoments(x: Tensor): Tensor {
    return scope(() => this.quant_conv.forward(this.encoder.forward(x)));
  }

  /** The posterior q(z | x) for images x in [-1, 1]; its tensors belong to the caller's scope. */
  encode(x: Tensor): DiagonalGaussianDistribution {
    return new DiagonalGaussianDistribution(this.encodeMoments(x));
  }

  /** decoder(post_quant_conv(z)): latents (B, embedDim, h, w) → images in about [-1, 1]. */
  decode(z: Tensor): Tensor {
    return scope(() => this.decoder.forward(this.post_quant_conv.forward(z)));
  }

  /**
   * LDM's forward: encode, take a posterior sample (noise injectable) or its mode, decode.
   * Returns the reconstruction and the posterior.
   */
  override forward(x: Tensor, o: { samplePosterior?: boolean; noise?: Tensor | null } = {}): { dec: Tensor; posterior: DiagonalGaussianDistribution } {
    const posterior = this.encode(x);
    const dec = scope(() => this.decode((o.samplePosterior ?? true) ? posterior.sample(o.noise) : posterior.mode()));
    return { dec, posterior };
  }
}
