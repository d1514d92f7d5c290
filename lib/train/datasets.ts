// Config `dataset` / `test_dataset` entries ({target, params}) → datasets and their transforms.
// Upstream's target (semanticist.utils.datasets.ImageNet) is accepted as an alias.
import type { Dataset } from '../data/dataset.js';
import { imageNet } from '../data/image-folder.js';
import { GlobImageFolder } from '../data/glob-folder.js';
import { FashionMnist } from '../data/fashion-mnist.js';
import type { TransformSpec, Augmentation } from '../data/transforms.js';

const TARGETS: Record<string, string> = {
  'semanticist.utils.datasets.ImageNet': 'ImageNet',
  ImageNet: 'ImageNet',
  ImageFolder: 'ImageFolder',
  FashionMNIST: 'FashionMNIST',
};
const PARAMS: Record<string, string[]> = {
  ImageNet: ['root', 'split', 'img_size', 'aug'],
  ImageFolder: ['root', 'img_size', 'aug', 'labels'],
  FashionMNIST: ['root', 'split', 'img_size', 'aug', 'channels', 'resize'],
};

export interface DataSpec {
  dataset: Dataset;
  transform: TransformSpec;
}

/** Builds a dataset from a config entry; `split` is the default split ('train' or 'val'/'test'). */
export function datasetFromConfig(entry: { target?: string; params?: Record<string, any> }, where: string, split: 'train' | 'test'): DataSpec {
  const kind = TARGETS[entry?.target ?? ''];
  if (!kind) throw new Error(`${where}.target: unknown dataset '${entry?.target}' (known: ${Object.keys(TARGETS).join(', ')})`);
  const p = entry.params ?? {};
  for (const k of Object.keys(p))
    if (!PARAMS[kind].includes(k)) throw new Error(`${where}.params: unknown key '${k}' for ${kind} (valid: ${PARAMS[kind].join(', ')})`);
  const size = Number(p.img_size ?? 256);
  const augDefault: Augmentation = split === 'train' ? 'randcrop' : 'centercrop';
  switch (kind) {
    case 'ImageNet':
      return {
        dataset: imageNet(String(p.root ?? './dataset/imagenet/'), p.split ?? (split === 'train' ? 'train' : 'val')),
        transform: { aug: p.aug ?? augDefault, size, split },
      };
    case 'ImageFolder':
      return { dataset: new GlobImageFolder(String(p.root), { labels: p.labels ?? 'subfolder' }), transform: { aug: p.aug ?? augDefault, size, split } };
    default:
      return {
        dataset: new FashionMnist({ split: p.split ?? split, root: p.root }),
        transform: { aug: p.aug ?? 'none', size, channels: p.channels ?? 1, resize: p.resize ?? 'pad', split },
      };
  }
}
