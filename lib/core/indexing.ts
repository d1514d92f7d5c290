// Python-style indexing: t.index(0, ':', '1:5:2', null, '...', idxTensor) is t[0, :, 1:5:2, None, ..., idx],
// and t.indexPut([...spec], value) is t[spec] = value. Basic indices (numbers, slices, None,
// ellipsis) give views, as in PyTorch; tensor indices (integer or boolean) use advanced indexing.
import { native } from './native.js';
import { opIndex } from './ops.js';
import { Tensor, type Scalar } from './tensor.js';
import { full } from './creation.js';

/** One index: a number, a slice (':', '1:', ':-1', '::2', or slice(a, b, step)), null (new axis), '...', or a Tensor. */
export type Index = number | string | null | Slice | Tensor;
export interface Slice {
  start: number | null;
  end: number | null;
  step: number;
}

export function slice(start: number | null = null, end: number | null = null, step = 1): Slice {
  return { start, end, step };
}

const O = {
  slice: opIndex('slice', 'Tensor'),
  select: opIndex('select', 'int'),
  unsqueeze: opIndex('unsqueeze'),
  index: opIndex('index', 'Tensor'),
  indexPut_: opIndex('index_put_'),
  alias: opIndex('alias'),
};
const call = native.call;

function parseSlice(s: string): Slice {
  const parts = s.split(':');
  if (parts.length < 2 || parts.length > 3) throw new TypeError(`bad slice '${s}' (expected 'start:end' or 'start:end:step')`);
  const num = (p: string | undefined): number | null => {
    if (p === undefined || p.trim() === '') return null;
    const v = Number(p);
    if (!Number.isInteger(v)) throw new TypeError(`bad slice '${s}': '${p}' is not an integer`);
    return v;
  };
  const step = num(parts[2]) ?? 1;
  if (step <= 0) throw new RangeError(`bad slice '${s}': step must be positive (as in PyTorch)`);
  return { start: num(parts[0]), end: num(parts[1]), step };
}

/**
 * Applies the basic indices, returning a view handle (owned by the caller) and the advanced
 * index tensors by dim of that view (null where a dim is taken whole).
 */
function applyBasic(t: Tensor, spec: Index[]): { h: number; adv: (Tensor | null)[] } {
  const consumed = spec.filter((s) => s !== null && s !== '...').length;
  const ndim = t.ndim;
  if (consumed > ndim) throw new RangeError(`too many indices for tensor of dimension ${ndim}`);
  if (spec.filter((s) => s === '...').length > 1) throw new TypeError('an index can only have a single ellipsis');
  let h = call(O.alias, t._h) as number;
  const swap = (nh: number) => {
    native.free(h);
    h = nh;
  };
  const adv: (Tensor | null)[] = [];
  let dim = 0;
  try {
    for (const s of spec) {
      if (s === '...') {
        const skip = ndim - consumed;
        for (let k = 0; k < skip; k++) adv.push(null);
        dim += skip;
      } else if (s === null) {
        swap(call(O.unsqueeze, h, dim));
        adv.push(null);
        dim++;
      } else if (typeof s === 'number') {
        swap(call(O.select, h, dim, s));
      } else if (s instanceof Tensor) {
        adv.push(s);
        dim++;
      } else {
        const sl = typeof s === 'string' ? parseSlice(s) : s;
        if (sl.step <= 0) throw new RangeError('slice step must be positive (as in PyTorch)');
        swap(call(O.slice, h, dim, sl.start, sl.end, sl.step));
        adv.push(null);
        dim++;
      }
    }
  } catch (e) {
    native.free(h);
    throw e;
  }
  while (adv.length && adv[adv.length - 1] === null) adv.pop();
  return { h, adv };
}

/** t[spec]: views for basic indices, a gather for tensor indices. */
export function index(t: Tensor, ...spec: Index[]): Tensor {
  const { h, adv } = applyBasic(t, spec);
  if (adv.length === 0) return new Tensor(h);
  try {
    return new Tensor(
      call(
        O.index,
        h,
        adv.map((a) => (a ? a._h : null)),
      ),
    );
  } finally {
    native.free(h);
  }
}

/** t[spec] = value, in place; returns t. */
export function indexPut(t: Tensor, spec: Index[], value: Tensor | Scalar): Tensor {
  const { h, adv } = applyBasic(t, spec);
  const view = new Tensor(h);
  try {
    if (adv.length === 0) {
      if (typeof value === 'object') view.copy_(value);
      else view.fill_(value);
    } else {
      const v = typeof value === 'object' ? value : full([], value, { dtype: t.dtype, device: t.device });
      try {
        call(
          O.indexPut_,
          view._h,
          adv.map((a) => (a ? a._h : null)),
          v._h,
          false,
        );
      } finally {
        if (v !== value) v.dispose();
      }
    }
  } finally {
    view.dispose();
  }
  return t;
}

declare module './tensor.js' {
  interface Tensor {
    /** Python's t[...]: numbers, slices (':', '1:5:2', torch.slice()), null (new axis), '...', tensors. */
    index(...spec: Index[]): Tensor;
    /** Python's t[...] = value, in place. */
    indexPut(spec: Index[], value: Tensor | Scalar): this;
  }
}

Tensor.prototype.index = function (this: Tensor, ...spec: Index[]) {
  return index(this, ...spec);
};
Tensor.prototype.indexPut = function (this: Tensor, spec: Index[], value: Tensor | Scalar) {
  indexPut(this, spec, value);
  return this;
};
