// scripts/gen-ops.mjs reads the aten schemas from the built addon, or, without one (npm run
// typecheck on a fresh clone), from the libtorch headers (scripts/op-schemas-headers.mjs). Both
// must describe the linked libtorch the same way: every header schema parsed as the addon's c10
// parser reads it, and the same TypeScript signatures written from either source. What differs is
// measured, not assumed: the operators only the dispatcher has (registered outside native_functions).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { native } from '../lib/core/native.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const script = (name: string) => join(root, 'scripts', name);

interface HeaderOp {
  full: string;
  info: { args: Record<string, unknown>[]; returns: Record<string, unknown>[] };
}

/** The header schemas of the libtorch the build finds, or why they cannot be compared with the addon. */
async function headers(): Promise<{ include: string; ops: HeaderOp[] } | string> {
  const { find } = createRequire(import.meta.url)(script('find-libtorch.cjs'));
  const include: string = find().include;
  const { headerSchemas } = await import(pathToFileURL(script('op-schemas-headers.mjs')).href);
  const h = headerSchemas(include);
  const linked = native.config().torchVersion;
  if (h.torchVersion !== linked)
    return `the headers found (${include}) are libtorch ${h.torchVersion}, the addon links ${linked}: set LIBTORCH to the addon's libtorch`;
  return { include, ops: h.ops };
}

const pick = (o: object, keys: string[]) => Object.fromEntries(keys.map((k) => [k, (o as Record<string, unknown>)[k]]));
const argKeys = ['name', 'kind', 'optional', 'kwOnly', 'hasDefault'];
const retKeys = ['type', 'aliasArg'];
const atenOps = () => native.listOps().filter((n) => n.startsWith('aten::'));

test('every aten schema in the libtorch headers reads as the addon reads it', async (t) => {
  const h = await headers();
  if (typeof h === 'string') return t.skip(h);
  const diffs: string[] = [];
  for (const { full, info } of h.ops) {
    const rest = full.slice('aten::'.length);
    const dot = rest.indexOf('.');
    const idx = native.resolveOp(dot < 0 ? rest : rest.slice(0, dot), dot < 0 ? '' : rest.slice(dot + 1));
    if (idx < 0) {
      diffs.push(`${full}: in the headers, not in the dispatcher`);
      continue;
    }
    const a = native.opSchema(idx);
    const want = { args: a.args.map((x) => pick(x, argKeys)), returns: a.returns.map((x) => pick(x, retKeys)) };
    const got = { args: info.args.map((x) => pick(x, argKeys)), returns: info.returns.map((x) => pick(x, retKeys)) };
    if (JSON.stringify(got) !== JSON.stringify(want)) diffs.push(`${a.schema}\n  addon   ${JSON.stringify(want)}\n  headers ${JSON.stringify(got)}`);
  }
  assert.deepEqual(diffs, []);
  const inHeaders = new Set(h.ops.map((o) => o.full));
  const onlyDispatcher = atenOps().filter((n) => !inHeaders.has(n));
  t.diagnostic(`${h.ops.length} schemas in ${h.include}; ${onlyDispatcher.length} aten overloads only in the dispatcher: ${onlyDispatcher.sort().join(' ')}`);
});

/** name → the sorted signature lines (comments left out: the two sources print defaults differently). */
function signatures(file: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  let name = '';
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const open = /^ {2}("?[^"]+"?|\w+): \{$/.exec(line);
    if (open) {
      name = open[1];
      m.set(name, []);
      continue;
    }
    if (line.startsWith('    ') && !line.trimStart().startsWith('/**')) m.get(name)!.push(line.trim());
  }
  for (const v of m.values()) v.sort();
  return m;
}

test('gen-ops writes the same signatures from the headers as from the addon, but for the dispatcher-only operators', async (t) => {
  const h = await headers();
  if (typeof h === 'string') return t.skip(h);
  const dir = mkdtempSync(join(tmpdir(), 'gen-ops-'));
  try {
    const gen = (from: string) => {
      const out = join(dir, `${from}.ts`);
      execFileSync(process.execPath, [script('gen-ops.mjs'), '--from', from, '--out', out, ...(from === 'headers' ? ['--include', h.include] : [])], {
        stdio: 'pipe',
      });
      return signatures(out);
    };
    const fromAddon = gen('addon'),
      fromHeaders = gen('headers');
    const inHeaders = new Set(h.ops.map((o) => o.full));
    // The names whose overloads are not all in the headers: only those may have lines the headers lack.
    const partial = new Set(
      atenOps()
        .filter((n) => !inHeaders.has(n))
        .map((n) => n.slice(6).split('.')[0]),
    );
    const problems: string[] = [];
    for (const [name, lines] of fromHeaders) {
      const want = fromAddon.get(name);
      if (!want) {
        problems.push(`${name}: only in the header typings`);
        continue;
      }
      const missing = want.filter((l) => !lines.includes(l));
      const extra = lines.filter((l) => !want.includes(l));
      if (extra.length || (missing.length && !partial.has(name)))
        problems.push(`${name}: headers add ${JSON.stringify(extra)}, lack ${JSON.stringify(missing)}`);
    }
    for (const name of fromAddon.keys()) if (!fromHeaders.has(name) && !partial.has(name)) problems.push(`${name}: missing from the header typings`);
    assert.deepEqual(problems, []);
    t.diagnostic(`${fromAddon.size} operators from the addon, ${fromHeaders.size} from the headers`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
