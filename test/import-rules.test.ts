// The layer map of docs/architecture.md#layers, enforced: every relative import in lib/ goes to
// the same layer or a lower one; lib/models and layers 1–2 never import the lib/torch.ts façade;
// only lib/core/native.ts loads the addon (no `createRequire` of a .node file elsewhere).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, relative, resolve } from 'node:path';

const root = fileURLToPath(new URL('../../', import.meta.url));
const lib = join(root, 'lib');

/** Layer of a file under lib/ (docs/architecture.md#layers). */
function layerOf(rel: string): number {
  const top = rel.split('/')[0];
  const layers: Record<string, number> = {
    core: 1,
    generated: 1,
    config: 1,
    nn: 2,
    optim: 2,
    serialization: 2,
    diffusion: 2,
    data: 2,
    distributed: 2,
    'torch.ts': 3,
    models: 4,
    eval: 5,
    train: 5,
    cli: 6,
    'index.ts': 7,
  };
  const l = layers[top];
  if (l === undefined) throw new Error(`lib/${rel}: a folder the layer map does not know (add it to docs/architecture.md#layers and here)`);
  return l;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('lib/ imports follow the layer map (docs/architecture.md#import-rules)', () => {
  const bad: string[] = [];
  for (const file of tsFiles(lib)) {
    const rel = relative(lib, file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+'(\.[^']+)'/g)) {
      const target = relative(lib, resolve(dirname(file), m[1])).replace(/\.js$/, '.ts');
      if (target.startsWith('..')) {
        bad.push(`lib/${rel} imports ${m[1]}, outside lib/`);
        continue;
      }
      const from = layerOf(rel),
        to = layerOf(target);
      if (to > from) bad.push(`lib/${rel} (layer ${from}) imports lib/${target} (layer ${to})`);
      if (target === 'torch.ts' && from !== 3 && from < 5)
        bad.push(`lib/${rel} imports the torch.ts façade (layers 1, 2 and models import what they use directly)`);
    }
    if (rel !== 'core/native.ts' && /createRequire\(/.test(text) && /\.node\b/.test(text))
      bad.push(`lib/${rel} loads a native addon (only core/native.ts does)`);
  }
  assert.deepEqual(bad, []);
});
