// Where the tests find their data: the upstream parity fixtures (SEMANTICIST_FIXTURES, default the
// project's copy in test/fixtures/upstream; scripts/fixtures/make-parity-fixtures.py makes other
// sets the same way, see docs/testing.md), the
// torch-fidelity Inception/FID/IS fixtures (SEMANTICIST_FIDELITY_FIXTURES, default the project's
// copy in test/fixtures/fidelity) and the project's own test data (test/fixtures).
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** test/fixtures in the source tree (the compiled tests run from dist/test). */
export const LOCAL_FIXTURES = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));
export const UPSTREAM_FIXTURES = process.env.SEMANTICIST_FIXTURES ?? join(LOCAL_FIXTURES, 'upstream');
/** The upstream set's fixtures.json: configs, tensor shapes/dtypes per file, tapes. */
export function fixturesJson(): any {
  return JSON.parse(readFileSync(join(UPSTREAM_FIXTURES, 'fixtures.json'), 'utf8'));
}

/** The torch-fidelity fixtures: images_a/, images_b/, case_*.safetensors, stats_b.npz, fixtures.json. */
export const FIDELITY_FIXTURES = process.env.SEMANTICIST_FIDELITY_FIXTURES ?? join(LOCAL_FIXTURES, 'fidelity');
/** The fidelity set's fixtures.json: weight formula and checksums, case inputs, metric values. */
export function fidelityFixturesJson(): any {
  return JSON.parse(readFileSync(join(FIDELITY_FIXTURES, 'fixtures.json'), 'utf8'));
}
