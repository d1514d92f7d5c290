// Resolves ATen operators to dispatcher indices, and `torch.ops.aten.<name>.<overload>(...)`,
// which reaches every operator of the linked libtorch by name (as in PyTorch).
import { native } from './native.js';

/** Index of aten::name.overload; throws if this libtorch lacks it. */
export function opIndex(name: string, overload = ''): number {
  const i = native.resolveOp(name, overload);
  if (i < 0) throw new Error(`operator aten::${name}${overload ? '.' + overload : ''} is not in the linked libtorch`);
  return i;
}

/** Index of aten::name.overload, or -1 where this libtorch lacks it (for version fallbacks). */
export function opIndexOrMissing(name: string, overload = ''): number {
  return native.resolveOp(name, overload);
}

let allNames: Map<string, string[]> | null = null;

/** Overload names of each aten op, from the dispatcher. */
export function overloadsOf(name: string): string[] {
  if (!allNames) {
    allNames = new Map();
    for (const full of native.listOps()) {
      if (!full.startsWith('aten::')) continue;
      const rest = full.slice(6);
      const dot = rest.indexOf('.');
      const base = dot < 0 ? rest : rest.slice(0, dot);
      const ov = dot < 0 ? '' : rest.slice(dot + 1);
      let l = allNames.get(base);
      if (!l) allNames.set(base, (l = []));
      l.push(ov);
    }
  }
  return allNames.get(name) ?? [];
}
