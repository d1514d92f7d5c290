// Splitting a dataset as torch.utils.data.random_split does (one randperm from a seeded generator,
// consecutive pieces of it), and the trainer's held-out validation set: valid_size images taken
// from the training set with seed 42 (DiffusionTrainer: random_split(ds, [n - valid, valid], 42)).
import { Generator } from '../core/random.js';
import { randperm } from '../core/creation.js';
import { Subset, type Dataset } from './dataset.js';

/** random_split(dataset, lengths, generator=torch.Generator().manual_seed(seed)). */
export function randomSplit(dataset: Dataset, lengths: readonly number[], seed: number): Subset[] {
  const total = lengths.reduce((a, b) => a + b, 0);
  if (lengths.some((l) => !Number.isInteger(l) || l < 0))
    throw new RangeError(`randomSplit: lengths must be non-negative integers, got [${lengths.join(', ')}]`);
  if (total !== dataset.length) throw new RangeError(`randomSplit: lengths sum to ${total}, the dataset has ${dataset.length}`);
  const g = new Generator().manualSeed(seed);
  const t = randperm(total, { generator: g });
  const perm = Array.from(t.toTypedArray() as BigInt64Array, Number);
  t.dispose();
  const out: Subset[] = [];
  let offset = 0;
  for (const l of lengths) {
    out.push(new Subset(dataset, perm.slice(offset, offset + l)));
    offset += l;
  }
  return out;
}

/** The trainer's split: `validSize` samples held out of `dataset` (seed 42 as upstream). */
export function holdOutValidation(dataset: Dataset, validSize: number, seed = 42): { train: Subset; valid: Subset } {
  if (!Number.isInteger(validSize) || validSize < 0 || validSize >= dataset.length)
    throw new RangeError(`holdOutValidation: valid size ${validSize} must be in [0, ${dataset.length})`);
  const [train, valid] = randomSplit(dataset, [dataset.length - validSize, validSize], seed);
  return { train, valid };
}
