// trainer.params keys both trainers share, with the meaning upstream's DiffusionTrainer and
// GPTTrainer give them (docs/upstream/training.md). The two trainers differ in some defaults, so
// the shared groups are functions of those defaults. Keys marked "ours" are not upstream's.
import type { KeySpec, ParamsOf } from '../config/schema.js';

const PRECISIONS = ['bf16', 'fp16', 'fp32', 'no'] as const;

/** Upstream's timm schedule (docs/upstream/training.md#learning-rate-schedules): linear warmup, then cosine or constant. */
export function scheduleKeys(d: { blr: number; cosine_lr: boolean }) {
  return {
    blr: { kind: 'number', default: d.blr, doc: 'base lr; lr = blr · effective batch / 256' },
    cosine_lr: {
      kind: 'boolean',
      default: d.cosine_lr,
      doc: 'after the warmup: a half cosine from lr to lr_min over decay_steps (true), else constant (upstream: timm StepLR with decay_rate 1)',
    },
    lr_min: {
      kind: 'number',
      default: 0,
      doc: "the cosine's final lr (kept after it)",
      inert: (p) => (p.cosine_lr ? null : 'cosine_lr is false: the constant schedule never decays to lr_min'),
    },
    warmup_epochs: { kind: 'number', default: 100, nullable: true, doc: 'linear warmup length in epochs (None: use warmup_steps)' },
    warmup_steps: {
      kind: 'integer',
      nullable: true,
      doc: 'linear warmup length in optimizer steps, used when warmup_epochs is None (as upstream)',
      inert: (p) =>
        p.warmup_epochs === null ? null : 'warmup_epochs is set and takes precedence, as upstream; set warmup_epochs: None to count the warmup in steps',
    },
    warmup_lr_init: { kind: 'number', default: 0, doc: 'lr at the first warmup step (timm warmup_lr_init)' },
    decay_steps: {
      kind: 'integer',
      nullable: true,
      doc: "the cosine's length in steps after the warmup (timm t_initial; default: the run's total steps)",
      inert: (p) => (p.cosine_lr ? null : 'cosine_lr is false: the constant schedule (timm StepLR with decay_rate 1) has no decay period'),
    },
  } satisfies Record<string, KeySpec>;
}

/** The loop: length, batch, precision, clipping, EMA, checkpoints, grids, the run folder. */
export function loopKeys(d: {
  batch_size: number;
  num_workers: number;
  pin_memory: boolean;
  max_grad_norm: number | null;
  enable_ema: boolean;
  sample_every: number;
  result_folder: string;
}) {
  return {
    num_epoch: { kind: 'integer', default: 400, doc: 'epochs to train (unless max_steps)' },
    batch_size: { kind: 'integer', default: d.batch_size, doc: 'per-process batch size' },
    num_workers: { kind: 'integer', default: d.num_workers, doc: 'image-decoding worker threads (0: decode on the main thread)' },
    pin_memory: {
      kind: 'boolean',
      default: d.pin_memory,
      doc: 'batches pass through pinned host memory and are copied to a CUDA device asynchronously',
      inert: (p) => (p.device === 'cpu' ? "device is 'cpu': pinned memory only serves host → CUDA copies" : null),
    },
    grad_accum_steps: { kind: 'integer', default: 1, doc: 'micro-batches per optimizer step' },
    precision: {
      kind: 'string',
      values: PRECISIONS,
      default: 'bf16',
      doc: "'bf16' (autocast on the job's device, fp32 master weights), 'fp16' (autocast + dynamic loss scaling: CUDA, or CPU where libtorch has fp16 autocast) or 'fp32' ('no' = fp32)",
    },
    max_grad_norm: { kind: 'number', default: d.max_grad_norm, nullable: true, doc: 'gradient clipping norm (None: no clipping)' },
    enable_ema: { kind: 'boolean', default: d.enable_ema, doc: 'EMA of the weights, updated every step (saved as ema.safetensors; evaluation uses it)' },
    save_every: { kind: 'integer', default: 10000, doc: 'checkpoint every N steps (and at the end)' },
    sample_every: { kind: 'integer', default: d.sample_every, doc: 'image grid every N steps' },
    result_folder: { kind: 'string', default: d.result_folder, doc: 'run folder: config.yaml, models/stepN, images/, logs/' },
    log_dir: { kind: 'string', nullable: true, doc: 'TensorBoard and JSONL log folder (default: result_folder/logs; upstream: ./log)' },
    compile: {
      kind: 'boolean',
      default: false,
      doc: "torch.compile (upstream's configs: True); refused when true",
      refuse: (v) => (v ? 'this engine has no graph compiler (upstream uses torch.compile only for speed; results are the same eager): set it to False' : null),
    },
    // ours
    seed: { kind: 'integer', default: 0, doc: 'ours: seed for init, data order and noise' },
    ema_decay: {
      kind: 'number',
      default: 0.999,
      doc: 'ours: EMA decay (upstream hard-codes 0.999)',
      inert: (p) => (p.enable_ema ? null : 'enable_ema is false'),
    },
    keep_last: { kind: 'integer', default: 3, doc: 'ours: checkpoints to keep' },
    max_steps: { kind: 'integer', nullable: true, doc: 'ours: stop after this many steps (default: num_epoch epochs)' },
    threads: { kind: 'integer', nullable: true, doc: 'ours: intra-op threads (default: all cores)' },
    eval_steps: { kind: 'string', nullable: true, doc: "ours: decoder sampling steps of the image grids (default: the tokenizer's num_sampling_steps)" },
    eval_sampler: {
      kind: 'string',
      values: ['ddpm', 'ddim'] as const,
      default: 'ddpm',
      doc: "ours: decoder sampler of the image grids: 'ddpm' (ancestral, upstream) or 'ddim' (deterministic)",
    },
  } satisfies Record<string, KeySpec>;
}

/** FID during training: upstream computes it every fid_every steps with eval_fid; train.js does not (eval.js does). */
export function fidKeys() {
  return {
    eval_fid: {
      kind: 'boolean',
      default: false,
      doc: 'FID during training; refused when true (evaluate checkpoints with eval.js)',
      refuse: (v) => (v ? 'train.js does not compute FID while training; evaluate the saved checkpoints with eval.js (rFID/gFID as test_net.py)' : null),
    },
    fid_stats: {
      kind: 'string',
      nullable: true,
      doc: 'reference statistics for eval_fid',
      inert: (p) => (p.eval_fid ? null : 'eval_fid is false (give the statistics to eval.js --fid_statistics_file)'),
    },
    fid_every: { kind: 'integer', default: 50000, doc: 'FID every N steps with eval_fid', inert: (p) => (p.eval_fid ? null : 'eval_fid is false') },
  } satisfies Record<string, KeySpec>;
}

/** Data parallelism (lib/train/distributed.ts). */
export const DDP_KEYS = {
  ddp_bucket_cap_mb: { kind: 'number', default: 25, doc: 'ours: gradient all-reduce bucket size in MiB (DDP bucket_cap_mb)' },
  find_unused_parameters: { kind: 'boolean', default: false, doc: 'DDP find_unused_parameters (upstream: false)' },
} satisfies Record<string, KeySpec>;

/** Where a job runs (lib/train/job-device.ts). */
export const DEVICE_KEYS = {
  device: {
    kind: 'string',
    nullable: true,
    doc: "ours: 'cpu', 'cuda' or 'cuda:N' (default: cuda when available, else cpu; under a launcher cuda = cuda:LOCAL_RANK); train.js --device overrides it",
  },
  allow_tf32: {
    kind: 'boolean',
    default: true,
    doc: 'TF32 for CUDA matmul and cuDNN convolutions (upstream configure_compute_backend)',
    inert: (p) => (p.device === 'cpu' ? "device is 'cpu': TF32 is a CUDA setting" : null),
  },
  cudnn_benchmark: {
    kind: 'boolean',
    default: true,
    doc: 'cuDNN autotuning of convolution algorithms (upstream: on)',
    inert: (p) => (p.device === 'cpu' ? "device is 'cpu': cuDNN is CUDA's" : null),
  },
} satisfies Record<string, KeySpec>;

export type ScheduleParams = ParamsOf<ReturnType<typeof scheduleKeys>>;
export type LoopParams = ParamsOf<ReturnType<typeof loopKeys>>;
export type DdpParams = ParamsOf<typeof DDP_KEYS>;
export type DeviceParams = ParamsOf<typeof DEVICE_KEYS>;
