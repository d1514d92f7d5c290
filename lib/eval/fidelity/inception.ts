// torch-fidelity's FeatureExtractorInceptionV3 ('inception-v3-compat'): the TF 2015-12-05
// Inception-v3 graph that FID and the Inception Score are defined with, ported to PyTorch layers.
// Field names are torch-fidelity's, so the state-dict keys (and their order) are those of its
// weight file. uint8 images of any size go in; they are resized to 299 × 299 with TF1's bilinear
// resize (tf-resize.ts), mapped to [−1, 1) by (x − 128) / 128, and run through the network; the
// requested features come out as float32, in the order requested.
//
//   feature            shape        taken after
//   '64'               (N, 64)      MaxPool_1 (73 × 73), global average pool
//   '192'              (N, 192)     MaxPool_2 (35 × 35), global average pool
//   '768'              (N, 768)     Mixed_6e (17 × 17), global average pool
//   '2048'             (N, 2048)    Mixed_7c (8 × 8), global average pool        (FID, KID)
//   'logits_unbiased'  (N, 1008)    2048 · fc.weightᵀ, no bias                    (IS)
//   'logits'           (N, 1008)    logits_unbiased + fc.bias
import type { Tensor } from '../../core/tensor.js';
import { scope } from '../../core/scope.js';
import { noGrad } from '../../core/modes.js';
import { zeros } from '../../core/creation.js';
import { Module } from '../../nn/module.js';
import { Linear } from '../../nn/layers/linear.js';
import { adaptiveAvgPool2d, linear, maxPool2d } from '../../nn/functional.js';
import { loadStateDict, CheckpointError } from '../../serialization/index.js';
import { BasicConv2d } from './basic-conv.js';
import { InceptionA, InceptionB, InceptionC, InceptionD, InceptionE } from './inception-blocks.js';
import { resizeBilinearTf1 } from './tf-resize.js';
import { findInceptionWeights, type WeightsLookup } from './weights-path.js';

export const INCEPTION_FEATURES = ['64', '192', '768', '2048', 'logits_unbiased', 'logits'] as const;
export type InceptionFeature = (typeof INCEPTION_FEATURES)[number];
/** The network's input size: every image is resized to this square. */
export const INCEPTION_INPUT_SIZE = 299;

/** Global average pool to (N, C). */
const gap = (x: Tensor) => adaptiveAvgPool2d(x, 1).flatten(1);

function checkFeatures(features: readonly string[]): readonly InceptionFeature[] {
  if (features.length === 0) throw new RangeError(`InceptionV3Features: no feature requested (choose from ${INCEPTION_FEATURES.join(', ')})`);
  for (const f of features) {
    if (!(INCEPTION_FEATURES as readonly string[]).includes(f))
      throw new RangeError(`InceptionV3Features: unknown feature '${f}' (choose from ${INCEPTION_FEATURES.join(', ')})`);
  }
  if (new Set(features).size !== features.length) throw new RangeError(`InceptionV3Features: feature listed twice in [${features.join(', ')}]`);
  return features as readonly InceptionFeature[];
}

/**
 * Copies a state dict into the model as torch-fidelity's load_state_dict does: strict, except that
 * absent BN `num_batches_tracked` counters become 0. torch-fidelity's weight file comes from a
 * conversion script that saves a plain dict without them, and PyTorch's BatchNorm fills them in
 * for such a (version-less) dict; they take no part in eval mode. Errors name `source` and the keys.
 */
export function loadInceptionStateDict(model: InceptionV3Features, sd: Map<string, Tensor>, source = 'state dict'): void {
  scope(() => {
    const full = new Map(sd);
    for (const [k] of model.namedBuffers()) if (k.endsWith('.num_batches_tracked') && !full.has(k)) full.set(k, zeros([], { dtype: 'int64' }));
    try {
      model.loadStateDict(full, { strict: true });
    } catch (e) {
      if (e instanceof Error) e.message = `${source}: ${e.message}`;
      throw e;
    }
  });
}

export class InceptionV3Features extends Module {
  Conv2d_1a_3x3 = new BasicConv2d(3, 32, 3, { stride: 2 });
  Conv2d_2a_3x3 = new BasicConv2d(32, 32, 3);
  Conv2d_2b_3x3 = new BasicConv2d(32, 64, 3, { padding: 1 });
  Conv2d_3b_1x1 = new BasicConv2d(64, 80, 1);
  Conv2d_4a_3x3 = new BasicConv2d(80, 192, 3);
  Mixed_5b = new InceptionA(192, 32);
  Mixed_5c = new InceptionA(256, 64);
  Mixed_5d = new InceptionA(288, 64);
  Mixed_6a = new InceptionB(288);
  Mixed_6b = new InceptionC(768, 128);
  Mixed_6c = new InceptionC(768, 160);
  Mixed_6d = new InceptionC(768, 160);
  Mixed_6e = new InceptionC(768, 192);
  Mixed_7a = new InceptionD(768);
  Mixed_7b = new InceptionE(1280, 'avg');
  Mixed_7c = new InceptionE(2048, 'max');
  fc = new Linear(2048, 1008);

  /** A network with initial (random) weights, frozen and in eval mode; load weights with load() or loadStateDict(). */
  constructor() {
    super();
    this.requiresGrad_(false);
    this.eval();
  }

  /** Always eval mode: the batch norms use the stored statistics, as torch-fidelity's extractor. */
  override train(_mode = true): this {
    return super.train(false);
  }

  /** Loads torch-fidelity's weight file (a torch.save state dict; safetensors also accepted), strictly. */
  static load(path: string, o: { device?: string } = {}): InceptionV3Features {
    const model = new InceptionV3Features();
    scope(() => {
      let sd: Map<string, Tensor>;
      try {
        sd = loadStateDict(path, { mapLocation: 'cpu' });
      } catch (e) {
        if (e instanceof CheckpointError && /legacy/.test(e.message))
          e.message += '\n\tRe-save it once with PyTorch (torch.save(torch.load(p), p)) to get the zip format this loader reads.';
        throw e;
      }
      loadInceptionStateDict(model, sd, path);
    });
    if (o.device) model.to({ device: o.device });
    return model;
  }

  /** Finds the weight file (explicit path, else the torch hub cache: see findInceptionWeights) and loads it. */
  static fromPretrained(o: { weightsPath?: string | null; device?: string } & WeightsLookup = {}): InceptionV3Features {
    return InceptionV3Features.load(findInceptionWeights(o.weightsPath, o), { device: o.device });
  }

  /** uint8 (N, 3, H, W) → the first conv's input: float32, TF1-resized to 299 × 299, (x − 128) / 128. */
  preprocess(images: Tensor): Tensor {
    if (images.dtype !== 'uint8') throw new TypeError(`InceptionV3Features: expected uint8 images, got ${images.dtype}`);
    if (images.ndim !== 4 || images.shape[1] !== 3) throw new RangeError(`InceptionV3Features: expected (N, 3, H, W) images, got [${images.shape.join(', ')}]`);
    return scope(() => resizeBilinearTf1(images.float(), INCEPTION_INPUT_SIZE).sub(128).div(128));
  }

  /**
   * The requested features of uint8 images (N, 3, H, W) on the model's device, as float32 tensors
   * in the order of `features`. Runs only as deep as the deepest feature asked for.
   */
  override forward(images: Tensor, features: readonly InceptionFeature[] = ['2048']): Tensor[] {
    const want = new Set(checkFeatures(features));
    const device = this.fc.weight.device;
    if (images.device !== device) throw new Error(`InceptionV3Features: images are on ${images.device}, the model on ${device}`);
    const out = new Map<InceptionFeature, Tensor>();
    const take = (f: InceptionFeature, t: () => Tensor) => {
      if (want.has(f)) out.set(f, t());
      return out.size === want.size;
    };
    const result = () => features.map((f) => out.get(f)!);
    return noGrad(() =>
      scope(() => {
        // Each stage runs in its own scope and the previous activation is freed as soon as the next
        // exists: at batch 50 they are tens to hundreds of MB each.
        let x = this.preprocess(images);
        const next = (f: (h: Tensor) => Tensor) => {
          const y = scope(() => f(x));
          x.dispose();
          x = y;
        };
        next((h) => maxPool2d(this.Conv2d_2b_3x3.forward(this.Conv2d_2a_3x3.forward(this.Conv2d_1a_3x3.forward(h))), 3, 2));
        if (take('64', () => gap(x))) return result();
        next((h) => maxPool2d(this.Conv2d_4a_3x3.forward(this.Conv2d_3b_1x1.forward(h)), 3, 2));
        if (take('192', () => gap(x))) return result();
        for (const m of [this.Mixed_5b, this.Mixed_5c, this.Mixed_5d, this.Mixed_6a, this.Mixed_6b, this.Mixed_6c, this.Mixed_6d, this.Mixed_6e])
          next((h) => m.forward(h));
        if (take('768', () => gap(x))) return result();
        for (const m of [this.Mixed_7a, this.Mixed_7b, this.Mixed_7c]) next((h) => m.forward(h));
        const f2048 = gap(x);
        if (take('2048', () => f2048)) return result();
        if (want.has('logits_unbiased')) {
          // As torch-fidelity: with logits_unbiased asked for, logits = (x · Wᵀ) + b in two roundings;
          // otherwise one fused linear (addmm), which may differ from that in the last bit.
          const unbiased = f2048.mm(this.fc.weight.t());
          if (take('logits_unbiased', () => unbiased)) return result();
          take('logits', () => unbiased.add(this.fc.bias!.unsqueeze(0)));
        } else {
          take('logits', () => linear(f2048, this.fc.weight, this.fc.bias));
        }
        return result();
      }),
    );
  }
}
