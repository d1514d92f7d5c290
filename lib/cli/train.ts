// `node train.js --cfg FILE [--opt key.path=value ...] [--resume [DIR|auto]]`: trains what the
// config's trainer.target names (upstream train_net.py).
import { Command } from 'commander';
import { readFileSync, existsSync } from 'node:fs';
import { parse } from 'yaml';
import { loadTrainerConfig } from '../train/config.js';
import { trainTokenizer } from '../train/train-tokenizer.js';
import { trainGpt } from '../train/train-gpt.js';
import { AR_TRAINER_TARGETS, loadArConfig, buildGptFromConfig } from '../models/gpt/config.js';

const TOKENIZER_TRAINERS = ['semanticist.engine.diffusion_trainer.DiffusionTrainer', 'DiffusionTrainer', 'TokenizerTrainer'];

export async function main(argv = process.argv): Promise<void> {
  const p = new Command()
    .name('train.js')
    .description('Train a Semanticist model from a config (upstream YAML schema)')
    .requiredOption('--cfg <file>', 'config file')
    .option('--opt <key=value...>', 'override config values, e.g. trainer.params.batch_size=8', [])
    .option('--resume [dir]', "resume from a checkpoint folder, or 'auto' (the newest complete one); bare --resume means auto");
  p.parse(argv);
  const o = p.opts();
  const resume = o.resume === true ? 'auto' : o.resume;
  const rank = Number(process.env.RANK ?? 0), worldSize = Number(process.env.WORLD_SIZE ?? 1);
  if (worldSize !== 1) throw new Error('data-parallel training (WORLD_SIZE > 1) is not wired up yet; run one process');
  if (!existsSync(o.cfg)) throw new Error(`config file not found: ${o.cfg}`);
  const target = parse(readFileSync(o.cfg, 'utf8'))?.trainer?.target;
  if (AR_TRAINER_TARGETS.includes(target)) {
    const ar = loadArConfig(o.cfg, o.opt);
    const { step } = await trainGpt(ar, { resume, rank, worldSize, buildGpt: () => buildGptFromConfig(ar.gptModel) });
    if (rank === 0) console.log(`finished at step ${step}`);
    return;
  }
  const cfg = loadTrainerConfig(o.cfg, o.opt);
  if (TOKENIZER_TRAINERS.includes(cfg.target)) {
    const { step, table } = await trainTokenizer(cfg, { resume, rank, worldSize });
    if (rank === 0) console.log(`finished at step ${step}${table.length ? '' : ' (no test_dataset: no evaluation table)'}`);
    return;
  }
  throw new Error(`trainer.target '${cfg.target}' is not known (known: ${[...TOKENIZER_TRAINERS, ...AR_TRAINER_TARGETS].join(', ')})`);
}
