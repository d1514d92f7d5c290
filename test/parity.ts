// Shared pieces of the parity tests: which cases the fixture set holds, reading a case file, and
// comparing with the upstream reference within a tolerance.
//
// The tests must hold on any fixture set made the same way (scripts/fixtures/make-parity-fixtures.py
// makes one at other sizes, seeds and draws), so sizes, draws and expectations come from
// fixtures.json and the case files, and a case the set does not list is skipped by name.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import * as torch from '../lib/torch.js';
import { safetensors } from '../lib/serialization/index.js';
import { UPSTREAM_FIXTURES, fixturesJson } from './fixture-paths.js';

/**
 * The case files of the set: fixtures.json `cases` when present, else every `files` entry named
 * case* (the shared set's fixtures.json has no `cases` key).
 */
export function fixtureCases(): string[] {
  const fx = fixturesJson();
  if (Array.isArray(fx.cases)) return fx.cases;
  return Object.keys(fx.files ?? {}).filter((f) => f.startsWith('case'));
}

/** Whether the set lists this case (e.g. 'case6_vae') and its file is there. */
export function hasCase(name: string): boolean {
  return fixtureCases().includes(name) && existsSync(join(UPSTREAM_FIXTURES, `${name}.safetensors`));
}

/** Whether the set folder has this file (e.g. 'vae_state_dict.safetensors'). */
export function hasFile(file: string): boolean {
  return existsSync(join(UPSTREAM_FIXTURES, file));
}

/**
 * A test's `skip` option: false when the set has every named case (e.g. 'case6_vae') or file
 * (a name with a dot, e.g. 'vae_state_dict.safetensors'), else the reason naming what is missing.
 */
export function skipUnless(...what: string[]): string | false {
  const missing = what.filter((w) => (w.includes('.') ? !hasFile(w) : !hasCase(w)));
  return missing.length ? `${missing.join(', ')} not in this fixture set` : false;
}

/**
 * For a test that needs some cases or files: true when all are present, else marks the test
 * skipped with the missing names and returns false.
 */
export function needs(t: TestContext, ...what: string[]): boolean {
  const reason = skipUnless(...what);
  if (!reason) return true;
  t.skip(reason);
  return false;
}

/**
 * A case file's tensors by name, read on first use (so a module can name a case the set lacks;
 * the tests that use it skip through `needs`); a missing name is an error naming it.
 */
export function loadCase(file: string): (name: string) => torch.Tensor {
  let data: Map<string, torch.Tensor> | null = null;
  return (name: string) => {
    if (!data) {
      // kept: the first use may be inside a test's scope
      data = safetensors.loadFile(join(UPSTREAM_FIXTURES, file));
      for (const t of data.values()) torch.keep(t);
    }
    const t = data.get(name);
    if (!t) throw new Error(`${file}: no tensor '${name}'`);
    return t;
  };
}

/**
 * |got − ref| ≤ rel · max(1, max|ref|), the max over elements computed in float64. The default
 * rel = 1e-5 is the fixtures README's allowance for a single float32 forward (about 84 float32
 * ulps of the output's scale, 2⁻²³ ≈ 1.2·10⁻⁷); computations that amplify rounding use
 * assertParity instead, whose tolerance is derived from the computation.
 */
export function assertNear(got: torch.Tensor, ref: torch.Tensor, what: string, rel = 1e-5): void {
  assert.deepEqual(got.shape, ref.shape, `${what} shape`);
  torch.scope(() => {
    const scale = Math.max(1, ref.abs().max().item());
    const err = got.double().sub(ref.double()).abs().max().item();
    assert.ok(err <= rel * scale, `${what}: max abs err ${err} > ${rel * scale}`);
  });
}

/** Float64 copies of float inputs (integer and bool tensors pass through). */
export function as64(t: torch.Tensor): torch.Tensor {
  return t.isFloatingPoint() ? t.double() : t;
}

/** The tolerance assertParity applies, for a report. */
export interface ParityReport {
  err: number;
  own: number;
  tol: number;
  scale: number;
}

/**
 * Parity for a float32 computation whose rounding the computation itself may amplify (deeper and
 * wider stacks, CFG's u + s·(c − u), which scales the errors of c and u by s and s − 1,
 * pred_xstart = x_t/√ᾱ − eps·√(1/ᾱ − 1), which scales the error of eps by up to 160 at t = 999).
 *
 * `exact` is the same computation run by us in float64 (weights and inputs cast), the exact value
 * to ~1e-15. own = max|got − exact| is then the float32 rounding error of this computation on
 * these inputs, measured rather than assumed: it grows with depth, width, the CFG factor and the
 * schedule's coefficients exactly as the computation does. The reference is another float32
 * evaluation of the same exact value, but with PyTorch 2.x's CPU kernels, some of which round
 * elementary functions less accurately than ours (the vectorised exp of softmax/attention is an
 * `exp_u20`, within 20 ulps where ours is within 1): its error is bounded by about 20·own, and the
 * float64 runs bear that out (reference errors up to 17× ours, on this project's sets and on
 * sets generated at other sizes). So
 *     tol = max(1e-5 · max(1, max|ref|),  20 · own),
 * the README's single-forward rule being where the fixture-size DiT forward already sits
 * (own ≈ 5·10⁻⁷ of the scale there, ×20 = 1e-5), and the own-error term taking over where the
 * computation amplifies rounding beyond that. A modelling error moves `exact` itself and shows
 * as |ref − exact| far above both. It also checks that our float32 path is sound: own ≤ 1e-4·scale.
 */
export function assertParity(got: torch.Tensor, exact: torch.Tensor, ref: torch.Tensor, what: string): ParityReport {
  assert.deepEqual(got.shape, ref.shape, `${what} shape`);
  assert.deepEqual(exact.shape, ref.shape, `${what} shape (float64 run)`);
  return torch.scope(() => {
    const scale = Math.max(1, ref.abs().max().item());
    const err = got.double().sub(ref.double()).abs().max().item();
    const own = got.double().sub(exact.double()).abs().max().item();
    const tol = Math.max(1e-5 * scale, 20 * own);
    if (process.env.PARITY_REPORT) {
      const refErr = ref.double().sub(exact.double()).abs().max().item();
      console.log(
        `# parity ${what}: err ${(err / scale).toExponential(2)} own ${(own / scale).toExponential(2)} ref-exact ${(refErr / scale).toExponential(2)} (relative to scale ${scale.toPrecision(3)})`,
      );
    }
    assert.ok(own <= 1e-4 * scale, `${what}: our float32 result is ${own} from our float64 one (scale ${scale}): unstable`);
    assert.ok(
      err <= tol,
      `${what}: max abs err ${err} > ${tol} = max(1e-5 × ${scale}, 20 × own float32 error ${own}); ` +
        `reference vs our float64: ${ref.double().sub(exact.double()).abs().max().item()}`,
    );
    return { err, own, tol, scale };
  });
}
