// JSONL metrics log (fields, line-at-a-time writes, torn-line recovery, rank ≠ 0 silent), MetricLogger
// statistics and formats, the progress formatter (ETA, it/s) and the TTY / non-TTY progress line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { JsonlLogger, readJsonl } from '../lib/train/logging/jsonl.js';
import { MetricLogger, SmoothedValue, formatNumber } from '../lib/train/logging/metric-logger.js';
import { ProgressLine, RateMeter, formatDuration, formatProgress, formatRate } from '../lib/train/logging/progress.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'jsonl-'));

test('JSONL: one parsable object per line with step, epoch, time and the scalars, on disk at once', () => {
  const dir = tmp();
  const path = join(dir, 'sub', 'log.jsonl');
  const log = new JsonlLogger(path);
  const t0 = Date.now() / 1000;
  log.log(1, { diff_loss: 0.5, repa_loss: -0.25, lr: 1e-4 }, 0);
  // written before close(): a crash now loses nothing already logged
  assert.equal(readFileSync(path, 'utf8').split('\n').length, 2);
  log.log(2, { diff_loss: NaN, repa_loss: Infinity, lr: 2e-4 }, 0.5);
  log.log(3, { loss: 1 });
  log.close();
  log.close();
  const text = readFileSync(path, 'utf8');
  assert.ok(text.endsWith('\n'));
  const lines = text
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(lines.length, 3);
  assert.deepEqual(Object.keys(lines[0]), ['step', 'epoch', 'time', 'diff_loss', 'repa_loss', 'lr']);
  assert.deepEqual({ ...lines[0], time: 0 }, { step: 1, epoch: 0, time: 0, diff_loss: 0.5, repa_loss: -0.25, lr: 1e-4 });
  assert.ok(lines[0].time >= t0 - 1 && lines[0].time <= Date.now() / 1000 + 1);
  assert.deepEqual([lines[1].diff_loss, lines[1].repa_loss, lines[1].epoch], [null, null, 0.5], 'non-finite → null');
  assert.deepEqual(Object.keys(lines[2]), ['step', 'time', 'loss']);
  assert.throws(() => log.log(4, {}), /closed/);
  rmSync(dir, { recursive: true });
});

test('JSONL: reopening after a crash appends, and a torn last line does not swallow the next record', () => {
  const dir = tmp();
  const path = join(dir, 'log.jsonl');
  const a = new JsonlLogger(path);
  a.log(1, { x: 1 });
  a.close();
  appendFileSync(path, '{"step": 2, "x"'); // a crash mid-write
  const b = new JsonlLogger(path);
  b.log(2, { x: 2 });
  b.close();
  const recs = readJsonl(path);
  assert.deepEqual(
    recs.map((r) => [r.step, r.x]),
    [
      [1, 1],
      [2, 2],
    ],
  );
  rmSync(dir, { recursive: true });
});

test('JSONL: a rank ≠ 0 logger creates and writes nothing', () => {
  const dir = tmp();
  const path = join(dir, 'r1', 'log.jsonl');
  const log = new JsonlLogger(path, { rank: 1 });
  log.log(1, { x: 1 });
  log.write({ a: 1 });
  log.close();
  assert.equal(log.active, false);
  assert.equal(existsSync(join(dir, 'r1')), false);
  rmSync(dir, { recursive: true });
});

test('SmoothedValue: window median (lower middle, as torch) / avg / max / value, weighted global avg, MAE format', () => {
  const m = new SmoothedValue(4);
  for (const v of [10, 1, 2, 3, 4, 100]) m.update(v);
  assert.deepEqual(m.window, [2, 3, 4, 100]);
  assert.equal(m.median, 3);
  assert.equal(m.avg, 27.25);
  assert.equal(m.max, 100);
  assert.equal(m.value, 100);
  assert.equal(m.globalAvg, 120 / 6);
  m.update(0, 4);
  assert.equal(m.globalAvg, 120 / 10);
  assert.equal(m.toString(), `${(3).toFixed(4)} (12.0000)`);
  assert.equal(new SmoothedValue(20, '{value:.6f}').toString(), 'nan');
  const lr = new SmoothedValue(1, '{value:.6f} / {max:.2e} {bogus}');
  lr.update(0.00012345);
  assert.equal(lr.toString(), '0.000123 / 1.23e-04 {bogus}');
});

test('formatNumber follows Python: .Nf, .Ne with a two-digit exponent, .Ng, nan/inf', () => {
  assert.equal(formatNumber(1e-4, '.2e'), '1.00e-04');
  assert.equal(formatNumber(123456, '.3e'), '1.235e+05');
  assert.equal(formatNumber(1e-100, '.1e'), '1.0e-100');
  assert.equal(formatNumber(0.5, '.4f'), '0.5000');
  assert.equal(formatNumber(0.0001234, '.3g'), '0.000123');
  assert.equal(formatNumber(0.00001234, '.3g'), '1.23e-05');
  assert.equal(formatNumber(1234567, '.3g'), '1.23e+06');
  assert.equal(formatNumber(1.5, '.3g'), '1.5');
  assert.equal(formatNumber(100, '.3g'), '100');
  assert.equal(formatNumber(NaN, '.4f'), 'nan');
  assert.equal(formatNumber(-Infinity, '.4f'), '-inf');
});

test('MetricLogger: meters made on first use, tensors via item(), "name: median (global_avg)" joined', () => {
  const ml = new MetricLogger();
  ml.update({ diff_loss: 0.5, repa_loss: { item: () => -0.25 } });
  ml.update({ diff_loss: 0.3, repa_loss: -0.75, skipped: undefined });
  assert.deepEqual([...ml.meters.keys()], ['diff_loss', 'repa_loss']);
  assert.equal(ml.toString(), 'diff_loss: 0.3000 (0.4000)  repa_loss: -0.7500 (-0.5000)');
  assert.deepEqual(ml.globalAvgs(), { diff_loss: 0.4, repa_loss: -0.5 });
  ml.addMeter('lr', new SmoothedValue(1, '{value:.2e}'));
  ml.update({ lr: 3e-4 });
  assert.match(ml.toString(), /lr: 3\.00e-04$/);
});

test('formatDuration / formatRate: ETA as H:MM:SS or Nd HH:MM:SS, it/s or s/it', () => {
  assert.equal(formatDuration(0), '0:00:00');
  assert.equal(formatDuration(5.4), '0:00:05');
  assert.equal(formatDuration(59.6), '0:01:00');
  assert.equal(formatDuration(3723), '1:02:03');
  assert.equal(formatDuration(86399), '23:59:59');
  assert.equal(formatDuration(86400 + 2 * 3600 + 3 * 60 + 4), '1d 02:03:04');
  assert.equal(formatDuration(12 * 86400), '12d 00:00:00');
  for (const bad of [NaN, Infinity, -1]) assert.equal(formatDuration(bad), '--:--:--');
  assert.equal(formatRate(3.214), '3.21 it/s');
  assert.equal(formatRate(1), '1.00 it/s');
  assert.equal(formatRate(123.4), '123 it/s');
  assert.equal(formatRate(0.4), '2.50 s/it');
  assert.equal(formatRate(undefined), '? it/s');
  assert.equal(formatRate(0), '? it/s');
});

test('formatProgress: step/total and %, epoch, metrics, lr, it/s, ETA from rate', () => {
  assert.equal(
    formatProgress({ step: 1200, total: 400000, epoch: 3, metrics: 'diff_loss: 0.1234 (0.1301)', lr: 1e-4, rate: 4 }),
    'step   1200/400000 (0.3%) | epoch 3 | diff_loss: 0.1234 (0.1301) | lr 1.00e-04 | 4.00 it/s | ETA 1d 03:41:40',
  ); // (400000 − 1200) / 4 = 99700 s
  assert.equal(formatProgress({ step: 10, total: 100, rate: 2 }), 'step  10/100 (10.0%) | 2.00 it/s | ETA 0:00:45');
  assert.equal(formatProgress({ step: 10, total: 100 }), 'step  10/100 (10.0%) | ? it/s | ETA --:--:--');
  assert.equal(formatProgress({ step: 7, epoch: 1.23456, rate: 0.5 }), 'step 7 | epoch 1.23 | 2.00 s/it');
  assert.equal(formatProgress({ step: 100, total: 100, rate: 3, eta: 0 }), 'step 100/100 (100.0%) | 3.00 it/s | ETA 0:00:00');
});

test('RateMeter: smoothed it/s from a fake clock, tracking a change of speed', () => {
  const r = new RateMeter(0.5);
  assert.equal(r.rate, undefined);
  r.update(0, 0);
  assert.equal(r.rate, undefined);
  for (let s = 1; s <= 10; s++) r.update(s, s * 500); // 2 it/s
  assert.ok(Math.abs(r.rate! - 2) < 1e-9, `${r.rate}`);
  for (let s = 11; s <= 40; s++) r.update(s, 5000 + (s - 10) * 100); // then 10 it/s
  assert.ok(Math.abs(r.rate! - 10) < 1e-3, `${r.rate}`);
  r.update(42, 5000 + 30 * 100 + 100); // 2 steps in 0.1 s: counts steps, not calls
  assert.ok(r.rate! > 10);
});

function fakeStream(isTTY: boolean, columns?: number) {
  const out: string[] = [];
  return {
    out,
    stream: {
      isTTY,
      columns,
      write: (s: string) => {
        out.push(s);
        return true;
      },
    },
  };
}

test('ProgressLine without a TTY: a plain line every N steps (plus the first and last), no control characters', () => {
  const { out, stream } = fakeStream(false);
  let t = 0;
  const ml = new MetricLogger();
  const p = new ProgressLine({ total: 50, stream, printEvery: 20, metrics: ml, now: () => t });
  for (let s = 1; s <= 50; s++) {
    t += 250;
    ml.update({ loss: 1 / s });
    p.update(s, { epoch: 0, lr: 1e-3 });
  }
  p.log('saved checkpoint');
  p.close();
  assert.equal(out.length, 5);
  assert.ok(out.every((l) => l.endsWith('\n') && !/[\r\x1b]/.test(l)));
  assert.deepEqual(
    out.map((l) => /^step\s+(\d+)/.exec(l)?.[1] ?? l),
    ['1', '20', '40', '50', 'saved checkpoint\n'],
  );
  // window of the last 20 values 1/21..1/40: lower median 1/31; global average H(40)/40; 4 it/s, 10 steps left
  let h40 = 0;
  for (let i = 1; i <= 40; i++) h40 += 1 / i;
  assert.equal(out[2], `step 40/50 (80.0%) | epoch 0 | loss: ${(1 / 31).toFixed(4)} (${(h40 / 40).toFixed(4)}) | lr 1.00e-03 | 4.00 it/s | ETA 0:00:03\n`);
  // steps that skip multiples still print once per crossed multiple
  const f2 = fakeStream(false);
  const p2 = new ProgressLine({ stream: f2.stream, printEvery: 20 });
  for (const s of [7, 14, 21, 28, 35, 42]) p2.update(s);
  assert.deepEqual(
    f2.out.map((l) => Number(/^step (\d+)/.exec(l)![1])),
    [7, 21, 42],
  );
});

test('ProgressLine on a TTY: redraws in place with \\r and clear-to-end, throttled, truncated to the width; log() goes above', () => {
  const { out, stream } = fakeStream(true, 40);
  let t = 0;
  const p = new ProgressLine({ total: 10, stream, minRedrawMs: 100, now: () => t });
  for (let s = 1; s <= 10; s++) {
    t += 30;
    p.update(s);
  }
  // drawn at t=30 (first), 150, 270, and the last step (300) regardless of the throttle
  assert.equal(out.length, 4);
  for (const w of out) {
    assert.ok(w.startsWith('\r') && w.endsWith('\x1b[K'), JSON.stringify(w));
    assert.ok(!w.includes('\n'));
    assert.ok(w.length - 1 - 3 <= 39, 'fits in columns − 1');
  }
  assert.ok(out[3].startsWith('\rstep 10/10 (100.0%)'));
  p.log('hello');
  assert.equal(out[4], '\r\x1b[Khello\n');
  assert.equal(out[5], out[3], 'line redrawn under the message');
  p.close();
  assert.equal(out[6], '\n');
  p.close();
  assert.equal(out.length, 7);
});
