// The DataLoader: batches complete and in the sampler's order, the epoch advancing and reshuffling,
// workers giving the same bytes as the main thread, resuming mid-epoch, unreadable files (one
// warning, counted, replaced; > 1% stops the run), no tensor leak, cached views, Fashion-MNIST, and
// a process that exits with or without close().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as torch from '../lib/torch.js';
import { DataLoader, UnreadableDataError, type Batch } from '../lib/data/loader.js';
import { ImageFolder } from '../lib/data/image-folder.js';
import { FashionMnist } from '../lib/data/fashion-mnist.js';
import { decodeImage } from '../lib/data/decode.js';
import { applyTransform } from '../lib/data/transforms.js';
import { augmentationRng } from '../lib/data/rng.js';
import { writeChw } from '../lib/data/raw-image.js';
import { tempDir, imageTree, corrupt } from './data-helpers.js';

const randcrop = { aug: 'randcrop' as const, size: 16 };

async function collect(loader: DataLoader): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of loader) out.push(b);
  return out;
}
const free = (bs: Batch[]) => bs.forEach((b) => torch.dispose(b.images, b.labels));
const bytes = (t: torch.Tensor) => Buffer.from((t.toTypedArray() as Float32Array).buffer);

let small: ImageFolder;
async function smallSet(): Promise<ImageFolder> {
  if (!small) {
    const root = tempDir('loader-');
    await imageTree(root, ['b', 'a'], 5);
    small = new ImageFolder(root);
  }
  return small;
}

test('batches are complete and in the sampler order; labels follow; pixels are the transform / 255; the next epoch reshuffles', async () => {
  const ds = await smallSet();
  const loader = new DataLoader(ds, { batchSize: 4, transform: randcrop, seed: 11 });
  assert.equal(loader.length, 3);
  const order0 = loader.sampler.indices(0);
  const e0 = await collect(loader);
  assert.deepEqual(
    e0.map((b) => b.images.shape),
    [
      [4, 3, 16, 16],
      [4, 3, 16, 16],
      [2, 3, 16, 16],
    ],
  );
  assert.deepEqual(
    e0.map((b) => [b.images.dtype, b.labels.dtype]),
    Array(3).fill(['float32', 'int64']),
  );
  assert.deepEqual(
    e0.flatMap((b) => b.indices),
    order0,
  );
  assert.deepEqual(
    e0.flatMap((b) => b.labels.tolist()),
    order0.map((i) => ds.get(i).label),
  );
  assert.deepEqual(
    e0.map((b) => [b.epoch, b.batch]),
    [
      [0, 0],
      [0, 1],
      [0, 2],
    ],
  );
  // sample 1 of batch 1, rebuilt by hand: decode, transform with its (seed, epoch, index) RNG, / 255
  const idx = e0[1].indices[1];
  const [view] = applyTransform(randcrop, await decodeImage(ds.get(idx).image as string), augmentationRng(11, 0, idx));
  const chw = new Uint8Array(3 * 16 * 16);
  writeChw(view, chw, 0);
  const want = torch.scope(() =>
    torch
      .tensor(chw, { shape: [3, 16, 16] })
      .float()
      .div(255),
  );
  assert.ok(torch.scope(() => e0[1].images.select(0, 1).equal(want)));
  want.dispose();
  const mm = torch.scope(() => [e0[0].images.min().item(), e0[0].images.max().item()]);
  assert.ok(mm[0] >= 0 && mm[1] <= 1 && mm[1] > 0.5);
  // the sampler moved on: epoch 1, a new order
  assert.deepEqual(loader.sampler.position, { epoch: 1, batch: 0 });
  const e1 = await collect(loader);
  assert.deepEqual(
    e1.flatMap((b) => b.indices),
    loader.sampler.indices(1),
  );
  assert.notDeepEqual(
    e1.flatMap((b) => b.indices),
    order0,
  );
  free([...e0, ...e1]);
});

test('numWorkers 2 gives the same batches (bytes, labels, order) as numWorkers 0; dropLast drops the tail', async () => {
  const ds = await smallSet();
  const run = async (numWorkers: number) => {
    const l = new DataLoader(ds, { batchSize: 4, transform: randcrop, seed: 5, numWorkers, dropLast: true });
    const b = await collect(l);
    await l.close();
    return b;
  };
  const a = await run(0),
    b = await run(2);
  assert.equal(a.length, 2);
  assert.equal(b.length, 2);
  for (let i = 0; i < 2; i++) {
    assert.deepEqual(b[i].indices, a[i].indices);
    assert.deepEqual(b[i].labels.tolist(), a[i].labels.tolist());
    assert.equal(Buffer.compare(bytes(b[i].images), bytes(a[i].images)), 0, `batch ${i} differs`);
  }
  free([...a, ...b]);
});

test('resuming at a saved (epoch, batch) reproduces the rest of the epoch exactly', async () => {
  const ds = await smallSet();
  const full = new DataLoader(ds, { batchSize: 3, transform: randcrop, seed: 2 });
  full.sampler.setEpoch(4);
  const all = await collect(full);
  assert.equal(all.length, 4);
  const resumed = new DataLoader(ds, { batchSize: 3, transform: randcrop, seed: 2, numWorkers: 1 });
  resumed.sampler.loadState({ epoch: 4, batch: 2 });
  const rest = await collect(resumed);
  await resumed.close();
  assert.deepEqual(
    rest.map((b) => b.batch),
    [2, 3],
  );
  rest.forEach((b, i) => {
    assert.deepEqual(b.indices, all[i + 2].indices);
    assert.equal(Buffer.compare(bytes(b.images), bytes(all[i + 2].images)), 0);
  });
  // stopping early keeps the position: the next iteration continues there
  const partial = new DataLoader(ds, { batchSize: 3, transform: randcrop, seed: 2 });
  partial.sampler.setEpoch(4);
  const got: Batch[] = [];
  for await (const b of partial) {
    got.push(b);
    if (got.length === 1) break;
  }
  assert.deepEqual(partial.sampler.position, { epoch: 4, batch: 1 });
  for await (const b of partial) got.push(b);
  assert.deepEqual(
    got.map((b) => b.batch),
    [0, 1, 2, 3],
  );
  assert.deepEqual(
    got.flatMap((b) => b.indices),
    all.flatMap((b) => b.indices),
  );
  free([...all, ...rest, ...got]);
});

let hundred: { ds: ImageFolder; files: string[] };
async function hundredSet() {
  if (!hundred) {
    const root = tempDir('loader100-');
    const files = await imageTree(root, ['c0', 'c1'], 50, 12, 10);
    hundred = { ds: new ImageFolder(root), files };
  }
  return hundred;
}

test('an unreadable file: skipped with one warning (over two epochs), counted, replaced by the next readable sample', async () => {
  const { ds, files } = await hundredSet();
  corrupt(files[37]);
  const warnings: string[] = [];
  const loader = new DataLoader(ds, { batchSize: 10, transform: { aug: 'centercrop', size: 8 }, numWorkers: 1, seed: 3, onWarning: (m) => warnings.push(m) });
  for (let epoch = 0; epoch < 2; epoch++) {
    const order = loader.sampler.indices(epoch);
    const bs = await collect(loader);
    assert.equal(bs.length, 10);
    assert.ok(
      bs.every((b) => b.images.shape[0] === 10 && b.indices.length === 10),
      'every batch complete',
    );
    const seen = bs.flatMap((b) => b.indices);
    assert.ok(!seen.includes(37), 'the unreadable sample is never handed out');
    const at = order.indexOf(37);
    const expected = [...order];
    expected[at] = order[(at + 1) % order.length];
    assert.deepEqual(seen, expected);
    assert.deepEqual(
      bs.flatMap((b) => b.labels.tolist()),
      expected.map((i) => ds.get(i).label),
    );
    free(bs);
  }
  await loader.close();
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], new RegExp(`skipping unreadable image ${files[37]}: cannot decode image.*\\(1 unreadable so far\\)`));
  assert.equal(loader.unreadableCount, 1);
  assert.deepEqual(
    loader.unreadable.map((u) => [u.index, u.source]),
    [[37, files[37]]],
  );
});

test('more than 1% unreadable stops the run with an UnreadableDataError naming the files', async () => {
  const { ds, files } = await hundredSet();
  corrupt(files[37]);
  corrupt(files[80]);
  const warnings: string[] = [];
  const loader = new DataLoader(ds, { batchSize: 10, transform: { aug: 'centercrop', size: 8 }, numWorkers: 2, onWarning: (m) => warnings.push(m) });
  const got: Batch[] = [];
  await assert.rejects(
    async () => {
      for await (const b of loader) got.push(b);
    },
    (e: Error) => {
      assert.ok(e instanceof UnreadableDataError);
      assert.match(e.message, /2 of 100 images are unreadable \(2\.00%\), more than the 1% allowed/);
      assert.ok(e.message.includes(files[37]) && e.message.includes(files[80]));
      assert.equal((e as UnreadableDataError).files.length, 2);
      return true;
    },
  );
  assert.equal(warnings.length, 2);
  free(got);
  await loader.close();
  // a looser limit lets the same data through
  const lenient = new DataLoader(ds, { batchSize: 50, transform: { aug: 'centercrop', size: 8 }, maxUnreadableFraction: 0.05, onWarning: () => {} });
  const bs = await collect(lenient);
  assert.deepEqual(
    bs.map((b) => b.images.shape[0]),
    [50, 50],
  );
  assert.equal(lenient.unreadableCount, 2);
  free(bs);
});

test('no tensor leak: a full epoch with workers and prefetch, and an epoch cut short, leave nothing behind', async () => {
  const ds = await smallSet();
  const loader = new DataLoader(ds, { batchSize: 2, transform: randcrop, numWorkers: 2, prefetch: 4 });
  const before = torch.memory().numTensors;
  let n = 0;
  for await (const b of loader) {
    n++;
    torch.scope(() => {
      b.images.mean();
    });
    torch.dispose(b.images, b.labels);
  }
  assert.equal(n, 5);
  assert.equal(torch.memory().numTensors, before);
  for await (const b of loader) {
    torch.dispose(b.images, b.labels);
    break;
  }
  await new Promise((r) => setTimeout(r, 200)); // in-flight jobs of the cut epoch land and are dropped
  assert.equal(torch.memory().numTensors, before);
  await loader.close();
  await assert.rejects(async () => {
    for await (const b of loader) torch.dispose(b.images, b.labels);
  }, /DataLoader is closed/);
});

test('prefetching: while the consumer steps, the next batches are decoded, so it does not wait for them', async () => {
  const ds = await smallSet();
  for (const numWorkers of [0, 1]) {
    const loader = new DataLoader(ds, { batchSize: 2, transform: randcrop, numWorkers, prefetch: 2 });
    const waits: number[] = [];
    let t = performance.now();
    for await (const b of loader) {
      waits.push(performance.now() - t);
      torch.dispose(b.images, b.labels);
      await new Promise((r) => setTimeout(r, 80)); // a "training step" far longer than decoding 2 tiny JPEGs
      t = performance.now();
    }
    await loader.close();
    const later = waits.slice(1);
    assert.equal(later.length, 4);
    const mean = later.reduce((a, b) => a + b, 0) / later.length;
    assert.ok(mean < 25, `workers ${numWorkers}: waited ${waits.map((w) => w.toFixed(1)).join(', ')} ms for batches`);
  }
});

test('cached augmentations give (B, V, C, H, W); uint8 output; one iteration at a time', async () => {
  const ds = await smallSet();
  const ten = new DataLoader(ds, { batchSize: 4, transform: { aug: 'tencrop_cached', size: 16 }, shuffle: false, output: 'uint8' });
  const it = ten[Symbol.asyncIterator]();
  const first = (await it.next()).value as Batch;
  assert.deepEqual([first.images.shape, first.images.dtype], [[4, 20, 3, 16, 16], 'uint8']);
  assert.deepEqual(first.indices, [0, 1, 2, 3]);
  await assert.rejects(async () => {
    for await (const b of ten) torch.dispose(b.images);
  }, /already running/);
  await it.return(undefined);
  const cc = new DataLoader(ds, { batchSize: 3, transform: { aug: 'centercrop_cached', size: 16 }, dropLast: true });
  const bs = await collect(cc);
  assert.deepEqual(
    bs.map((b) => b.images.shape),
    Array(3).fill([3, 2, 3, 16, 16]),
  );
  // view 1 is view 0 mirrored
  assert.ok(torch.scope(() => bs[0].images.select(1, 1).equal(bs[0].images.select(1, 0).flip([-1]))));
  free([first, ...bs]);
});

test('Fashion-MNIST through the loader: padded to 32, grey replicated to 3 channels, pixels = bytes / 255', async () => {
  const ds = new FashionMnist({ split: 'test' });
  const loader = new DataLoader(ds, {
    batchSize: 256,
    transform: { aug: 'none', size: 32, resize: 'pad', channels: 3 },
    seed: 1,
    numWorkers: 1,
    dropLast: true,
  });
  assert.equal(loader.length, 39);
  let k = 0;
  for await (const b of loader) {
    assert.deepEqual(b.images.shape, [256, 3, 32, 32]);
    const i = b.indices[7];
    const img = ds.get(i).image;
    assert.ok(typeof img !== 'string');
    if (typeof img === 'string') break;
    torch.scope(() => {
      const want = torch.nn.functional
        .pad(
          torch
            .tensor(img.data, { shape: [1, 28, 28] })
            .float()
            .div(255),
          [2, 2, 2, 2],
        )
        .expand(3, 32, 32);
      assert.ok(b.images.select(0, 7).equal(want));
      assert.equal(b.labels.index(7).item(), ds.labels[i]);
    });
    torch.dispose(b.images, b.labels);
    if (++k === 3) break;
  }
  await loader.close();
});

test('the process exits by itself after an iteration cut short with workers, with or without close()', async () => {
  const ds = await smallSet();
  const url = (p: string) => pathToFileURL(join(import.meta.dirname, p)).href;
  for (const closeIt of [false, true]) {
    const code = `
      import { DataLoader } from ${JSON.stringify(url('../lib/data/loader.js'))};
      import { ImageFolder } from ${JSON.stringify(url('../lib/data/image-folder.js'))};
      const loader = new DataLoader(new ImageFolder(${JSON.stringify(ds.root)}), { batchSize: 2, transform: { aug: 'randcrop', size: 16 }, numWorkers: 2, prefetch: 4 });
      for await (const b of loader) { b.images.dispose(); b.labels.dispose(); break; }
      ${closeIt ? 'await loader.close();' : ''}
      console.log('iterated');`;
    const t0 = Date.now();
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.signal, null, `killed after ${Date.now() - t0} ms (hanging workers?)\n${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /iterated/);
  }
});
