#!/usr/bin/env node
// Writes lib/generated/aten-ops.ts: TypeScript signatures for torch.ops.aten, generated from the
// operator schemas of the libtorch the addon is linked against (so they match it exactly).
//
// The schemas come from the built addon (the dispatcher's own, in its order: the order in which
// torch.ops.aten.name(...) tries the overloads at run time). Without a built addon (a fresh clone:
// npm run typecheck) they come from the headers of the libtorch the addon would be built against
// (scripts/op-schemas-headers.mjs; found as the build finds it, scripts/find-libtorch.cjs). Those
// typings hold the same signatures (test/gen-ops.test.ts checks it) but for two things: a name's
// overloads are listed in the header's order (TypeScript types an unnamed call by the first that
// fits), and the few operators libtorch registers outside its native_functions list (quantized
// RNNs, distributed autograd) are missing, so code calling them fails to typecheck there rather
// than passing unchecked.
//   --from addon|headers   the source (default: the addon if it is built, else the headers)
//   --include DIR          the libtorch include folder for --from headers (default: as the build finds it)
//   --out FILE             where to write (default lib/generated/aten-ops.ts)
import { createRequire } from 'node:module';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { headerSchemas } from './op-schemas-headers.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { values: opts } = parseArgs({ options: { from: { type: 'string' }, include: { type: 'string' }, out: { type: 'string' } } });
const addon = process.env.TORCHNODE_ADDON ?? join(root, 'build/Release/torchnode.node');
const from = opts.from ?? (existsSync(addon) ? 'addon' : 'headers');
if (from !== 'addon' && from !== 'headers') throw new Error(`gen-ops: --from must be addon or headers, not '${from}'`);
if (opts.include && from !== 'headers') throw new Error('gen-ops: --include is for --from headers');

/** [{ full: 'aten::name.overload', info: opSchema-shaped }], the libtorch version, and where from. */
function schemas() {
  if (from === 'addon') {
    if (!existsSync(addon)) {
      console.error(`gen-ops: ${addon} not found; build the addon first (npm run build:native), or use --from headers`);
      process.exit(1);
    }
    const native = require(addon);
    const ops = [];
    for (const full of native.listOps()) {
      if (!full.startsWith('aten::')) continue;
      const rest = full.slice(6);
      const dot = rest.indexOf('.');
      const idx = native.resolveOp(dot < 0 ? rest : rest.slice(0, dot), dot < 0 ? '' : rest.slice(dot + 1));
      if (idx >= 0) ops.push({ full, info: native.opSchema(idx) });
    }
    return { ops, torchVersion: native.config().torchVersion, source: 'the operator schemas of the linked libtorch' };
  }
  let include = opts.include;
  if (!include) {
    try {
      include = require('./find-libtorch.cjs').find().include;
    } catch (e) {
      console.error(`gen-ops: no built addon at ${addon}, and no libtorch headers to read the schemas from:\n${e.message}`);
      process.exit(1);
    }
  }
  const h = headerSchemas(resolve(include));
  return { ops: h.ops, torchVersion: h.torchVersion, source: `${h.file} (no built addon)` };
}

const argTypes = {
  Tensor: 'Tensor',
  int: 'number',
  float: 'number',
  bool: 'boolean',
  Scalar: 'number | boolean',
  str: 'string',
  ScalarType: 'DType',
  Layout: 'string',
  MemoryFormat: 'string',
  Device: 'string',
  Generator: 'Generator',
  'int[]': 'number | readonly number[]',
  'float[]': 'number | readonly number[]',
  'bool[]': 'boolean | readonly boolean[]',
  'Tensor[]': 'readonly Tensor[]',
  'Tensor?[]': 'readonly (Tensor | null)[]',
  'Scalar[]': 'readonly number[]',
};

function retType(t) {
  const base = t.replace(/\?$/, '');
  const map = {
    Tensor: 'Tensor',
    'Tensor[]': 'Tensor[]',
    int: 'number',
    SymInt: 'number',
    float: 'number',
    bool: 'boolean',
    Scalar: 'number | boolean',
    'int[]': 'number[]',
    'SymInt[]': 'number[]',
    'float[]': 'number[]',
    str: 'string',
    ScalarType: 'DType',
  };
  const ts = map[base] ?? 'unknown';
  return t.endsWith('?') ? `${ts} | null` : ts;
}

const ident = (s) => (/^[A-Za-z_$][\w$]*$/.test(s) ? s : JSON.stringify(s));
const argName = (s) => (['function', 'default', 'var', 'in', 'new', 'class', 'delete', 'this'].includes(s) ? `${s}_` : s);

function signature(info) {
  const pos = [],
    kw = [];
  for (const a of info.args) {
    if (a.kind === 'unsupported') return null;
    let t = argTypes[a.kind];
    if (a.optional) t = `${t} | null`;
    const opt = a.hasDefault || a.optional;
    (a.kwOnly ? kw : pos).push({ name: a.name, t, opt });
  }
  // A required positional cannot follow an optional one in TS; make earlier ones required.
  let seenRequired = false;
  for (let i = pos.length - 1; i >= 0; i--) {
    if (!pos[i].opt) seenRequired = true;
    else if (seenRequired) pos[i].opt = false;
  }
  // With a required keyword argument (e.g. out=), earlier positionals must be spelled out too.
  const kwRequired = kw.some((k) => !k.opt);
  const params = pos.map((p) => (p.opt && kwRequired ? `${argName(p.name)}: ${p.t} | undefined` : `${argName(p.name)}${p.opt ? '?' : ''}: ${p.t}`));
  if (kw.length) {
    const allOpt = !kwRequired;
    params.push(`kwargs${allOpt ? '?' : ''}: { ${kw.map((k) => `${ident(k.name)}${k.opt ? '?' : ''}: ${k.t}`).join('; ')} }`);
  }
  const rets = info.returns.map((r) => (r.aliasArg >= 0 ? 'Tensor' : retType(r.type)));
  const ret = rets.length === 0 ? 'void' : rets.length === 1 ? rets[0] : `[${rets.join(', ')}]`;
  return `(${params.join(', ')}): ${ret}`;
}

const { ops, torchVersion, source } = schemas();
const byName = new Map();
for (const { full, info } of ops) {
  const rest = full.slice(6);
  const dot = rest.indexOf('.');
  const name = dot < 0 ? rest : rest.slice(0, dot);
  const ov = dot < 0 ? '' : rest.slice(dot + 1);
  const sig = signature(info);
  if (!sig) continue;
  if (!byName.has(name)) byName.set(name, []);
  byName.get(name).push({ ov, sig, schema: info.schema });
}

const lines = [
  `// Generated by scripts/gen-ops.mjs from ${source}. Do not edit.`,
  `// libtorch ${torchVersion}: ${byName.size} operators.`,
  "import type { Tensor } from '../core/tensor.js';",
  "import type { Generator } from '../core/random.js';",
  "import type { DType } from '../core/dtype.js';",
  '',
  'export interface AtenOps {',
];
let count = 0;
for (const name of [...byName.keys()].sort()) {
  const ovs = byName.get(name);
  lines.push(`  ${ident(name)}: {`);
  for (const o of ovs) lines.push(`    /** ${o.schema.replace(/\*\//g, '* /')} */`, `    ${o.sig};`);
  for (const o of ovs) if (o.ov) lines.push(`    ${ident(o.ov)}${o.sig};`);
  lines.push('  };');
  count += ovs.length;
}
lines.push('}', '');
const out = resolve(opts.out ?? join(root, 'lib/generated/aten-ops.ts'));
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, lines.join('\n'));
console.log(`gen-ops: ${count} overloads of ${byName.size} aten operators from ${from === 'addon' ? 'the addon' : source} → ${out}`);
