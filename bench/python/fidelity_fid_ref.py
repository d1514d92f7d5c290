# Reference for bench/fidelity_fid.ts: torch-fidelity's FID computation (without torch-fidelity or
# scipy: numpy only, as its fid_statistics_to_metric does it) on the same synthetic features, timed.
#
#   mu = np.mean(f, axis=0); sigma = np.cov(f, rowvar=False)
#   fid = d.d + tr S1 + tr S2 - 2 * sum(Re sqrt(np.linalg.eigvals(S1 . S2)))
#
# Also times torch.linalg.eigvals on the same product, for comparison with libtorch's solver.
# Run:  python3 bench/python/fidelity_fid_ref.py [N] [D]      (numpy's BLAS threads: OPENBLAS_NUM_THREADS)
# With --json it prints one JSON object (what bench/fidelity_fid.ts reads when PYTHON is set).
import json, os, sys, time
import numpy as np

args = [a for a in sys.argv[1:] if not a.startswith('--')]
N = int(args[0]) if len(args) > 0 else 2000
D = int(args[1]) if len(args) > 1 else 2048
as_json = '--json' in sys.argv


def hash_u32(i, k, seed):
    # murmur3's 32-bit finaliser of a counter, as bench/fidelity_fid.ts computes it (uint64 holds the products).
    m = np.uint64(0xFFFFFFFF)
    x = (i.astype(np.uint64) + np.uint64(k * 0x01000193) + np.uint64(seed * 0x9E3779B9)) & m
    x ^= x >> np.uint64(16); x = (x * np.uint64(0x85EBCA6B)) & m
    x ^= x >> np.uint64(13); x = (x * np.uint64(0xC2B2AE35)) & m
    x ^= x >> np.uint64(16)
    return x.astype(np.float64) / 2.0 ** 32


def features(seed):
    # ReLU of noise plus a rank-one part shared by all images (Inception features are strongly correlated).
    idx = np.arange(N * D, dtype=np.uint64)
    u = hash_u32(idx, 0, seed).reshape(N, D)
    a = hash_u32(np.arange(N, dtype=np.uint64), 1, seed)
    b = hash_u32(np.arange(D, dtype=np.uint64), 2, seed)
    return np.maximum(0.0, (2 * u - 1) + 0.8 * (2 * a[:, None] - 1) * b[None, :] + 0.3).astype(np.float32)


def timed(fn):
    t0 = time.perf_counter(); r = fn(); return r, (time.perf_counter() - t0) * 1e3


f1, f2 = features(1), features(2)
(st1, st2), t_stats = timed(lambda: [(np.mean(f, axis=0), np.cov(f, rowvar=False)) for f in (f1, f2)])
(mu1, s1), (mu2, s2) = st1, st2
def fid_statistics_to_metric():
    # torch-fidelity's computation (its asserts aside), timed as a whole.
    diff = mu1 - mu2
    tr_covmean = np.sum(np.sqrt(np.linalg.eigvals(s1.dot(s2)).astype('complex128')).real)
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * tr_covmean)


fid, t_fid = timed(fid_statistics_to_metric)
prod, t_mm = timed(lambda: s1.dot(s2))
eig, t_eig = timed(lambda: np.linalg.eigvals(prod))
diff = mu1 - mu2
out = dict(numpy=np.__version__, blas_threads=os.environ.get('OPENBLAS_NUM_THREADS', 'default'), N=N, D=D,
           stats_ms=t_stats, fid_ms=t_fid, mm_ms=t_mm, eigvals_ms=t_eig, fid=fid, mu0=float(mu1[0]), sigma00=float(s1[0, 0]))
try:
    import torch
    torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', 0)) or torch.get_num_threads())
    tp = torch.from_numpy(prod)
    ev, t_teig = timed(lambda: torch.linalg.eigvals(tp))
    tr_t = float(torch.sqrt(ev).real.sum())
    out.update(torch=torch.__version__, torch_threads=torch.get_num_threads(), torch_eigvals_ms=t_teig,
               torch_fid=float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * tr_t))
except ImportError:
    pass
if as_json:
    print(json.dumps(out))
else:
    print(f"numpy {out['numpy']} (BLAS threads {out['blas_threads']}), N {N}, D {D}")
    print(f"statistics (2 sets) {t_stats:8.0f} ms")
    print(f"FID (torch-fidelity's computation) {t_fid:8.0f} ms")
    print(f"S1 . S2             {t_mm:8.0f} ms")
    print(f"np.linalg.eigvals   {t_eig:8.0f} ms")
    if 'torch_eigvals_ms' in out:
        print(f"torch.linalg.eigvals {out['torch_eigvals_ms']:7.0f} ms (torch {out['torch']}, {out['torch_threads']} threads)")
    print(f"FID {fid!r}")
