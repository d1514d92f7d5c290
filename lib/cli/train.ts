// `node train.js --cfg FILE [--opt key.path=value ...] [--resume [DIR|auto]]`: trains what the
// config's trainer.target names (upstream train_net.py). Started by launch.js, torchrun or srun,
// each process joins the c10d group and trains data-parallel.
import { Command } from 'commander';
import { readFileSync, existsSync } from 'node:fs';
import { parse } from 'yaml';
import { loadTrainerConfig } from '../train/config.js';
import { trainTokenizer } from '../train/train-tokenizer.js';
import { trainGpt } from '../train/train-gpt.js';
import { readLaunchEnv } from '../distributed/env.js';
import { initProcessGroup, isInitialized, destroyProcessGroup } from '../distributed/process-group.js';
import { AR_TRAINER_TARGETS, loadArConfig, buildGptFromConfig } from '../models/gpt/config.js';

const TOKENIZER_TRAINERS = ['semanticist.engine.diffusion_trainer.DiffusionTrainer', 'DiffusionTrainer', 'TokenizerTrainer'];

export async function main(argv = process.argv): Promise<void> {
  const p = new Command()
    .name('train.js')
    .description('Train a Semanticist model from a config (upstream YAML schema)')
    .requiredOption('--cfg <file>', 'config file')
    .option('--opt <key=value...>', 'override config values, e.g. trainer.params.batch_size=8', [])
    .option('--resume [dir]', "resume from a checkpoint folder, or 'auto' (the newest complete one); bare --resume means auto")
    .option('--dist-backend <name>', "c10d backend when WORLD_SIZE > 1: 'gloo', 'nccl' or 'auto' (nccl with CUDA, else gloo)", 'auto')
    .option('--dist-timeout <seconds>', 'collective and rendezvous timeout', '1800');
  p.parse(argv);
  const o = p.opts();
  const resume = o.resume === true ? 'auto' : o.resume;
  if (!existsSync(o.cfg)) throw new Error(`config file not found: ${o.cfg}`);
  if (!['auto', 'gloo', 'nccl'].includes(o.distBackend)) throw new Error(`--dist-backend '${o.distBackend}' is not one of auto, gloo, nccl`);
  if (!(Number(o.distTimeout) > 0)) throw new Error(`--dist-timeout '${o.distTimeout}' is not a positive number of seconds`);
  // Data parallel when launched so (launch.js, torchrun, srun): one process per rank on c10d.
  const env = readLaunchEnv();
  const { rank, worldSize } = env;
  if (worldSize > 1) {
    const backend = o.distBackend === 'auto' ? undefined : o.distBackend;
    initProcessGroup({ backend, timeout: Number(o.distTimeout) * 1000 });
  }
  try {
    await run(o, resume, rank, worldSize);
  } finally {
    if (isInitialized()) destroyProcessGroup();
  }
}

async function run(o: Record<string, any>, resume: string | undefined, rank: number, worldSize: number): Promise<void> {
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
