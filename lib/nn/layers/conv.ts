// Conv2d and ConvTranspose2d, with PyTorch's parameter shapes and initialisation.
import type { Tensor } from '../../core/tensor.js';
import { scope } from '../../core/scope.js';
import { conv2d, convTranspose2d } from '../functional.js';
import { Module } from '../module.js';
import { Parameter } from '../parameter.js';
import * as init from '../init.js';
import type { FactoryOptions } from './options.js';

type Pair = number | [number, number];
const pair = (x: Pair): [number, number] => (typeof x === 'number' ? [x, x] : x);
const reprPair = (p: [number, number]) => `(${p[0]}, ${p[1]})`;

export interface Conv2dOptions extends FactoryOptions {
  stride?: Pair;
  padding?: Pair | 'same' | 'valid';
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}

/** kaiming_uniform(a=√5) on the weight, bias uniform(±1/√fan_in), as PyTorch's _ConvNd. */
function resetConv(weight: Parameter, bias: Parameter | null): void {
  scope(() => {
    init.kaimingUniform_(weight, Math.sqrt(5));
    if (bias) {
      const [fanIn] = init.calculateFanInAndFanOut(weight);
      if (fanIn !== 0) init.uniform_(bias, -1 / Math.sqrt(fanIn), 1 / Math.sqrt(fanIn));
    }
  });
}

/** PyTorch's check that both channel counts divide into the groups. */
function checkGroups(inChannels: number, outChannels: number, groups: number): number {
  if (inChannels % groups !== 0) throw new RangeError('in_channels must be divisible by groups');
  if (outChannels % groups !== 0) throw new RangeError('out_channels must be divisible by groups');
  return groups;
}

export class Conv2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number] | 'same' | 'valid';
  readonly dilation: [number, number];
  readonly groups: number;
  weight: Parameter;
  bias: Parameter | null;

  constructor(inChannels: number, outChannels: number, kernelSize: Pair, o: Conv2dOptions = {}) {
    super();
    const groups = checkGroups(inChannels, outChannels, o.groups ?? 1);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = pair(kernelSize);
    this.stride = pair(o.stride ?? 1);
    this.padding = typeof o.padding === 'string' ? o.padding : pair(o.padding ?? 0);
    this.dilation = pair(o.dilation ?? 1);
    this.groups = groups;
    this.weight = Parameter.empty([outChannels, inChannels / groups, ...this.kernelSize], o);
    this.bias = (o.bias ?? true) ? Parameter.empty([outChannels], o) : null;
    this.resetParameters();
  }

  resetParameters(): void {
    resetConv(this.weight, this.bias);
  }

  override forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups });
  }

  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${reprPair(this.kernelSize)}, stride=${reprPair(this.stride)}`;
    if (typeof this.padding === 'string') s += `, padding=${this.padding}`;
    else if (this.padding[0] || this.padding[1]) s += `, padding=${reprPair(this.padding)}`;
    if (this.dilation[0] !== 1 || this.dilation[1] !== 1) s += `, dilation=${reprPair(this.dilation)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (!this.bias) s += ', bias=False';
    return s;
  }
}

export interface ConvTranspose2dOptions extends FactoryOptions {
  stride?: Pair;
  padding?: Pair;
  outputPadding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}

/** Transposed convolution; its weight is (in, out/groups, kH, kW), as PyTorch's. */
export class ConvTranspose2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly outputPadding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  weight: Parameter;
  bias: Parameter | null;

  constructor(inChannels: number, outChannels: number, kernelSize: Pair, o: ConvTranspose2dOptions = {}) {
    super();
    const groups = checkGroups(inChannels, outChannels, o.groups ?? 1);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = pair(kernelSize);
    this.stride = pair(o.stride ?? 1);
    this.padding = pair(o.padding ?? 0);
    this.outputPadding = pair(o.outputPadding ?? 0);
    this.dilation = pair(o.dilation ?? 1);
    this.groups = groups;
    this.weight = Parameter.empty([inChannels, outChannels / groups, ...this.kernelSize], o);
    this.bias = (o.bias ?? true) ? Parameter.empty([outChannels], o) : null;
    this.resetParameters();
  }

  resetParameters(): void {
    resetConv(this.weight, this.bias);
  }

  override forward(x: Tensor): Tensor {
    return convTranspose2d(x, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding,
      outputPadding: this.outputPadding,
      groups: this.groups,
      dilation: this.dilation,
    });
  }

  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${reprPair(this.kernelSize)}, stride=${reprPair(this.stride)}`;
    if (this.padding[0] || this.padding[1]) s += `, padding=${reprPair(this.padding)}`;
    if (this.outputPadding[0] || this.outputPadding[1]) s += `, output_padding=${reprPair(this.outputPadding)}`;
    if (this.dilation[0] !== 1 || this.dilation[1] !== 1) s += `, dilation=${reprPair(this.dilation)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (!this.bias) s += ', bias=False';
    return s;
  }
}
