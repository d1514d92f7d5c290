// Image I/O and ADM's centre crop (vs Pillow's output, test/fixtures/pil), PNG round trip, grids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import * as torch from '../lib/torch.js';
import { readImage, centerCropArr, writePng, toUnitFloat } from '../lib/data/image.js';
import { makeGrid } from '../lib/data/grid.js';
import { LOCAL_FIXTURES } from './fixture-paths.js';

const images = { city: 'city.jpg', food: 'food.jpg', highland: 'highland.webp' };

for (const [name, file] of Object.entries(images)) {
  test(`centerCropArr matches Pillow's ADM crop (${name}): max |diff| ≤ 1, mean |diff| < 0.01`, async () => {
    const img = await readImage(join(LOCAL_FIXTURES, 'images', file));
    await torch.scope(async () => {
      const mine = centerCropArr(img, 128).permute(1, 2, 0).int();
      const ref = torch.tensor(new Uint8Array(readFileSync(join(LOCAL_FIXTURES, 'pil', `center_crop_128_${name}.u8`))), { shape: [128, 128, 3] }).int();
      const d = mine.sub(ref).abs();
      assert.ok(d.max().item() <= 1, `max diff ${d.max().item()}`);
      assert.ok(d.float().mean().item() < 0.01, `mean diff ${d.float().mean().item()}`);
    });
    img.dispose();
  });
}

test('readImage gives uint8 (3, H, W); unreadable files name the path', async () => {
  const img = await readImage(join(LOCAL_FIXTURES, 'images', 'food.jpg'));
  assert.equal(img.dtype, 'uint8');
  assert.deepEqual(img.shape, [3, 400, 400]);
  img.dispose();
  await assert.rejects(readImage('/nonexistent/x.jpg'), /cannot read image \/nonexistent\/x.jpg/);
});

test('writePng then readImage round-trips uint8 values exactly', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'img-'));
  const src = torch.scope(() => torch.randint(0, 256, [3, 9, 7], { dtype: 'uint8' }));
  await writePng(join(dir, 'a.png'), src);
  const back = await readImage(join(dir, 'a.png'));
  assert.ok(back.equal(src));
  torch.dispose(src, back);
  const f = torch.scope(() => toUnitFloat(torch.tensor([[[0, 128, 255]]], { dtype: 'uint8' })));
  await writePng(join(dir, 'b.png'), f);
  const b = await readImage(join(dir, 'b.png'));
  assert.deepEqual(b.select(0, 0).tolist(), [[0, 128, 255]]);
  torch.dispose(f, b);
});

test('makeGrid places images row-major with padding and draws labels', () =>
  torch.scope(() => {
    const imgs = torch.stack([torch.zeros(3, 4, 4), torch.ones(3, 4, 4).mul(0.5), torch.ones(3, 4, 4)]);
    const g = makeGrid(imgs, { nrow: 2, padding: 1, padValue: 1 });
    assert.deepEqual(g.shape, [3, 1 + 2 * 5, 1 + 2 * 5]);
    assert.equal(g.index(0, 1, 1).item(), 0); // first image, top-left pixel
    assert.equal(g.index(0, 1, 6).item(), 0.5); // second image
    assert.equal(g.index(0, 6, 1).item(), 1); // third image (second row)
    assert.equal(g.index(0, 0, 0).item(), 1); // padding
    const labelled = makeGrid(imgs, { nrow: 3, padding: 2, colLabels: ['A', 'B', 'C'] });
    assert.ok(labelled.size(1) > 4 + 4, 'room for a label row');
    assert.equal(labelled.narrow(1, 0, 11).min().item(), 0, 'label pixels are drawn in black');
  }));

test("makeGrid repeats grayscale images into RGB, as torchvision's make_grid", () =>
  torch.scope(() => {
    const gray = torch.rand(3, 1, 4, 4);
    const g = makeGrid(gray, { nrow: 3, padding: 1 });
    assert.deepEqual(g.shape, [3, 6, 16]);
    assert.ok(g.select(0, 0).equal(g.select(0, 1)) && g.select(0, 0).equal(g.select(0, 2)));
    assert.ok(makeGrid(gray.expand(-1, 3, -1, -1), { nrow: 3, padding: 1 }).equal(g));
  }));
