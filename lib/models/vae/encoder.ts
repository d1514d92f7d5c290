// The LDM/MAR Encoder: conv_in, then per level `down.{i}` a list of ResnetBlocks (`block`), an
// AttnBlock after each of them where the level's resolution is in attnResolutions (`attn`), and a
// Downsample on all but the last level; then `mid`, `norm_out` → swish → `conv_out` to 2·z channels
// (mean and log-variance, "double_z").
import type { Tensor } from '../../core/tensor.js';
import { scope } from '../../core/scope.js';
import { Module } from '../../nn/module.js';
import { ModuleList } from '../../nn/containers.js';
import { Conv2d } from '../../nn/layers/conv.js';
import type { GroupNorm } from '../../nn/layers/normalization.js';
import { silu } from '../../nn/functional.js';
import { ResnetBlock, vaeGroupNorm } from './resnet-block.js';
import { AttnBlock } from './attn-block.js';
import { Downsample } from './resample.js';
import { MidBlock } from './mid-block.js';
import { encoderAttnLevels, resolveVaeConfig, type VaeConfig } from './config.js';

/** One resolution level of the encoder (`encoder.down.{i}`). */
export class EncoderLevel extends Module {
  block = new ModuleList<ResnetBlock>();
  attn = new ModuleList<AttnBlock>();
  downsample: Downsample | null;

  constructor(inChannels: number, outChannels: number, numBlocks: number, withAttn: boolean, withDownsample: boolean, dropout: number) {
    super();
    for (let j = 0; j < numBlocks; j++) {
      this.block.append(new ResnetBlock(j === 0 ? inChannels : outChannels, outChannels, dropout));
      if (withAttn) this.attn.append(new AttnBlock(outChannels));
    }
    this.downsample = withDownsample ? new Downsample(outChannels) : null;
  }
}

export class Encoder extends Module {
  conv_in: Conv2d;
  down = new ModuleList<EncoderLevel>();
  mid: MidBlock;
  norm_out: GroupNorm;
  conv_out: Conv2d;

  constructor(config: VaeConfig) {
    super();
    const c = resolveVaeConfig(config);
    const L = c.chMult.length;
    const attnAt = encoderAttnLevels(c);
    this.conv_in = new Conv2d(c.inChannels, c.ch, 3, { padding: 1 });
    let blockIn = c.ch;
    for (let i = 0; i < L; i++) {
      const blockOut = c.ch * c.chMult[i];
      this.down.append(new EncoderLevel(blockIn, blockOut, c.numResBlocks, attnAt[i], i !== L - 1, c.dropout));
      blockIn = blockOut;
    }
    this.mid = new MidBlock(blockIn, c.dropout);
    this.norm_out = vaeGroupNorm(blockIn);
    this.conv_out = new Conv2d(blockIn, 2 * c.zChannels, 3, { padding: 1 });
  }

  /** x: images in [-1, 1], (B, inChannels, H, W) → (B, 2·zChannels, H/2^(L-1), W/2^(L-1)). */
  override forward(x: Tensor): Tensor {
    return scope(() => {
      let h = this.conv_in.forward(x);
      // Each intermediate is freed as soon as the next exists (peak memory of one level, not all).
      const advance = (next: Tensor) => {
        h.dispose();
        h = next;
      };
      for (const level of this.down) {
        level.block.map((block, j) => {
          advance(block.forward(h));
          if (level.attn.length > 0) advance(level.attn.at(j).forward(h));
        });
        if (level.downsample) advance(level.downsample.forward(h));
      }
      advance(this.mid.forward(h));
      return this.conv_out.forward(silu(this.norm_out.forward(h)));
    });
  }
}
