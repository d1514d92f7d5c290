// Reading a YAML config (a file or an already parsed object), `--opt a.b.c=value` overrides, and
// the text of the config as used (written to the run folder as config.yaml).
import { readFileSync, existsSync } from 'node:fs';
import { parse, stringify } from 'yaml';

/** A parsed config and where it came from. */
export interface ConfigSource {
  /** The file name, or '<config>' for an object. */
  file: string;
  /** The parsed tree, overrides applied (a copy: the caller's object is not changed). */
  raw: Record<string, any>;
  /** The config as used: the file's text, or the YAML of the object / of the overridden file. */
  text: string;
}

/** Parses `a.b.c=value` (value as YAML: numbers, booleans, lists) into the config, in place. */
export function applyOverride(cfg: Record<string, any>, opt: string): void {
  const eq = opt.indexOf('=');
  if (eq <= 0) throw new Error(`--opt '${opt}': expected key.path=value`);
  const path = opt.slice(0, eq).split('.');
  const value = parse(opt.slice(eq + 1));
  let node = cfg;
  for (const k of path.slice(0, -1)) {
    if (node[k] === undefined) node[k] = {};
    if (typeof node[k] !== 'object' || node[k] === null) throw new Error(`--opt '${opt}': '${k}' is not a mapping`);
    node = node[k];
  }
  node[path[path.length - 1]] = value;
}

/** A YAML file (or a parsed object) with overrides applied. */
export function readConfig(config: string | Record<string, any>, overrides: readonly string[] = []): ConfigSource {
  const file = typeof config === 'string' ? config : '<config>';
  let raw: Record<string, any>;
  let text: string | null = null;
  if (typeof config === 'string') {
    if (!existsSync(config)) throw new Error(`config file not found: ${config}`);
    text = readFileSync(config, 'utf8');
    raw = parse(text) ?? {};
  } else raw = structuredClone(config);
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${file}: expected a mapping at the top level`);
  for (const o of overrides) applyOverride(raw, o);
  const used =
    text !== null && !overrides.length ? text : `${typeof config === 'string' ? `# ${config} with --opt ${overrides.join(' --opt ')}\n` : ''}${stringify(raw)}`;
  return { file, raw, text: used };
}

/** The {target, params} entry at trainer (checks the keys of the top level and of trainer). */
export function trainerEntry(src: ConfigSource): { target: string | undefined; params: Record<string, unknown> } {
  const { file, raw } = src;
  const trainer = raw.trainer;
  if (!trainer || typeof trainer !== 'object') throw new Error(`${file}: missing 'trainer' (expected trainer.target and trainer.params)`);
  for (const k of Object.keys(raw)) if (k !== 'trainer') throw new Error(`${file}: unknown top-level key '${k}' (valid: trainer)`);
  for (const k of Object.keys(trainer)) if (k !== 'target' && k !== 'params') throw new Error(`${file}: unknown key 'trainer.${k}' (valid: target, params)`);
  if (trainer.params !== undefined && trainer.params !== null && (typeof trainer.params !== 'object' || Array.isArray(trainer.params)))
    throw new TypeError(`${file}: trainer.params must be a mapping`);
  return { target: trainer.target, params: trainer.params ?? {} };
}

/** Checks that a {target, params} entry has no other keys; returns it. */
export function targetParams(entry: unknown, where: string): { target?: string; params?: Record<string, any> } {
  if (!entry || typeof entry !== 'object' || Array.isArray(entry)) throw new Error(`${where}: expected {target, params}, got ${JSON.stringify(entry)}`);
  for (const k of Object.keys(entry)) if (k !== 'target' && k !== 'params') throw new Error(`${where}: unknown key '${where}.${k}' (valid: target, params)`);
  const e = entry as { target?: string; params?: Record<string, any> };
  if (e.params !== undefined && e.params !== null && (typeof e.params !== 'object' || Array.isArray(e.params)))
    throw new TypeError(`${where}.params must be a mapping`);
  return e;
}
