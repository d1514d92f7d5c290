// The training config: the upstream YAML schema (trainer.target / trainer.params with model,
// dataset, test_dataset), checked key by key: an unknown or misspelled key is an error naming it
// and listing the valid ones, and every value is type-checked. `--opt a.b.c=value` overrides.
import { readFileSync, existsSync } from 'node:fs';
import { parse, stringify } from 'yaml';

type Kind = 'number' | 'integer' | 'boolean' | 'string' | 'object' | 'any';

/** trainer.params keys: upstream's (SPEC §3.1) plus ours (after the blank line). */
export const TRAINER_KEYS: Record<string, { kind: Kind; default?: unknown; doc: string }> = {
  num_epoch: { kind: 'integer', default: 400, doc: 'epochs to train' },
  valid_size: { kind: 'integer', default: 64, doc: 'images held out from train for grids/metrics (seed 42)' },
  blr: { kind: 'number', default: 2.5e-5, doc: 'base lr; lr = blr · effective batch / 256' },
  cosine_lr: { kind: 'boolean', default: true, doc: 'warmup then cosine (else warmup then constant)' },
  warmup_epochs: { kind: 'number', default: 100, doc: 'warmup length in epochs (converted to steps)' },
  batch_size: { kind: 'integer', default: 256, doc: 'per-process batch size' },
  num_workers: { kind: 'integer', default: 16, doc: 'decoding worker threads' },
  pin_memory: { kind: 'boolean', default: true, doc: 'batches pass through pinned host memory and are copied to a CUDA device asynchronously (CUDA jobs only)' },
  grad_accum_steps: { kind: 'integer', default: 1, doc: 'micro-batches per optimizer step' },
  precision: { kind: 'string', default: 'bf16', doc: "'bf16' (autocast on the job's device, fp32 master weights), 'fp16' (autocast + dynamic loss scaling: CUDA, or CPU where libtorch has fp16 autocast) or 'fp32' ('no' = fp32)" },
  max_grad_norm: { kind: 'number', default: 3.0, doc: 'gradient clipping norm' },
  enable_ema: { kind: 'boolean', default: true, doc: 'EMA of the weights (decay 0.999, every step)' },
  save_every: { kind: 'integer', default: 10000, doc: 'checkpoint every N steps' },
  sample_every: { kind: 'integer', default: 5000, doc: 'reconstruction grid every N steps' },
  fid_every: { kind: 'integer', default: 50000, doc: 'accepted for compatibility (FID is not computed during training)' },
  result_folder: { kind: 'string', default: './output/tokenizer', doc: 'run folder (config, models/, images/, logs/)' },
  log_dir: { kind: 'string', doc: 'TensorBoard folder (default result_folder/logs)' },
  cfg: { kind: 'number', default: 3.0, doc: 'decoder CFG for evaluation grids' },
  compile: { kind: 'boolean', default: false, doc: 'accepted for compatibility (no compiler here)' },
  model: { kind: 'object', doc: '{target, params} of the model' },
  dataset: { kind: 'object', doc: '{target, params} of the training data' },
  test_dataset: { kind: 'object', doc: '{target, params} of the test data' },

  seed: { kind: 'integer', default: 0, doc: 'seed for init, data order and noise' },
  ema_decay: { kind: 'number', default: 0.999, doc: 'EMA decay (upstream: 0.999, for runs of 100k+ steps)' },
  keep_last: { kind: 'integer', default: 3, doc: 'checkpoints to keep' },
  max_steps: { kind: 'integer', doc: 'stop after this many steps (default: num_epoch epochs); the cosine schedule ends there' },
  eval_num_tokens: { kind: 'any', doc: 'token counts for the PSNR/SSIM table and grids, e.g. [1, 4, 16, 64, 256]' },
  eval_steps: { kind: 'string', doc: "decoder sampling steps for evaluation (default: the model's)" },
  eval_sampler: { kind: 'string', default: 'ddpm', doc: "decoder sampler for grids and the table: 'ddpm' (ancestral, upstream) or 'ddim' (deterministic)" },
  eval_size: { kind: 'integer', default: 64, doc: 'test images in the final PSNR/SSIM table' },
  threads: { kind: 'integer', doc: 'intra-op threads (default: cores)' },
};

/** Keys of data-parallel training, shared by both trainers' schemas. */
export const DDP_KEYS = {
  ddp_bucket_cap_mb: { kind: 'number' as const, default: 25, doc: 'gradient all-reduce bucket size in MiB (DDP bucket_cap_mb)' },
  find_unused_parameters: { kind: 'boolean' as const, default: false, doc: 'DDP find_unused_parameters (upstream: false)' },
};
Object.assign(TRAINER_KEYS, DDP_KEYS);

/** Where a job runs, shared by both trainers' schemas (see lib/train/job-device.ts). */
export const DEVICE_KEYS = {
  device: { kind: 'string' as const, doc: "'cpu', 'cuda' or 'cuda:N' (default: cuda when available, else cpu; under a launcher cuda = cuda:LOCAL_RANK); train.js --device overrides it" },
  allow_tf32: { kind: 'boolean' as const, default: true, doc: 'TF32 for CUDA matmul and cuDNN convolutions (upstream configure_compute_backend); CUDA kernels only' },
  cudnn_benchmark: { kind: 'boolean' as const, default: true, doc: 'cuDNN autotuning of convolution algorithms (upstream: on); CUDA only' },
};
Object.assign(TRAINER_KEYS, DEVICE_KEYS);

export interface TrainerConfig { target: string; params: Record<string, any>; raw: Record<string, any>; text: string }

function typeOk(kind: Kind, v: unknown): boolean {
  switch (kind) {
    case 'number': return typeof v === 'number' && Number.isFinite(v);
    case 'integer': return Number.isInteger(v);
    case 'boolean': return typeof v === 'boolean';
    case 'string': return typeof v === 'string';
    case 'object': return v !== null && typeof v === 'object' && !Array.isArray(v);
    case 'any': return true;
  }
}

/** Parses `a.b.c=value` (value as YAML: numbers, booleans, lists) into the config, in place. */
export function applyOverride(cfg: Record<string, any>, opt: string): void {
  const eq = opt.indexOf('=');
  if (eq <= 0) throw new Error(`--opt '${opt}': expected key.path=value`);
  const path = opt.slice(0, eq).split('.');
  const value = parse(opt.slice(eq + 1));
  let node = cfg;
  for (const k of path.slice(0, -1)) {
    if (node[k] === undefined) node[k] = {};
    if (typeof node[k] !== 'object' || node[k] === null) throw new Error(`--opt '${opt}': '${k}' is not a mapping`);
    node = node[k];
  }
  node[path[path.length - 1]] = value;
}

/** Reads, overrides and validates a training config. */
export function loadTrainerConfig(file: string, overrides: string[] = []): TrainerConfig {
  if (!existsSync(file)) throw new Error(`config file not found: ${file}`);
  const text = readFileSync(file, 'utf8');
  const raw = parse(text) ?? {};
  for (const o of overrides) applyOverride(raw, o);
  const trainer = raw.trainer;
  if (!trainer || typeof trainer !== 'object') throw new Error(`${file}: missing 'trainer' (expected trainer.target and trainer.params)`);
  for (const k of Object.keys(raw)) if (k !== 'trainer') throw new Error(`${file}: unknown top-level key '${k}' (valid: trainer)`);
  for (const k of Object.keys(trainer)) if (k !== 'target' && k !== 'params') throw new Error(`${file}: unknown key 'trainer.${k}' (valid: target, params)`);
  const params: Record<string, any> = {};
  for (const [k, spec] of Object.entries(TRAINER_KEYS)) if (spec.default !== undefined) params[k] = spec.default;
  for (const [k, v] of Object.entries(trainer.params ?? {})) {
    const spec = TRAINER_KEYS[k];
    if (!spec) throw new Error(`${file}: unknown key 'trainer.params.${k}' (valid: ${Object.keys(TRAINER_KEYS).join(', ')})`);
    if (!typeOk(spec.kind, v)) throw new TypeError(`${file}: trainer.params.${k} must be ${spec.kind === 'integer' ? 'an integer' : `a ${spec.kind}`}, got ${JSON.stringify(v)}`);
    params[k] = v;
  }
  if (!['bf16', 'fp16', 'fp32', 'no'].includes(params.precision)) throw new Error(`${file}: trainer.params.precision must be 'bf16', 'fp16' or 'fp32', got '${params.precision}'`);
  if (!['ddpm', 'ddim'].includes(params.eval_sampler)) throw new Error(`${file}: trainer.params.eval_sampler must be 'ddpm' or 'ddim', got '${params.eval_sampler}'`);
  if (!params.model) throw new Error(`${file}: trainer.params.model is required`);
  // the config actually used: the file as written, or with the overrides applied
  const used = overrides.length ? `# ${file} with --opt ${overrides.join(' --opt ')}\n${stringify(raw)}` : text;
  return { target: String(trainer.target ?? ''), params, raw, text: used };
}
