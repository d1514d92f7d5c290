// DeiT/MAE-style SmoothedValue and MetricLogger: windowed median/avg, global average, last value, per metric.

/** Python-style number formatting for `.Nf`, `.Ne` (two-digit exponent) and `.Ng`; NaN/inf as Python prints them. */
export function formatNumber(v: number, spec = ''): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  const m = /^\.(\d+)([efg])$/.exec(spec);
  if (!m) return String(v);
  const p = Number(m[1]);
  if (m[2] === 'f') return v.toFixed(p);
  const exp = (s: string) => s.replace(/e([+-])(\d)$/, (_m, sign: string, d: string) => `e${sign}0${d}`);
  if (m[2] === 'e') return exp(v.toExponential(p));
  // g: scientific when exponent < -4 or ≥ precision, trailing zeros dropped
  const P = Math.max(1, p);
  if (v === 0) return '0';
  const e = Math.floor(Math.log10(Math.abs(Number(v.toPrecision(P)))));
  const trim = (s: string) => (s.includes('.') ? s.replace(/\.?0+(?=e|$)/, '') : s);
  return e < -4 || e >= P ? exp(trim(v.toExponential(P - 1))) : trim(v.toFixed(Math.max(0, P - 1 - e)));
}

const STATS = ['median', 'avg', 'global_avg', 'max', 'value'] as const;
type Stat = (typeof STATS)[number];

/**
 * A series of values smoothed over a window (MAE's `SmoothedValue`): median and mean of the last
 * `windowSize` values, the average over everything seen (weighted by `n`), the window max, the last value.
 */
export class SmoothedValue {
  readonly windowSize: number;
  /** Format with {median} {avg} {global_avg} {max} {value}, each optionally `:.Nf` / `:.Ne` / `:.Ng`. */
  fmt: string;
  private buf: number[] = [];
  private head = 0;
  total = 0;
  count = 0;

  constructor(windowSize = 20, fmt = '{median:.4f} ({global_avg:.4f})') {
    if (!(windowSize >= 1)) throw new RangeError(`windowSize must be ≥ 1, got ${windowSize}`);
    this.windowSize = Math.floor(windowSize);
    this.fmt = fmt;
  }

  update(value: number, n = 1): void {
    if (this.buf.length < this.windowSize) this.buf.push(value);
    else {
      this.buf[this.head] = value;
      this.head = (this.head + 1) % this.windowSize;
    }
    this.count += n;
    this.total += value * n;
  }

  /** The window's values, oldest first. */
  get window(): number[] {
    return [...this.buf.slice(this.head), ...this.buf.slice(0, this.head)];
  }
  /** Window median; the lower middle value for an even count, as torch.median. NaN when empty. */
  get median(): number {
    if (!this.buf.length) return NaN;
    const s = [...this.buf].sort((a, b) => a - b);
    return s[(s.length - 1) >> 1];
  }
  get avg(): number {
    return this.buf.length ? this.buf.reduce((a, b) => a + b, 0) / this.buf.length : NaN;
  }
  get globalAvg(): number {
    return this.count ? this.total / this.count : NaN;
  }
  get max(): number {
    return this.buf.length ? Math.max(...this.buf) : NaN;
  }
  /** The last value (NaN when empty). */
  get value(): number {
    return this.buf.length ? this.buf[(this.head + this.buf.length - 1) % this.buf.length] : NaN;
  }

  stat(name: Stat): number {
    switch (name) {
      case 'median':
        return this.median;
      case 'avg':
        return this.avg;
      case 'global_avg':
        return this.globalAvg;
      case 'max':
        return this.max;
      case 'value':
        return this.value;
    }
  }

  toString(): string {
    return this.fmt.replace(/\{(\w+)(?::([^}]*))?\}/g, (all, name: string, spec?: string) =>
      (STATS as readonly string[]).includes(name) ? formatNumber(this.stat(name as Stat), spec ?? '') : all,
    );
  }
}

type Scalar = number | { item(): number };

/**
 * Named SmoothedValues (MAE's `MetricLogger`): `update({loss: 0.3})` creates meters on first use;
 * `toString()` prints `name: <meter>` joined by the delimiter.
 */
export class MetricLogger {
  readonly meters = new Map<string, SmoothedValue>();
  readonly delimiter: string;
  readonly windowSize: number;

  constructor(opts: { delimiter?: string; windowSize?: number } = {}) {
    this.delimiter = opts.delimiter ?? '  ';
    this.windowSize = opts.windowSize ?? 20;
  }

  /** Adds values (numbers, or 0-d tensors read with item()); `n` weighs them in the global average. */
  update(values: Record<string, Scalar | undefined>, n = 1): void {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) continue;
      const x = typeof v === 'number' ? v : v.item();
      if (typeof x !== 'number') throw new TypeError(`metric '${k}' must be a number`);
      let m = this.meters.get(k);
      if (!m) this.meters.set(k, (m = new SmoothedValue(this.windowSize)));
      m.update(x, n);
    }
  }

  /** Registers a meter with its own window or format (e.g. lr: new SmoothedValue(1, '{value:.6f}')). */
  addMeter(name: string, meter: SmoothedValue): void {
    this.meters.set(name, meter);
  }
  get(name: string): SmoothedValue | undefined {
    return this.meters.get(name);
  }
  /** Global averages of every meter (what MAE returns at the end of an epoch). */
  globalAvgs(): Record<string, number> {
    return Object.fromEntries([...this.meters].map(([k, m]) => [k, m.globalAvg]));
  }
  /** Forgets everything (e.g. at an epoch boundary). */
  reset(): void {
    this.meters.clear();
  }

  toString(): string {
    return [...this.meters].map(([k, m]) => `${k}: ${m}`).join(this.delimiter);
  }
}
