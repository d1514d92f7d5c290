// Rewriting the keys of a state dict (Map or record of name → value); each helper returns a new
// Map in the same order, with the same values, and refuses to merge two keys into one.
//   stripPrefix(sd, 'module.')        DataParallel / DDP wrappers
//   removeSegment(sd, '_orig_mod.')   torch.compile wrappers, as upstream's k.replace('_orig_mod.', '')
//   renameKeys(sd, /^old\./, 'new.')  anything else, by regex (String.replace semantics)

export type KeyedLike<V> = Map<string, V> | Record<string, V>;

const entriesOf = <V>(sd: KeyedLike<V>): [string, V][] => (sd instanceof Map ? [...sd] : Object.entries(sd));

/** New Map with every key passed through fn; throws if two keys map to the same new key. */
export function mapKeys<V>(sd: KeyedLike<V>, fn: (key: string) => string): Map<string, V> {
  const out = new Map<string, V>();
  const from = new Map<string, string>();
  for (const [k, v] of entriesOf(sd)) {
    const nk = fn(k);
    if (out.has(nk)) throw new Error(`key rewrite maps both ${JSON.stringify(from.get(nk))} and ${JSON.stringify(k)} to ${JSON.stringify(nk)}`);
    out.set(nk, v);
    from.set(nk, k);
  }
  return out;
}

/** Removes `prefix` from the keys that start with it; other keys are kept as they are. */
export function stripPrefix<V>(sd: KeyedLike<V>, prefix: string): Map<string, V> {
  return mapKeys(sd, (k) => (k.startsWith(prefix) ? k.slice(prefix.length) : k));
}

/** Adds `prefix` to every key. */
export function addPrefix<V>(sd: KeyedLike<V>, prefix: string): Map<string, V> {
  return mapKeys(sd, (k) => prefix + k);
}

/** Removes every occurrence of `segment` anywhere in the keys (Python's k.replace(segment, '')). */
export function removeSegment<V>(sd: KeyedLike<V>, segment: string): Map<string, V> {
  if (segment === '') return mapKeys(sd, (k) => k);
  return mapKeys(sd, (k) => k.split(segment).join(''));
}

/** Renames keys with String.prototype.replace(pattern, replacement); use a /g regex to replace all matches. */
export function renameKeys<V>(sd: KeyedLike<V>, pattern: RegExp | string, replacement: string | ((match: string, ...args: any[]) => string)): Map<string, V> {
  return mapKeys(sd, (k) => k.replace(pattern, replacement as any));
}

/** Undoes torch.compile (`_orig_mod.`) and DataParallel (`module.` prefix) key changes. */
export function normalizeWrappedKeys<V>(sd: KeyedLike<V>): Map<string, V> {
  return stripPrefix(removeSegment(sd, '_orig_mod.'), 'module.');
}
