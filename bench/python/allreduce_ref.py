# PyTorch reference for bench/allreduce.ts: all-reduce (sum) of float32 tensors between local ranks
# over Gloo, 1 warm-up + N timed iterations with a barrier before each; time = slowest rank's median.
# Run: torchrun --nproc-per-node 2 --standalone bench/python/allreduce_ref.py [--sizes 4,16,64,256] [--iters 10]
import argparse, os, statistics, time
import torch
import torch.distributed as dist

p = argparse.ArgumentParser()
p.add_argument('--sizes', default='4,16,64,256')
p.add_argument('--iters', type=int, default=10)
a = p.parse_args()
dist.init_process_group('gloo')
rank, n = dist.get_rank(), dist.get_world_size()
if rank == 0:
    print(f'torch {torch.__version__}, {n} ranks, gloo, OMP_NUM_THREADS {os.environ.get("OMP_NUM_THREADS")}')
for mb in [int(s) for s in a.sizes.split(',')]:
    t = torch.ones(mb * 1024 * 1024 // 4)
    dist.all_reduce(t)
    times = []
    for _ in range(a.iters):
        t.fill_(1)
        dist.barrier()
        t0 = time.perf_counter()
        dist.all_reduce(t)
        times.append(time.perf_counter() - t0)
    assert t.min().item() == n and t.max().item() == n
    # slowest rank per iteration
    tt = torch.tensor(times, dtype=torch.float64)
    dist.all_reduce(tt, op=dist.ReduceOp.MAX)
    med = statistics.median(tt.tolist())
    alg = mb * 1024 * 1024 / med / 1e9
    if rank == 0:
        print(f'{mb:5d} MiB  median {med * 1e3:8.2f} ms  algbw {alg:.3f} GB/s  busbw {alg * 2 * (n - 1) / n:.3f} GB/s')
dist.destroy_process_group()
