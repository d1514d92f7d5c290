// `node fidelity.js --input1 DIR [--input2 DIR | --fid_statistics_file F.npz] --fid --isc [--json]`:
// torch-fidelity's command line (the LTH14 fork upstream uses) with its flags and output, so it
// drops in where a user ran `fidelity …`: the result dict as `key: value` lines, or as JSON with
// --json (torch-fidelity's keys: inception_score_mean, inception_score_std,
// frechet_inception_distance). As the fork, --fid_statistics_file is ignored when --input2 is
// given (said on stderr). --save-stats writes input1's FID statistics as an .npz.
import { Command } from 'commander';
import { resolveDevice } from '../core/device.js';
import { calculateMetrics } from '../eval/fidelity/calculate.js';

const posInt = (flag: string) => (v: string) => {
  const x = Number(v);
  if (!Number.isInteger(x) || x < 1) throw new Error(`${flag}: expected a positive integer, got '${v}'`);
  return x;
};

export async function main(argv = process.argv): Promise<void> {
  const p = new Command()
    .name('fidelity.js')
    .description("torch-fidelity's metrics (FID, Inception Score) for image folders, as its `fidelity` command")
    .requiredOption('--input1 <dir>', 'first input: a folder of png/jpg/jpeg images (the samples)')
    .option('--input2 <dir>', 'second input: a folder of real images (for FID)')
    .option('--fid_statistics_file <file>', 'reference FID statistics (.npz with mu, sigma) instead of --input2')
    .option('--fid', 'compute the Frechet Inception Distance')
    .option('--isc', 'compute the Inception Score (of input1)')
    .option('--json', 'print the result as JSON')
    .option('--batch-size <n>', 'images per Inception batch', posInt('--batch-size'), 64)
    .option('--isc-splits <n>', 'Inception Score splits', posInt('--isc-splits'), 10)
    .option('--no-samples-shuffle', 'do not shuffle the samples before the Inception Score splits')
    .option('--rng-seed <n>', 'seed of the Inception Score shuffle', (v) => Number(v), 2020)
    .option('--feature-extractor-weights-path <file>', 'the Inception weights (weights-inception-2015-12-05-6726825d.pth; default: the torch hub cache)')
    .option('--save-stats <file>', "write input1's FID statistics (mu, sigma) to this .npz")
    .option('--device <device>', "'cpu', 'cuda' or 'cuda:N' (default: cuda when available, else cpu)")
    .option('--cache-dir <dir>', 'cache the features of each folder here (torch-fidelity does not cache folders)');
  p.parse(argv);
  const o = p.opts();
  if (!o.fid && !o.isc && !o.saveStats) throw new Error('nothing to compute: give --fid and/or --isc (or --save-stats)');
  if (!Number.isInteger(o.rngSeed) || o.rngSeed < 0) throw new Error(`--rng-seed: expected a non-negative integer, got '${o.rngSeed}'`);
  const device = resolveDevice(o.device, { what: '--device' });
  const r = await calculateMetrics({
    input1: o.input1,
    input2: o.input2 ?? null,
    fidStatisticsFile: o.fid_statistics_file ?? null,
    fid: !!o.fid,
    isc: !!o.isc,
    batchSize: o.batchSize,
    iscSplits: o.iscSplits,
    samplesShuffle: o.samplesShuffle,
    rngSeed: o.rngSeed,
    weightsPath: o.featureExtractorWeightsPath ?? null,
    device,
    saveStats: o.saveStats ?? null,
    cacheDir: o.cacheDir ?? null,
    log: (s) => console.error(s),
  });
  const out: Record<string, number> = {};
  if (o.isc) {
    out.inception_score_mean = r.inception_score_mean;
    out.inception_score_std = r.inception_score_std;
  }
  if (o.fid) out.frechet_inception_distance = r.frechet_inception_distance!;
  console.log(
    o.json
      ? JSON.stringify(out, null, 4)
      : Object.entries(out)
          .map(([k, v]) => `${k}: ${v}`)
          .join('\n'),
  );
}
