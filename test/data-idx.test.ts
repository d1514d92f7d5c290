// The idx format (hand-made files, plain and gzip, errors) and Fashion-MNIST read from Debian's
// dataset-fashion-mnist package: sizes, class names, label histogram, known pixels, path errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parseIdx, readIdx, encodeIdx } from '../lib/data/idx.js';
import { FashionMnist, FASHION_MNIST_CLASSES, locateFashionMnist } from '../lib/data/fashion-mnist.js';
import { labelHistogram } from '../lib/data/dataset.js';
import { tempDir } from './data-helpers.js';

test('parseIdx reads a hand-made uint8 idx3 file byte by byte', () => {
  // magic 00 00 08 03, dims 2 × 2 × 3 (big-endian), then 12 bytes
  const bytes = new Uint8Array([0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 250, 255]);
  const a = parseIdx(bytes);
  assert.equal(a.dtype, 'uint8');
  assert.deepEqual(a.shape, [2, 2, 3]);
  assert.deepEqual(Array.from(a.data), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 250, 255]);
  // the data is a copy, not a view of the input
  bytes[16] = 99;
  assert.equal(a.data[0], 0);
});

test('parseIdx: big-endian int32/float32/int16 and gzip, round trip through encodeIdx', () => {
  const dir = tempDir('idx-');
  const i32 = parseIdx(new Uint8Array([0, 0, 0x0c, 1, 0, 0, 0, 2, 0xff, 0xff, 0xff, 0xfe, 0x00, 0x01, 0x00, 0x00]));
  assert.deepEqual([i32.dtype, Array.from(i32.data)], ['int32', [-2, 65536]]);
  const f = { dtype: 'float32' as const, shape: [3], data: new Float32Array([1.5, -0.25, 1e6]) };
  assert.deepEqual(Array.from(parseIdx(encodeIdx(f)).data), [1.5, -0.25, 1e6]);
  const s = { dtype: 'int16' as const, shape: [2, 1], data: new Int16Array([-300, 7]) };
  writeFileSync(join(dir, 'x-idx2-short.gz'), gzipSync(encodeIdx(s)));
  const back = readIdx(join(dir, 'x-idx2-short.gz'));
  assert.deepEqual([back.dtype, back.shape, Array.from(back.data)], ['int16', [2, 1], [-300, 7]]);
});

test('parseIdx errors: bad magic, unknown type, truncated data, corrupt gzip, missing file', () => {
  assert.throws(() => parseIdx(new Uint8Array([1, 0, 8, 1, 0, 0, 0, 1, 5])), /not an idx file/);
  assert.throws(() => parseIdx(new Uint8Array([0, 0, 0x07, 1, 0, 0, 0, 1, 5])), /unknown idx element type 0x7/);
  assert.throws(() => parseIdx(new Uint8Array([0, 0, 8, 1, 0, 0, 0, 3, 5, 6]), 'f.idx'), /f.idx: expected 11 bytes for shape \[3\] of uint8, got 10/);
  assert.throws(() => parseIdx(new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2, 3])), /corrupt gzip/);
  assert.throws(() => readIdx('/nonexistent/a-idx1-ubyte'), /cannot read idx file \/nonexistent\/a-idx1-ubyte/);
});

test('Fashion-MNIST from a given folder of hand-made idx files (plain, not gzip)', () => {
  const dir = tempDir('fmnist-');
  const imgs = new Uint8Array(3 * 28 * 28).map((_, i) => i % 251);
  writeFileSync(join(dir, 't10k-images-idx3-ubyte'), encodeIdx({ dtype: 'uint8', shape: [3, 28, 28], data: imgs }));
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), encodeIdx({ dtype: 'uint8', shape: [3], data: new Uint8Array([9, 0, 4]) }));
  const ds = new FashionMnist({ split: 'test', root: dir });
  assert.equal(ds.length, 3);
  const s = ds.get(2);
  assert.equal(s.label, 4);
  assert.equal(ds.classes[s.label], 'Coat');
  assert.ok(typeof s.image !== 'string');
  if (typeof s.image === 'string') return;
  assert.deepEqual([s.image.width, s.image.height, s.image.channels], [28, 28, 1]);
  assert.deepEqual(Array.from(s.image.data.subarray(0, 3)), [(2 * 784) % 251, (2 * 784 + 1) % 251, (2 * 784 + 2) % 251]);
  s.image.data[0] = 77; // a copy: the dataset is unchanged
  assert.equal(ds.images[2 * 784], (2 * 784) % 251);
  assert.throws(() => ds.get(3), /index 3 out of range \[0, 3\)/);
});

test('Fashion-MNIST missing: the error names the searched folders and the apt package', () => {
  assert.throws(
    () => locateFashionMnist('train', '/nonexistent/fm'),
    (e: Error) =>
      /Fashion-MNIST \(train\) not found/.test(e.message) &&
      e.message.includes('/nonexistent/fm, /nonexistent/fm/FashionMNIST/raw') &&
      e.message.includes('apt-get install dataset-fashion-mnist'),
  );
});

test('Fashion-MNIST (Debian package): 60000 train / 10000 test, 28×28, 6000 / 1000 per class', () => {
  const train = new FashionMnist({ split: 'train' });
  const testSet = new FashionMnist({ split: 'test' });
  assert.match(train.files.images, /train-images-idx3-ubyte(\.gz)?$/);
  assert.equal(train.length, 60000);
  assert.equal(testSet.length, 10000);
  assert.deepEqual([train.height, train.width, testSet.height, testSet.width], [28, 28, 28, 28]);
  assert.deepEqual(train.classes, FASHION_MNIST_CLASSES);
  assert.equal(train.classes.length, 10);
  assert.deepEqual(labelHistogram(train), new Array(10).fill(6000));
  assert.deepEqual(labelHistogram(testSet), new Array(10).fill(1000));
  // the well-known first labels: train starts Ankle boot, T-shirt, T-shirt, Dress; test starts Ankle boot, Pullover
  assert.deepEqual(Array.from(train.labels.subarray(0, 6)), [9, 0, 0, 3, 0, 2]);
  assert.deepEqual(Array.from(testSet.labels.subarray(0, 4)), [9, 2, 1, 1]);
  // pixels are real images: a 0 border and a bright body, mean intensity ≈ 72.9 (0.286 · 255)
  let sum = 0;
  for (let i = 0; i < train.images.length; i++) sum += train.images[i];
  const mean = sum / train.images.length;
  assert.ok(Math.abs(mean - 72.94) < 0.05, `mean pixel ${mean}`);
  const first = train.get(0).image;
  assert.ok(typeof first !== 'string' && first.data[0] === 0 && Math.max(...first.data) === 255);
});
