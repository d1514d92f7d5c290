// RunLogger, the trainer's facade: scalars and an image grid land in TensorBoard (read back with the test
// decoder), JSONL, images/ and the progress line; ranks other than 0 write and print nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import sharp from 'sharp';
import * as torch from '../lib/torch.js';
import { makeGrid } from '../lib/data/grid.js';
import { RunLogger } from '../lib/train/logging/run-logger.js';
import { readEventFile, scalarsOf } from './logging-decoder.js';

function fakeStream() {
  const out: string[] = [];
  return {
    out,
    stream: {
      isTTY: false,
      write: (s: string) => {
        out.push(s);
        return true;
      },
    },
  };
}

test('RunLogger (rank 0): scalars → TensorBoard + JSONL + progress; image → TensorBoard + images/*.png', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'runlog-'));
  const { out, stream } = fakeStream();
  const log = new RunLogger({ dir, name: 'semanticist', rank: 0, total: 40, progress: { stream, printEvery: 20 } });
  assert.equal(log.active, true);
  for (let step = 1; step <= 40; step++) {
    const diff = torch.tensor(1 / step); // 0-d tensors are read with item()
    log.scalars(step, { diff_loss: diff, repa_loss: -0.5 + step / 100, lr: 1e-4 * step, epoch: Math.floor(step / 10) });
    diff.dispose();
  }
  const grid = torch.scope(() => makeGrid(torch.rand(4, 3, 16, 16), { nrow: 2 }));
  await log.image('val/recon cfg=3', grid, 40);
  log.log('done');
  await log.close();
  await log.close();
  assert.throws(() => log.scalars(41, { diff_loss: 1 }), /closed/);

  // TensorBoard: one events file under logs/semanticist, read back with CRCs checked
  const tbDir = join(dir, 'logs', 'semanticist');
  const files = readdirSync(tbDir);
  assert.equal(files.length, 1);
  assert.match(files[0], /^events\.out\.tfevents\.\d{10}\./);
  const events = readEventFile(join(tbDir, files[0]));
  assert.equal(events[0].fileVersion, 'brain.Event:2');
  const s = scalarsOf(events);
  assert.equal(s.length, 4 * 40);
  const at = (tag: string, step: number) => s.find((x) => x.tag === tag && x.step === step)?.value;
  assert.equal(at('diff_loss', 8), 1 / 8);
  assert.equal(at('repa_loss', 25), Math.fround(-0.25));
  assert.equal(at('lr', 40), Math.fround(4e-3));
  assert.equal(at('epoch', 39), 3);
  const imgs = events.flatMap((e) => (e.summary ?? []).filter((v) => v.image).map((v) => ({ tag: v.tag, step: Number(e.step), ...v.image! })));
  assert.equal(imgs.length, 1);
  const [, gh, gw] = grid.shape;
  assert.deepEqual([imgs[0].tag, imgs[0].step, imgs[0].height, imgs[0].width, imgs[0].colorspace], ['val/recon cfg=3', 40, gh, gw, 3]);
  const meta = await sharp(imgs[0].encoded).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ['png', gw, gh]);

  // images/: the same PNG bytes, under a file-safe name
  const pngs = readdirSync(join(dir, 'images'));
  assert.deepEqual(pngs, ['val_recon_cfg_3_0000040.png']);
  assert.ok(readFileSync(join(dir, 'images', pngs[0])).equals(imgs[0].encoded));

  // JSONL
  const lines = readFileSync(join(dir, 'logs', 'semanticist.jsonl'), 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(lines.length, 40);
  assert.deepEqual(Object.keys(lines[0]), ['step', 'epoch', 'time', 'diff_loss', 'repa_loss', 'lr']);
  assert.equal(lines[9].step, 10);
  assert.equal(lines[9].epoch, 1);
  assert.ok(Math.abs(lines[9].diff_loss - 0.1) < 1e-7);
  assert.equal(lines[9].lr, 1e-4 * 10);

  // progress: lines at steps 1, 20, 40 (non-TTY), then the message; repa_loss over the window s = 21..40:
  // lower median at s = 30 → -0.2, global average over s = 1..40 → -0.295
  assert.deepEqual(
    out.map((l) => /^step\s+(\d+)/.exec(l)?.[1] ?? l.trim()),
    ['1', '20', '40', 'done'],
  );
  assert.match(out[2], /^step 40\/40 \(100\.0%\) \| epoch 4 \| diff_loss: \S+ \(\S+\) {2}repa_loss: -0\.2000 \(-0\.2950\) \| lr 4\.00e-03 \| .* it\/s \| ETA /);
  assert.ok(!out[2].includes('lr:') && !out[2].includes('epoch:'), 'lr and epoch are not smoothed meters');
  assert.deepEqual([...log.metrics.meters.keys()], ['diff_loss', 'repa_loss']);
  grid.dispose();
  rmSync(dir, { recursive: true });
});

test('RunLogger on rank ≠ 0 (option or $RANK): no files, no directories, no output, tensors not read', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'runlog-')), 'run');
  const { out, stream } = fakeStream();
  const untouchable = {
    item: () => {
      throw new Error('item() called on rank 1');
    },
  };
  const img = torch.rand(3, 8, 8);
  const loggers = [new RunLogger({ dir, rank: 1, total: 10, progress: { stream } })];
  const prev = process.env.RANK;
  process.env.RANK = '3';
  try {
    loggers.push(new RunLogger({ dir, total: 10, progress: { stream } }));
  } finally {
    if (prev === undefined) delete process.env.RANK;
    else process.env.RANK = prev;
  }
  for (const log of loggers) {
    assert.equal(log.active, false);
    for (let step = 1; step <= 25; step++) log.scalars(step, { diff_loss: untouchable, lr: 1e-4, epoch: 0 });
    await log.image('val/recon', img, 1);
    log.log('hello');
    await log.close();
  }
  assert.equal(existsSync(dir), false);
  assert.deepEqual(out, []);
  img.dispose();
  rmSync(join(dir, '..'), { recursive: true });
});

test('RunLogger: a resumed run adds a second events file and appends to the JSONL', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'runlog-'));
  const opts = { dir, name: 'gpt', rank: 0, progress: false as const };
  const a = new RunLogger(opts);
  a.scalars(1, { loss: 1, lr: 0.1, epoch: 0 });
  a.scalars(2, { loss: 2, lr: 0.1, epoch: 0 });
  await a.close();
  const b = new RunLogger({ ...opts, purgeStep: 2 });
  b.scalars(2, { loss: 3, lr: 0.1, epoch: 0 });
  await b.close();
  const files = readdirSync(join(dir, 'logs', 'gpt')).sort();
  assert.equal(files.length, 2);
  const second = readEventFile(join(dir, 'logs', 'gpt', files[1]));
  assert.deepEqual([second[1].sessionLogStatus, second[1].step], [1, 2n]);
  assert.deepEqual(
    scalarsOf(second).filter((x) => x.tag === 'loss'),
    [{ tag: 'loss', value: 3, step: 2 }],
  );
  const lines = readFileSync(join(dir, 'logs', 'gpt.jsonl'), 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    lines.map((l) => [l.step, l.loss]),
    [
      [1, 1],
      [2, 2],
      [2, 3],
    ],
  );
  assert.equal(existsSync(join(dir, 'images')), false, 'images/ only made when an image is logged');
  rmSync(dir, { recursive: true });
});
