// `node sample.js --model DIR [--step N] --classes 1,7,282 --cfg 6 --ae-cfg 1 --cfg-schedule linear
//  --temperature 1 --prefixes 1,2,4,8,16,32 --out grid.png`: class-conditional samples from a trained
// ϵLlamaGen run folder (its config.yaml and models/step{N}, EMA weights), or from official files
// (--config + --checkpoint, and --tokenizer-checkpoint for the tokenizer's weights), as one grid:
// a row per class, a column per number of generated tokens decoded (prefix decodes:
// docs/upstream/gpt.md#class-to-image).
import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../torch.js';
import { loadImageGenerator } from '../train/load-image-generator.js';
import { resolveDevice } from '../core/device.js';
import { makeGrid } from '../data/grid.js';
import { writePng } from '../data/image.js';
import { latestCheckpoint } from '../train/checkpoint.js';
import { powerOfTwoPrefixes } from '../models/tokenizer/nested-sampler.js';

const ints = (flag: string) => (v: string) => {
  const xs = v.split(',').map((s) => Number(s.trim()));
  if (!xs.length || xs.some((x) => !Number.isInteger(x) || x < 0)) throw new Error(`${flag}: expected comma-separated non-negative integers, got '${v}'`);
  return xs;
};
const num = (flag: string) => (v: string) => {
  const x = Number(v);
  if (!Number.isFinite(x)) throw new Error(`${flag}: expected a number, got '${v}'`);
  return x;
};

/** models/step{N} of a run folder: the given step, or the newest complete one. */
function stepFolder(dir: string, step?: number): string {
  const models = join(dir, 'models');
  if (step !== undefined) {
    const f = join(models, `step${step}`);
    if (!existsSync(f)) throw new Error(`--step ${step}: ${f} does not exist`);
    return f;
  }
  const latest = latestCheckpoint(models);
  if (!latest) throw new Error(`--model ${dir}: no complete checkpoint under ${models}`);
  return latest;
}

export async function main(argv = process.argv): Promise<void> {
  const p = new Command()
    .name('sample.js')
    .description('Class-conditional samples from ϵLlamaGen, decoded from the first k tokens for each k')
    .option('--model <dir>', 'a run folder of `train.js` with an AR config (config.yaml, models/stepN)')
    .option('--step <n>', 'checkpoint step (default: the newest)', num('--step'))
    .option('--config <file>', "AR config (default: the run folder's config.yaml)")
    .option('--checkpoint <file>', "GPT weights (e.g. semanticist_ar_gen_L.pkl; default: the run's checkpoint)")
    .option('--tokenizer-checkpoint <file>', "tokenizer weights (default: the config's ae_model ckpt_path)")
    .option('--vae <path>', "VAE weights (default: the config's vae_checkpoint)")
    .option('--classes <list>', 'class labels, e.g. 1,7,282', ints('--classes'), [1, 7, 282])
    .option('--cfg <s>', "the GPT's guidance scale (default: the config's)", num('--cfg'))
    .option('--ae-cfg <s>', "the tokenizer decoder's guidance scale (default: the config's ae_cfg)", num('--ae-cfg'))
    .option('--cfg-schedule <name>', "'linear' or 'constant' (default: the config's)")
    .option('--temperature <t>', "SDE noise scale (default: the config's)", num('--temperature'))
    .option('--prefixes <list>', 'numbers of tokens to decode (default: 1, 2, 4, … up to all generated)', ints('--prefixes'))
    .option('--steps <respacing>', "tokenizer decoder steps, e.g. '250', '25' (default: the tokenizer's)")
    .option('--seed <n>', 'seed', num('--seed'), 0)
    .option('--device <device>', "'cpu', 'cuda' or 'cuda:N' (default: cuda when available, else cpu)")
    .requiredOption('--out <file.png>', 'output grid');
  p.parse(argv);
  const o = p.opts();
  if (!o.model && !o.config) throw new Error('give --model DIR (a training run) or --config FILE with --checkpoint');
  const config = o.config ?? join(o.model, 'config.yaml');
  if (!existsSync(config)) throw new Error(`config not found: ${config}`);
  const checkpoint = o.checkpoint ?? (o.model ? stepFolder(o.model, o.step) : undefined);
  if (!checkpoint) throw new Error('--checkpoint is required with --config');
  if (o.cfgSchedule && !['linear', 'constant'].includes(o.cfgSchedule)) throw new Error(`--cfg-schedule: expected linear or constant, got '${o.cfgSchedule}'`);
  const device = resolveDevice(o.device, { what: '--device' });
  const gen = loadImageGenerator({ config, checkpoint, tokenizerCheckpoint: o.tokenizerCheckpoint, vae: o.vae, device });
  for (const line of gen.loadReport) console.error(line);
  try {
    const t0 = Date.now();
    const n = gen.defaults.numTokens;
    const prefixes: number[] = o.prefixes ?? powerOfTwoPrefixes(n);
    const images = gen.generate(o.classes, {
      prefixes,
      cfg: o.cfg,
      aeCfg: o.aeCfg,
      cfgSchedule: o.cfgSchedule,
      temperature: o.temperature,
      steps: o.steps,
      seed: o.seed,
    });
    const ks = [...images.keys()];
    const grid = torch.scope(() => {
      const all = torch
        .stack(
          ks.map((k) => images.get(k)!),
          1,
        )
        .flatten(0, 1); // row per class, column per k
      return makeGrid(all, { nrow: ks.length, rowLabels: o.classes.map(String), colLabels: ks.map((k) => `${k} tok`) });
    });
    await writePng(o.out, grid);
    torch.dispose(grid, [...images.values()]);
    console.log(`${o.out}: classes ${o.classes.join(', ')} × first ${ks.join(', ')} tokens (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } finally {
    gen.dispose();
  }
}
