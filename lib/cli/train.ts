// `node train.js --cfg FILE [--opt key.path=value ...] [--resume [DIR|auto]]`: trains what the
// config's trainer.target names (upstream train_net.py). Started by launch.js, torchrun or srun,
// each process joins the c10d group and trains data-parallel.
import { Command } from 'commander';
import { readFileSync, existsSync } from 'node:fs';
import { parse } from 'yaml';
import { loadTrainerConfig, TOKENIZER_TRAINER_TARGETS } from '../train/tokenizer-trainer-config.js';
import { trainTokenizer } from '../train/train-tokenizer.js';
import { trainGpt } from '../train/train-gpt.js';
import * as torch from '../torch.js';
import { resolveDevice, deviceType } from '../core/device.js';
import { readLaunchEnv } from '../distributed/env.js';
import { initProcessGroup, isInitialized, destroyProcessGroup } from '../distributed/process-group.js';
import { AR_TRAINER_TARGETS, loadArConfig } from '../train/ar-trainer-config.js';
import { buildGptFromConfig } from '../models/gpt/gpt-model-config.js';

export async function main(argv = process.argv): Promise<void> {
  const p = new Command()
    .name('train.js')
    .description('Train a Semanticist model from a config (upstream YAML schema)')
    .requiredOption('--cfg <file>', 'config file')
    .option('--opt <key=value...>', 'override config values, e.g. trainer.params.batch_size=8', [])
    .option('--resume [dir]', "resume from a checkpoint folder, or 'auto' (the newest complete one); bare --resume means auto")
    .option(
      '--device <device>',
      "'cpu', 'cuda' or 'cuda:N' (overrides trainer.params.device; default: cuda when available, else cpu; under a launcher cuda = cuda:LOCAL_RANK)",
    )
    .option('--dist-backend <name>', "c10d backend when WORLD_SIZE > 1: 'gloo', 'nccl' or 'auto' (nccl when the job's device is CUDA, else gloo)", 'auto')
    .option('--dist-timeout <seconds>', 'collective and rendezvous timeout', '1800');
  p.parse(argv);
  const o = p.opts();
  const resume = o.resume === true ? 'auto' : o.resume;
  if (!existsSync(o.cfg)) throw new Error(`config file not found: ${o.cfg}`);
  if (!['auto', 'gloo', 'nccl'].includes(o.distBackend)) throw new Error(`--dist-backend '${o.distBackend}' is not one of auto, gloo, nccl`);
  if (!(Number(o.distTimeout) > 0)) throw new Error(`--dist-timeout '${o.distTimeout}' is not a positive number of seconds`);
  // --device is an override of trainer.params.device, so the config copy in the run folder records it.
  const overrides: string[] = [...o.opt, ...(o.device ? [`trainer.params.device=${o.device}`] : [])];
  const target = parse(readFileSync(o.cfg, 'utf8'))?.trainer?.target;
  if (!AR_TRAINER_TARGETS.includes(target) && !TOKENIZER_TRAINER_TARGETS.includes(target))
    throw new Error(`${o.cfg}: trainer.target '${target}' is not known (known: ${[...TOKENIZER_TRAINER_TARGETS, ...AR_TRAINER_TARGETS].join(', ')})`);
  const ar = AR_TRAINER_TARGETS.includes(target) ? loadArConfig(o.cfg, overrides) : null;
  const cfg = ar ? null : loadTrainerConfig(o.cfg, overrides);
  // Data parallel when launched so (launch.js, torchrun, srun): one process per rank on c10d. The
  // device is checked first: it decides the backend, and NCCL binds to the current CUDA device.
  const env = readLaunchEnv();
  const { rank, worldSize, localRank } = env;
  const device = resolveDevice((ar ?? cfg)!.params.device, { what: o.device ? '--device' : 'trainer.params.device', localRank });
  if (worldSize > 1) {
    const onCuda = deviceType(device) === 'cuda';
    if (o.distBackend === 'nccl' && !onCuda)
      throw new Error(`--dist-backend nccl: NCCL communicates CUDA tensors, but the job's device is ${device} (use gloo, or --device cuda)`);
    if (onCuda) torch.cuda.setDevice(Number(device.split(':')[1]));
    const backend = o.distBackend === 'auto' ? (onCuda ? 'nccl' : 'gloo') : o.distBackend;
    initProcessGroup({ backend, timeout: Number(o.distTimeout) * 1000 });
  }
  try {
    if (ar) {
      const { step } = await trainGpt(ar, { resume, rank, worldSize, localRank, buildGpt: () => buildGptFromConfig(ar.gptModel) });
      if (rank === 0) console.log(`finished at step ${step}`);
    } else {
      const { step, table } = await trainTokenizer(cfg!, { resume, rank, worldSize, localRank });
      if (rank === 0) console.log(`finished at step ${step}${table.length ? '' : ' (no test_dataset: no evaluation table)'}`);
    }
  } finally {
    if (isInitialized()) destroyProcessGroup();
  }
}
