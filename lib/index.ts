// Package entry: `import { torch } from 'semanticist-ts'` or `import * as torch from 'semanticist-ts/torch'`.
export * as torch from './torch.js';
export { Tensor, TorchError } from './torch.js';
export { safetensors } from './serialization/index.js';
export * as serialization from './serialization/index.js';
