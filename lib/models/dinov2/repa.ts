// REPA (representation alignment) helpers of the Semanticist tokenizer: DINOv2 preprocessing of
// [0,1] images (ImageNet mean/std, then a bicubic resize to the target's image size), the
// token-grid resize of features (semanticist `interpolate_features`), the negative-cosine REPA
// loss, and Dinov2Target: a frozen DINOv2 loaded from a checkpoint that returns patch tokens.
import type { Tensor } from '../../core/tensor.js';
import { scope } from '../../core/scope.js';
import { noGrad } from '../../core/modes.js';
import { tensor } from '../../core/creation.js';
import { interpolate, normalize } from '../../nn/functional.js';
import { loadStateDict, normalizeWrappedKeys } from '../../serialization/index.js';
import { DinoVisionTransformer, DINOV2_VITB14, type Dinov2Config, type Dinov2Features } from './vit.js';

/** timm IMAGENET_DEFAULT_MEAN / _STD, as float32 (1, 3, 1, 1) tensors upstream. */
export const IMAGENET_DEFAULT_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_DEFAULT_STD = [0.229, 0.224, 0.225] as const;

/** Semanticist's REPA target resolution for DINOv2 (16×16 = 256 patch tokens of ViT-B/14). */
export const REPA_IMAGE_SIZE = 224;

/** (images − mean) / std with ImageNet statistics; images (B, 3, H, W) in [0, 1]. */
export function imagenetNormalize(images: Tensor): Tensor {
  return scope(() => {
    const mean = tensor(Float32Array.from(IMAGENET_DEFAULT_MEAN), { shape: [1, 3, 1, 1] }).to(images.device);
    const std = tensor(Float32Array.from(IMAGENET_DEFAULT_STD), { shape: [1, 3, 1, 1] }).to(images.device);
    return images.sub(mean).div(std);
  });
}

/**
 * DINOv2 input from [0,1] images, as DiffuseSlot.repa_encode: ImageNet normalisation, then
 * F.interpolate(x, imageSize, mode='bicubic') — align_corners False, antialias False, no clamp,
 * the scale taken from the sizes. Upstream resizes when repa_encoder.image_size != enc_img_size;
 * here when the image is not already imageSize × imageSize (the same for enc_img_size inputs).
 * imageSize null: no resize.
 */
export function dinov2Preprocess(images: Tensor, imageSize: number | null = REPA_IMAGE_SIZE): Tensor {
  if (images.ndim !== 4) throw new TypeError(`dinov2Preprocess: expected (B, C, H, W) images, got shape [${images.shape.join(', ')}]`);
  return scope(() => {
    const x = imagenetNormalize(images);
    if (imageSize === null || (x.size(2) === imageSize && x.size(3) === imageSize)) return x;
    return interpolate(x, { size: imageSize, mode: 'bicubic', alignCorners: false, antialias: false });
  });
}

function gridSide(n: number, what: string): number {
  const s = Math.floor(Math.sqrt(n));
  if (s * s !== n) throw new Error(`${what}: ${n} tokens is not a square grid`);
  return s;
}

/**
 * Semanticist interpolate_features: tokens (B, T1, D) on a √T1 × √T1 row-major grid are resized
 * with bicubic (align_corners False, no antialias, scale from the sizes) to a √targetLen grid,
 * giving (B, targetLen, D).
 */
export function interpolateFeatures(x: Tensor, targetLen: number): Tensor {
  if (x.ndim !== 3) throw new TypeError(`interpolateFeatures: expected (B, T, D), got shape [${x.shape.join(', ')}]`);
  const [B, T1, D] = x.shape;
  const s1 = gridSide(T1, 'interpolateFeatures input');
  const s2 = gridSide(targetLen, 'interpolateFeatures target');
  return scope(() => {
    const grid = x.reshape(B, s1, s1, D).permute(0, 3, 1, 2);
    const y = interpolate(grid, { size: [s2, s2], mode: 'bicubic', alignCorners: false });
    return y.permute(0, 2, 3, 1).reshape(B, targetLen, D);
  });
}

/**
 * The REPA loss of DiffuseSlot.forward_with_latents: the projected DiT tokens (B, n², C) are
 * resized to the target's grid when the token counts differ (interpolateFeatures), both are
 * L2-normalised over C (F.normalize, eps 1e-12), and the loss is −mean over batch and tokens of
 * their dot product, times weight (repa_loss_weight, 1.0 in the configs).
 */
export function repaLoss(projected: Tensor, target: Tensor, weight = 1.0): Tensor {
  if (projected.ndim !== 3 || target.ndim !== 3) throw new TypeError('repaLoss: expected (B, T, C) tensors');
  if (projected.size(0) !== target.size(0) || projected.size(2) !== target.size(2))
    throw new Error(`repaLoss: projected [${projected.shape.join(', ')}] and target [${target.shape.join(', ')}] differ in batch or channels`);
  return scope(() => {
    let z = projected;
    if (z.size(1) !== target.size(1)) z = interpolateFeatures(z, target.size(1));
    const zt = normalize(z, 2, -1);
    const zz = normalize(target, 2, -1);
    return zt.mul(zz).sum(-1).neg().mean().mul(weight);
  });
}

export interface Dinov2TargetOptions {
  /** Resize target for the DINOv2 input (224 in Semanticist; null: none). */
  imageSize?: number | null;
  /** Model sizes (default the hub's ViT-B/14). */
  config?: Dinov2Config;
  /** Device to move the model to after loading. */
  device?: string;
}

/**
 * The frozen REPA target encoder: a DinoVisionTransformer in eval mode with requiresGrad off,
 * run under noGrad. It is not a Module, so it never joins a trainable module's parameters, state
 * dict or train()/eval() switches (upstream keeps it frozen; its train/eval mode makes no
 * difference with drop-path 0). `model` is the ViT, for callers that want it registered.
 */
export class Dinov2Target {
  readonly model: DinoVisionTransformer;
  readonly imageSize: number | null;

  constructor(model: DinoVisionTransformer, opts: { imageSize?: number | null } = {}) {
    this.model = model;
    this.imageSize = opts.imageSize === undefined ? REPA_IMAGE_SIZE : opts.imageSize;
    model.eval();
    model.requiresGrad_(false);
  }

  /**
   * Builds the model and loads a checkpoint: a torch.save zip (.pth/.pkl) or safetensors file
   * holding the official key names (a `_orig_mod.` segment or `module.` prefix is removed), strict.
   */
  static load(path: string, opts: Dinov2TargetOptions = {}): Dinov2Target {
    const model = new DinoVisionTransformer(opts.config ?? DINOV2_VITB14);
    scope(() => {
      const sd = normalizeWrappedKeys(loadStateDict(path, { mapLocation: 'cpu' }));
      model.loadStateDict(sd, { strict: true, castDtype: true });
    });
    if (opts.device) model.to({ device: opts.device });
    return new Dinov2Target(model, { imageSize: opts.imageSize });
  }

  /** [0,1] images → the DINOv2 input (normalised, resized). */
  preprocess(images: Tensor): Tensor {
    return dinov2Preprocess(images, this.imageSize);
  }

  /** All forward_features outputs for [0,1] images. */
  features(images: Tensor): Dinov2Features {
    return noGrad(() => scope(() => this.model.forwardFeatures(this.preprocess(images))));
  }

  /** DiffuseSlot.repa_encode: x_norm_patchtokens (B, (imageSize / 14)², D) for [0,1] images. */
  encode(images: Tensor): Tensor {
    return noGrad(() => scope(() => this.model.forwardFeatures(this.preprocess(images)).xNormPatchtokens));
  }

  to(device: string): this {
    this.model.to({ device });
    return this;
  }
  dispose(): void {
    this.model.dispose();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}
