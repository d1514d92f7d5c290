// The fidelity fixtures' Inception weights, rebuilt from their formula (the fixtures store no
// weight file): for entry k of the state dict and flat index i, u = murmur3-finaliser(i + k·0x01000193
// + seed·0x9E3779B9) / 2³², mapped per rule (conv, bn_weight, ...) in float64 and rounded once to
// float32. Every tensor's bits_sum_mod_2_32 and the hash test vectors are checked, so a wrong
// value anywhere fails here rather than as a feature mismatch later.
import { join } from 'node:path';
import * as torch from '../lib/torch.js';
import { fidelityFixturesJson } from './fixture-paths.js';

export interface WeightEntry {
  k: number;
  name: string;
  shape: number[];
  dtype: 'float32' | 'int64';
  rule: string;
  bits_sum_mod_2_32: number;
  first?: number[];
}
export interface WeightSpec {
  seed: number;
  constants: { g_conv: number; a: number; b: number; c: number; v0: number; v1: number; g_fc: number; d: number };
  n_tensors: number;
  n_values: number;
  hash_test_vectors: { k: number; i: number; x_uint32: number; u: number }[];
  tensors: WeightEntry[];
}

/** The 32-bit counter hash (every step exact: Math.imul and >>> 0 are arithmetic modulo 2³²). */
export function hashU32(i: number, k: number, seed: number): number {
  let x = (i + Math.imul(k, 0x01000193) + Math.imul(seed, 0x9e3779b9)) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x85ebca6b) >>> 0;
  x = (x ^ (x >>> 13)) >>> 0;
  x = Math.imul(x, 0xc2b2ae35) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

const TWO_POW_M32 = 2 ** -32; // x · 2⁻³² is exact in float64

/** u → value for one rule, in float64 in the README's order; rounded to float32 by the Float32Array store. */
function ruleFn(e: WeightEntry, c: WeightSpec['constants']): (u: number) => number {
  const fanIn = e.shape.slice(1).reduce((p, q) => p * q, 1);
  switch (e.rule) {
    case 'conv': {
      const s = (Math.sqrt(3) * c.g_conv) / Math.sqrt(fanIn);
      return (u) => (2 * u - 1) * s;
    }
    case 'fc_weight': {
      const s = (Math.sqrt(3) * c.g_fc) / Math.sqrt(2048);
      return (u) => (2 * u - 1) * s;
    }
    case 'fc_bias':
      return (u) => (2 * u - 1) * c.d;
    case 'bn_weight':
      return (u) => 1 + c.a * (u - 0.5);
    case 'bn_bias':
      return (u) => c.b * (u - 0.5);
    case 'bn_running_mean':
      return (u) => c.c * (u - 0.5);
    case 'bn_running_var':
      return (u) => c.v0 + c.v1 * u;
    default:
      throw new Error(`fidelity weights: unknown rule '${e.rule}' for ${e.name}`);
  }
}

/** Sum of the float32 bit patterns modulo 2³² (ToUint32 of the running sum is exact modulo 2³²). */
function bitsSum(values: Float32Array): number {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  let acc = 0;
  for (let i = 0; i < bits.length; i++) acc = (acc + bits[i]) >>> 0;
  return acc;
}

/** One float tensor's values; Float32Array assignment rounds to nearest even, as Math.fround. */
export function buildValues(e: WeightEntry, spec: WeightSpec): Float32Array {
  const n = e.shape.reduce((p, q) => p * q, 1);
  const f = ruleFn(e, spec.constants);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = f(hashU32(i, e.k, spec.seed) * TWO_POW_M32);
  return out;
}

/**
 * The whole state dict in the fixture's order (a Map; the tensors are kept, the caller disposes
 * them). Throws naming the first tensor whose checksum differs, or the test vector that fails.
 */
export function buildFidelityStateDict(spec: WeightSpec): Map<string, torch.Tensor> {
  for (const v of spec.hash_test_vectors) {
    const x = hashU32(v.i, v.k, spec.seed);
    if (x !== v.x_uint32 || x * TWO_POW_M32 !== v.u) throw new Error(`hash test vector (k=${v.k}, i=${v.i}): got x=${x}, expected ${v.x_uint32}`);
  }
  if (spec.tensors.length !== spec.n_tensors) throw new Error(`fixture lists ${spec.tensors.length} tensors, n_tensors says ${spec.n_tensors}`);
  const sd = new Map<string, torch.Tensor>();
  let nValues = 0;
  spec.tensors.forEach((e, pos) => {
    if (e.k !== pos) throw new Error(`fixture tensor ${e.name}: k=${e.k} at position ${pos}`);
    if (e.dtype === 'int64') {
      if (e.rule !== 'bn_num_batches_tracked' || e.bits_sum_mod_2_32 !== 0) throw new Error(`fixture tensor ${e.name}: unexpected int64 entry (${e.rule})`);
      sd.set(e.name, torch.keep(torch.zeros(e.shape, { dtype: 'int64' })));
      nValues += 1;
      return;
    }
    const values = buildValues(e, spec);
    const sum = bitsSum(values);
    if (sum !== e.bits_sum_mod_2_32) throw new Error(`fidelity weights: ${e.name} ${JSON.stringify(e.shape)} bits sum ${sum}, fixture ${e.bits_sum_mod_2_32}`);
    nValues += values.length;
    sd.set(e.name, torch.keep(torch.tensor(values, { shape: e.shape })));
  });
  if (nValues !== spec.n_values) throw new Error(`fidelity weights: ${nValues} values, fixture says ${spec.n_values}`);
  return sd;
}

/** The formula weights saved as a .pth in `dir` (for the CLIs' --feature-extractor-weights-path); returns its path. */
export function saveFidelityWeights(dir: string, name = 'weights-inception-2015-12-05-6726825d.pth'): string {
  const path = join(dir, name);
  const sd = buildFidelityStateDict(fidelityFixturesJson().weights);
  torch.save(sd, path);
  torch.dispose([...sd.values()]);
  return path;
}
