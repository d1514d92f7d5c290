// A rank of the distributed tests (spawned by distributed-*.test.ts with RANK, WORLD_SIZE,
// MASTER_ADDR, MASTER_PORT set). It does nothing unless DIST_TEST_MODE is set, because
// `node --test dist/test/` also loads every file in the folder.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../lib/torch.js';
import { nn, optim } from '../lib/torch.js';
import { native } from '../lib/core/native.js';

const dist = torch.distributed;
const mode = process.env.DIST_TEST_MODE;
const out = process.env.DIST_TEST_OUT ?? '.';

/** The tiny float64 model of the DDP parity test (same init from the same seed). */
export function parityModel(): nn.Module {
  torch.manualSeed(0);
  return new nn.Sequential(new nn.Linear(6, 8), new nn.SiLU(), new nn.Linear(8, 8), new nn.GELU(), new nn.Linear(8, 3)).double();
}

/** Four samples (x, y), the same in every process. */
export function parityData(): { x: torch.Tensor; y: torch.Tensor } {
  const g = new torch.Generator().manualSeed(1);
  return { x: torch.randn([4, 6], { generator: g, dtype: 'float64' }), y: torch.randn([4, 3], { generator: g, dtype: 'float64' }) };
}

const grads = (m: nn.Module) => torch.scope(() => m.parameters().map((p) => p.grad!.flatten().tolist() as number[]));
const params = (m: nn.Module) => torch.scope(() => m.parameters().map((p) => p.flatten().tolist() as number[]));

async function ops(rank: number, size: number): Promise<Record<string, unknown>> {
  const r: Record<string, unknown> = {};
  const a = torch.tensor([1, 2, 3, 4], { dtype: 'float32' }).mul(rank + 1);
  dist.allReduce(a);
  r.sum = a.tolist();
  const b = torch.tensor([1, 2, 3, 4], { dtype: 'float32' }).mul(rank + 1);
  dist.allReduce(b, { op: 'avg' });
  r.avg = b.tolist();
  const c = torch.tensor([rank, 10 - rank], { dtype: 'int64' });
  dist.allReduce(c, { op: 'max' });
  r.maxInt = c.tolist();
  const e = torch.full([3], rank + 7, { dtype: 'float32' });
  dist.broadcast(e, size - 1);
  r.broadcast = e.tolist();
  const parts = Array.from({ length: size }, () => torch.zeros([2]));
  dist.allGather(parts, torch.tensor([rank, rank * 10], { dtype: 'float32' }));
  r.allGather = parts.map((p) => p.tolist());
  dist.barrier();
  // Items 0..4 over the ranks as a DistributedSampler without shuffle (padded by wrapping).
  const total = 5,
    per = Math.ceil(total / size);
  const mine = Array.from({ length: per }, (_, j) => ((j * size + rank) % total) * 100);
  r.gathered = dist.allGatherRows(torch.tensor(mine), total).tolist();
  // Async: 16 MB all-reduce waited on a worker thread while timers keep firing.
  const big = torch.ones([4 * 1024 * 1024]).mul(rank + 1);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const w = dist.allReduce(big, { asyncOp: true })!;
  await w.wait();
  clearInterval(timer);
  r.asyncSum = [big.min().item(), big.max().item()];
  r.ticks = ticks;
  try {
    await w.wait();
    r.secondWait = 'no error';
  } catch (err) {
    r.secondWait = (err as Error).message;
  }
  return r;
}

async function ddp(rank: number, size: number): Promise<Record<string, unknown>> {
  const model = parityModel();
  const { x, y } = parityData();
  const accum = Number(process.env.DIST_ACCUM ?? 1);
  const per = 4 / size,
    micro = per / accum;
  const net = new dist.DistributedDataParallel(model, {
    bucketCapMb: Number(process.env.DIST_BUCKET_MB ?? 25),
    firstBucketCapMb: Number(process.env.DIST_BUCKET_MB ?? 1),
  });
  const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
  const steps: number[][][] = [];
  let finalParams: number[][] = [];
  const localAfterNoSync: number[][][] = [];
  const memory: { tensors: number; bytes: number }[] = [];
  for (let s = 0; s < 5; s++) {
    for (let m = 0; m < accum; m++) {
      const lo = rank * per + m * micro;
      const fwd = () => net.forwardWith(() => nn.functional.mseLoss(model.forward(x.narrow(0, lo, micro)), y.narrow(0, lo, micro)));
      torch.scope(() => {
        const loss = m < accum - 1 ? net.noSync(fwd) : fwd();
        loss.div(accum).backward();
      });
      if (m < accum - 1 && s === 0) localAfterNoSync.push(...grads(model).map((g) => [g]));
    }
    if (s < 3) steps.push(grads(model));
    opt.step();
    opt.zeroGrad();
    if (s === 2) finalParams = params(model);
    memory.push({ tensors: torch.memory().numTensors, bytes: await settledBytes() });
  }
  return { steps, params: finalParams, buckets: net.buckets, localAfterNoSync, memory };
}

/**
 * The allocator's live bytes once Gloo's worker threads have dropped what a finished all-reduce
 * still held (a bucket's flat buffer, a scalar: a few hundred bytes for a few ms after the Work
 * completes): read until two readings 10 ms apart agree (at most 1 s). A leak persists, so it still shows.
 */
async function settledBytes(): Promise<number> {
  let prev = native.allocatorStats().bytes;
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 10));
    const now = native.allocatorStats().bytes;
    if (now === prev) return now;
    prev = now;
  }
  return prev;
}

/** A model with a layer the forward never uses: DDP needs findUnusedParameters for it. */
function unused(): Record<string, unknown> {
  const model = parityModel();
  const extra = new nn.Linear(3, 3).double();
  const holder = new nn.ModuleList([model, extra]);
  const { x, y } = parityData();
  const net = new dist.DistributedDataParallel(holder, { findUnusedParameters: process.env.DIST_FIND_UNUSED === '1' });
  const opt = new optim.SGD(holder.parameters(), { lr: 0.1 });
  for (let s = 0; s < 3; s++) {
    torch.scope(() => net.forwardWith(() => nn.functional.mseLoss(model.forward(x), y)).backward());
    opt.step();
    opt.zeroGrad();
  }
  return { extraGrad: extra.weight.grad === null ? null : 'set', params: params(model) };
}

async function main(): Promise<void> {
  const timeout = process.env.DIST_TIMEOUT_MS ? Number(process.env.DIST_TIMEOUT_MS) : undefined;
  const t0 = Date.now();
  let result: Record<string, unknown>;
  try {
    const g = dist.initProcessGroup({ backend: 'gloo', timeout });
    const { rank, size } = g;
    if (mode === 'ops') result = await ops(rank, size);
    else if (mode === 'ddp') result = await ddp(rank, size);
    else if (mode === 'unused') result = unused();
    else if (mode === 'peer-exits') {
      // The last rank leaves without taking part; the others' all-reduce must fail, not hang.
      if (rank === size - 1) process.exit(3);
      const t = torch.ones([1024]);
      dist.allReduce(t);
      result = { error: null };
    } else throw new Error(`unknown DIST_TEST_MODE ${mode}`);
    dist.destroyProcessGroup();
  } catch (e) {
    result = { error: (e as Error).message, name: (e as Error).name };
  }
  result.seconds = (Date.now() - t0) / 1000;
  writeFileSync(join(out, `rank${process.env.RANK}.json`), JSON.stringify(result));
}

if (mode)
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
