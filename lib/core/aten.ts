// torch.ops.aten: every operator of the linked libtorch, by name, as in PyTorch:
//   torch.ops.aten.add.Tensor(a, b, { alpha: 2 })   one overload
//   torch.ops.aten.add(a, b)                          the first overload that accepts the arguments
// Tensors in and out are Tensor objects; keyword arguments go in a trailing plain object.
import { native, type OpSchemaInfo } from './native.js';
import { opIndex, overloadsOf } from './ops.js';
import { Tensor } from './tensor.js';
import { Generator } from './random.js';
import type { AtenOps } from '../generated/aten-ops.js';

export type OpFn = ((...args: any[]) => any) & {
  schema: OpSchemaInfo;
  /** The arguments in schema order, or a TypeError saying why they do not fit this overload. */
  place(args: unknown[], loose?: { n: number }): unknown[] | TypeError;
};

function toNative(x: unknown): unknown {
  if (x instanceof Tensor) return x._h;
  if (x instanceof Generator) return x._g;
  if (Array.isArray(x)) return x.map(toNative);
  return x;
}

function isKwargs(x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === 'object' && Object.getPrototypeOf(x) === Object.prototype;
}

const jsType = (x: unknown): string => (x === null ? 'null' : x instanceof Tensor ? 'Tensor' : typeof x);
const isInt = (x: unknown) => typeof x === 'bigint' || (typeof x === 'number' && Number.isInteger(x));
const isNum = (x: unknown) => typeof x === 'number' || typeof x === 'bigint';
const isScalar = (x: unknown) => isNum(x) || typeof x === 'boolean';
const every = (x: unknown, f: (e: unknown) => boolean) => Array.isArray(x) && x.every(f);

/** What each kind takes, worded as the native conversion words it. */
const wanted: Record<string, string> = {
  Tensor: 'a Tensor',
  int: 'an integer',
  float: 'a number',
  bool: 'a boolean',
  Scalar: 'a number',
  str: 'a string',
  Device: 'a string',
  ScalarType: 'a string',
  Layout: 'a string',
  MemoryFormat: 'a string',
  Generator: 'a torch.Generator',
};

/**
 * How a JS value fits an argument kind: 2 exactly, 1 loosely (one number for a list, a
 * non-integral number for an int: native conversion decides), 0 not at all. Native handles are
 * numbers, so this is what keeps a Tensor from passing as a Scalar and a number as a Tensor.
 */
function fit(kind: string, x: unknown): number {
  switch (kind) {
    case 'Tensor':
      return x instanceof Tensor ? 2 : 0;
    case 'int':
      return isInt(x) ? 2 : typeof x === 'number' ? 1 : 0;
    case 'float':
      return isNum(x) ? 2 : 0;
    case 'bool':
      return typeof x === 'boolean' ? 2 : 0;
    case 'Scalar':
      return isScalar(x) ? 2 : 0;
    case 'str':
    case 'Device':
      return typeof x === 'string' ? 2 : 0;
    case 'ScalarType':
    case 'Layout':
    case 'MemoryFormat':
      return typeof x === 'string' || isInt(x) ? 2 : 0;
    case 'Generator':
      return x instanceof Generator ? 2 : 0;
    case 'int[]':
      return every(x, isInt) ? 2 : isInt(x) ? 1 : 0;
    case 'float[]':
      return every(x, isNum) ? 2 : isNum(x) ? 1 : 0;
    case 'bool[]':
      return every(x, (e) => typeof e === 'boolean') ? 2 : typeof x === 'boolean' ? 1 : 0;
    case 'Tensor[]':
      return every(x, (e) => e instanceof Tensor) ? 2 : 0;
    case 'Tensor?[]':
      return every(x, (e) => e === null || e === undefined || e instanceof Tensor) ? 2 : 0;
    case 'Scalar[]':
      return every(x, isScalar) ? 2 : 0;
    default:
      return 0;
  }
}

/**
 * Checks positional (kwargs already placed) against a schema: null if they fit, else why not.
 * `loose` counts the arguments that fit only loosely (overload choice prefers exact fits).
 */
function mismatch(schema: OpSchemaInfo, positional: unknown[], loose?: { n: number }): string | null {
  if (positional.length > schema.args.length) return `${schema.name} takes ${schema.args.length} arguments, got ${positional.length}`;
  for (let i = 0; i < schema.args.length; i++) {
    const a = schema.args[i],
      x = positional[i];
    if (x === undefined) {
      if (a.hasDefault || a.optional) continue;
      return `missing argument '${a.name}' (${a.type})`;
    }
    if (x === null && a.optional) continue;
    const f = fit(a.kind, x);
    if (f === 0) {
      if (a.kind === 'unsupported') return `argument '${a.name}' has type ${a.type}, which cannot be passed from JavaScript`;
      return `argument '${a.name}' (${a.type}) must be ${wanted[a.kind] ?? 'an array'}, got ${jsType(x)}`;
    }
    if (f === 1 && loose) loose.n++;
  }
  return null;
}

/** A JS function calling one overload; tensors are wrapped, write-aliased returns give back the input object. */
export function overload(name: string, ov = ''): OpFn {
  const idx = opIndex(name, ov);
  const schema = native.opSchema(idx);
  const argIndex = new Map(schema.args.map((a, i) => [a.name, i]));
  const nPositional = schema.args.filter((a) => !a.kwOnly).length;
  const fromNative = schema.returns.map((r) => {
    if (r.type === 'Tensor' || r.type === 'Tensor?') return (v: any) => (v === null ? null : new Tensor(v));
    if (r.type === 'Tensor[]' || r.type === 'Tensor?[]') return (v: any[]) => v.map((h) => (h === null ? null : new Tensor(h)));
    return (v: any) => v;
  });
  /** The arguments in schema order (kwargs placed), or a TypeError saying why they do not fit. */
  const place = (args: unknown[], loose?: { n: number }): unknown[] | TypeError => {
    let positional = args;
    const hasKw = args.length > 0 && isKwargs(args[args.length - 1]);
    const n = args.length - (hasKw ? 1 : 0);
    // keyword-only arguments (after `*` in the schema) cannot be given positionally, as in Python
    if (n > nPositional && n <= schema.args.length)
      return new TypeError(
        `${schema.name}: takes ${nPositional} positional arguments but ${n} were given; pass ${schema.args
          .slice(nPositional)
          .map((a) => a.name)
          .join(', ')} in a kwargs object`,
      );
    if (hasKw) {
      const kw = args[args.length - 1] as Record<string, unknown>;
      positional = args.slice(0, -1);
      for (const [k, v] of Object.entries(kw)) {
        const i = argIndex.get(k);
        if (i === undefined) return new TypeError(`${schema.name}: unexpected keyword argument '${k}' (schema: ${schema.schema})`);
        positional[i] = v;
      }
    }
    const why = mismatch(schema, positional, loose);
    return why === null ? positional : new TypeError(`${schema.name}: ${why}`);
  };
  const fn = (...args: unknown[]) => {
    const positional = place(args);
    if (positional instanceof TypeError) throw positional;
    const out = native.call(idx, ...positional.map(toNative));
    const rets = schema.returns;
    if (rets.length === 0) return undefined;
    if (rets.length === 1) return rets[0].aliasArg >= 0 ? positional[rets[0].aliasArg] : fromNative[0](out);
    return rets.map((r, i) => (r.aliasArg >= 0 ? positional[r.aliasArg] : fromNative[i](out[i])));
  };
  return Object.assign(fn, { schema, place });
}

/**
 * Calls the overload of `name` whose schema the JS arguments fit: exact fits before loose ones
 * (aten.split(t, 2) is split.Tensor, not split.sizes with [2]), then the dispatcher's order.
 */
function packet(name: string): (...args: unknown[]) => any {
  const ovs = overloadsOf(name);
  if (ovs.length === 0) throw new Error(`no operator aten::${name} in the linked libtorch`);
  const fns = new Map<string, OpFn>();
  const get = (ov: string) => fns.get(ov) ?? fns.set(ov, overload(name, ov)).get(ov)!;
  const order = ['', ...ovs.filter((o) => o !== '')].filter((o) => ovs.includes(o));
  const call = (...args: unknown[]) => {
    const errors: string[] = [];
    const fitting: { ov: string; loose: number }[] = [];
    for (const ov of order) {
      const loose = { n: 0 };
      const r = get(ov).place(args, loose);
      if (r instanceof TypeError) errors.push(`  ${get(ov).schema.schema}: ${r.message}`);
      else fitting.push({ ov, loose: loose.n });
    }
    fitting.sort((a, b) => a.loose - b.loose); // stable: the dispatcher's order among equals
    for (const { ov } of fitting) {
      try {
        return get(ov)(...args);
      } catch (e) {
        if (!(e instanceof TypeError)) throw e;
        errors.push(`  ${get(ov).schema.schema}: ${e.message}`);
      }
    }
    throw new TypeError(`aten::${name}: no overload accepts these arguments:\n${errors.join('\n')}`);
  };
  // Python spells the unnamed overload `.default` (torch.ops.aten.neg.default).
  const named = (ov: string) => (ov === 'default' && ovs.includes('') && !ovs.includes('default') ? '' : ov);
  return new Proxy(call, {
    get: (t, ov: string | symbol) => (typeof ov === 'string' && ovs.includes(named(ov)) ? get(named(ov)) : (t as any)[ov]),
  });
}

const packets = new Map<string, unknown>();
export const aten: AtenOps = new Proxy({} as AtenOps, {
  get(_t, name: string | symbol) {
    if (typeof name !== 'string') return undefined;
    let p = packets.get(name);
    if (!p) {
      p = packet(name);
      packets.set(name, p);
    }
    return p;
  },
});

export const ops = { aten };
