// PyTorch zip checkpoints: the upstream .pkl state dicts against their .safetensors twins (bit for
// bit, key order), _orig_mod key rewriting, torch-save round trips (dtypes, views, shared storage,
// nested data), format detection, the zip reader/writer and the safe unpickler.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../lib/torch.js';
import { native } from '../lib/core/native.js';
import * as ser from '../lib/serialization/index.js';
import { CheckpointError, PyObject, PyComplex, ZipReader, unpickle, zipToBuffer } from '../lib/serialization/index.js';
import { bufferSource } from '../lib/serialization/source.js';
import { UPSTREAM_FIXTURES, LOCAL_FIXTURES } from './fixture-paths.js';
import { skipUnless } from './parity.js';

const FIX = UPSTREAM_FIXTURES;
const fixtures = JSON.parse(readFileSync(join(FIX, 'fixtures.json'), 'utf8'));
const bytesOf = (t: torch.Tensor) => Buffer.from(native.toBuffer(t._h));

function assertSameTensors(a: Map<string, torch.Tensor>, b: Map<string, torch.Tensor>, what: string): void {
  assert.deepEqual(new Set(a.keys()), new Set(b.keys()), what);
  for (const [k, t] of a) {
    const u = b.get(k)!;
    assert.equal(t.dtype, u.dtype, `${what} ${k}`);
    assert.deepEqual(t.shape, u.shape, `${what} ${k}`);
    assert.ok(bytesOf(t).equals(bytesOf(u)), `${what} ${k}: bytes differ`);
  }
}

for (const name of ['tokenizer_state_dict', 'gpt_state_dict', 'dinov2_state_dict']) {
  test(`${name}: the pkl equals its safetensors twin bit for bit, in the saved key order`, { skip: skipUnless(`${name}.pkl`, `${name}.safetensors`) }, () => {
    torch.scope(() => {
      const pkl = ser.loadStateDict(join(FIX, `${name}.pkl`));
      const sft = ser.loadStateDict(join(FIX, `${name}.safetensors`));
      assertSameTensors(pkl, sft, name);
      assert.deepEqual([...pkl.keys()], Object.keys(fixtures.files[name]), `${name} key order`);
      const raw = ser.torchLoad(join(FIX, `${name}.pkl`));
      assert.ok(raw instanceof Map);
    });
  });
}

test('_orig_mod checkpoints equal the plain ones after key rewriting', () => {
  for (const name of ['tokenizer_state_dict', 'gpt_state_dict']) {
    torch.scope(() => {
      const plain = ser.loadStateDict(join(FIX, `${name}.pkl`));
      const wrapped = ser.loadStateDict(join(FIX, `${name}_orig_mod.pkl`));
      assert.ok([...wrapped.keys()].some((k) => k.includes('_orig_mod.')));
      const fixed = ser.removeSegment(wrapped, '_orig_mod.');
      assert.deepEqual([...fixed.keys()], [...plain.keys()], `${name} order after rewrite`);
      assertSameTensors(fixed, plain, name);
      assert.deepEqual([...ser.normalizeWrappedKeys(wrapped).keys()], [...plain.keys()]);
    });
  }
});

test('key helpers: prefixes, segments, regex renames, collisions', () => {
  const sd = new Map([
    ['module.a.weight', 1],
    ['module.b._orig_mod.bias', 2],
    ['c', 3],
  ]);
  assert.deepEqual([...ser.stripPrefix(sd, 'module.').keys()], ['a.weight', 'b._orig_mod.bias', 'c']);
  assert.deepEqual([...ser.removeSegment(sd, '_orig_mod.').keys()], ['module.a.weight', 'module.b.bias', 'c']);
  assert.deepEqual([...ser.renameKeys(sd, /^module\.(\w)/, 'net.$1').keys()], ['net.a.weight', 'net.b._orig_mod.bias', 'c']);
  assert.deepEqual([...ser.addPrefix({ x: 1 }, 'p.')], [['p.x', 1]]);
  assert.deepEqual(
    [...ser.normalizeWrappedKeys(sd)],
    [
      ['a.weight', 1],
      ['b.bias', 2],
      ['c', 3],
    ],
  );
  assert.throws(
    () =>
      ser.stripPrefix(
        new Map([
          ['m.x', 1],
          ['x', 2],
        ]),
        'm.',
      ),
    /maps both "m\.x" and "x" to "x"/,
  );
});

test('torch-save round trip: every dtype, views, shared storage, nested values', () => {
  torch.scope(() => {
    const base = torch.arange(24, { dtype: 'float32' }).reshape(4, 6);
    const tensors: Record<string, torch.Tensor> = {};
    for (const dtype of torch.dtypes) tensors[dtype] = dtype === 'bool' ? torch.randn(3, 4).gt(0) : torch.randn(3, 4).mul(50).to(dtype);
    const sd = new Map<string, unknown>([
      ['base', base],
      ['transposed', base.t()],
      ['row2', base.select(0, 2)],
      ['cols', base.slice(1, 1, 5, 2)],
      ['scalar', torch.tensor(7.5)],
      ['empty', torch.zeros(0, 3)],
      ['grad', torch.ones(2).requiresGrad_(true)],
    ]);
    Object.defineProperty(sd, '_metadata', { value: new Map([['', new Map([['version', 1]])]]), enumerable: true });
    const obj = {
      state_dict: sd,
      dtypes: tensors,
      nested: [1, -1, 300, 70000, -3_000_000_000, 2 ** 53 - 1, 2n ** 80n, -(2n ** 70n), 2.5, -0, NaN, Infinity, 'héllo', '', true, false, null, [[]], {}],
      bytes: Buffer.from([0, 255, 1]),
      set: new Set([1, 'a']),
      complex: new PyComplex(1, -2),
      again: base,
    };
    const buf = ser.saveToBuffer(obj);
    const back = ser.torchLoadBuffer(buf);
    assert.ok(back instanceof Map);
    const bsd = back.get('state_dict') as Map<string, torch.Tensor>;
    assert.deepEqual([...bsd.keys()], [...sd.keys()]);
    for (const [k, t] of sd as Map<string, torch.Tensor>) {
      const u = bsd.get(k)!;
      assert.deepEqual(u.shape, t.shape, k);
      assert.deepEqual(u.stride(), t.stride(), k);
      assert.ok(bytesOf(u).equals(bytesOf(t)), k);
    }
    assert.equal(bsd.get('grad')!.requiresGrad, true);
    assert.equal(bsd.get('base')!.requiresGrad, false);
    assert.deepEqual((bsd as any)._metadata, new Map([['', new Map([['version', 1]])]]));
    // Views share memory with their base again.
    const b2 = bsd.get('base')!;
    for (const k of ['transposed', 'row2', 'cols']) assert.ok(native.sameStorage(b2._h, bsd.get(k)!._h), k);
    assert.equal(bsd.get('row2')!.storageOffset(), 12);
    b2.fill_(1);
    assert.deepEqual(bsd.get('row2')!.tolist(), [1, 1, 1, 1, 1, 1]);
    assert.equal(back.get('again'), b2, 'the same tensor object twice stays one object');
    const bd = back.get('dtypes') as Map<string, torch.Tensor>;
    for (const dtype of torch.dtypes) {
      assert.equal(bd.get(dtype)!.dtype, dtype);
      assert.ok(bytesOf(bd.get(dtype)!).equals(bytesOf(tensors[dtype])), dtype);
    }
    assert.deepEqual(back.get('nested'), [
      1,
      -1,
      300,
      70000,
      -3_000_000_000,
      2 ** 53 - 1,
      2n ** 80n,
      -(2n ** 70n),
      2.5,
      -0,
      NaN,
      Infinity,
      'héllo',
      '',
      true,
      false,
      null,
      [[]],
      new Map(),
    ]);
    assert.ok(Object.is((back.get('nested') as number[])[9], -0));
    assert.deepEqual(back.get('bytes'), Buffer.from([0, 255, 1]));
    assert.deepEqual(back.get('set'), new Set([1, 'a']));
    assert.deepEqual(back.get('complex'), new PyComplex(1, -2));
  });
});

test('torch-save writes the PyTorch layout, atomically, with 64-byte aligned storages', { skip: skipUnless('dinov2_state_dict.pkl') }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'ts-'));
  try {
    torch.scope(() => {
      const path = join(dir, 'model.pt');
      const sd = ser.loadStateDict(join(FIX, 'dinov2_state_dict.pkl'));
      ser.save(sd, path);
      assert.deepEqual(readdirSync(dir), ['model.pt']);
      const zip = new ZipReader(bufferSource(readFileSync(path), path));
      const names = zip.names();
      assert.deepEqual(names.slice(0, 4), ['model/data.pkl', 'model/.format_version', 'model/.storage_alignment', 'model/byteorder']);
      assert.deepEqual(names.slice(-2), ['model/version', 'model/.data/serialization_id']);
      assert.equal(zip.read('model/byteorder').toString(), 'little');
      assert.equal(zip.read('model/version').toString(), '3\n');
      for (const e of zip.entries) if (e.name.includes('/data/')) assert.equal(zip.dataOffset(e) % 64, 0, e.name);
      const pkl = zip.read('model/data.pkl').toString('latin1');
      assert.ok(pkl.startsWith('\x80\x02ccollections\nOrderedDict\n'));
      assert.ok(pkl.includes('ctorch._utils\n_rebuild_tensor_v2\n') && pkl.includes('ctorch\nFloatStorage\n'));
      assertSameTensors(ser.loadStateDict(path), sd, 'dinov2 re-saved');
      assert.deepEqual([...ser.loadStateDict(path).keys()], [...sd.keys()]);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('formats are detected by content, with clear errors for the unsupported ones', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fmt-'));
  try {
    torch.scope(() => {
      // A .pkl name holding safetensors and a .safetensors name holding a zip both load.
      const a = join(dir, 'really-safetensors.pkl');
      writeFileSync(a, ser.safetensors.save({ w: torch.ones(2) }));
      assert.deepEqual(ser.load(a).get('w').tolist(), [1, 1]);
      assert.throws(() => ser.torchLoad(a), /this is a safetensors file/);
      const b = join(dir, 'really-zip.safetensors');
      writeFileSync(b, ser.saveToBuffer(new Map([['w', torch.ones(3)]])));
      assert.deepEqual(ser.load(b).get('w').tolist(), [1, 1, 1]);
      const legacy = join(dir, 'legacy.pt');
      writeFileSync(legacy, Buffer.from('80028a0a6cfc9c46f9206aa850194e2e', 'hex'));
      assert.throws(
        () => ser.load(legacy),
        (e: any) => e instanceof CheckpointError && e.message.startsWith(legacy) && /legacy \(non-zip\) torch\.save format .* not supported/.test(e.message),
      );
      const bare = join(dir, 'bare.pkl');
      writeFileSync(bare, Buffer.from('80027d712e', 'hex'));
      assert.throws(() => ser.load(bare), /a bare pickle, not a torch\.save checkpoint/);
      const junk = join(dir, 'junk.bin');
      writeFileSync(junk, 'hello world, not a checkpoint');
      assert.throws(() => ser.load(junk), /unknown format/);
      assert.throws(() => ser.load(join(dir, 'missing.pt')), /missing\.pt: cannot open/);
      const notsd = join(dir, 'list.pt');
      ser.save([torch.ones(1)], notsd);
      assert.throws(() => ser.loadStateDict(notsd), /not a state dict: the checkpoint holds a list/);
      const nested = join(dir, 'nested.pt');
      ser.save(new Map([['model', new Map([['w', torch.ones(1)]])]]), nested);
      assert.throws(() => ser.loadStateDict(nested), /nested\.pt \["model"\]: not a flat state dict: value is a dict/);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('mapLocation moves tensors; the saved location is ignored by default', () => {
  torch.scope(() => {
    const sd = ser.torchLoad(join(FIX, 'gpt_state_dict.pkl'), {
      mapLocation: (loc) => {
        assert.equal(loc, 'cpu');
        return 'cpu';
      },
    });
    for (const t of sd.values()) assert.equal(t.device, 'cpu');
  });
});

test('zip: deflate entries, zip64 records, truncation and corruption errors', () => {
  const payload = Buffer.from('hello '.repeat(1000));
  for (const forceZip64 of [false, true]) {
    const buf = zipToBuffer(
      [
        { name: 'a/x.txt', data: payload, deflate: true },
        { name: 'a/y.bin', data: () => Buffer.from([1, 2, 3]) },
        { name: 'a/empty', data: new Uint8Array(0) },
      ],
      { forceZip64 },
    );
    const z = new ZipReader(bufferSource(buf, 'test.zip'));
    assert.deepEqual(z.names(), ['a/x.txt', 'a/y.bin', 'a/empty']);
    assert.equal(z.entries[0].method, 8);
    assert.ok(z.entries[0].compressedSize < payload.length);
    assert.ok(z.read('a/x.txt').equals(payload));
    assert.deepEqual([...z.read('a/y.bin')], [1, 2, 3]);
    assert.equal(z.read('a/empty').length, 0);
    assert.equal(z.dataOffset(z.entries[1]) % 64, 0);
    assert.throws(() => z.read('nope'), /test\.zip: no entry "nope"/);
    // Truncated anywhere: a clean error.
    for (const cut of [0, 10, 100, buf.length - 30, buf.length - 1])
      assert.throws(() => {
        const r = new ZipReader(bufferSource(buf.subarray(0, cut), 'cut.zip'));
        for (const n of r.names()) r.read(n);
      }, CheckpointError);
    // A flipped data byte: CRC mismatch (or corrupt deflate), naming the entry.
    const bad = Buffer.from(buf);
    bad[new ZipReader(bufferSource(buf)).dataOffset(z.entries[1])] ^= 0xff;
    assert.throws(() => new ZipReader(bufferSource(bad, 'bad.zip')).read('a/y.bin'), /bad\.zip: zip entry "a\/y\.bin": CRC-32 mismatch/);
    assert.deepEqual([...new ZipReader(bufferSource(bad), { checkCrc: false }).read('a/y.bin')], [0xfe, 2, 3]);
  }
  assert.throws(() => new ZipReader(bufferSource(Buffer.alloc(100), 'zeros.zip')), /zeros\.zip: no end of central directory record/);
});

test('unpickler: protocols 0, 2, 4, 5 of Python values; unknown classes stay inert', () => {
  const pickles = JSON.parse(readFileSync(join(LOCAL_FIXTURES, 'pickles.json'), 'utf8'));
  for (const proto of [0, 2, 4, 5]) {
    const o = unpickle(Buffer.from(pickles[`protocol${proto}`], 'hex'), { name: `p${proto}` }) as Map<unknown, any>;
    const what = `protocol ${proto}`;
    assert.ok(o instanceof Map, what);
    assert.deepEqual(o.get('i'), [0, 255, 256, 65535, 65536, -1, -(2 ** 31), 2 ** 31, 2n ** 70n, -(2n ** 70n)], what);
    assert.deepEqual(o.get('f'), [2.5, -0, Infinity], what);
    assert.ok(Object.is(o.get('f')[1], -0), what);
    assert.deepEqual(o.get('s'), ['', 'héllo', 'x'.repeat(300)], what);
    assert.deepEqual(o.get('b'), Buffer.from([0, 255, 0x61, 0x62]), what);
    assert.equal(o.get('n'), null);
    assert.equal(o.get('t'), true);
    assert.equal(o.get('F'), false);
    assert.deepEqual(o.get('tup'), [1, [2, 3], [4, 5, 6], [7, 8, 9, 10], []], what);
    assert.deepEqual(o.get('set'), new Set([1, 2]), what);
    assert.deepEqual(o.get('fz'), new Set([3]), what);
    assert.deepEqual(o.get('c'), new PyComplex(1, 2), what);
    assert.deepEqual(
      [...o.get('od')],
      [
        ['z', 1],
        ['a', 2],
      ],
      what,
    );
    assert.deepEqual(o.get('ba'), Buffer.from('hi'), what);
    assert.equal(o.get(1), 'intkey', what);
    const [l1, l2] = o.get('shared');
    assert.equal(l1, l2, `${what}: memo keeps shared objects shared`);
    const ns = o.get('ns');
    assert.ok(ns instanceof PyObject && ns.__class__ === 'argparse.Namespace', what);
    assert.deepEqual(
      ns.state,
      new Map<string, unknown>([
        ['lr', 0.1],
        ['name', 'run'],
      ]),
      what,
    );
    const evil = o.get('evil');
    assert.ok(evil instanceof PyObject, what);
    assert.match(evil.__class__, /^(posix|os)\.system$/, what);
    assert.deepEqual(evil.args, ['echo PWNED']);
  }
});

test('unpickler errors are clean and name the offset', () => {
  const cases: [string, RegExp][] = [
    ['', /at byte 0: truncated: the pickle ends without STOP/],
    ['8002', /truncated: the pickle ends without STOP/],
    ['80025d71', /truncated: needs 1 more bytes/],
    ['8002682a2e', /memo entry 42 is missing/],
    ['80022e', /STOP with an empty stack/],
    ['8002ff', /unsupported or invalid opcode/],
    ['800265', /no MARK on the stack/],
    ['8002584000000061', /truncated: needs 64 more bytes/],
    ['8002ac', /unsupported or invalid opcode/],
    ['80024b01513f', /persistent id found but no persistent_load handler/],
    ['80024b014b0252', /arguments must be a tuple, got a number/],
    ['80024b012952', /a number is not callable/],
  ];
  for (const [hex, re] of cases) {
    assert.throws(
      () => unpickle(Buffer.from(hex, 'hex'), { name: 'x.pkl' }),
      (e: any) => e instanceof CheckpointError && /^x\.pkl: pickle opcode/.test(e.message) && re.test(e.message),
      hex,
    );
  }
});

test('newer storage forms: UntypedStorage + _rebuild_tensor_v3, parameters, devices, any archive prefix', () => {
  /** Writes raw pickle ops where it appears in the object. */
  class Raw {
    constructor(readonly write: (p: ser.Pickler) => void) {}
  }
  const g = (module: string, name: string) => new Raw((p) => p.global(module, name));
  const orderedDict = new Raw((p) => {
    p.global('collections', 'OrderedDict');
    p.op(0x29);
    p.op(0x52);
  });
  const tensorV2 = (key: string, cls: string, numel: number, offset: number, size: number[], stride: number[]) =>
    new Raw((p) => {
      p.global('torch._utils', '_rebuild_tensor_v2');
      p.tuple([
        new Raw((q) => q.persistentId(['storage', g('torch', cls), key, 'cuda:0', numel])),
        offset,
        new Raw((q) => q.tuple(size)),
        new Raw((q) => q.tuple(stride)),
        false,
        orderedDict,
      ]);
      p.op(0x52);
    });
  const v3 = new Raw((p) => {
    p.global('torch._utils', '_rebuild_tensor_v3');
    p.tuple([
      new Raw((q) => q.persistentId(['storage', g('torch.storage', 'UntypedStorage'), '0', 'cpu', 8])),
      0,
      new Raw((q) => q.tuple([2])),
      new Raw((q) => q.tuple([1])),
      false,
      orderedDict,
      g('torch', 'float32'),
    ]);
    p.op(0x52);
  });
  const param = new Raw((p) => {
    p.global('torch._utils', '_rebuild_parameter');
    p.tuple([tensorV2('1', 'DoubleStorage', 3, 1, [2], [1]), true, orderedDict]);
    p.op(0x52);
  });
  const fromType = new Raw((p) => {
    p.global('torch._tensor', '_rebuild_from_type_v2');
    p.tuple([
      g('torch._utils', '_rebuild_tensor_v2'),
      g('torch.nn.parameter', 'Parameter'),
      new Raw((q) =>
        q.tuple([
          new Raw((r) => r.persistentId(['storage', g('torch', 'HalfStorage'), '2', 'cpu', 2])),
          0,
          new Raw((r) => r.tuple([2])),
          new Raw((r) => r.tuple([1])),
          false,
          orderedDict,
        ]),
      ),
      new Map(),
    ]);
    p.op(0x52);
  });
  const device = new Raw((p) => {
    p.global('torch', 'device');
    p.tuple(['cuda', 1]);
    p.op(0x52);
  });
  const size = new Raw((p) => {
    p.global('torch', 'Size');
    p.tuple([[2, 3]]);
    p.op(0x52);
  });
  const pickler = new ser.Pickler((p, x) => (x instanceof Raw ? (x.write(p), true) : false));
  const pkl = pickler.dump(
    new Map<string, unknown>([
      ['v3', v3],
      ['param', param],
      ['half', fromType],
      ['dev', device],
      ['size', size],
    ]),
  );
  const half = Buffer.alloc(4);
  half.writeUInt16LE(0x3c00, 0);
  half.writeUInt16LE(0xc000, 2); // 1, -2 in float16
  const buf = zipToBuffer([
    { name: 'my ckpt/data.pkl', data: pkl },
    { name: 'my ckpt/data/0', data: Buffer.from(new Float32Array([1.5, -2]).buffer) },
    { name: 'my ckpt/data/1', data: Buffer.from(new Float64Array([7, 8, 9]).buffer) },
    { name: 'my ckpt/data/2', data: half },
  ]);
  torch.scope(() => {
    const o = ser.torchLoadBuffer(buf) as Map<string, any>;
    assert.equal(o.get('v3').dtype, 'float32');
    assert.deepEqual(o.get('v3').tolist(), [1.5, -2]);
    assert.deepEqual(o.get('param').tolist(), [8, 9]);
    assert.equal(o.get('param').dtype, 'float64');
    assert.equal(o.get('param').requiresGrad, true);
    assert.equal(o.get('param').device, 'cpu', "the saved location 'cuda:0' is ignored");
    assert.equal(o.get('half').dtype, 'float16');
    assert.deepEqual(o.get('half').tolist(), [1, -2]);
    assert.equal(o.get('dev'), 'cuda:1');
    assert.deepEqual(o.get('size'), [2, 3]);
    // A storage too small for its tensor: a clean error naming the entry.
    const bad = zipToBuffer([
      { name: 'a/data.pkl', data: pickler.dump(new Map([['w', tensorV2('0', 'FloatStorage', 2, 1, [2], [1])]])) },
      { name: 'a/data/0', data: Buffer.alloc(8) },
    ]);
    assert.throws(
      () => ser.torchLoadBuffer(bad, { name: 'bad.pt' }),
      /bad\.pt \["a\/data\/0"\]: tensor of size \[2\], stride \[1\] at offset 1 reaches element 2 but the storage has 2/,
    );
    const missing = zipToBuffer([{ name: 'a/data.pkl', data: pickler.dump(new Map([['w', tensorV2('5', 'FloatStorage', 2, 0, [2], [1])]])) }]);
    assert.throws(() => ser.torchLoadBuffer(missing, { name: 'm.pt' }), /m\.pt \["a\/data\/5"\]: storage "5" is missing from the archive/);
  });
});
