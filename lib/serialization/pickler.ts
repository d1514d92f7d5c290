// A protocol-2 pickler for plain data, as Python's pickle writes it (memo, batched APPENDS and
// SETITEMS). JS values map to: null/undefined → None, boolean → bool, integer number or bigint →
// int, other number → float, string → str, Buffer/Uint8Array → bytes (via _codecs.encode, as
// protocol 2 does), Array → list, Map → collections.OrderedDict (own enumerable properties of the
// Map, e.g. `_metadata`, become its attributes), plain object → dict, Set → set, PyComplex →
// complex. Other objects go to the `custom` hook (torch-save.ts handles Tensors there).
import { PyComplex } from './pickle.js';

export type CustomSaver = (p: Pickler, x: object) => boolean;

export class Pickler {
  private buf = Buffer.alloc(1 << 16);
  private len = 0;
  private readonly memo = new Map<unknown, number>();
  private readonly path: string[] = [];

  constructor(private readonly custom?: CustomSaver) {}

  /** The whole pickle of `obj`: PROTO 2 … STOP. */
  dump(obj: unknown): Buffer {
    this.len = 0;
    this.memo.clear();
    this.path.length = 0;
    this.op(0x80);
    this.byte(2);
    this.save(obj);
    this.op(0x2e);
    return Buffer.from(this.buf.subarray(0, this.len));
  }

  // ---- bytes -----------------------------------------------------------------------------

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
  op(code: number): void {
    this.byte(code);
  }
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b;
  }
  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  private u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(v, this.len);
    this.len += 4;
  }

  // ---- values ----------------------------------------------------------------------------

  /** Error naming where in the object the problem is. */
  fail(msg: string): never {
    throw new TypeError(`cannot pickle the value at ${this.path.length ? this.path.join('') : '<root>'}: ${msg}`);
  }

  int(v: number | bigint): void {
    if (typeof v === 'number' && v >= 0 && v < 0x100) {
      this.op(0x4b);
      this.byte(v);
      return;
    }
    if (typeof v === 'number' && v >= 0 && v < 0x10000) {
      this.op(0x4d);
      this.ensure(2);
      this.buf.writeUInt16LE(v, this.len);
      this.len += 2;
      return;
    }
    if (typeof v === 'number' && v >= -0x80000000 && v <= 0x7fffffff) {
      this.op(0x4a);
      this.ensure(4);
      this.buf.writeInt32LE(v, this.len);
      this.len += 4;
      return;
    }
    // LONG1: minimal little-endian two's complement.
    let x = BigInt(v);
    const out: number[] = [];
    for (;;) {
      const b = Number(x & 0xffn);
      out.push(b);
      x >>= 8n;
      if ((x === 0n && !(b & 0x80)) || (x === -1n && b & 0x80)) break;
    }
    this.op(0x8a);
    this.byte(out.length);
    this.raw(Uint8Array.from(out));
  }
  float(v: number): void {
    this.op(0x47);
    this.ensure(8);
    this.buf.writeDoubleBE(v, this.len);
    this.len += 8;
  }
  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.op(0x58);
    this.u32(b.length);
    this.raw(b);
  }
  bool(v: boolean): void {
    this.op(v ? 0x88 : 0x89);
  }
  none(): void {
    this.op(0x4e);
  }

  /** GLOBAL module\nname\n, memoized like Python's pickler does. */
  global(module: string, name: string): void {
    const key = `global:${module}.${name}`;
    if (this.getMemo(key)) return;
    this.op(0x63);
    this.raw(Buffer.from(`${module}\n${name}\n`, 'utf8'));
    this.putMemo(key);
  }
  /** A tuple of already-known items. */
  tuple(items: unknown[]): void {
    if (items.length === 0) {
      this.op(0x29);
      return;
    }
    if (items.length <= 3) {
      for (const x of items) this.save(x);
      this.op([0x85, 0x86, 0x87][items.length - 1]);
      return;
    }
    this.op(0x28);
    for (const x of items) this.save(x);
    this.op(0x74);
  }
  /** global(args...) via REDUCE. */
  reduce(module: string, name: string, args: unknown[]): void {
    this.global(module, name);
    this.tuple(args);
    this.op(0x52);
  }
  /** BINPERSID of a tuple. */
  persistentId(items: unknown[]): void {
    this.tuple(items);
    this.op(0x51);
  }

  getMemo(x: unknown): boolean {
    const i = this.memo.get(x);
    if (i === undefined) return false;
    if (i < 256) {
      this.op(0x68);
      this.byte(i);
    } else {
      this.op(0x6a);
      this.u32(i);
    }
    return true;
  }
  putMemo(x: unknown): void {
    const i = this.memo.size;
    this.memo.set(x, i);
    if (i < 256) {
      this.op(0x71);
      this.byte(i);
    } else {
      this.op(0x72);
      this.u32(i);
    }
  }

  save(x: unknown): void {
    if (x === null || x === undefined) return this.none();
    if (typeof x === 'boolean') return this.bool(x);
    if (typeof x === 'bigint') return this.int(x);
    if (typeof x === 'number') return Number.isInteger(x) && !Object.is(x, -0) && Number.isSafeInteger(x) ? this.int(x) : this.float(x);
    if (typeof x === 'string') return this.str(x);
    if (typeof x !== 'object') return this.fail(`a ${typeof x} cannot be pickled`);
    if (this.getMemo(x)) return;
    if (this.custom?.(this, x)) return;
    if (Buffer.isBuffer(x) || x instanceof Uint8Array) {
      // Protocol 2 bytes: _codecs.encode(latin-1 text, 'latin1').
      this.reduce('_codecs', 'encode', [Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('latin1'), 'latin1']);
      return this.putMemo(x);
    }
    if (x instanceof PyComplex) {
      this.reduce('builtins', 'complex', [x.real, x.imag]);
      return this.putMemo(x);
    }
    if (Array.isArray(x)) {
      this.op(0x5d);
      this.putMemo(x);
      this.batch(
        x.map((v, i) => [`[${i}]`, v] as const),
        (v) => this.save(v),
        0x65,
      );
      return;
    }
    if (x instanceof Map) {
      this.global('collections', 'OrderedDict');
      this.op(0x29);
      this.op(0x52);
      this.putMemo(x);
      this.items([...x.entries()]);
      const attrs = Object.entries(x);
      if (attrs.length) {
        this.dict(attrs);
        this.op(0x62);
      }
      return;
    }
    if (x instanceof Set) {
      this.global('builtins', 'set');
      this.op(0x5d);
      this.batch(
        [...x].map((v, i) => [`{${i}}`, v] as const),
        (v) => this.save(v),
        0x65,
      );
      this.op(0x85);
      this.op(0x52);
      this.putMemo(x);
      return;
    }
    const proto = Object.getPrototypeOf(x);
    if (proto === Object.prototype || proto === null) {
      this.op(0x7d);
      this.putMemo(x);
      this.items(Object.entries(x));
      return;
    }
    this.fail(`objects of class ${proto?.constructor?.name ?? '?'} are not supported`);
  }

  /** A plain dict of string keys (no memo of the dict itself). */
  private dict(entries: [string, unknown][]): void {
    this.op(0x7d);
    this.items(entries);
  }

  private items(entries: [unknown, unknown][]): void {
    this.batch(
      entries.map(([k, v]) => [`[${JSON.stringify(typeof k === 'bigint' ? String(k) : k) ?? String(k)}]`, [k, v]] as const),
      ([k, v]) => {
        this.save(k);
        this.save(v);
      },
      0x75,
    );
  }

  /** MARK items… APPENDS/SETITEMS in batches of 1000, as Python does. */
  private batch<T>(items: (readonly [string, T])[], write: (x: T) => void, opcode: number): void {
    for (let i = 0; i < items.length; i += 1000) {
      const chunk = items.slice(i, i + 1000);
      this.op(0x28);
      for (const [where, v] of chunk) {
        this.path.push(where);
        write(v);
        this.path.pop();
      }
      this.op(opcode);
    }
  }
}
