// DINOv2 (the REPA target encoder of the Semanticist tokenizer) and the REPA helpers.
export * from './vit.js';
export * from './repa.js';
