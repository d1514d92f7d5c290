// ImageNet / ImageFolder layout (sorted class folders → labels, torchvision's sample order, nested
// folders, extensions), the fast-glob image folder, and decoding to RGB.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { imageNet, ImageFolder } from '../lib/data/image-folder.js';
import { GlobImageFolder } from '../lib/data/glob-folder.js';
import { decodeImage } from '../lib/data/decode.js';
import { holdOutValidation } from '../lib/data/split.js';
import { tempDir, imageTree, noiseImage, writeImage, patternImage } from './data-helpers.js';

test('imageNet(root, split): classes are the sorted wnid folders, labels their positions, samples in torchvision order', async () => {
  const root = tempDir('imagenet-');
  const wnids = ['n03000134', 'n01440764', 'n02102040'];
  const trainFiles = await imageTree(join(root, 'train'), wnids, 3);
  await imageTree(join(root, 'val'), wnids, 1);
  // a nested folder, an upper-case extension and non-image files
  mkdirSync(join(root, 'train', 'n01440764', 'extra'));
  await writeImage(join(root, 'train', 'n01440764', 'extra', 'deep.JPEG'), noiseImage(16, 16, 99));
  writeFileSync(join(root, 'train', 'n01440764', 'notes.txt'), 'not an image');
  writeFileSync(join(root, 'train', 'README'), 'a file beside the class folders is not a class');

  const train = imageNet(root, 'train');
  assert.deepEqual(train.classes, ['n01440764', 'n02102040', 'n03000134']);
  assert.deepEqual(
    [...train.classToIdx],
    [
      ['n01440764', 0],
      ['n02102040', 1],
      ['n03000134', 2],
    ],
  );
  assert.equal(train.length, 10);
  // sorted(os.walk()): the class folder's own files, then its sub-folder's
  const expected = [...trainFiles.slice(0, 3), join(root, 'train', 'n01440764', 'extra', 'deep.JPEG'), ...trainFiles.slice(3)];
  assert.deepEqual(
    train.samples.map(([p]) => p),
    expected,
  );
  assert.deepEqual(
    train.samples.map(([, l]) => l),
    [0, 0, 0, 0, 1, 1, 1, 2, 2, 2],
  );
  assert.deepEqual(train.get(5), { image: trainFiles[4], label: 1 });
  const val = imageNet(root, 'val');
  assert.deepEqual([val.length, val.classes.length, val.get(2).label], [3, 3, 2]);
  // the held-out validation split of the trainer works on it: disjoint, covering
  const { train: tr, valid } = holdOutValidation(train, 4);
  assert.equal(tr.length + valid.length, 10);
  assert.deepEqual(
    [...tr.indices, ...valid.indices].sort((a, b) => a - b),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
});

test('ImageFolder errors: no class folder; a class without images', async () => {
  const empty = tempDir('if-empty-');
  assert.throws(() => new ImageFolder(empty), /no class folder in/);
  assert.throws(() => new ImageFolder('/nonexistent/if'), /cannot list \/nonexistent\/if/);
  const root = tempDir('if-');
  await imageTree(root, ['a'], 1);
  mkdirSync(join(root, 'b'));
  assert.throws(() => new ImageFolder(root), /no image in class folder\(s\) b/);
  assert.equal(new ImageFolder(root, { allowEmpty: true }).classes.length, 2);
});

test('GlobImageFolder: any depth, case-insensitive extensions, sorted; label 0 or by top sub-folder', async () => {
  const root = tempDir('glob-');
  mkdirSync(join(root, 'cats', 'x'), { recursive: true });
  mkdirSync(join(root, 'dogs'));
  await writeImage(join(root, 'cats', 'x', 'b.png'), noiseImage(8, 8, 1), 'png');
  await writeImage(join(root, 'cats', 'a.JPG'), noiseImage(8, 8, 2));
  await writeImage(join(root, 'dogs', 'c.jpeg'), noiseImage(8, 8, 3));
  await writeImage(join(root, 'top.png'), noiseImage(8, 8, 4), 'png');
  writeFileSync(join(root, 'dogs', 'skip.txt'), 'x');
  const flat = new GlobImageFolder(root);
  assert.deepEqual(
    flat.files.map((f) => f.slice(root.length + 1)),
    ['cats/a.JPG', 'cats/x/b.png', 'dogs/c.jpeg', 'top.png'],
  );
  assert.deepEqual(Array.from(flat.labels), [0, 0, 0, 0]);
  assert.equal(flat.classes.length, 1);
  const byFolder = new GlobImageFolder(root, { labels: 'subfolder' });
  assert.deepEqual(byFolder.classes, ['.', 'cats', 'dogs']);
  assert.deepEqual(
    Array.from({ length: 4 }, (_, i) => byFolder.get(i).label),
    [1, 1, 2, 0],
  );
  assert.throws(() => new GlobImageFolder(tempDir('glob-empty-')), /no image matching/);
});

test('decodeImage: RGB uint8 HWC (PNG exact), grey replicated, corrupt files name the path', async () => {
  const dir = tempDir('dec-');
  const img = patternImage(5, 3, (x, y) => [x * 50, y * 100, 7]);
  await writeImage(join(dir, 'a.png'), img, 'png');
  const back = await decodeImage(join(dir, 'a.png'));
  assert.deepEqual([back.width, back.height, back.channels], [5, 3, 3]);
  assert.deepEqual(Array.from(back.data), Array.from(img.data));
  const grey = await decodeImage(
    await (await import('sharp'))
      .default(Buffer.from([0, 128, 255, 9]), { raw: { width: 2, height: 2, channels: 1 } })
      .png()
      .toBuffer(),
  );
  assert.deepEqual([grey.channels, ...grey.data.subarray(0, 6)], [3, 0, 0, 0, 128, 128, 128]);
  writeFileSync(join(dir, 'bad.jpg'), Buffer.from([0xff, 0xd8, 0xff, 1, 2, 3]));
  await assert.rejects(decodeImage(join(dir, 'bad.jpg')), new RegExp(`cannot decode image ${join(dir, 'bad.jpg')}`));
  // a JPEG cut in half is an error too (PIL raises "image file is truncated")
  await writeImage(join(dir, 'full.jpg'), noiseImage(64, 64, 5));
  const bytes = (await import('node:fs')).readFileSync(join(dir, 'full.jpg'));
  writeFileSync(join(dir, 'half.jpg'), bytes.subarray(0, bytes.length >> 1));
  await assert.rejects(decodeImage(join(dir, 'half.jpg')), /cannot decode image/);
});
