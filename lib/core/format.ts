// Formats a tensor the way PyTorch prints it: tensor([[1.0000, 2.0000]], dtype=..., requires_grad=True).
import type { Tensor } from './tensor.js';

const THRESHOLD = 1000; // PyTorch summarises tensors with more elements than this
const EDGE = 3;

export function formatTensor(t: Tensor): string {
  if (t.isDisposed) return 'tensor(<disposed>)';
  const shape = t.shape;
  const dtype = t.dtype;
  const numel = shape.reduce((a, b) => a * b, 1);
  const flat = Array.from(t.toTypedArray() as ArrayLike<number | bigint>, (v) => Number(v));
  const isFloat = dtype === 'float32' || dtype === 'float64' || dtype === 'float16' || dtype === 'bfloat16';
  const fmt = makeFormatter(flat, isFloat, dtype === 'bool');
  const summarize = numel > THRESHOLD;

  const strides: number[] = [];
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) { strides[d] = s; s *= shape[d]; }

  const render = (d: number, offset: number, indent: number): string => {
    if (d === shape.length) return fmt(flat[offset]);
    const n = shape[d];
    const idx: (number | null)[] = [];
    if (summarize && n > 2 * EDGE) {
      for (let i = 0; i < EDGE; i++) idx.push(i);
      idx.push(null);
      for (let i = n - EDGE; i < n; i++) idx.push(i);
    } else for (let i = 0; i < n; i++) idx.push(i);
    const parts = idx.map((i) => (i === null ? '...' : render(d + 1, offset + i * strides[d], indent + 1)));
    if (d === shape.length - 1) return `[${parts.join(', ')}]`;
    const sep = ',' + '\n'.repeat(shape.length - d - 1) + ' '.repeat(indent + 1);
    return `[${parts.join(sep)}]`;
  };

  const extras: string[] = [];
  if (!t.device.startsWith('cpu')) extras.push(`device='${t.device}'`);
  if (numel === 0) extras.push(`size=(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`);
  if (dtype !== 'float32' && dtype !== 'int64' && dtype !== 'bool') extras.push(`dtype=torch.${dtype}`);
  if (t.requiresGrad) extras.push(t.gradFn ? `grad_fn=<${t.gradFn}>` : 'requires_grad=True');
  const body = render(0, 0, 7);
  return `tensor(${body}${extras.length ? ', ' + extras.join(', ') : ''})`;
}

function makeFormatter(values: number[], isFloat: boolean, isBool: boolean): (v: number) => string {
  if (isBool) return (v) => (v ? 'True' : 'False');
  if (!isFloat) {
    const w = Math.max(...values.map((v) => String(v).length), 1);
    return (v) => String(v).padStart(w);
  }
  const finite = values.filter((v) => Number.isFinite(v));
  const absMax = finite.length ? Math.max(...finite.map(Math.abs)) : 0;
  const nonzero = finite.filter((v) => v !== 0).map(Math.abs);
  const absMin = nonzero.length ? Math.min(...nonzero) : 0;
  const allInts = finite.every((v) => Number.isInteger(v));
  const sci = absMax >= 1e8 || (absMin > 0 && absMin < 1e-4) || (absMin > 0 && absMax / absMin > 1000 && !allInts);
  const one = (v: number): string => {
    if (Number.isNaN(v)) return 'nan';
    if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
    if (sci) return v.toExponential(4).replace(/e([+-])(\d)$/, 'e$10$2');
    if (allInts) return `${v.toFixed(0)}.`;
    return v.toFixed(4);
  };
  const w = Math.max(...values.map((v) => one(v).length), 1);
  return (v) => one(v).padStart(w);
}
