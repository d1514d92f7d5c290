# PyTorch reference for bench/ops.ts: the same measurements from Python, to compare side by side.
# Run with a Python that has torch:  python3 bench/python/ops_ref.py
import statistics, time, torch

torch.set_num_threads(int(__import__('os').environ.get('OMP_NUM_THREADS', 0)) or torch.get_num_threads())
print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")

def per_op(fn, n=100_000, rounds=5):
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        fn(n)
        out.append((time.perf_counter_ns() - t0) / n)
    return statistics.median(out)

a, b = torch.ones(4), torch.ones(4)
def add(n):
    with torch.no_grad():
        for _ in range(n): c = a + b
def add_(n):
    c = torch.ones(4)
    with torch.no_grad():
        for _ in range(n): c.add_(b)
ag, bg = torch.ones(4, requires_grad=True), torch.ones(4, requires_grad=True)
def add_grad(n):
    for _ in range(n): c = ag + bg
print(f"add (new tensor), no_grad:   {per_op(add):7.0f} ns/op")
print(f"add_ (in place):             {per_op(add_):7.0f} ns/op")
print(f"add with requires_grad:      {per_op(add_grad):7.0f} ns/op")

for dtype in (torch.float32, torch.bfloat16):
    x, y = torch.randn(1024, 1024, dtype=dtype), torch.randn(1024, 1024, dtype=dtype)
    for _ in range(3): x @ y
    rates = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(20): x @ y
        rates.append(20 * 2 * 1024**3 / (time.perf_counter() - t0) / 1e9)
    print(f"matmul 1024x1024 {str(dtype):15s} {statistics.median(rates):7.1f} GFLOP/s")
