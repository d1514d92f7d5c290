// A safe unpickler: a Python pickle VM that never executes anything.
//
// Opcodes: everything torch.save writes (protocol 2) and the common protocol 3-5 ones (FRAME,
// SHORT_BINUNICODE, BINUNICODE8, BINBYTES*, MEMOIZE, STACK_GLOBAL, EMPTY_SET/ADDITEMS/FROZENSET,
// NEWOBJ_EX), plus the simple text opcodes of protocol 0 (INT, LONG, FLOAT, GET, PUT, PERSID).
//
// Globals are resolved through a whitelist: the caller's resolver first (torch-globals.ts), then
// the trivial builtins below. Anything else becomes an inert PyGlobal; calling it (REDUCE, NEWOBJ)
// gives an inert PyObject { __class__: 'module.Name', args, state } — never an error, never code.
//
// Python values map to: None → null, bool → boolean, int → number (bigint beyond 2^53),
// float → number, str → string, bytes → Buffer, list and tuple → Array, dict and OrderedDict →
// Map (insertion order, any key type), set and frozenset → Set, complex → PyComplex.
// Attributes set on a dict by BUILD (OrderedDict's `_metadata` in a state dict) become own
// properties of the Map.
import { CheckpointError } from './errors.js';

/** A reference to a Python global; `call` is set for whitelisted callables. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
    readonly call?: (args: unknown[], kwargs?: Map<unknown, unknown>) => unknown,
  ) {}
  get qualname(): string {
    return `${this.module}.${this.name}`;
  }
}

/** An instance of a class outside the whitelist: its constructor arguments and state, inert. */
export class PyObject {
  kwargs?: Map<unknown, unknown>;
  /** Items appended / set on it (list or dict subclasses). */
  listitems?: unknown[];
  dictitems?: Map<unknown, unknown>;
  constructor(
    readonly __class__: string,
    public args: unknown[],
    public state?: unknown,
  ) {}
}

export class PyComplex {
  constructor(
    readonly real: number,
    readonly imag: number,
  ) {}
}

export interface UnpickleOptions {
  /** File or entry name for error messages. */
  name?: string;
  /** Handles persistent ids (PyTorch storages); without it a persistent id is an error. */
  persistentLoad?: (pid: unknown) => unknown;
  /** Resolves a global before the built-in whitelist; return undefined to fall through. */
  resolveGlobal?: (module: string, name: string) => PyGlobal | undefined;
}

// Python 2 names, as pickle's fix_imports maps them.
const renamedModules: Record<string, string> = { __builtin__: 'builtins', copy_reg: 'copyreg' };

const isIterable = (x: unknown): x is Iterable<unknown> => Array.isArray(x) || x instanceof Set || x instanceof Map || Buffer.isBuffer(x);

/** Trivial, side-effect-free builtins. */
export function builtinGlobal(module: string, name: string): PyGlobal | undefined {
  const g = (fn: (args: unknown[]) => unknown) => new PyGlobal(module, name, fn);
  const key = `${renamedModules[module] ?? module}.${name}`;
  switch (key) {
    case 'collections.OrderedDict':
    case 'builtins.dict':
    case 'collections.Counter':
      return g((a) => toMap(a[0]));
    case 'collections.defaultdict':
      return g((a) => toMap(a[1]));
    case 'builtins.set':
    case 'builtins.frozenset':
      return g((a) => new Set(isIterable(a[0]) ? a[0] : []));
    case 'builtins.list':
    case 'builtins.tuple':
      return g((a) => (isIterable(a[0]) ? [...a[0]] : []));
    case 'builtins.complex':
      return g((a) => new PyComplex(Number(a[0] ?? 0), Number(a[1] ?? 0)));
    case 'builtins.bytearray':
    case 'builtins.bytes':
      return g((a) => bytesOf(a[0], a[1]) ?? new PyObject(key, a));
    case '_codecs.encode':
      return g((a) => bytesOf(a[0], a[1] ?? 'utf-8') ?? new PyObject(key, a));
    case 'copyreg._reconstructor':
      // copyreg._reconstructor(cls, base, state): an instance of cls made without __init__.
      return g((a) => {
        const cls = a[0];
        if (cls instanceof PyGlobal && cls.call && cls.module !== 'copyreg') return cls.call([]);
        return new PyObject(cls instanceof PyGlobal ? cls.qualname : 'unknown', [], a[2] ?? undefined);
      });
  }
  return undefined;
}

function toMap(x: unknown): Map<unknown, unknown> {
  if (x instanceof Map) return new Map(x);
  const m = new Map<unknown, unknown>();
  if (Array.isArray(x)) for (const kv of x) if (Array.isArray(kv) && kv.length === 2) m.set(kv[0], kv[1]);
  return m;
}

function bytesOf(x: unknown, encoding: unknown): Buffer | undefined {
  if (x === undefined) return Buffer.alloc(0);
  if (Buffer.isBuffer(x)) return Buffer.from(x);
  if (Array.isArray(x) && x.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 256)) return Buffer.from(x as number[]);
  if (typeof x === 'string' && typeof encoding === 'string') {
    const enc = encoding.toLowerCase().replace(/[-_]/g, '');
    if (enc === 'latin1' || enc === 'iso88591') return Buffer.from(x, 'latin1');
    if (enc === 'utf8' || enc === 'ascii') return Buffer.from(x, 'utf8');
  }
  return undefined;
}

/** Unpickles one object from `data`. Errors are CheckpointErrors naming `opts.name` and the offset. */
export function unpickle(data: Uint8Array, opts: UnpickleOptions = {}): unknown {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const file = opts.name ?? '<pickle>';
  let pos = 0;
  let opPos = 0;
  let op = 0;
  let stack: unknown[] = [];
  const metastack: unknown[][] = [];
  const memo = new Map<number, unknown>();

  const fail = (msg: string): never => {
    throw new CheckpointError(file, `pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${opPos}: ${msg}`);
  };
  const need = (n: number) => {
    if (n < 0 || pos + n > buf.length) fail(`truncated: needs ${n} more bytes, ${buf.length - pos} left`);
  };
  const u8 = () => {
    need(1);
    return buf[pos++];
  };
  const u16 = () => {
    need(2);
    const v = buf.readUInt16LE(pos);
    pos += 2;
    return v;
  };
  const i32 = () => {
    need(4);
    const v = buf.readInt32LE(pos);
    pos += 4;
    return v;
  };
  const u32 = () => {
    need(4);
    const v = buf.readUInt32LE(pos);
    pos += 4;
    return v;
  };
  const u64 = () => {
    need(8);
    const v = buf.readBigUInt64LE(pos);
    pos += 8;
    if (v > BigInt(buf.length)) fail(`length ${v} exceeds the pickle (${buf.length} bytes)`);
    return Number(v);
  };
  const bytes = (n: number) => {
    need(n);
    const b = buf.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  const str = (n: number) => bytes(n).toString('utf8');
  const line = (encoding: 'utf8' | 'latin1' = 'utf8') => {
    const end = buf.indexOf(0x0a, pos);
    if (end < 0) fail('truncated: no end of line');
    const s = buf.toString(encoding, pos, end);
    pos = end + 1;
    return s;
  };
  const pop = () => {
    if (stack.length === 0) fail('stack underflow');
    return stack.pop();
  };
  const top = () => {
    if (stack.length === 0) fail('stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = () => {
    const items = stack;
    const prev = metastack.pop();
    if (prev === undefined) fail('no MARK on the stack');
    stack = prev!;
    return items;
  };
  const memoGet = (i: number) => {
    if (!memo.has(i)) fail(`memo entry ${i} is missing`);
    return memo.get(i);
  };
  const memoPut = (i: number) => {
    memo.set(i, top());
  };
  const intOf = (v: bigint): number | bigint => (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
  const long = (b: Buffer): number | bigint => {
    if (b.length === 0) return 0;
    let v = BigInt('0x' + Buffer.from(b).reverse().toString('hex'));
    if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return intOf(v);
  };
  const resolve = (module: string, name: string): PyGlobal => opts.resolveGlobal?.(module, name) ?? builtinGlobal(module, name) ?? new PyGlobal(module, name);
  const callOrInert = (f: unknown, args: unknown, kwargs?: Map<unknown, unknown>): unknown => {
    if (!Array.isArray(args)) fail(`arguments must be a tuple, got ${describe(args)}`);
    if (!(f instanceof PyGlobal)) return fail(`${describe(f)} is not callable`);
    if (f.call) return f.call(args as unknown[], kwargs);
    const o = new PyObject(f.qualname, args as unknown[]);
    if (kwargs) o.kwargs = kwargs;
    return o;
  };
  const persistent = (pid: unknown) => {
    if (!opts.persistentLoad) fail('persistent id found but no persistent_load handler');
    return opts.persistentLoad!(pid);
  };
  const setItem = (target: unknown, k: unknown, v: unknown) => {
    if (target instanceof Map) target.set(k, v);
    else if (target instanceof PyObject) (target.dictitems ??= new Map()).set(k, v);
    else fail(`SETITEM on ${describe(target)}`);
  };
  const append = (target: unknown, items: unknown[]) => {
    if (Array.isArray(target)) for (const x of items) target.push(x);
    else if (target instanceof PyObject) (target.listitems ??= []).push(...items);
    else fail(`APPEND on ${describe(target)}`);
  };

  for (;;) {
    opPos = pos;
    if (pos >= buf.length) fail('truncated: the pickle ends without STOP');
    op = buf[pos++];
    switch (op) {
      case 0x80: {
        const v = u8();
        if (v > 5) fail(`unsupported pickle protocol ${v}`);
        break;
      } // PROTO
      case 0x95: {
        const n = u64();
        if (pos + n > buf.length) fail(`truncated frame of ${n} bytes`);
        break;
      } // FRAME
      case 0x2e: {
        // STOP
        if (stack.length === 0) fail('STOP with an empty stack');
        return stack.pop();
      }
      case 0x28:
        metastack.push(stack);
        stack = [];
        break; // MARK
      case 0x30:
        pop();
        break; // POP
      case 0x31:
        popMark();
        break; // POP_MARK
      case 0x32:
        stack.push(top());
        break; // DUP
      // numbers
      case 0x4a:
        stack.push(i32());
        break; // BININT
      case 0x4b:
        stack.push(u8());
        break; // BININT1
      case 0x4d:
        stack.push(u16());
        break; // BININT2
      case 0x8a:
        stack.push(long(bytes(u8())));
        break; // LONG1
      case 0x8b: {
        const n = i32();
        if (n < 0) fail('negative LONG4 length');
        stack.push(long(bytes(n)));
        break;
      }
      case 0x47: {
        need(8);
        stack.push(buf.readDoubleBE(pos));
        pos += 8;
        break;
      } // BINFLOAT
      case 0x49: {
        // INT (text; "00"/"01" are False/True)
        const s = line();
        if (s === '00' || s === '01') stack.push(s === '01');
        else if (/^[-+]?\d+$/.test(s)) stack.push(intOf(BigInt(s)));
        else fail(`bad INT ${JSON.stringify(s.slice(0, 40))}`);
        break;
      }
      case 0x4c: {
        // LONG (text)
        const s = line().replace(/L$/, '');
        if (!/^[-+]?\d+$/.test(s)) fail(`bad LONG ${JSON.stringify(s.slice(0, 40))}`);
        stack.push(intOf(BigInt(s)));
        break;
      }
      case 0x46:
        stack.push(textFloat(line()) ?? fail('bad FLOAT'));
        break; // FLOAT (text)
      case 0x56:
        stack.push(rawUnicodeEscape(line('latin1')));
        break; // UNICODE (text, raw-unicode-escape)
      case 0x4e:
        stack.push(null);
        break; // NONE
      case 0x88:
        stack.push(true);
        break; // NEWTRUE
      case 0x89:
        stack.push(false);
        break; // NEWFALSE
      // strings and bytes
      case 0x58:
        stack.push(str(u32()));
        break; // BINUNICODE
      case 0x8c:
        stack.push(str(u8()));
        break; // SHORT_BINUNICODE
      case 0x8d:
        stack.push(str(u64()));
        break; // BINUNICODE8
      case 0x54: {
        const n = i32();
        if (n < 0) fail('negative BINSTRING length');
        stack.push(str(n));
        break;
      }
      case 0x55:
        stack.push(str(u8()));
        break; // SHORT_BINSTRING
      case 0x42:
        stack.push(Buffer.from(bytes(u32())));
        break; // BINBYTES
      case 0x43:
        stack.push(Buffer.from(bytes(u8())));
        break; // SHORT_BINBYTES
      case 0x8e:
        stack.push(Buffer.from(bytes(u64())));
        break; // BINBYTES8
      case 0x96:
        stack.push(Buffer.from(bytes(u64())));
        break; // BYTEARRAY8
      // containers
      case 0x5d:
        stack.push([]);
        break; // EMPTY_LIST
      case 0x61: {
        const v = pop();
        append(top(), [v]);
        break;
      } // APPEND
      case 0x65: {
        const items = popMark();
        append(top(), items);
        break;
      } // APPENDS
      case 0x6c: {
        const items = popMark();
        stack.push(items);
        break;
      } // LIST
      case 0x29:
        stack.push([]);
        break; // EMPTY_TUPLE
      case 0x74: {
        const items = popMark();
        stack.push(items);
        break;
      } // TUPLE
      case 0x85: {
        const a = pop();
        stack.push([a]);
        break;
      } // TUPLE1
      case 0x86: {
        const b = pop(),
          a = pop();
        stack.push([a, b]);
        break;
      } // TUPLE2
      case 0x87: {
        const c = pop(),
          b = pop(),
          a = pop();
        stack.push([a, b, c]);
        break;
      } // TUPLE3
      case 0x7d:
        stack.push(new Map());
        break; // EMPTY_DICT
      case 0x64: {
        // DICT
        const items = popMark();
        if (items.length % 2) fail('DICT with an odd number of items');
        const m = new Map();
        for (let i = 0; i < items.length; i += 2) m.set(items[i], items[i + 1]);
        stack.push(m);
        break;
      }
      case 0x73: {
        const v = pop(),
          k = pop();
        setItem(top(), k, v);
        break;
      } // SETITEM
      case 0x75: {
        // SETITEMS
        const items = popMark();
        if (items.length % 2) fail('SETITEMS with an odd number of items');
        const target = top();
        for (let i = 0; i < items.length; i += 2) setItem(target, items[i], items[i + 1]);
        break;
      }
      case 0x8f:
        stack.push(new Set());
        break; // EMPTY_SET
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof Set)) fail(`ADDITEMS on ${describe(s)}`);
        for (const x of items) (s as Set<unknown>).add(x);
        break;
      }
      case 0x91: {
        const items = popMark();
        stack.push(new Set(items));
        break;
      } // FROZENSET
      // memo
      case 0x71:
        memoPut(u8());
        break; // BINPUT
      case 0x72:
        memoPut(u32());
        break; // LONG_BINPUT
      case 0x94:
        memoPut(memo.size);
        break; // MEMOIZE
      case 0x68:
        stack.push(memoGet(u8()));
        break; // BINGET
      case 0x6a:
        stack.push(memoGet(u32()));
        break; // LONG_BINGET
      case 0x70: {
        const s = line();
        if (!/^\d+$/.test(s)) fail('bad PUT index');
        memoPut(Number(s));
        break;
      } // PUT
      case 0x67: {
        const s = line();
        if (!/^\d+$/.test(s)) fail('bad GET index');
        stack.push(memoGet(Number(s)));
        break;
      } // GET
      // objects
      case 0x63: {
        const module = line(),
          name = line();
        stack.push(resolve(module, name));
        break;
      } // GLOBAL
      case 0x93: {
        // STACK_GLOBAL
        const name = pop(),
          module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(resolve(module as string, name as string));
        break;
      }
      case 0x52: {
        const args = pop();
        const f = pop();
        stack.push(callOrInert(f, args));
        break;
      } // REDUCE
      case 0x81: {
        const args = pop();
        const cls = pop();
        stack.push(callOrInert(cls, args));
        break;
      } // NEWOBJ
      case 0x92: {
        // NEWOBJ_EX
        const kwargs = pop(),
          args = pop(),
          cls = pop();
        if (!(kwargs instanceof Map)) fail('NEWOBJ_EX keyword arguments must be a dict');
        stack.push(callOrInert(cls, args, kwargs as Map<unknown, unknown>));
        break;
      }
      case 0x62: {
        const state = pop();
        build(top(), state);
        break;
      } // BUILD
      case 0x51: {
        const pid = pop();
        stack.push(persistent(pid));
        break;
      } // BINPERSID
      case 0x50:
        stack.push(persistent(line()));
        break; // PERSID
      default:
        fail(`unsupported or invalid opcode${op >= 0x20 && op < 0x7f ? ` '${String.fromCharCode(op)}'` : ''}`);
    }
  }
}

function textFloat(s: string): number | undefined {
  const t = s.trim().toLowerCase();
  if (t === 'inf' || t === '+inf') return Infinity;
  if (t === '-inf') return -Infinity;
  if (t === 'nan' || t === '-nan') return NaN;
  return /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/.test(t) ? Number(t) : undefined;
}

/** Python's raw-unicode-escape: latin-1 text with \uXXXX and \UXXXXXXXX escapes. */
function rawUnicodeEscape(s: string): string {
  return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (m, a, b) => {
    const cp = parseInt(a ?? b, 16);
    return cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
  });
}

/** BUILD: state of an inert object, attributes of a dict (OrderedDict._metadata); ignored otherwise. */
function build(obj: unknown, state: unknown): void {
  if (obj instanceof PyObject) {
    obj.state = state;
    return;
  }
  if (obj instanceof Map) {
    const dicts = Array.isArray(state) ? state : [state];
    for (const d of dicts) {
      if (!(d instanceof Map)) continue;
      for (const [k, v] of d) {
        if (typeof k === 'string') Object.defineProperty(obj, k, { value: v, enumerable: true, writable: true, configurable: true });
      }
    }
  }
}

export function describe(x: unknown): string {
  if (x === null) return 'None';
  if (Array.isArray(x)) return `a list/tuple of ${x.length}`;
  if (x instanceof PyGlobal) return `global ${x.qualname}`;
  if (x instanceof PyObject) return `a ${x.__class__} object`;
  if (x instanceof Map) return 'a dict';
  if (typeof x === 'object') return `a ${(x as object).constructor?.name ?? 'object'}`;
  return `a ${typeof x}`;
}
