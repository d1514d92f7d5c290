// torch-fidelity's folder input: which files count (non-recursive, png/jpg/jpeg by lower-cased
// Python extension), their order (absolute real paths sorted by code point), PIL's convert('RGB')
// semantics (grey replicated, palette expanded, alpha dropped without compositing, ICC profile
// ignored), batching (min(batch, N), last partial, one size per batch). Tiny files in temp folders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { listFidelityImages, fidelityImageBatches, pythonExtension } from '../lib/eval/fidelity/image-folder.js';
import { compareCodePoints, sortedByCodePoints } from '../lib/eval/fidelity/code-point-order.js';
import { decodeRgbLikePil } from '../lib/eval/fidelity/pil-rgb.js';
import { tempDir } from './data-helpers.js';
import { encodePng, pngChunks } from './png-encode.js';

/** A w×h RGB PNG whose every pixel is `rgb`. */
const flatPng = (w: number, h: number, rgb: [number, number, number]) =>
  encodePng({ width: w, height: h, colorType: 2, samples: Array.from({ length: w * h }, () => rgb).flat() });

const rgbOf = async (path: string) => [...(await decodeRgbLikePil(path)).data];

test('compareCodePoints orders as Python (code points), not as UTF-16 code units', () => {
  const astral = '\u{1F600}.png',
    bmpHigh = '\uFF21.png'; // U+1F600 > U+FF21, but its first unit D83D < FF21
  assert.ok(astral < bmpHigh, 'JS default order (code units) puts the astral character first');
  assert.deepEqual(sortedByCodePoints([astral, bmpHigh, 'b.png', 'B.png', '10.png', '9.png', 'a.png']), [
    '10.png',
    '9.png',
    'B.png',
    'a.png',
    'b.png',
    bmpHigh,
    astral,
  ]);
  // two astral characters sharing a high surrogate differ in the low one: still code-point order
  assert.ok(compareCodePoints('\u{1F600}', '\u{1F601}') < 0);
  assert.ok(compareCodePoints('\u{10000}', '\u{FFFF}') > 0);
  assert.equal(compareCodePoints('ab', 'ab'), 0);
  assert.ok(compareCodePoints('ab', 'abc') < 0);
});

test('pythonExtension follows os.path.splitext: leading dots are part of the name', () => {
  assert.deepEqual(['a.png', 'B.PNG', '.png', '..png', '.a.png', 'noext', 'x.tar.jpeg', 'trailing.'].map(pythonExtension), [
    'png',
    'PNG',
    '',
    '',
    'png',
    '',
    'jpeg',
    '',
  ]);
});

test('listFidelityImages: top level only, png/jpg/jpeg case-insensitively, real paths sorted by code point', async () => {
  const root = tempDir('fid-list-');
  const dir = join(root, 'imgs');
  mkdirSync(dir);
  const png = flatPng(2, 2, [1, 2, 3]);
  const names = ['b.png', 'B.PNG', 'a.jpg', 'c.JPEG', '10.png', '9.png', '.a.png', '\u{1F600}.png', '\uFF21.png'];
  for (const n of names) writeFileSync(join(dir, n), png);
  for (const n of ['x.webp', 'y.gif', 'notes.txt', '.png', 'z.png.bak']) writeFileSync(join(dir, n), png);
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'sub', 'deep.png'), png);
  mkdirSync(join(dir, 'folder.png')); // a folder with an image's name is not a file
  // a symlink to a file is listed under its real path (and sorted by it); one to a folder is skipped
  mkdirSync(join(root, 'elsewhere'));
  writeFileSync(join(root, 'elsewhere', 'zz-target.png'), png);
  symlinkSync(join(root, 'elsewhere', 'zz-target.png'), join(dir, 'link.png'));
  symlinkSync(join(dir, 'sub'), join(dir, 'linkdir.png'));

  const files = listFidelityImages(dir);
  const real = realpathSync(dir);
  const expectedNames = ['.a.png', '10.png', '9.png', 'B.PNG', 'a.jpg', 'b.png', 'c.JPEG', '\uFF21.png', '\u{1F600}.png'];
  // the link's real path is root/elsewhere/…, which sorts before root/imgs/…
  assert.deepEqual(files, [join(realpathSync(root), 'elsewhere', 'zz-target.png'), ...expectedNames.map((n) => join(real, n))]);
  assert.deepEqual(listFidelityImages(dir, { extensions: ['jpeg'] }), [join(real, 'c.JPEG')]);
  assert.throws(() => listFidelityImages(join(dir, 'sub', 'missing')), /cannot list the image folder/);
  const empty = join(root, 'empty');
  mkdirSync(empty);
  writeFileSync(join(empty, 'x.webp'), png);
  assert.throws(() => listFidelityImages(empty), /no images found in .*empty \(extensions png, jpg, jpeg.*sub-folders are not searched\)/);
});

test('decodeRgbLikePil: grey replicated, grey+alpha and palette expanded, RGBA alpha dropped without compositing', async () => {
  const dir = tempDir('fid-pil-');
  const w = 3,
    h = 1;
  const files: Record<string, Buffer> = {
    grey: encodePng({ width: w, height: h, colorType: 0, samples: [0, 77, 255] }),
    greyAlpha: encodePng({ width: w, height: h, colorType: 4, samples: [10, 0, 20, 128, 30, 255] }),
    greyTrns: encodePng({ width: w, height: h, colorType: 0, samples: [5, 6, 7], trns: [6] }),
    palette: encodePng({
      width: w,
      height: h,
      colorType: 3,
      samples: [2, 0, 1],
      palette: [
        [255, 0, 0],
        [0, 200, 0],
        [9, 8, 7],
      ],
      trns: [0, 128, 255],
    }),
    rgba: encodePng({ width: w, height: h, colorType: 6, samples: [200, 100, 50, 0, 1, 2, 3, 128, 255, 255, 255, 255] }),
  };
  for (const [n, b] of Object.entries(files)) writeFileSync(join(dir, `${n}.png`), b);
  assert.deepEqual(await rgbOf(join(dir, 'grey.png')), [0, 0, 0, 77, 77, 77, 255, 255, 255]);
  assert.deepEqual(await rgbOf(join(dir, 'greyAlpha.png')), [10, 10, 10, 20, 20, 20, 30, 30, 30]);
  assert.deepEqual(await rgbOf(join(dir, 'greyTrns.png')), [5, 5, 5, 6, 6, 6, 7, 7, 7]);
  assert.deepEqual(await rgbOf(join(dir, 'palette.png')), [9, 8, 7, 255, 0, 0, 0, 200, 0]);
  // a fully transparent pixel keeps its colour (compositing on black or white would change it)
  assert.deepEqual(await rgbOf(join(dir, 'rgba.png')), [200, 100, 50, 1, 2, 3, 255, 255, 255]);
});

test('decodeRgbLikePil ignores an embedded ICC profile (PIL does), and refuses 16-bit and CMYK files', async () => {
  const dir = tempDir('fid-icc-');
  // lift a real Display-P3 iCCP chunk out of a file sharp writes, into a PNG whose samples are known
  const withP3 = await sharp(Buffer.from([1, 2, 3]), { raw: { width: 1, height: 1, channels: 3 } })
    .withIccProfile('p3')
    .png()
    .toBuffer();
  const iccp = pngChunks(withP3).find(([t]) => t === 'iCCP');
  assert.ok(iccp, 'sharp wrote an iCCP chunk');
  const samples = [200, 30, 40, 10, 220, 30];
  writeFileSync(join(dir, 'p3.png'), encodePng({ width: 2, height: 1, colorType: 2, samples, extraChunks: [iccp] }));
  assert.equal((await sharp(join(dir, 'p3.png')).metadata()).hasProfile, true);
  assert.deepEqual(await rgbOf(join(dir, 'p3.png')), samples);

  writeFileSync(join(dir, 'deep.png'), encodePng({ width: 1, height: 1, colorType: 2, bitDepth: 16, samples: [0x12ff, 0, 65535] }));
  await assert.rejects(decodeRgbLikePil(join(dir, 'deep.png')), /deep\.png: 16-bit samples are not read/);
  await sharp(Buffer.from([10, 20, 30]), { raw: { width: 1, height: 1, channels: 3 } })
    .toColourspace('cmyk')
    .jpeg()
    .toFile(join(dir, 'cmyk.jpg'));
  await assert.rejects(decodeRgbLikePil(join(dir, 'cmyk.jpg')), /cmyk\.jpg: CMYK images are not read/);
  writeFileSync(join(dir, 'broken.png'), encodePng({ width: 2, height: 2, colorType: 2, samples: new Array(12).fill(7) }).subarray(0, 40));
  await assert.rejects(decodeRgbLikePil(join(dir, 'broken.png')), /cannot read image .*broken\.png/);
});

test('fidelityImageBatches: min(batch, N) per batch in file order, last partial, uint8 (n, 3, H, W); one size per batch', async () => {
  const dir = tempDir('fid-batch-');
  for (let i = 0; i < 5; i++) writeFileSync(join(dir, `${i}.png`), flatPng(3, 2, [i, 10 * i, 255 - i]));
  const seen: number[][] = [];
  for await (const b of fidelityImageBatches(dir, { batchSize: 2 })) {
    assert.equal(b.images.dtype, 'uint8');
    assert.deepEqual(b.images.shape.slice(1), [3, 2, 3]);
    seen.push(b.files.map((f) => Number(f.slice(-5, -4))));
    // channel-first copy of the pixels: image i has R = i, G = 10·i, B = 255 − i everywhere
    b.files.forEach((f, j) => {
      const i = Number(f.slice(-5, -4));
      assert.deepEqual(
        [0, 1, 2].map((c) => b.images.select(0, j).select(0, c).flatten().toTypedArray()[5]),
        [i, 10 * i, 255 - i],
      );
    });
    b.images.dispose();
  }
  assert.deepEqual(seen, [[0, 1], [2, 3], [4]]);
  // the default batch is min(64, N): one batch of 5
  const all: number[] = [];
  for await (const b of fidelityImageBatches(dir)) {
    all.push(b.images.shape[0]);
    b.images.dispose();
  }
  assert.deepEqual(all, [5]);

  // a different size within a batch fails naming both files; in another batch it is fine
  writeFileSync(join(dir, '5.png'), flatPng(4, 4, [0, 0, 0]));
  await assert.rejects(async () => {
    for await (const b of fidelityImageBatches(dir, { batchSize: 3 })) b.images.dispose();
  }, /images of different sizes in one batch: .*3\.png is 3×2 \(W×H\), .*5\.png is 4×4/);
  const shapes: number[][] = [];
  for await (const b of fidelityImageBatches(dir, { batchSize: 5 })) {
    shapes.push(b.images.shape);
    b.images.dispose();
  }
  assert.deepEqual(shapes, [
    [5, 3, 2, 3],
    [1, 3, 4, 4],
  ]);
  await assert.rejects(async () => {
    for await (const _ of fidelityImageBatches(dir, { batchSize: 0 })) {
      /* */
    }
  }, /batchSize must be a positive integer/);
});
