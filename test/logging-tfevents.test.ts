// TensorBoard event files: CRC32C vectors, records read back with an independent decoder (CRCs, file_version,
// tags/values/steps, PNG images), restarts writing new files, purge events, flushing on interval/exit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { tmpdir, hostname } from 'node:os';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import sharp from 'sharp';
import * as torch from '../lib/torch.js';
import { crc32c, maskCrc, maskedCrc32c } from '../lib/train/logging/crc32c.js';
import { EventWriter } from '../lib/train/logging/event-writer.js';
import { crc32cBitwise, maskBig, readRecords, readEventFile, scalarsOf, decodeEvent } from './logging-decoder.js';

const here = dirname(fileURLToPath(import.meta.url));
const tmp = () => mkdtempSync(join(tmpdir(), 'tfevents-'));
const f32 = (x: number) => Math.fround(x);

test('CRC32C("123456789") = 0xE3069283, masked 0xC78AB0E5 (writer and test decoder agree)', () => {
  const b = Buffer.from('123456789', 'ascii');
  assert.equal(crc32c(b), 0xe3069283);
  assert.equal(crc32cBitwise(b), 0xe3069283);
  assert.equal(maskBig(0xe3069283), 0xc78ab0e5);
  assert.equal(maskCrc(0xe3069283), 0xc78ab0e5);
  assert.equal(maskedCrc32c(b), 0xc78ab0e5);
});

test('CRC32C: RFC 3720 vectors, and slicing-by-8 = bitwise on random data of every length', () => {
  const inc = Uint8Array.from({ length: 32 }, (_, i) => i);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(inc), 0x46dd794e);
  assert.equal(crc32c(inc.slice().reverse()), 0x113fdb5c);
  assert.equal(crc32c(new Uint8Array(0)), 0);
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
  const big = Uint8Array.from({ length: 100_003 }, rnd);
  for (let n = 0; n < 70; n++) assert.equal(crc32c(big.subarray(n, n + n)), crc32cBitwise(big.subarray(n, n + n)), `length ${n}`);
  assert.equal(crc32c(big), crc32cBitwise(big));
  // continuing a CRC over a split buffer
  assert.equal(crc32c(big.subarray(37), crc32c(big.subarray(0, 37))), crc32c(big));
  // rotating keeps all 32 bits: mask differs from maskBig nowhere on edge values
  for (const c of [0, 1, 0x7fff, 0x8000, 0xffffffff, 0x80000000, 0x12345678]) assert.equal(maskCrc(c), maskBig(c), c.toString(16));
});

test('scalars and an image: every record CRC-checked, file_version first, tags/values/steps, PNG decodes to the right size', async () => {
  const dir = tmp();
  const before = Date.now() / 1000;
  const w = new EventWriter(dir, { flushIntervalMs: 60_000 });
  assert.match(w.path, new RegExp(`/events\\.out\\.tfevents\\.\\d{10}\\.${hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
  const secs = Number(/tfevents\.(\d{10})\./.exec(w.path)![1]);
  assert.ok(Math.abs(secs - before) <= 2);
  w.addScalar('diff_loss', 0.25, 1);
  w.addScalar('zero', 0, 2); // 0.0 must still be written (oneof member)
  w.addScalar('neg', -3.5, 0); // step 0 is omitted on the wire, reads back as 0
  w.addScalar('big_step', 1e-4, 2 ** 40 + 3);
  w.addScalar('nan', NaN, 3);
  w.addScalar('tag/with/slashes ünïcode', 1 / 3, 4);
  w.addScalars({ a: 1.5, b: -2 }, 5);
  w.addScalars('loss', { diff: 0.1, repa: -0.9 }, 6);
  // (3, 5, 7) float image with a known pattern, and a (3, 4, 2) uint8 one
  const H = 5,
    W = 7;
  const vals = Float32Array.from({ length: 3 * H * W }, (_, i) => (i % 17) / 16);
  vals[0] = -0.2;
  vals[1] = 1.7; // clamped
  const img = torch.tensor(vals, { shape: [3, H, W] });
  await w.addImage('val/recon', img, 7);
  const u8 = torch.arange(24, { dtype: 'uint8' }).mul(10).reshape(3, 4, 2);
  await w.addImage('u8', u8, 8);
  await w.close();
  await w.close(); // twice is fine
  assert.throws(() => w.addScalar('late', 1, 9), /closed/);

  const events = readEventFile(w.path); // throws on any CRC or framing flaw
  assert.equal(events[0].fileVersion, 'brain.Event:2');
  assert.equal(events[0].summary, undefined);
  for (const e of events) assert.ok(e.wallTime >= before - 1 && e.wallTime <= Date.now() / 1000 + 1, `wall_time ${e.wallTime}`);
  const s = scalarsOf(events);
  const expect = [
    ['diff_loss', 0.25, 1],
    ['zero', 0, 2],
    ['neg', -3.5, 0],
    ['big_step', f32(1e-4), 2 ** 40 + 3],
    ['nan', NaN, 3],
    ['tag/with/slashes ünïcode', f32(1 / 3), 4],
    ['a', 1.5, 5],
    ['b', -2, 5],
    ['loss/diff', f32(0.1), 6],
    ['loss/repa', f32(-0.9), 6],
  ] as const;
  assert.deepEqual(
    s.map((x) => [x.tag, x.value, x.step]),
    expect.map((x) => [...x]),
  );
  assert.equal(events.filter((e) => e.summary?.length === 2).length, 2, 'addScalars writes one event');

  const images = events.flatMap((e) => (e.summary ?? []).filter((v) => v.image).map((v) => ({ ...v.image!, tag: v.tag, step: Number(e.step) })));
  assert.deepEqual(
    images.map((i) => [i.tag, i.step, i.height, i.width, i.colorspace]),
    [
      ['val/recon', 7, H, W, 3],
      ['u8', 8, 4, 2, 3],
    ],
  );
  const meta = await sharp(images[0].encoded).metadata();
  assert.equal(meta.format, 'png');
  assert.equal(meta.width, W);
  assert.equal(meta.height, H);
  assert.equal(meta.channels, 3);
  // the pixels are the image's, rounded as toUint8 (x·255 + 0.5, clamped, floored)
  const raw = await sharp(images[0].encoded).raw().toBuffer();
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const v = vals[(c * H + y) * W + x];
        const want = Math.floor(Math.min(255, Math.max(0, Math.fround(Math.fround(v * 255) + 0.5))));
        assert.equal(raw[(y * W + x) * 3 + c], want, `pixel c${c} y${y} x${x}`);
      }
  const raw8 = await sharp(images[1].encoded).raw().toBuffer();
  assert.deepEqual([...raw8], [0, 80, 160, 10, 90, 170, 20, 100, 180, 30, 110, 190, 40, 120, 200, 50, 130, 210, 60, 140, 220, 70, 150, 230]);
  assert.ok(!img.isDisposed && !u8.isDisposed, 'addImage leaves its input alone');
  img.dispose();
  u8.dispose();
  rmSync(dir, { recursive: true });
});

test('addImage: greyscale and RGBA colorspaces, bad shapes are TypeErrors', async () => {
  const dir = tmp();
  const w = new EventWriter(dir);
  await torch.scope(async () => {
    await w.addImage('grey', torch.rand(1, 3, 4), 1);
    await w.addImage('hw', torch.rand(3, 4), 1);
    await w.addImage('rgba', torch.rand(4, 3, 4), 1);
    await assert.rejects(w.addImage('bad', torch.rand(2, 3, 4), 1), TypeError);
    await assert.rejects(w.addImage('bad', torch.rand(1, 3, 3, 4), 1), TypeError);
  });
  await w.close();
  const imgs = readEventFile(w.path)
    .flatMap((e) => e.summary ?? [])
    .map((v) => [v.tag, v.image!.colorspace, v.image!.height, v.image!.width]);
  assert.deepEqual(imgs, [
    ['grey', 1, 3, 4],
    ['hw', 1, 3, 4],
    ['rgba', 4, 3, 4],
  ]);
  rmSync(dir, { recursive: true });
});

test('a resumed run writes a new file beside the old one (never touching it); purgeStep writes SessionLog START', async () => {
  const dir = tmp();
  const a = new EventWriter(dir);
  a.addScalar('x', 1, 10);
  await a.close();
  const sizeA = statSync(a.path).size;
  const b = new EventWriter(dir, { purgeStep: 10 }); // same second, same host: must not collide
  b.addScalar('x', 2, 10);
  await b.close();
  assert.notEqual(a.path, b.path);
  assert.equal(statSync(a.path).size, sizeA);
  const files = readdirSync(dir).sort();
  assert.equal(files.length, 2);
  assert.ok(files.every((f) => f.startsWith('events.out.tfevents.')));
  const evB = readEventFile(b.path);
  assert.equal(evB[0].fileVersion, 'brain.Event:2');
  assert.equal(evB[1].sessionLogStatus, 1);
  assert.equal(evB[1].step, 10n);
  assert.deepEqual(scalarsOf(evB), [{ tag: 'x', value: 2, step: 10 }]);
  assert.deepEqual(scalarsOf(readEventFile(a.path)), [{ tag: 'x', value: 1, step: 10 }]);
  rmSync(dir, { recursive: true });
});

test('queued records reach the file on flush(), on the interval, and at process exit without close()', async () => {
  const dir = tmp();
  const w = new EventWriter(dir, { flushIntervalMs: 60_000 });
  const n0 = readRecords(readFileSync(w.path)).length;
  assert.equal(n0, 1, 'file_version is on disk at once');
  w.addScalar('x', 1, 1);
  assert.equal(readRecords(readFileSync(w.path)).length, 1, 'queued, not yet written');
  w.flush();
  assert.equal(readRecords(readFileSync(w.path)).length, 2);
  await w.close();

  const w2 = new EventWriter(dir, { flushIntervalMs: 30 });
  w2.addScalar('y', 2, 1);
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(scalarsOf(readEventFile(w2.path)).length, 1, 'interval flush');
  await w2.close();

  const mod = pathToFileURL(resolve(here, '../lib/train/logging/event-writer.js')).href;
  const sub = join(dir, 'exit');
  const r = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { EventWriter } from ${JSON.stringify(mod)}; const w = new EventWriter(${JSON.stringify(sub)}, { flushIntervalMs: 60000 });
     w.addScalar('z', 3, 4); process.exit(0);`,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  const [f] = readdirSync(sub);
  assert.deepEqual(scalarsOf(readEventFile(join(sub, f))), [{ tag: 'z', value: 3, step: 4 }]);
  rmSync(dir, { recursive: true });
});

test('the test decoder rejects a corrupted record', async () => {
  const dir = tmp();
  const w = new EventWriter(dir);
  w.addScalar('x', 1, 1);
  await w.close();
  const buf = readFileSync(w.path);
  const bad = Buffer.from(buf);
  bad[bad.length - 6] ^= 1; // inside the last record's data
  assert.throws(() => readRecords(bad), /bad data CRC/);
  const bad2 = Buffer.from(buf);
  bad2[0] ^= 1; // the first length
  assert.throws(() => readRecords(bad2), /bad length CRC/);
  assert.throws(() => readRecords(buf.subarray(0, buf.length - 1)), /truncated/);
  assert.throws(() => decodeEvent(Buffer.from([0x08, 0x01])), /wire type/); // field 1 as a varint
  rmSync(dir, { recursive: true });
});

test('Event encoding: int64 steps beyond 2^53 and negative (10-byte varint), float32 rounding of simple_value', async () => {
  const { encodeEvent } = await import('../lib/train/logging/event.js');
  for (const step of [-5n, 2n ** 62n + 1n, -(2n ** 63n), 2n ** 63n - 1n]) {
    const e = decodeEvent(encodeEvent({ wallTime: 1.5, step, summary: [{ tag: 't', simpleValue: 0.1 }] }));
    assert.equal(e.step, step);
    assert.equal(e.wallTime, 1.5);
    assert.equal(e.summary![0].simpleValue, Math.fround(0.1));
  }
  assert.equal(decodeEvent(encodeEvent({ wallTime: 2, step: -1, fileVersion: 'v' })).step, -1n);
  assert.throws(() => encodeEvent({ wallTime: 0, fileVersion: 'v', summary: [] }), /exactly one/);
  const w = new EventWriter(tmp());
  assert.throws(() => w.addScalar('x', 1, 1.5), TypeError);
  assert.throws(() => w.addScalar('x', '1' as unknown as number, 1), TypeError);
  await w.close();
  rmSync(w.logDir, { recursive: true });
});
