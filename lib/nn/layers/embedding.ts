// Embedding: a lookup table (numEmbeddings, embeddingDim) initialised N(0, 1), as PyTorch's.
import type { Tensor } from '../../core/tensor.js';
import { scope } from '../../core/scope.js';
import { noGrad } from '../../core/modes.js';
import { embedding } from '../functional.js';
import { Module } from '../module.js';
import { Parameter } from '../parameter.js';
import * as init from '../init.js';
import type { FactoryOptions } from './options.js';

export interface EmbeddingOptions extends FactoryOptions {
  paddingIdx?: number | null;
}

export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  /** Row whose gradient is always zero (and which starts at zero); negative counts from the end. */
  readonly paddingIdx: number | null;
  weight: Parameter;

  constructor(numEmbeddings: number, embeddingDim: number, o: EmbeddingOptions = {}) {
    super();
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    let pad = o.paddingIdx ?? null;
    if (pad !== null) {
      if (pad >= numEmbeddings || pad < -numEmbeddings) throw new RangeError('Padding_idx must be within num_embeddings');
      if (pad < 0) pad += numEmbeddings;
    }
    this.paddingIdx = pad;
    this.weight = Parameter.empty([numEmbeddings, embeddingDim], o);
    this.resetParameters();
  }

  resetParameters(): void {
    scope(() => {
      init.normal_(this.weight);
      if (this.paddingIdx !== null) noGrad(() => this.weight.select(0, this.paddingIdx!).zero_());
    });
  }

  override forward(indices: Tensor): Tensor {
    return embedding(indices, this.weight, this.paddingIdx);
  }
  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}${this.paddingIdx !== null ? `, padding_idx=${this.paddingIdx}` : ''}`;
  }
}
