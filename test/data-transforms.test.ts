// The augmentations (docs/upstream/tokenizer.md#preprocessing, docs/upstream/configs.md#augmentation-modes): the Pillow port against Pillow's own crops, randcrop's sizes,
// offsets and flips from the seed, centercrop against centerCropArr, TenCrop's order and pixels on a
// gradient, the cached modes' view counts, `none` for small images, and the seeded RNG.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../lib/torch.js';
import { decodeImage } from '../lib/data/decode.js';
import { admCenterCrop, pilResize, resizeShort, resizeShortSide } from '../lib/data/pil-resample.js';
import { applyTransform, numViews, tenCrop } from '../lib/data/transforms.js';
import { crop, hflip, toChannels, type RawImage } from '../lib/data/raw-image.js';
import { Rng, augmentationRng } from '../lib/data/rng.js';
import { centerCropArr, readImage, rawToTensor, tensorToRaw } from '../lib/data/image.js';
import { LOCAL_FIXTURES } from './fixture-paths.js';
import { noiseImage, patternImage } from './data-helpers.js';

const fixtures = { city: 'city.jpg', food: 'food.jpg', highland: 'highland.webp' };
const same = (a: RawImage, b: RawImage) => a.width === b.width && a.height === b.height && a.channels === b.channels && Buffer.compare(a.data, b.data) === 0;
const px = (img: RawImage, x: number, y: number) => Array.from(img.data.subarray((y * img.width + x) * img.channels, (y * img.width + x + 1) * img.channels));

for (const [name, file] of Object.entries(fixtures)) {
  test(`admCenterCrop is bit-exact with Pillow's ADM crop (${name}), and within ±1 of centerCropArr`, async () => {
    const img = await decodeImage(join(LOCAL_FIXTURES, 'images', file));
    const mine = admCenterCrop(img, 128);
    const ref = readFileSync(join(LOCAL_FIXTURES, 'pil', `center_crop_128_${name}.u8`));
    assert.equal(Buffer.compare(mine.data, ref), 0, 'differs from Pillow');
    // the test-split centercrop transform is that crop; the torch emulation agrees to ±1
    const viaSpec = applyTransform({ aug: 'centercrop', size: 128, split: 'test' }, img, new Rng(0))[0];
    assert.ok(same(viaSpec, mine));
    const t = await readImage(join(LOCAL_FIXTURES, 'images', file));
    const cc = tensorToRaw(torch.scope(() => centerCropArr(t, 128)));
    t.dispose();
    let maxd = 0,
      equal = 0;
    for (let i = 0; i < cc.data.length; i++) {
      const d = Math.abs(cc.data[i] - mine.data[i]);
      maxd = Math.max(maxd, d);
      if (d === 0) equal++;
    }
    assert.ok(maxd <= 1, `max diff ${maxd}`);
    assert.ok(equal / cc.data.length > 0.98, `only ${equal} of ${cc.data.length} equal`);
  });
}

test('pilResize: box halving averages pairs; bicubic keeps constants; an unchanged axis is untouched', () => {
  const img = patternImage(4, 2, (x, y) => [x * 10 + y, 100, 255]);
  const half = pilResize(img, 2, 1, 'box');
  // (0+10+1+11)/4 = 5.5 → 6 after each pass rounds: row pass (0+10)/2=5, (1+11)/2=6, then (5+6)/2=5.5 → 6
  assert.deepEqual(px(half, 0, 0), [6, 100, 255]);
  assert.deepEqual(px(half, 1, 0), [26, 100, 255]);
  const flat = patternImage(13, 9, () => [77, 0, 255]);
  const up = pilResize(flat, 29, 5, 'bicubic');
  assert.ok(up.data.every((v, i) => v === [77, 0, 255][i % 3]));
  assert.ok(same(pilResize(img, 4, 2, 'bicubic'), img));
});

test('torchvision Resize size rule truncates the long side (ADM rounds)', () => {
  assert.deepEqual(resizeShortSide(300, 199, 128), [192, 128]); // 128·300/199 = 192.96
  assert.deepEqual(resizeShortSide(199, 300, 128), [128, 192]);
  assert.deepEqual(resizeShortSide(500, 375, 256), [341, 256]);
  const r = resizeShort(noiseImage(300, 199, 1), 128);
  assert.deepEqual([r.width, r.height], [192, 128]);
});

test('randcrop: size × size window of the resized image, maybe flipped; reproducible from (seed, epoch, index)', () => {
  const img = noiseImage(300, 200, 3);
  const resized = resizeShort(img, 128); // 192 × 128: offsets only along x
  const spec = { aug: 'randcrop' as const, size: 128 };
  const offsets = new Set<number>();
  let flips = 0;
  for (let index = 0; index < 40; index++) {
    const [v] = applyTransform(spec, img, augmentationRng(7, 0, index));
    assert.deepEqual([v.width, v.height, v.channels], [128, 128, 3]);
    let found = -1,
      flipped = false;
    for (let j = 0; j <= 64 && found < 0; j++) {
      const c = crop(resized, 0, j, 128, 128);
      if (same(c, v)) found = j;
      else if (same(hflip(c), v)) {
        found = j;
        flipped = true;
      }
    }
    assert.ok(found >= 0, `view ${index} is no crop of the resized image`);
    offsets.add(found);
    if (flipped) flips++;
    // the same key gives the same view; the next epoch a different draw (for most indices)
    assert.ok(same(applyTransform(spec, img, augmentationRng(7, 0, index))[0], v));
  }
  assert.ok(offsets.size > 20, `${offsets.size} distinct offsets`);
  assert.ok(flips > 8 && flips < 32, `${flips} flips of 40`);
  const differ = Array.from(
    { length: 20 },
    (_, i) => !same(applyTransform(spec, img, augmentationRng(7, 0, i))[0], applyTransform(spec, img, augmentationRng(7, 1, i))[0]),
  );
  assert.ok(differ.filter(Boolean).length >= 15);
  // test split: the ADM crop, no randomness
  assert.ok(same(applyTransform({ ...spec, split: 'test' }, img, new Rng(1))[0], admCenterCrop(img, 128)));
});

test('centercrop (train): the ADM crop or its mirror, about half each, from the seed', () => {
  const img = noiseImage(90, 70, 2);
  const c = admCenterCrop(img, 48),
    f = hflip(c);
  let flips = 0;
  for (let i = 0; i < 40; i++) {
    const [v] = applyTransform({ aug: 'centercrop', size: 48 }, img, augmentationRng(0, 0, i));
    if (same(v, f)) flips++;
    else assert.ok(same(v, c));
  }
  assert.ok(flips > 8 && flips < 32, `${flips}`);
});

test('centercrop_cached: 2 views, the ADM crop and its mirror; numViews of every mode', () => {
  const img = noiseImage(90, 70, 4);
  const v = applyTransform({ aug: 'centercrop_cached', size: 48 }, img, new Rng(0));
  assert.equal(v.length, 2);
  assert.ok(same(v[0], admCenterCrop(img, 48)) && same(v[1], hflip(v[0])));
  assert.deepEqual(
    ['randcrop', 'centercrop', 'centercrop_cached', 'tencrop_cached', 'none'].map((aug) => numViews({ aug: aug as any, size: 8 })),
    [1, 1, 2, 20, 1],
  );
});

test('tencrop_cached: 20 distinct views in TenCrop order (corners, centre, then of the mirror) on a gradient', () => {
  // size 40: ADM crops to int(42.0) = 42 and int(44.000000000000004) = 44; a 42 × 42 image is its own first crop
  const img = patternImage(42, 42, (x, y) => [5 * x, 5 * y, 128]);
  const views = applyTransform({ aug: 'tencrop_cached', size: 40 }, img, new Rng(0));
  assert.equal(views.length, 20);
  for (const v of views) assert.deepEqual([v.width, v.height, v.channels], [40, 40, 3]);
  const keys = new Set(views.map((v) => Buffer.from(v.data).toString('base64')));
  assert.equal(keys.size, 20, 'views are distinct');
  // top-left pixel (x, y) of the 42-crop's views: tl, tr, bl, br, centre (round(2/2) = 1); mirrored x' = 41 − x
  const origin = [
    [0, 0],
    [2, 0],
    [0, 2],
    [2, 2],
    [1, 1],
    [41, 0],
    [39, 0],
    [41, 2],
    [39, 2],
    [40, 1],
  ];
  origin.forEach(([x, y], k) => assert.deepEqual(px(views[k], 0, 0), [5 * x, 5 * y, 128], `view ${k}`));
  // and the pixel one step right/down moves along the gradient (mirrored views run backwards in x)
  assert.deepEqual(px(views[0], 1, 1), [5, 5, 128]);
  assert.deepEqual(px(views[5], 1, 1), [5 * 40, 5, 128]);
  // the second ten are TenCrop of the 44-pixel ADM crop
  assert.ok(views.slice(10).every((v, k) => same(v, tenCrop(admCenterCrop(img, 44), 40)[k])));
  // at the real size: 268 and 281 crops, centre offsets round(6) = 6 and round(12.5) = 12 (half-even)
  const big = noiseImage(320, 290, 9);
  const v256 = applyTransform({ aug: 'tencrop_cached', size: 256 }, big, new Rng(0));
  assert.equal(v256.length, 20);
  const c268 = admCenterCrop(big, 268),
    c281 = admCenterCrop(big, 281);
  assert.ok(same(v256[4], crop(c268, 6, 6, 256, 256)) && same(v256[14], crop(c281, 12, 12, 256, 256)));
  assert.ok(same(v256[11], crop(c281, 0, 25, 256, 256)) && same(v256[15], hflip(crop(c281, 0, 25, 256, 256))));
});

test('none: pad or bicubic-resize small grey images; channels 1 or replicated to 3', () => {
  const g: RawImage = { data: Uint8Array.from({ length: 28 * 28 }, (_, i) => i % 256), width: 28, height: 28, channels: 1 };
  assert.ok(same(applyTransform({ aug: 'none' }, g, new Rng(0))[0], g));
  const p = applyTransform({ aug: 'none', size: 32, resize: 'pad', channels: 3 }, g, new Rng(0))[0];
  assert.deepEqual([p.width, p.height, p.channels], [32, 32, 3]);
  assert.deepEqual(px(p, 0, 0), [0, 0, 0]);
  assert.deepEqual(px(p, 2, 2), [g.data[0], g.data[0], g.data[0]]);
  assert.deepEqual(px(p, 3, 2), [1, 1, 1]);
  assert.deepEqual(px(p, 29, 29), [g.data[27 * 28 + 27], g.data[27 * 28 + 27], g.data[27 * 28 + 27]]);
  const r = applyTransform({ aug: 'none', size: 32 }, g, new Rng(0))[0];
  assert.deepEqual([r.width, r.height, r.channels], [32, 32, 1]);
  assert.ok(same(r, pilResize(g, 32, 32, 'bicubic')));
  // RGB → L is PIL's luma (299, 587, 114 per mille, fixed point)
  assert.deepEqual(
    Array.from(
      toChannels(
        patternImage(1, 1, () => [255, 0, 0]),
        1,
      ).data,
    ),
    [76],
  );
  assert.deepEqual(
    Array.from(
      toChannels(
        patternImage(1, 1, () => [10, 200, 30]),
        1,
      ).data,
    ),
    [124],
  );
  assert.throws(() => applyTransform({ aug: 'none', size: 20, resize: 'pad' }, g, new Rng(0)), /larger than 20/);
  assert.throws(() => applyTransform({ aug: 'randcrop' } as any, g, new Rng(0)), /needs a size/);
  assert.throws(() => applyTransform({ aug: 'fivecrop' } as any, g, new Rng(0)), /unknown augmentation 'fivecrop'/);
});

test('Rng: a pure function of its keys; int() uniform and in range', () => {
  const a = new Rng(1, 2, 3),
    b = new Rng(1, 2, 3),
    c = new Rng(1, 2, 4),
    d = new Rng(1, 3, 2);
  const draw = (r: Rng) => Array.from({ length: 8 }, () => r.next());
  const da = draw(a);
  assert.deepEqual(da, draw(b));
  assert.notDeepEqual(da, draw(c));
  assert.notDeepEqual(da, draw(d));
  const r = new Rng(5);
  const counts = new Array(6).fill(0);
  for (let i = 0; i < 60000; i++) counts[r.int(6)]++;
  for (const n of counts) assert.ok(Math.abs(n - 10000) < 400, `${counts}`);
  for (let i = 0; i < 1000; i++) {
    const u = r.random();
    assert.ok(u >= 0 && u < 1);
  }
  assert.equal(new Rng(9).int(1), 0);
});

test('rawToTensor / tensorToRaw: HWC bytes ↔ uint8 (C, H, W)', () => {
  const img = patternImage(3, 2, (x, y) => [x, 10 + y, 20]);
  const t = rawToTensor(img);
  assert.deepEqual([t.dtype, t.shape], ['uint8', [3, 2, 3]]);
  assert.deepEqual(t.tolist(), [
    [
      [0, 1, 2],
      [0, 1, 2],
    ],
    [
      [10, 10, 10],
      [11, 11, 11],
    ],
    [
      [20, 20, 20],
      [20, 20, 20],
    ],
  ]);
  assert.ok(same(tensorToRaw(t), img));
  t.dispose();
});
