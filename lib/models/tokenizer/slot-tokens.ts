// From encoder slots to Semanticist tokens (upstream DiffuseSlot.encode_slots;
// docs/upstream/tokenizer.md#tokens): `standardizeTokens` (norm_slots: per-token (x − mean)/std
// over the channels, std unbiased, no eps) and `encodeSlots` (encoder → encoder2slot Linear →
// optional standardisation). encoder2slot itself is a plain nn.Linear(embedDim, slotDim) owned by
// the tokenizer under the key `encoder2slot`.
import type { Tensor } from '../../core/tensor.js';
import { scope } from '../../core/scope.js';
import type { Linear } from '../../nn/layers/linear.js';
import type { VisionTransformer } from './vit-encoder.js';

/** (x − mean(x)) / std(x) over the last dim; std is unbiased (÷(n−1)) and there is no eps, as upstream. */
export function standardizeTokens(x: Tensor): Tensor {
  return scope(() => {
    const std = x.std(-1, true, true);
    const mean = x.mean(-1, true);
    return x.sub(mean).div(std);
  });
}

/** images (B, C, H, W) → tokens (B, numSlots, slotDim): encoder(images), encoder2slot, then standardizeTokens when normSlots. */
export function encodeSlots(encoder: VisionTransformer, encoder2slot: Linear, images: Tensor, o: { isCausal?: boolean; normSlots?: boolean } = {}): Tensor {
  return scope(() => {
    const slots = encoder2slot.forward(encoder.forward(images, { isCausal: o.isCausal ?? true }));
    return (o.normSlots ?? true) ? standardizeTokens(slots) : slots;
  });
}
