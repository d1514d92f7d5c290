// torch.ops.aten: every operator of the linked libtorch, by name, as in PyTorch:
//   torch.ops.aten.add.Tensor(a, b, { alpha: 2 })   one overload
//   torch.ops.aten.add(a, b)                          the first overload that accepts the arguments
// Tensors in and out are Tensor objects; keyword arguments go in a trailing plain object.
import { native, type OpSchemaInfo } from './native.js';
import { opIndex, overloadsOf } from './ops.js';
import { Tensor } from './tensor.js';
import { Generator } from './random.js';
import type { AtenOps } from '../generated/aten-ops.js';

export type OpFn = ((...args: any[]) => any) & { schema: OpSchemaInfo };

function toNative(x: unknown): unknown {
  if (x instanceof Tensor) return x._h;
  if (x instanceof Generator) return x._g;
  if (Array.isArray(x)) return x.map(toNative);
  return x;
}

function isKwargs(x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === 'object' && Object.getPrototypeOf(x) === Object.prototype;
}

/** A JS function calling one overload; tensors are wrapped, write-aliased returns give back the input object. */
export function overload(name: string, ov = ''): OpFn {
  const idx = opIndex(name, ov);
  const schema = native.opSchema(idx);
  const argIndex = new Map(schema.args.map((a, i) => [a.name, i]));
  const fromNative = schema.returns.map((r) => {
    if (r.type === 'Tensor' || r.type === 'Tensor?') return (v: any) => (v === null ? null : new Tensor(v));
    if (r.type === 'Tensor[]' || r.type === 'Tensor?[]') return (v: any[]) => v.map((h) => (h === null ? null : new Tensor(h)));
    return (v: any) => v;
  });
  const fn = (...args: unknown[]) => {
    let positional = args;
    if (args.length > 0 && isKwargs(args[args.length - 1])) {
      const kw = args[args.length - 1] as Record<string, unknown>;
      positional = args.slice(0, -1);
      for (const [k, v] of Object.entries(kw)) {
        const i = argIndex.get(k);
        if (i === undefined) throw new TypeError(`${schema.name}: unexpected keyword argument '${k}' (schema: ${schema.schema})`);
        positional[i] = v;
      }
    }
    const out = native.call(idx, ...positional.map(toNative));
    const rets = schema.returns;
    if (rets.length === 0) return undefined;
    if (rets.length === 1) return rets[0].aliasArg >= 0 ? positional[rets[0].aliasArg] : fromNative[0](out);
    return rets.map((r, i) => (r.aliasArg >= 0 ? positional[r.aliasArg] : fromNative[i](out[i])));
  };
  return Object.assign(fn, { schema });
}

/** Calls the first overload of `name` whose schema accepts the arguments. */
function packet(name: string): (...args: unknown[]) => any {
  const ovs = overloadsOf(name);
  if (ovs.length === 0) throw new Error(`no operator aten::${name} in the linked libtorch`);
  const fns = new Map<string, OpFn>();
  const get = (ov: string) => fns.get(ov) ?? fns.set(ov, overload(name, ov)).get(ov)!;
  const order = ['', ...ovs.filter((o) => o !== '')].filter((o) => ovs.includes(o));
  const call = (...args: unknown[]) => {
    const errors: string[] = [];
    for (const ov of order) {
      try { return get(ov)(...args); } catch (e) {
        if (!(e instanceof TypeError)) throw e;
        errors.push(`  ${get(ov).schema.schema}: ${e.message}`);
      }
    }
    throw new TypeError(`aten::${name}: no overload accepts these arguments:\n${errors.join('\n')}`);
  };
  return new Proxy(call, { get: (t, ov: string | symbol) => (typeof ov === 'string' && ovs.includes(ov) ? get(ov) : (t as any)[ov]) });
}

const packets = new Map<string, unknown>();
export const aten: AtenOps = new Proxy({} as AtenOps, {
  get(_t, name: string | symbol) {
    if (typeof name !== 'string') return undefined;
    let p = packets.get(name);
    if (!p) { p = packet(name); packets.set(name, p); }
    return p;
  },
});

export const ops = { aten };
