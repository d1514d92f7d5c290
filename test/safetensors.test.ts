// safetensors: the upstream fixture files (dtypes, shapes, `tapes` metadata), round trips of every
// dtype, header validation errors, atomic writes and sharded checkpoints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../lib/torch.js';
import { native } from '../lib/core/native.js';
import * as st from '../lib/serialization/safetensors.js';
import { bufferSource } from '../lib/serialization/source.js';
import { CheckpointError, writeFileAtomic } from '../lib/serialization/index.js';
import { UPSTREAM_FIXTURES } from './fixture-paths.js';
import { fixtureCases, hasCase, skipUnless } from './parity.js';

const FIX = UPSTREAM_FIXTURES;
const fixtures = JSON.parse(readFileSync(join(FIX, 'fixtures.json'), 'utf8'));
const bytesOf = (t: torch.Tensor) => Buffer.from(native.toBuffer(t._h));

function sample(dtype: torch.DType, shape: number[]): torch.Tensor {
  if (dtype === 'bool') return torch.randn(shape).gt(0);
  if (dtype === 'uint8') return torch.randint(0, 256, shape, { dtype });
  if (dtype.startsWith('int')) return torch.randint(-100, 100, shape, { dtype });
  return torch.randn(shape).to(dtype);
}

/** A safetensors file from a header object and data bytes. */
function rawFile(header: unknown, data: Buffer = Buffer.alloc(0)): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const n = Buffer.alloc(8);
  n.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([n, json, data]);
}

test('the upstream case files load with their dtypes, shapes and tapes metadata', () => {
  // the set's case list (fixtures.json `cases`, else its case* files): every listed file is there
  const cases = fixtureCases().map((c) => `${c}.safetensors`);
  assert.ok(cases.length > 0, 'the fixture set lists no case');
  assert.deepEqual(
    cases.filter((f) => !readdirSync(FIX).includes(f)),
    [],
    'listed case files missing from the folder',
  );
  for (const f of cases) {
    torch.scope(() => {
      const name = f.replace('.safetensors', '');
      const { tensors, metadata } = st.loadFileWithMetadata(join(FIX, f));
      const want = fixtures.files[name];
      assert.deepEqual(new Set(tensors.keys()), new Set(Object.keys(want)), name);
      for (const [k, t] of tensors) {
        assert.equal(t.dtype, want[k].dtype, `${name} ${k}`);
        assert.deepEqual(t.shape, want[k].shape, `${name} ${k}`);
      }
      assert.ok(metadata && typeof metadata.tapes === 'string', `${name} has tapes metadata`);
      assert.deepEqual(JSON.parse(metadata!.tapes), fixtures.tapes[name], `${name} tapes`);
    });
  }
  if (hasCase('case3_diffusion')) {
    const { tensors } = st.loadFileWithMetadata(join(FIX, 'case3_diffusion.safetensors'));
    const dtypes = new Set([...tensors.values()].map((t) => t.dtype));
    assert.deepEqual([...dtypes].sort(), ['float32', 'float64', 'int64']);
    torch.dispose([...tensors.values()]);
  }
});

for (const name of ['tokenizer_state_dict', 'gpt_state_dict', 'dinov2_state_dict']) {
  test(`state dict file ${name}.safetensors: names, shapes, float32`, { skip: skipUnless(`${name}.safetensors`) }, () => {
    torch.scope(() => {
      const sd = st.loadFile(join(FIX, `${name}.safetensors`));
      const want = fixtures.files[name];
      assert.equal(sd.size, Object.keys(want).length, name);
      for (const [k, t] of sd) assert.deepEqual(t.shape, want[k].shape, `${name} ${k}`);
      assert.deepEqual(
        st.readHeader(join(FIX, `${name}.safetensors`)).entries.map((e) => e.name),
        [...sd.keys()],
      );
    });
  });
}

test('every dtype round-trips bit for bit; order and metadata are kept; data stays aligned', () => {
  torch.scope(() => {
    const src = new Map<string, torch.Tensor>();
    for (const dtype of torch.dtypes) {
      src.set(`z.${dtype}`, sample(dtype, [3, 5]));
      src.set(`a.${dtype}.scalar`, sample(dtype, []));
      src.set(`m.${dtype}.empty`, sample(dtype, [0, 4]));
    }
    const meta = { tapes: JSON.stringify({ x: 1 }), note: 'héllo' };
    const buf = st.save(src, meta);
    const { tensors, metadata } = st.loadWithMetadata(buf);
    assert.deepEqual(metadata, meta);
    assert.equal(tensors.size, src.size);
    for (const [k, t] of src) {
      const u = tensors.get(k)!;
      assert.equal(u.dtype, t.dtype, k);
      assert.deepEqual(u.shape, t.shape, k);
      assert.ok(bytesOf(u).equals(bytesOf(t)), k);
    }
    const header = st.parseHeader(bufferSource(buf));
    const isz: Record<string, number> = { float64: 8, int64: 8, float32: 4, int32: 4, float16: 2, bfloat16: 2, int16: 2, int8: 1, uint8: 1, bool: 1 };
    for (const e of header.entries) assert.equal((header.dataStart + e.begin) % isz[e.dtype], 0, e.name);
    assert.equal(header.dataStart % 8, 0);
    // Same element size: the caller's order is kept exactly.
    const ordered = new Map([
      ['zeta', torch.ones(2)],
      ['alpha', torch.zeros(3)],
      ['mid', torch.ones(1)],
    ]);
    assert.deepEqual([...st.load(st.save(ordered)).keys()], ['zeta', 'alpha', 'mid']);
    // Records are accepted too; non-contiguous tensors are written as their values.
    const base = torch.arange(12, { dtype: 'float32' }).reshape(3, 4);
    const back = st.load(st.save({ t: base.t() }));
    assert.deepEqual(back.get('t')!.tolist(), base.t().tolist());
  });
});

test('saveFile is atomic: no temp files left, a failed write keeps the old file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'st-'));
  try {
    const path = join(dir, 'm.safetensors');
    torch.scope(() => {
      st.saveFile({ w: torch.ones(2, 2) }, path, { k: 'v' });
      st.saveFile({ w: torch.full([2, 2], 3) }, path); // overwrite
      assert.deepEqual(st.loadFile(path).get('w')!.tolist(), [
        [3, 3],
        [3, 3],
      ]);
      const before = readFileSync(path);
      function* failing() {
        yield Buffer.from('partial');
        throw new Error('disk on fire');
      }
      assert.throws(() => writeFileAtomic(path, failing()), /disk on fire/);
      assert.ok(readFileSync(path).equals(before));
      assert.throws(
        () => st.saveFile({ w: 3 as any }, path),
        (e: any) => e instanceof CheckpointError && /not a Tensor/.test(e.message) && /"w"/.test(e.message),
      );
      assert.deepEqual(readdirSync(dir), ['m.safetensors']);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('header validation names the file, the key and the problem', () => {
  const f32 = Buffer.alloc(8);
  const cases: [Buffer, RegExp][] = [
    [Buffer.alloc(4), /not a safetensors file: 4 bytes/],
    [Buffer.concat([Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{}')]), /header length 255 runs past the end/],
    [rawFile('x').subarray(0, 8 + 3), /not valid JSON|not a JSON object/],
    [Buffer.concat([Buffer.from([5, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{"a":')]), /not valid JSON/],
    [rawFile([1, 2]), /not a JSON object/],
    [rawFile({ w: { dtype: 'F33', shape: [2], data_offsets: [0, 8] } }, f32), /\["w"\]: unknown dtype "F33"/],
    [rawFile({ w: { dtype: 'U16', shape: [4], data_offsets: [0, 8] } }, f32), /\["w"\]: dtype U16 is not supported/],
    [rawFile({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, f32), /\["w"\]: shape \[3\] of F32 needs 12 bytes but data_offsets \[0, 8\] hold 8/],
    [rawFile({ w: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, f32), /\["w"\]: shape \[-2\] is not a list/],
    [rawFile({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, f32), /\["w"\]: data_offsets \[0, 16\] run past the end of the data \(8 bytes\)/],
    [rawFile({ w: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, f32), /end before they begin/],
    [rawFile({ w: { dtype: 'F32', shape: [1], data_offsets: [0] } }, f32), /data_offsets \[0\] is not \[begin, end\]/],
    [
      rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32),
      /\["b"\]: data_offsets \[4, 8\] overlap those of "a"/,
    ],
    [rawFile({ __metadata__: { k: 1 } }), /__metadata__ value of "k" is number/],
    [rawFile({ w: 'x' }), /\["w"\]: entry is not an object/],
  ];
  for (const [buf, re] of cases) {
    assert.throws(
      () => st.load(buf, { name: 'bad.safetensors' }),
      (e: any) => {
        assert.ok(e instanceof CheckpointError, `${e}`);
        assert.match(e.message, /^bad\.safetensors/);
        assert.match(e.message, re);
        return true;
      },
    );
  }
  // A truncated real file.
  const real = readFileSync(join(FIX, `${fixtureCases()[0]}.safetensors`));
  assert.throws(
    () => st.load(real.subarray(0, real.length - 10), { name: 'cut.safetensors' }),
    /cut\.safetensors \[".*"\]: data_offsets .* run past the end of the data/,
  );
  // Gaps between tensors are allowed.
  torch.scope(() => {
    const gap = rawFile({ w: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, Buffer.from(new Float32Array([9, 7]).buffer));
    assert.deepEqual(st.load(gap).get('w')!.tolist(), [7]);
  });
});

test('sharded checkpoints load through the index in weight_map order', () => {
  const dir = mkdtempSync(join(tmpdir(), 'st-shard-'));
  try {
    torch.scope(() => {
      const a = torch.randn(3, 2),
        b = torch.arange(4),
        c = torch.randn(5);
      st.saveFile({ a, c }, join(dir, 'model-00001-of-00002.safetensors'));
      st.saveFile({ b }, join(dir, 'model-00002-of-00002.safetensors'));
      const index = {
        metadata: { total_size: 100 },
        weight_map: { c: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors', a: 'model-00001-of-00002.safetensors' },
      };
      writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify(index));
      const { tensors, metadata } = st.loadFileWithMetadata(join(dir, 'model.safetensors.index.json'));
      assert.deepEqual([...tensors.keys()], ['c', 'b', 'a']);
      assert.ok(bytesOf(tensors.get('a')!).equals(bytesOf(a)));
      assert.deepEqual(tensors.get('b')!.tolist(), [0, 1, 2, 3]);
      assert.deepEqual(metadata, { total_size: '100' });
      writeFileSync(join(dir, 'bad.safetensors.index.json'), JSON.stringify({ weight_map: { d: 'model-00002-of-00002.safetensors' } }));
      assert.throws(
        () => st.loadFile(join(dir, 'bad.safetensors.index.json')),
        /model-00002-of-00002\.safetensors \["d"\]: the index .* places this tensor here but the shard has no such tensor/,
      );
      writeFileSync(join(dir, 'nomap.safetensors.index.json'), '{}');
      assert.throws(() => st.loadFile(join(dir, 'nomap.safetensors.index.json')), /no weight_map/);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
