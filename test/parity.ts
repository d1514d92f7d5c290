// Shared pieces of the parity tests: reading a fixture case file and comparing with a tolerance
// relative to the reference's magnitude, |a − b| ≤ rel · max(1, max|ref|) (the fixtures README's rule).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as torch from '../lib/torch.js';
import { safetensors } from '../lib/serialization/index.js';
import { UPSTREAM_FIXTURES } from './fixture-paths.js';

/** A case file's tensors by name; a missing name is an error naming it. */
export function loadCase(file: string): (name: string) => torch.Tensor {
  const data = safetensors.loadFile(join(UPSTREAM_FIXTURES, file));
  return (name: string) => {
    const t = data.get(name);
    if (!t) throw new Error(`${file}: no tensor '${name}'`);
    return t;
  };
}

export function assertNear(got: torch.Tensor, ref: torch.Tensor, what: string, rel = 1e-5): void {
  assert.deepEqual(got.shape, ref.shape, `${what} shape`);
  torch.scope(() => {
    const scale = Math.max(1, ref.abs().max().item());
    const err = got.double().sub(ref.double()).abs().max().item();
    assert.ok(err <= rel * scale, `${what}: max abs err ${err} > ${rel * scale}`);
  });
}
