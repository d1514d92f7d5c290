// Formats a tensor the way PyTorch prints it (torch/_tensor_str.py with default print options):
// tensor([[1.0000, 2.0000]], dtype=..., requires_grad=True), wrapped at 80 columns.
import type { Tensor } from './tensor.js';

const THRESHOLD = 1000; // PyTorch summarises tensors with more elements than this
const EDGE = 3;
const LINEWIDTH = 80;
const PREFIX = 'tensor(';

export function formatTensor(t: Tensor): string {
  if (t.isDisposed) return 'tensor(<disposed>)';
  const shape = t.shape;
  const dtype = t.dtype;
  const numel = shape.reduce((a, b) => a * b, 1);
  const isFloat = dtype === 'float32' || dtype === 'float64' || dtype === 'float16' || dtype === 'bfloat16';
  const isBool = dtype === 'bool';
  // int64 stays bigint so that values beyond 2^53 print exactly
  const flat: (number | bigint)[] = numel === 0 ? [] : Array.from(t.toTypedArray() as ArrayLike<number | bigint>);
  const summarize = numel > THRESHOLD;

  const strides: number[] = [];
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }

  /** Indices printed along a dim of size n; null marks the '...' gap. */
  const shown = (n: number): (number | null)[] => {
    if (summarize && n > 2 * EDGE) {
      const idx: (number | null)[] = [];
      for (let i = 0; i < EDGE; i++) idx.push(i);
      idx.push(null);
      for (let i = n - EDGE; i < n; i++) idx.push(i);
      return idx;
    }
    return Array.from({ length: n }, (_, i) => i);
  };

  let body: string;
  if (numel === 0) body = '[]';
  else {
    // As in PyTorch, the formatter (widths, fixed or scientific) sees only the printed values.
    const visible: (number | bigint)[] = [];
    const collect = (d: number, offset: number): void => {
      if (d === shape.length) {
        visible.push(flat[offset]);
        return;
      }
      for (const i of shown(shape[d])) if (i !== null) collect(d + 1, offset + i * strides[d]);
    };
    collect(0, 0);
    const { fmt, width } = makeFormatter(visible, isFloat, isBool);

    const render = (d: number, offset: number, indent: number): string => {
      if (d === shape.length) return fmt(flat[offset]);
      const idx = shown(shape[d]);
      if (d === shape.length - 1) {
        // a row: elements joined by ', ', wrapped to the line width
        const parts = idx.map((i) => (i === null ? ' ...' : fmt(flat[offset + i * strides[d]])));
        const perLine = Math.max(1, Math.floor((LINEWIDTH - indent) / (width + 2)));
        const lines: string[] = [];
        for (let i = 0; i < parts.length; i += perLine) lines.push(parts.slice(i, i + perLine).join(', '));
        return `[${lines.join(',\n' + ' '.repeat(indent + 1))}]`;
      }
      const parts = idx.map((i) => (i === null ? '...' : render(d + 1, offset + i * strides[d], indent + 1)));
      const sep = ',' + '\n'.repeat(shape.length - d - 1) + ' '.repeat(indent + 1);
      return `[${parts.join(sep)}]`;
    };
    body = render(0, 0, PREFIX.length);
  }

  const suffixes: string[] = [];
  if (!t.device.startsWith('cpu')) suffixes.push(`device='${t.device}'`);
  if (numel === 0) {
    // NumPy style: the shape is shown unless it is (0,); the dtype unless it is the default float32
    if (shape.length !== 1) suffixes.push(`size=(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`);
    if (dtype !== 'float32') suffixes.push(`dtype=torch.${dtype}`);
  } else if (dtype !== 'float32' && dtype !== 'int64' && dtype !== 'bool') suffixes.push(`dtype=torch.${dtype}`);
  if (t.requiresGrad) suffixes.push(t.gradFn ? `grad_fn=<${t.gradFn}>` : 'requires_grad=True');
  return addSuffixes(PREFIX + body, suffixes, PREFIX.length);
}

/** PyTorch's _add_suffixes: ', suffix' on the last line, or a new line once it would pass the width. */
function addSuffixes(str: string, suffixes: string[], indent: number): string {
  let out = str;
  let lastLineLen = str.length - str.lastIndexOf('\n') + 1;
  for (const suffix of suffixes) {
    if (lastLineLen + suffix.length + 2 > LINEWIDTH) {
      out += ',\n' + ' '.repeat(indent) + suffix;
      lastLineLen = indent + suffix.length;
    } else {
      out += ', ' + suffix;
      lastLineLen += suffix.length + 2;
    }
  }
  return out + ')';
}

/** PyTorch's _Formatter: one width for all elements; floats print as '1.', '1.0000' or '1.0000e+00'. */
function makeFormatter(values: (number | bigint)[], isFloat: boolean, isBool: boolean): { fmt: (v: number | bigint) => string; width: number } {
  if (!isFloat) {
    const str = isBool ? (v: number | bigint) => (Number(v) ? 'True' : 'False') : (v: number | bigint) => String(v);
    const width = Math.max(1, ...values.map((v) => str(v).length));
    return { fmt: (v) => str(v).padStart(width), width };
  }
  const nums = values.map(Number);
  const finite = nums.filter((v) => Number.isFinite(v) && v !== 0);
  let intMode = true,
    sci = false,
    width = 1;
  if (finite.length > 0) {
    const abs = finite.map(Math.abs);
    const absMax = Math.max(...abs),
      absMin = Math.min(...abs);
    intMode = finite.every((v) => Number.isInteger(v));
    sci = absMax / absMin > 1000 || absMax > 1e8 || (!intMode && absMin < 1e-4);
    // widths come from the nonzero finite values only, as in PyTorch
    for (const v of finite) width = Math.max(width, (sci ? exp(v) : intMode ? `${v.toFixed(0)}.` : v.toFixed(4)).length);
  }
  const one = (v: number): string => {
    if (Number.isNaN(v)) return 'nan';
    if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
    const sign = Object.is(v, -0) ? '-' : ''; // Python keeps the sign of -0.0
    if (sci) return sign + exp(v);
    if (intMode) return `${sign}${v.toFixed(0)}.`;
    return sign + v.toFixed(4);
  };
  return { fmt: (v) => one(Number(v)).padStart(width), width };
}

/** Python's '{:.4e}': a two-digit exponent at least. */
function exp(v: number): string {
  return v.toExponential(4).replace(/e([+-])(\d)$/, 'e$10$2');
}
