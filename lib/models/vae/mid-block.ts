// The middle of the LDM/MAR encoder and decoder (`mid`): ResnetBlock `block_1`, AttnBlock `attn_1`,
// ResnetBlock `block_2`, all at the lowest resolution with the same channel count.
import type { Tensor } from '../../core/tensor.js';
import { scope } from '../../core/scope.js';
import { Module } from '../../nn/module.js';
import { ResnetBlock } from './resnet-block.js';
import { AttnBlock } from './attn-block.js';

export class MidBlock extends Module {
  block_1: ResnetBlock;
  attn_1: AttnBlock;
  block_2: ResnetBlock;

  constructor(channels: number, dropout = 0) {
    super();
    this.block_1 = new ResnetBlock(channels, channels, dropout);
    this.attn_1 = new AttnBlock(channels);
    this.block_2 = new ResnetBlock(channels, channels, dropout);
  }

  override forward(x: Tensor): Tensor {
    return scope(() => this.block_2.forward(this.attn_1.forward(this.block_1.forward(x))));
  }
}
