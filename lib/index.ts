// Package entry: `import { torch } from 'semanticist-ts'` or `import * as torch from 'semanticist-ts/torch'`.
export * as torch from './torch.js';
export { Tensor, TorchError } from './torch.js';
