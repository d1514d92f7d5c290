// .npy / .npz: files written by numpy (savez, savez_compressed, v2.0/v3.0 headers, big-endian and
// Fortran-order members; test/fixtures/numpy-npz, made with numpy 2.4.6 as its expected.json says),
// torch-fidelity's statistics file of the fidelity fixture set, round trips of every dtype in both
// member kinds, byte equality of our members with numpy.save's, and the errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../lib/torch.js';
import { loadNpz, saveNpz, npzToBuffer, npzKeys, npzHeaders } from '../lib/eval/fidelity/npz.js';
import { decodeNpy, encodeNpy } from '../lib/eval/fidelity/npy.js';
import { ZipReader, zipToBuffer } from '../lib/serialization/zip.js';
import { bufferSource } from '../lib/serialization/source.js';
import * as st from '../lib/serialization/safetensors.js';
import { CheckpointError } from '../lib/serialization/errors.js';
import { FIDELITY_FIXTURES, LOCAL_FIXTURES } from './fixture-paths.js';

const NPZ = join(LOCAL_FIXTURES, 'numpy-npz');
const expected: { arrays: Record<string, { descr: string; shape: number[]; fortran_order: boolean; values: (number | string | boolean)[] }> } = JSON.parse(
  readFileSync(join(NPZ, 'expected.json'), 'utf8'),
);
const dtypeOfDescr: Record<string, torch.DType> = {
  f2: 'float16',
  f4: 'float32',
  f8: 'float64',
  i4: 'int32',
  i8: 'int64',
  u1: 'uint8',
  b1: 'bool',
};
const flat = (t: torch.Tensor): (number | string | boolean)[] => {
  const v = Array.from(t.reshape(-1).toTypedArray() as ArrayLike<number | bigint>);
  if (t.dtype === 'int64') return v.map(String);
  if (t.dtype === 'bool') return v.map((x) => x === 1);
  return v.map(Number);
};
const diagonal = (t: torch.Tensor): torch.Tensor => torch.ops.aten.diagonal(t);
const run = (fn: () => void) => () => {
  const before = torch.memory().numTensors;
  torch.scope(fn);
  assert.equal(torch.memory().numTensors, before, 'tensors leaked');
};

for (const file of ['savez.npz', 'savez_compressed.npz', 'headers_v2_v3.npz']) {
  test(
    `numpy's ${file} loads with its dtypes, shapes and values`,
    run(() => {
      const m = loadNpz(join(NPZ, file));
      assert.ok(m.size >= 2);
      for (const [k, t] of m) {
        const e = expected.arrays[k];
        assert.ok(e, `unexpected key ${k}`);
        assert.equal(t.dtype, dtypeOfDescr[e.descr.slice(1)], `${k} dtype`);
        assert.deepEqual(t.shape, e.shape, `${k} shape`);
        assert.ok(t.isContiguous(), `${k} is C-contiguous`);
        assert.deepEqual(flat(t), e.values, `${k} values`);
      }
      const method = new ZipReader(bufferSource(readFileSync(join(NPZ, file)))).entries.map((e) => e.method);
      if (file === 'savez_compressed.npz')
        assert.ok(
          method.every((x) => x === 8),
          'deflate members',
        );
      if (file === 'savez.npz')
        assert.ok(
          method.every((x) => x === 0),
          'stored members',
        );
    }),
  );
}

test(
  'our .npy members are byte for byte what numpy.save writes (C-order little-endian arrays)',
  run(() => {
    const z = new ZipReader(bufferSource(readFileSync(join(NPZ, 'savez.npz'))));
    let n = 0;
    for (const e of z.entries) {
      const key = e.name.replace(/\.npy$/, '');
      const x = expected.arrays[key];
      if (x.fortran_order || x.descr.startsWith('>')) continue;
      const bytes = z.read(e.name);
      assert.ok(encodeNpy(decodeNpy(bytes, e.name)).equals(bytes), `${e.name} re-encoded differs`);
      n++;
    }
    assert.ok(n >= 8, `compared ${n} members`);
  }),
);

test(
  'save → load round trip of every numpy dtype, stored and deflated, in a file and in memory',
  run(() => {
    const dir = mkdtempSync(join(tmpdir(), 'npz-'));
    try {
      const arrays = new Map<string, torch.Tensor>([
        ['f32', torch.randn([3, 5])],
        ['f64', torch.randn([4], { dtype: 'float64' })],
        ['f16', torch.randn([2, 2]).half()],
        ['i64', torch.tensor([-(2 ** 53) + 1, 0, 2 ** 40], { dtype: 'int64' })],
        ['i32', torch.tensor([-5, 6], { dtype: 'int32' })],
        ['i16', torch.tensor([-5, 6], { dtype: 'int16' })],
        ['i8', torch.tensor([-5, 6], { dtype: 'int8' })],
        ['u8', torch.tensor([0, 200, 255], { dtype: 'uint8' })],
        ['b', torch.tensor([true, false])],
        ['scalar', torch.full([], -1.25, { dtype: 'float64' })],
        ['empty', torch.zeros([0, 7])],
        ['transposed', torch.arange(6, { dtype: 'float64' }).reshape(2, 3).t()],
      ]);
      for (const compress of [false, true]) {
        const path = join(dir, `a${compress}.npz`);
        saveNpz(path, arrays, { compress });
        assert.deepEqual(
          readdirSync(dir).filter((f) => f.endsWith('.tmp')),
          [],
          'no temporary file left',
        );
        for (const back of [loadNpz(path), loadNpz(npzToBuffer(arrays, { compress }))]) {
          assert.deepEqual([...back.keys()], [...arrays.keys()]);
          for (const [k, t] of arrays) {
            const b = back.get(k)!;
            assert.equal(b.dtype, t.dtype, k);
            assert.deepEqual(b.shape, t.shape, k);
            assert.deepEqual(flat(b), flat(t), k);
          }
        }
        const methods = new ZipReader(bufferSource(readFileSync(path))).entries.map((e) => e.method);
        assert.ok(
          methods.every((m) => m === (compress ? 8 : 0)),
          `members ${compress ? 'deflated' : 'stored'}: ${methods}`,
        );
        assert.deepEqual(npzKeys(path), [...arrays.keys()]);
        assert.equal(npzHeaders(path).get('f32')!.descr, '<f4');
        const only = loadNpz(path, { keys: ['u8'] });
        assert.deepEqual([...only.keys()], ['u8']);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }),
);

test(
  "torch-fidelity's stats_b.npz: mu is out.b.mu exactly, sigma symmetric and within the file's rounding of the exact sigma",
  run(() => {
    const fx = JSON.parse(readFileSync(join(FIDELITY_FIXTURES, 'fixtures.json'), 'utf8'));
    const sf = fx.case_metrics.stats_file;
    const m = loadNpz(join(FIDELITY_FIXTURES, sf.name));
    assert.deepEqual([...m.keys()].sort(), ['mu', 'sigma']);
    const mu = m.get('mu')!,
      sigma = m.get('sigma')!;
    assert.equal(mu.dtype, sf.mu_dtype);
    assert.equal(sigma.dtype, sf.sigma_dtype);
    assert.deepEqual(mu.shape, sf.mu_shape);
    assert.deepEqual(sigma.shape, sf.sigma_shape);
    const ref = st.loadFile(join(FIDELITY_FIXTURES, fx.case_metrics.file));
    assert.ok(torch.equal(mu, ref.get('out.b.mu')!), 'mu equals out.b.mu bit for bit');
    assert.ok(torch.equal(sigma, sigma.t()), 'sigma is exactly symmetric');
    // The file's sigma is the exact one rounded to a multiple of the grid (2^-18), so it moves by at
    // most half a grid step (the README's "max change").
    const half = sf.sigma_grid / 2;
    const dDiag = diagonal(sigma).sub(ref.get('out.b.sigma_diag')!).abs().max().item();
    const block = ref.get('out.b.sigma_block')!;
    const dBlock = sigma.narrow(0, 0, block.shape[0]).narrow(1, 0, block.shape[1]).sub(block).abs().max().item();
    assert.ok(dDiag <= half && dBlock <= half, `diag ${dDiag}, block ${dBlock} > ${half}`);
    assert.ok(dDiag > 0, 'the file is rounded, not the exact sigma');
    assert.ok(torch.ops.aten.frac(diagonal(sigma).div(sf.sigma_grid)).abs().max().item() === 0, 'diagonal on the grid');
  }),
);

test(
  'errors name the file, the member and what is wrong',
  run(() => {
    const good = npzToBuffer({ a: torch.ones([4]) });
    const npy = encodeNpy(torch.ones([4]));
    const zipOf = (name: string, data: Uint8Array) => zipToBuffer([{ name, data }], { align: 1 });
    const throwsLike = (fn: () => unknown, re: RegExp) => assert.throws(fn, (e: unknown) => e instanceof CheckpointError && re.test((e as Error).message));
    throwsLike(() => loadNpz(good, { keys: ['b'], name: 'x.npz' }), /x\.npz: no array "b" in the \.npz \(it holds "a"\)/);
    throwsLike(
      () => loadNpz(zipOf('a.npy', npy.subarray(0, npy.length - 1)), { name: 'x.npz' }),
      /x\.npz \["a\.npy"\].*needs 16 bytes of data but the \.npy holds 15: truncated/,
    );
    throwsLike(() => loadNpz(zipOf('a.npy', Buffer.from('hello world')), { name: 'x.npz' }), /x\.npz \["a\.npy"\].*magic/);
    const withDescr = (descr: string) => {
      const b = Buffer.from(npy);
      b.write(descr, b.indexOf("'<f4'"), 'latin1');
      return zipOf('a.npy', b);
    };
    throwsLike(() => loadNpz(withDescr("'|O8'")), /object arrays/);
    throwsLike(() => loadNpz(withDescr("'<c8'")), /numpy dtype "<c8" is not supported/);
    const badHeader = Buffer.from(npy);
    badHeader.write('[', 10, 'latin1');
    throwsLike(() => loadNpz(zipOf('a.npy', badHeader)), /cannot parse the \.npy header/);
    const v9 = Buffer.from(npy);
    v9[6] = 9;
    throwsLike(() => loadNpz(zipOf('a.npy', v9)), /version 9\.0 is not supported/);
    throwsLike(() => loadNpz(good.subarray(0, good.length - 30), { name: 't.npz' }), /t\.npz/);
    throwsLike(() => npzToBuffer({ w: torch.ones([2]).to('bfloat16') }), /\["w"\].*bfloat16 has no numpy equivalent/);
    throwsLike(() => npzToBuffer({ '': torch.ones([2]) }), /non-empty strings/);
  }),
);
