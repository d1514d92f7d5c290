// One mechanism for every config schema (the two trainers' trainer.params, the tokenizer's
// model.params, the GPT's gpt_model.params): each key has a kind, an optional default, a doc line
// and, where a value can be accepted but would have no effect, an `inert` rule. checkParams:
//   - an unknown key is an error naming it and listing the valid ones;
//   - every value is type-checked (YAML's null, '' and Python's None count as null for nullable keys);
//   - a given key whose value differs from its default but would have no effect with the other
//     values (`inert` gives the reason) is refused, naming the key and the reason: nothing is
//     accepted and ignored. A default value passes, so upstream's own files (which spell out
//     defaults such as fid_every: 50000 with eval_fid: False) still load;
//   - absent keys take their defaults (null when there is none).
// The returned object is typed from the schema (ParamsOf), so trainers read typed values.

export type Kind = 'integer' | 'number' | 'boolean' | 'string' | 'object' | 'list' | 'steps' | 'any';

export interface KeySpec {
  readonly kind: Kind;
  readonly default?: unknown;
  /** null (or YAML None) is a valid value. Keys without a default are always nullable. */
  readonly nullable?: boolean;
  /** For strings: the accepted values. */
  readonly values?: readonly string[];
  readonly doc: string;
  /** Why a non-default value of this key would have no effect given the other params; null when it acts. */
  readonly inert?: (p: Readonly<Record<string, unknown>>) => string | null;
  /** Why this value cannot be honoured (checked after the type); null when it can. */
  readonly refuse?: (v: unknown, p: Readonly<Record<string, unknown>>) => string | null;
}

export type Schema = Readonly<Record<string, KeySpec>>;

type Base<S extends KeySpec> = S['kind'] extends 'integer' | 'number'
  ? number
  : S['kind'] extends 'boolean'
    ? boolean
    : S['kind'] extends 'string'
      ? S['values'] extends readonly (infer V)[]
        ? V
        : string
      : S['kind'] extends 'steps'
        ? string
        : S['kind'] extends 'object'
          ? Record<string, any>
          : S['kind'] extends 'list'
            ? unknown[]
            : unknown;
type Nulls<S extends KeySpec> = S extends { default: NonNullable<unknown> } ? (S extends { nullable: true } ? null : never) : null;
/** The checked params of a schema: each key's type, with null where it may be absent or None. */
export type ParamsOf<S extends Schema> = { -readonly [K in keyof S]: Base<S[K]> | Nulls<S[K]> };

/**
 * YAML's null / '' / Python's None → null (upstream writes `ckpt_path: None`, which YAML reads as
 * the string 'None'). Only that spelling: 'none' is a value for some keys (the tokenizer's vae: 'none').
 */
export function noneToNull(v: unknown): unknown {
  return v === undefined || v === null || v === '' || v === 'None' ? null : v;
}

function typeOk(kind: Kind, v: unknown): boolean {
  switch (kind) {
    case 'integer':
      return Number.isInteger(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'boolean':
      return typeof v === 'boolean';
    case 'string':
      return typeof v === 'string';
    case 'steps':
      return typeof v === 'string' || Number.isInteger(v);
    case 'object':
      return v !== null && typeof v === 'object' && !Array.isArray(v);
    case 'list':
      return Array.isArray(v);
    case 'any':
      return true;
  }
}

export function kindName(k: Kind): string {
  return k === 'integer' ? 'an integer' : k === 'steps' ? "a step count ('100' or 100)" : k === 'object' ? 'a mapping' : k === 'list' ? 'a list' : `a ${k}`;
}

/** Whether a spec accepts null. */
export const isNullable = (s: KeySpec): boolean => s.nullable === true || s.default === undefined;

/** Structural equality for config values (numbers, strings, booleans, lists, mappings). */
export function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** 'a', 'b' or 'c'. */
const orList = (xs: readonly string[]) =>
  xs
    .map((x) => `'${x}'`)
    .join(', ')
    .replace(/, ([^,]*)$/, ' or $1');

export interface CheckWhere {
  /** Prefix of error messages, e.g. the file name ('' for none). */
  file?: string;
  /** Dotted path of the mapping, e.g. 'trainer.params'. */
  path: string;
}

/** Validates `given` against `schema` (see the header); returns every key with its value or default. */
export function checkParams<S extends Schema>(schema: S, given: Record<string, unknown> | null | undefined, where: CheckWhere): ParamsOf<S> {
  const at = (k: string) => `${where.file ? `${where.file}: ` : ''}${where.path}.${k}`;
  if (given !== null && given !== undefined && (typeof given !== 'object' || Array.isArray(given)))
    throw new TypeError(`${where.file ? `${where.file}: ` : ''}${where.path}: expected a mapping, got ${JSON.stringify(given)}`);
  const g = given ?? {};
  const out: Record<string, unknown> = {};
  for (const [k, spec] of Object.entries(schema)) out[k] = spec.default === undefined ? null : structuredClone(spec.default);
  for (const [k, raw] of Object.entries(g)) {
    const spec = schema[k];
    if (!spec) throw new Error(`${where.file ? `${where.file}: ` : ''}unknown key '${where.path}.${k}' (valid: ${Object.keys(schema).join(', ')})`);
    const v = isNullable(spec) ? noneToNull(raw) : raw;
    if (v === null && !isNullable(spec)) throw new TypeError(`${at(k)} must be ${kindName(spec.kind)}, got ${JSON.stringify(raw)}`);
    if (v !== null && !typeOk(spec.kind, v)) throw new TypeError(`${at(k)} must be ${kindName(spec.kind)}, got ${JSON.stringify(raw)}`);
    if (v !== null && spec.values && !spec.values.includes(v as string)) throw new Error(`${at(k)} must be ${orList(spec.values)}, got '${String(v)}'`);
    out[k] = spec.kind === 'steps' && v !== null ? String(v) : v;
  }
  for (const [k, spec] of Object.entries(schema)) {
    if (!(k in g)) continue;
    const why = spec.refuse?.(out[k], out);
    if (why) throw new Error(`${at(k)} = ${JSON.stringify(out[k])}: ${why}`);
    if (spec.inert && !sameValue(out[k], spec.default ?? null)) {
      const reason = spec.inert(out);
      if (reason) throw new Error(`${at(k)} = ${JSON.stringify(out[k])} would have no effect: ${reason}; remove it or change that`);
    }
  }
  return out as ParamsOf<S>;
}

/** A spec helper that keeps literal types (values, default) for ParamsOf. */
export function defineSchema<const S extends Schema>(s: S): S {
  return s;
}
