// torch.nn: layers and modules come with the nn issue; for now the functional API.
export * as functional from './functional.js';
