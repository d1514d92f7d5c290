// torch-fidelity's calculate_metrics (the LTH14 fork upstream uses) for folders of images: the
// Inception features of input1 (and input2), the Inception Score of input1, and the FID of input1
// against input2, or against a statistics file when input2 is not given (the fork ignores the file
// when input2 is given; so does this, and says so). Features of a folder are cached on disk when
// a cache folder is given (keyed by the folder's files and the weight file), so a grid of
// evaluations extracts its reference set once; torch-fidelity itself never caches folders.
import * as torch from '../../torch.js';
import type { Tensor } from '../../core/tensor.js';
import { InceptionV3Features, type InceptionFeature } from './inception.js';
import { findInceptionWeights } from './weights-path.js';
import { fidelityImageBatches, FIDELITY_BATCH_SIZE } from './image-folder.js';
import { FeatureCache } from './feature-cache.js';
import { fidStatistics, loadFidStatistics, saveFidStatistics, type FidStatistics } from './statistics.js';
import { frechetDistance } from './fid.js';
import { inceptionScore } from './isc.js';

export interface FidelityOptions {
  input1: string;
  input2?: string | null;
  /** Reference statistics (.npz with mu, sigma); used only without input2. */
  fidStatisticsFile?: string | null;
  fid?: boolean;
  isc?: boolean;
  /** Images per Inception batch (torch-fidelity: 64). */
  batchSize?: number;
  iscSplits?: number;
  samplesShuffle?: boolean;
  rngSeed?: number;
  /** torch-fidelity's weight file; default: the torch hub cache (see findInceptionWeights). */
  weightsPath?: string | null;
  /** An extractor already loaded (from `weightsFile`, on `device`), kept by the caller: a grid of evaluations loads it once. */
  extractor?: { model: InceptionV3Features; weightsFile: string };
  device?: string;
  /** Folder of the on-disk feature cache, or none. */
  cacheDir?: string | null;
  /** Also write input1's FID statistics to this .npz. */
  saveStats?: string | null;
  log?: (line: string) => void;
}

/** The keys of torch-fidelity's result dict. */
export interface FidelityResult {
  frechet_inception_distance?: number;
  inception_score_mean: number;
  inception_score_std: number;
}

/** Whether the Inception weights can be found (FID/IS need them), and if not, why. */
export function fidelityAvailable(weightsPath?: string | null): { ok: true; path: string } | { ok: false; why: string } {
  try {
    return { ok: true, path: findInceptionWeights(weightsPath) };
  } catch (e) {
    return { ok: false, why: (e as Error).message };
  }
}

/** The requested features of every image of a folder, in torch-fidelity's file order (CPU, float32). */
export async function folderFeatures(
  model: InceptionV3Features,
  folder: string,
  features: InceptionFeature[],
  o: { batchSize?: number; device?: string; cache?: FeatureCache | null; weightsFile?: string } = {},
): Promise<Map<InceptionFeature, Tensor>> {
  const key = o.cache && o.weightsFile ? { folder, extractor: o.weightsFile, features } : null;
  const cached = key ? o.cache!.get(key) : null;
  if (cached) return cached as Map<InceptionFeature, Tensor>;
  const parts = features.map(() => [] as Tensor[]);
  const fingerprint = key ? o.cache!.fingerprint(key) : undefined;
  for await (const batch of fidelityImageBatches(folder, { batchSize: o.batchSize ?? FIDELITY_BATCH_SIZE })) {
    const out = torch.scope(() => {
      const images = o.device && o.device !== 'cpu' ? batch.images.to({ device: o.device }) : batch.images;
      return model.forward(images, features).map((t) => t.cpu());
    });
    batch.images.dispose();
    out.forEach((t, i) => parts[i].push(t));
  }
  if (parts[0].length === 0) throw new Error(`${folder}: no png/jpg/jpeg images in the folder (sub-folders are not read)`);
  const result = new Map<InceptionFeature, Tensor>(features.map((f, i) => [f, torch.cat(parts[i], 0)]));
  torch.dispose(parts);
  if (key) o.cache!.put(key, result, fingerprint);
  return result;
}

export async function calculateMetrics(o: FidelityOptions): Promise<FidelityResult> {
  if (!o.input1) throw new Error('First input is required for all metrics (input1)');
  const fid = o.fid ?? true,
    isc = o.isc ?? true;
  const log = o.log ?? (() => {});
  if (fid && !o.input2 && !o.fidStatisticsFile) throw new Error('FID needs a second input: input2 (a folder) or fid_statistics_file (an .npz of mu and sigma)');
  if (fid && o.input2 && o.fidStatisticsFile) log(`fid_statistics_file ${o.fidStatisticsFile} is ignored: input2 is given (as torch-fidelity)`);
  const weightsFile = o.extractor?.weightsFile ?? findInceptionWeights(o.weightsPath);
  const model = o.extractor?.model ?? InceptionV3Features.load(weightsFile, { device: o.device });
  const cache = o.cacheDir ? new FeatureCache(o.cacheDir) : null;
  const wanted: InceptionFeature[] = [...(fid || o.saveStats ? ['2048' as const] : []), ...(isc ? ['logits_unbiased' as const] : [])];
  if (!wanted.length) throw new Error('nothing to compute: ask for fid, isc or saveStats');
  try {
    const f1 = await folderFeatures(model, o.input1, wanted, { batchSize: o.batchSize, device: o.device, cache, weightsFile });
    const result: FidelityResult = { inception_score_mean: NaN, inception_score_std: NaN };
    if (isc) {
      const s = inceptionScore(f1.get('logits_unbiased')!, { splits: o.iscSplits, shuffle: o.samplesShuffle, rngSeed: o.rngSeed });
      result.inception_score_mean = s.mean;
      result.inception_score_std = s.std;
    }
    if (fid || o.saveStats) {
      const s1 = fidStatistics(f1.get('2048')!);
      if (o.saveStats) saveFidStatistics(o.saveStats, s1);
      if (fid) {
        let s2: FidStatistics;
        if (o.input2) {
          const f2 = await folderFeatures(model, o.input2, ['2048'], { batchSize: o.batchSize, device: o.device, cache, weightsFile });
          s2 = fidStatistics(f2.get('2048')!);
          torch.dispose([...f2.values()]);
        } else s2 = loadFidStatistics(o.fidStatisticsFile!);
        result.frechet_inception_distance = frechetDistance(s1, s2);
        torch.dispose(s2.mu, s2.sigma);
      }
      torch.dispose(s1.mu, s1.sigma);
    }
    torch.dispose([...f1.values()]);
    return result;
  } finally {
    if (!o.extractor) model.dispose();
  }
}
