// Fuzzing the checkpoint readers: thousands of truncated and randomly mutated copies of small
// pickle-zip and safetensors files (seeded, deterministic) must each load or fail with a
// CheckpointError, never crash, hang or throw anything else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../lib/torch.js';
import * as ser from '../lib/serialization/index.js';
import { CheckpointError, ZipReader } from '../lib/serialization/index.js';
import { bufferSource } from '../lib/serialization/source.js';
import { UPSTREAM_FIXTURES } from './fixture-paths.js';
import { fixtureCases, hasFile } from './parity.js';
import { rng as uniformRng } from './gradcheck-helpers.js';

const FIX = UPSTREAM_FIXTURES;

/** Seeded uniform numbers in [0, 1) (mulberry32). */
const rng = (seed: number) => uniformRng(seed, 0, 1);

/** A mutated copy: bytes flipped or set to edge values (mostly inside [lo, hi)), a byte inserted or removed, or a cut. */
function mutate(src: Buffer, r: () => number, lo = 0, hi = src.length): Buffer {
  const pick = () => (r() < 0.8 ? lo + Math.floor(r() * (hi - lo)) : Math.floor(r() * src.length));
  const kind = r();
  if (kind < 0.15) return Buffer.from(src.subarray(0, Math.floor(r() * src.length)));
  if (kind < 0.25) {
    const i = pick();
    return Buffer.concat([src.subarray(0, i), Buffer.from([Math.floor(r() * 256)]), src.subarray(i)]);
  }
  if (kind < 0.35) {
    const i = pick();
    return Buffer.concat([src.subarray(0, i), src.subarray(i + 1)]);
  }
  const out = Buffer.from(src);
  const edges = [0x00, 0xff, 0x7f, 0x80, 0x01, 0x28, 0x2e, 0x71, 0x52];
  const n = 1 + Math.floor(r() * 4);
  for (let k = 0; k < n; k++) {
    const i = pick();
    out[i] = r() < 0.5 ? out[i] ^ (1 << Math.floor(r() * 8)) : edges[Math.floor(r() * edges.length)];
  }
  return out;
}

interface Tally {
  ok: number;
  failed: number;
  worstMs: number;
}

/** Runs one reader on one input: success or CheckpointError; anything else fails the test. */
function attempt(t: Tally, what: string, fn: () => unknown): void {
  const t0 = performance.now();
  torch.scope(() => {
    try {
      fn();
      t.ok++;
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw new Error(`${what}: ${(e as Error)?.stack ?? e}`);
      assert.ok(e.message.length > 0 && e.message.length < 2000, what);
      t.failed++;
    }
  });
  t.worstMs = Math.max(t.worstMs, performance.now() - t0);
}

/** Both readers and the dispatcher on one input. */
function allReaders(t: Tally, buf: Buffer, what: string, checkCrc = true): void {
  attempt(t, `${what} torchLoadBuffer`, () => ser.torchLoadBuffer(buf, { checkCrc, name: what }));
  attempt(t, `${what} safetensors.load`, () => ser.safetensors.load(buf, { name: what }));
  attempt(t, `${what} loadBuffer`, () => ser.loadBuffer(buf, { checkCrc, name: what }));
}

function smallPkl(): Buffer {
  return torch.scope(() => {
    const base = torch.arange(12, { dtype: 'float32' }).reshape(3, 4);
    const sd = new Map<string, unknown>([
      ['w', base],
      ['wt', base.t()],
      ['row', base.select(0, 1)],
      ['h', torch.ones(2, 2, { dtype: 'bfloat16' })],
      ['i', torch.arange(3)],
      ['m', torch.tensor([true, false])],
    ]);
    Object.defineProperty(sd, '_metadata', { value: new Map([['', new Map([['version', 1]])]]), enumerable: true });
    return ser.saveToBuffer({ model: sd, step: 12, lr: 0.5, name: 'run', tags: ['a', 'b'], big: 2n ** 70n });
  });
}

function smallSafetensors(): Buffer {
  return torch.scope(() =>
    ser.safetensors.save(
      {
        a: torch.randn(2, 3),
        b: torch.arange(4),
        c: torch.ones(3, { dtype: 'uint8' }),
        d: torch.zeros(2, { dtype: 'float16' }),
      },
      { tapes: '{"rng.x": {"repeat": 1}}' },
    ),
  );
}

test('readers survive truncated and mutated checkpoints (seeded fuzz)', () => {
  const start = performance.now();
  const t: Tally = { ok: 0, failed: 0, worstMs: 0 };
  const r = rng(20250609);

  const pkl = smallPkl();
  const zip = new ZipReader(bufferSource(pkl));
  const pklEntry = zip.get(zip.names().find((n) => n.endsWith('/data.pkl'))!)!;
  const pklLo = zip.dataOffset(pklEntry),
    pklHi = pklLo + pklEntry.size;
  // Every truncation of the small zip.
  for (let n = 0; n < pkl.length; n += 3) attempt(t, `pkl cut ${n}`, () => ser.torchLoadBuffer(pkl.subarray(0, n)));
  // Mutations: pickle bytes (CRC off, so the unpickler sees them), then anywhere (CRC on).
  for (let i = 0; i < 1200; i++) allReaders(t, mutate(pkl, r, pklLo, pklHi), `pkl mutant ${i}`, false);
  for (let i = 0; i < 300; i++) allReaders(t, mutate(pkl, r, pklHi, pkl.length), `pkl tail mutant ${i}`, i % 2 === 0);

  const sft = smallSafetensors();
  const headerEnd = 8 + Number(sft.readBigUInt64LE(0));
  for (let n = 0; n < sft.length; n++) attempt(t, `safetensors cut ${n}`, () => ser.safetensors.load(sft.subarray(0, n)));
  for (let i = 0; i < 1200; i++) allReaders(t, mutate(sft, r, 0, headerEnd), `safetensors mutant ${i}`);

  // Real files written by PyTorch / the reference safetensors writer.
  // the smallest state dict of the set (dinov2's in the project's copy)
  const real = readFileSync(join(FIX, hasFile('dinov2_state_dict.pkl') ? 'dinov2_state_dict.pkl' : 'gpt_state_dict.pkl'));
  const rz = new ZipReader(bufferSource(real));
  const re = rz.get(rz.names().find((n) => n.endsWith('/data.pkl'))!)!;
  const rLo = rz.dataOffset(re);
  for (let i = 0; i < 150; i++) attempt(t, `real pkl mutant ${i}`, () => ser.torchLoadBuffer(mutate(real, r, rLo, rLo + re.size), { checkCrc: false }));
  for (let i = 0; i < 50; i++) attempt(t, `real pkl tail mutant ${i}`, () => ser.torchLoadBuffer(mutate(real, r, real.length - 5000, real.length)));
  const case2 = readFileSync(join(FIX, `${hasFile('case2_dit.safetensors') ? 'case2_dit' : fixtureCases()[0]}.safetensors`));
  const c2End = 8 + Number(case2.readBigUInt64LE(0));
  for (let i = 0; i < 300; i++) attempt(t, `real safetensors mutant ${i}`, () => ser.safetensors.load(mutate(case2, r, 0, c2End)));

  const seconds = (performance.now() - start) / 1000;
  console.log(`fuzz: ${t.ok} loaded, ${t.failed} clean errors, worst ${t.worstMs.toFixed(1)} ms, ${seconds.toFixed(1)} s`);
  assert.ok(t.ok > 100 && t.failed > 1000, `both outcomes occur: ${t.ok} ok, ${t.failed} failed`);
  assert.ok(t.worstMs < 2000, `slowest input took ${t.worstMs} ms`);
  assert.ok(seconds < 60, `fuzz took ${seconds} s`);
});
