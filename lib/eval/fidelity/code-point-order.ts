// Python's string order (sorted(), <) compares code points. JavaScript's default sort and `<`
// compare UTF-16 code units, which order the same except where an astral character (U+10000 and
// up, stored as a surrogate pair D800–DBFF + DC00–DFFF) meets a BMP character in E000–FFFF: by
// code units the astral one sorts first, by code points last. torch-fidelity sorts file paths
// with Python's order, so the file order (and the ISC's row order after its shuffle) depends on it.

/** Compares two strings by Unicode code points, as Python does (negative, zero or positive). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a.charCodeAt(i) === b.charCodeAt(i)) continue;
    // First differing unit. At a high surrogate codePointAt gives the whole astral code point; at
    // a low surrogate both sides share the high one before it, so comparing the units is exact.
    return a.codePointAt(i)! - b.codePointAt(i)!;
  }
  return a.length - b.length;
}

/** A copy sorted by code points (Python's sorted()). */
export function sortedByCodePoints(xs: readonly string[]): string[] {
  return [...xs].sort(compareCodePoints);
}
