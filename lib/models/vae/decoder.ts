// The LDM/MAR Decoder: conv_in from z, `mid`, then the levels from lowest to full resolution —
// `up.{b}` is indexed by resolution level as in the encoder (up.0 = full resolution) but run in
// reverse — each with numResBlocks + 1 ResnetBlocks (`block`), optional AttnBlocks (`attn`; none in
// MAR), and an Upsample on all but level 0; then `norm_out` → swish → `conv_out`.
import type { Tensor } from '../../core/tensor.js';
import { scope } from '../../core/scope.js';
import { Module } from '../../nn/module.js';
import { ModuleList } from '../../nn/containers.js';
import { Conv2d } from '../../nn/layers/conv.js';
import type { GroupNorm } from '../../nn/layers/normalization.js';
import { silu } from '../../nn/functional.js';
import { ResnetBlock, vaeGroupNorm } from './resnet-block.js';
import { AttnBlock } from './attn-block.js';
import { Upsample } from './resample.js';
import { MidBlock } from './mid-block.js';
import { decoderAttnLevels, resolveVaeConfig, type VaeConfig } from './config.js';

/** One resolution level of the decoder (`decoder.up.{b}`). */
export class DecoderLevel extends Module {
  block = new ModuleList<ResnetBlock>();
  attn = new ModuleList<AttnBlock>();
  upsample: Upsample | null;

  constructor(inChannels: number, outChannels: number, numBlocks: number, withAttn: boolean, withUpsample: boolean, dropout: number) {
    super();
    for (let j = 0; j < numBlocks; j++) {
      this.block.append(new ResnetBlock(j === 0 ? inChannels : outChannels, outChannels, dropout));
      if (withAttn) this.attn.append(new AttnBlock(outChannels));
    }
    this.upsample = withUpsample ? new Upsample(outChannels) : null;
  }
}

export class Decoder extends Module {
  conv_in: Conv2d;
  mid: MidBlock;
  up = new ModuleList<DecoderLevel>();
  norm_out: GroupNorm;
  conv_out: Conv2d;

  constructor(config: VaeConfig) {
    super();
    const c = resolveVaeConfig(config);
    const L = c.chMult.length;
    const attnAt = decoderAttnLevels(c);
    let blockIn = c.ch * c.chMult[L - 1];
    this.conv_in = new Conv2d(c.zChannels, blockIn, 3, { padding: 1 });
    this.mid = new MidBlock(blockIn, c.dropout);
    const levels: DecoderLevel[] = [];
    for (let b = L - 1; b >= 0; b--) {
      const blockOut = c.ch * c.chMult[b];
      levels[b] = new DecoderLevel(blockIn, blockOut, c.numResBlocks + 1, attnAt[b], b !== 0, c.dropout);
      blockIn = blockOut;
    }
    this.up.extend(levels);
    this.norm_out = vaeGroupNorm(blockIn);
    this.conv_out = new Conv2d(blockIn, c.outCh, 3, { padding: 1 });
  }

  /** z: (B, zChannels, h, w) → images in about [-1, 1], (B, outCh, h·2^(L-1), w·2^(L-1)). */
  override forward(z: Tensor): Tensor {
    return scope(() => {
      let h = this.conv_in.forward(z);
      const advance = (next: Tensor) => {
        h.dispose();
        h = next;
      };
      advance(this.mid.forward(h));
      for (let b = this.up.length - 1; b >= 0; b--) {
        const level = this.up.at(b);
        level.block.map((block, j) => {
          advance(block.forward(h));
          if (level.attn.length > 0) advance(level.attn.at(j).forward(h));
        });
        if (level.upsample) advance(level.upsample.forward(h));
      }
      return this.conv_out.forward(silu(this.norm_out.forward(h)));
    });
  }
}
