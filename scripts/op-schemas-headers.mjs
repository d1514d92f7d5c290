// The aten operator schemas of a libtorch read from its headers (ATen/RegistrationDeclarations.h,
// one JSON comment per operator with its schema string), shaped as the addon's opSchema() shapes
// them, so that scripts/gen-ops.mjs can write lib/generated/aten-ops.ts without a built addon.
// The schema strings are parsed here as c10's schema parser reads them, as far as gen-ops uses
// the result: each argument's kind (the addon's classify() in native/dispatch.cc, on c10's "real"
// types), optional, keyword-only and default flags; each return's type as c10 prints it (its
// "fake" type: ScalarType, Layout and MemoryFormat print as int) and the argument it writes into.
// test/gen-ops.test.ts checks that both sources give the same typings for the linked libtorch.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Argument kinds by base type, as native/dispatch.cc's scalarKind sees c10's real types. */
const baseKinds = {
  Tensor: 'Tensor',
  int: 'int',
  SymInt: 'int',
  float: 'float',
  SymFloat: 'float',
  bool: 'bool',
  Scalar: 'Scalar',
  str: 'str',
  Dimname: 'str',
  ScalarType: 'ScalarType',
  Layout: 'Layout',
  MemoryFormat: 'MemoryFormat',
  Device: 'Device',
  Generator: 'Generator',
  DeviceIndex: 'int',
};
const listKinds = { int: 'int[]', float: 'float[]', bool: 'bool[]', Tensor: 'Tensor[]', Scalar: 'Scalar[]' };
/** c10's "fake" types (how a return's type prints) where they differ from the name written (SymBool and SymFloat print as written). */
const fakeNames = { SymInt: 'int', ScalarType: 'int', Layout: 'int', MemoryFormat: 'int', Dimname: 'str', DeviceIndex: 'int' };

/** Splits `s` at top-level commas: outside brackets, parentheses and quoted strings (with backslash escapes). */
function splitTop(s) {
  const parts = [];
  let depth = 0,
    quote = null,
    escaped = false,
    cur = '';
  for (const ch of s) {
    if (escaped) escaped = false;
    else if (quote) {
      if (ch === '\\') escaped = true;
      else if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '(' || ch === '[') depth++;
    else if (ch === ')' || ch === ']') depth--;
    else if (ch === ',' && depth === 0) {
      parts.push(cur.trim());
      cur = '';
      continue;
    }
    cur += ch;
  }
  if (cur.trim()) parts.push(cur.trim());
  return parts;
}

/** `(a!)`, `(a -> *)`, `(a|b)` → c10's AliasInfo as far as it matters here: write flag, before-sets. */
function alias(text) {
  const before = text.split('->')[0].replace('!', '').trim();
  return {
    write: text.includes('!'),
    sets: before
      .split('|')
      .map((x) => x.trim())
      .sort()
      .join('|'),
  };
}

/**
 * One type as written in a schema: a base name, an alias annotation, list suffixes ([] or [N]),
 * optional (?). A list's alias is the one written after [] or else a set-less one that writes
 * when its element does (c10's SchemaTypeParser::parseType).
 */
function parseType(text, where) {
  const m = /^([A-Za-z_][\w.]*)\s*(\([^)]*\))?((?:\[\d*\](?:\([^)]*\))?)?)(\?)?$/.exec(text);
  if (!m) throw new Error(`op-schemas-headers: cannot read the type '${text}' in ${where}`);
  const [, base, elemAlias, list, opt] = m;
  let al = elemAlias ? alias(elemAlias.slice(1, -1)) : null;
  if (list) {
    const after = /\(([^)]*)\)$/.exec(list);
    al = after ? alias(after[1]) : al ? { write: al.write, sets: '' } : null;
  }
  return { base, list: Boolean(list), optional: Boolean(opt), alias: al };
}

function argKind(t) {
  if (!t.list) return baseKinds[t.base] ?? 'unsupported';
  return listKinds[baseKinds[t.base]] ?? 'unsupported';
}

/** An element type that is itself optional (Tensor?[]) is written with ? before []. */
function parseArgType(text, where) {
  const m = /^(.*)\?(\[\d*\])(\?)?$/.exec(text);
  if (m) {
    const elem = parseType(m[1], where);
    return { kind: elem.base === 'Tensor' ? 'Tensor?[]' : 'unsupported', optional: Boolean(m[3]), alias: null };
  }
  const t = parseType(text, where);
  return { kind: argKind(t), optional: t.optional, alias: t.alias };
}

/** Alias annotations may hold spaces (`Tensor(a -> *)`); types never need them. */
const tight = (s) => s.replace(/\(([^)]*)\)/g, (_m, x) => `(${x.replace(/\s+/g, '')})`);

function parseArg(text, where) {
  const eq = text.indexOf('=');
  const decl = tight(eq < 0 ? text : text.slice(0, eq)).trim();
  const sp = decl.lastIndexOf(' ');
  if (sp < 0) throw new Error(`op-schemas-headers: no argument name in '${text}' (${where})`);
  return { name: decl.slice(sp + 1), type: decl.slice(0, sp).trim(), hasDefault: eq >= 0 };
}

/** One return, maybe named (`Tensor(a!) values`): its printed type and its alias. */
function parseReturn(text, where) {
  const t = parseType(tight(text).trim().split(/\s+/)[0], where);
  return { type: `${fakeNames[t.base] ?? t.base}${t.list ? '[]' : ''}${t.optional ? '?' : ''}`, alias: t.alias };
}

/** One schema string `aten::name.overload(args) -> returns` → { full, info } as the addon gives. */
export function parseSchema(schema) {
  const open = schema.indexOf('(');
  const arrow = schema.lastIndexOf(') -> ');
  if (open < 0 || arrow < 0) throw new Error(`op-schemas-headers: not a schema: ${schema}`);
  const full = schema.slice(0, open);
  const args = [];
  let kwOnly = false;
  for (const a of splitTop(schema.slice(open + 1, arrow))) {
    if (a === '*') {
      kwOnly = true;
      continue;
    }
    const p = parseArg(a, full);
    const t = parseArgType(p.type, full);
    args.push({ name: p.name, kind: t.kind, optional: t.optional, kwOnly, hasDefault: p.hasDefault, alias: t.alias });
  }
  // Several returns (or none) are a parenthesised list; a single return never starts with '('.
  const retText = schema.slice(arrow + 5).trim();
  const retParts = retText.startsWith('(') ? splitTop(retText.slice(1, -1)) : [retText];
  const returns = retParts.map((r) => {
    const { type, alias: ra } = parseReturn(r, full);
    const aliasArg = ra?.write ? args.findIndex((a) => a.alias?.write && a.alias.sets === ra.sets) : -1;
    return { type, aliasArg };
  });
  const info = { name: full.replace(/^aten::/, ''), schema, args: args.map(({ alias: _a, ...rest }) => rest), returns };
  return { full, info };
}

/** The libtorch version its headers give (torch/version.h, wherever this libtorch keeps it). */
function headerVersion(include) {
  for (const rel of ['torch/headeronly/version.h', 'torch/version.h', 'torch/csrc/api/include/torch/version.h']) {
    const f = join(include, rel);
    if (!existsSync(f)) continue;
    const text = readFileSync(f, 'utf8');
    const v = ['MAJOR', 'MINOR', 'PATCH'].map((k) => new RegExp(`#define TORCH_VERSION_${k} (\\d+)`).exec(text)?.[1]);
    if (v.every((x) => x !== undefined)) return v.join('.');
  }
  return 'unknown';
}

/** Every aten schema in `include`/ATen/RegistrationDeclarations.h, in the header's order. */
export function headerSchemas(include) {
  const file = join(include, 'ATen/RegistrationDeclarations.h');
  if (!existsSync(file)) throw new Error(`op-schemas-headers: ${file} not found (a libtorch's include folder has it)`);
  const ops = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const i = line.indexOf('// {"schema": ');
    if (i < 0) continue;
    const { schema } = JSON.parse(line.slice(i + 3));
    if (schema.startsWith('aten::')) ops.push(parseSchema(schema));
  }
  if (ops.length === 0) throw new Error(`op-schemas-headers: no schemas in ${file}`);
  return { file, torchVersion: headerVersion(include), ops };
}
