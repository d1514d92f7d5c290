# PyTorch reference for bench/fidelity_features.ts: torch-fidelity's FeatureExtractorInceptionV3
# ('inception-v3-compat', the network behind FID and the Inception Score) rebuilt from scratch with
# plain torch.nn (torch-fidelity itself is not needed), timed the same way as ours.
#
# The network, as torch-fidelity builds it (docs/fidelity.md):
#   uint8 (N, 3, H, W) -> float32 -> TF1 bilinear resize to 299 x 299 (torch-fidelity's
#   interpolate_bilinear_2d_like_tensorflow1x, method 'slow': src = j * float32(n / 299), lo = trunc,
#   hi = min(lo + 1, n - 1), gathers by advanced indexing, x blends then the y blend)
#   -> (x - 128) / 128 -> BasicConv2d blocks (conv without bias, BatchNorm eps 1e-3, ReLU) and the
#   Mixed blocks (pool-branch average pools with count_include_pad=False; Mixed_7c's a 3x3 max pool)
#   -> global average pool -> '2048'; 'logits_unbiased' = f2048 @ fc.weight^T (no bias).
# State-dict keys are torch-fidelity's; the .pth is loaded with torch.load and load_state_dict, and
# any missing or unexpected key is printed and stops the run. eval mode, under torch.no_grad().
#
# What is timed: one forward(images, ['2048', 'logits_unbiased']) of the whole batch, ITERS times
# after 1 warm-up; images/s = N / seconds of one call, median (min, max); peak RSS = getrusage maxrss.
# With a data file it also compares its '2048' (and 'logits_unbiased') features of the first rows of
# the warm-up batch with ours ('ours.2048', 'ours.logits_unbiased'): max|ours - ref| / max|ref|.
#
# Run:  normally started by bench/fidelity_features.ts (node dist/bench/fidelity_features.js), as
#       python3 bench/python/fidelity_features_ref.py WEIGHTS.pth [DATA.safetensors] [--json]
#       DATA holds 'images' (uint8 N x 3 x H x W) and ours' features; without it, random images of
#       BATCH x 3 x SIZE x SIZE are made here and nothing is compared. --json: the last line is a JSON
#       object with the figures (what the TS bench reads).
# Environment: THREADS=2 (torch.set_num_threads), ITERS=3, BATCH=50 and SIZE=256 (without DATA).
import json, os, resource, struct, sys, time

import torch
import torch.nn as nn
import torch.nn.functional as F

THREADS = int(os.environ.get('THREADS') or 2)
ITERS = int(os.environ.get('ITERS') or 3)
INPUT_SIZE = 299


# ---- TF1 bilinear resize, as torch-fidelity's 'slow' path computes it -------------------------------

def _tf1_axis(n_in, n_out, device):
    """Source indices and weights of one axis: float32 scale n_in / n_out, src = j * scale (float32)."""
    src = torch.arange(0, n_out, 1, dtype=torch.float32, device=device) * torch.tensor(n_in / n_out, dtype=torch.float32)
    lo = src.long()                              # truncation (src >= 0)
    hi = (lo + 1).clamp_max(n_in - 1)
    return lo, hi, src - lo.float()


def resize_tf1(x, size):
    """x: float32 (N, C, H, W) -> (N, C, size, size); no half-pixel offset, no antialiasing."""
    h, w = x.shape[2], x.shape[3]
    ylo, yhi, fy = _tf1_axis(h, size, x.device)
    xlo, xhi, fx = _tf1_axis(w, size, x.device)
    fx = fx.view(1, 1, 1, size)
    fy = fy.view(1, 1, size, 1)
    # four gathers, each by rows then columns (torch-fidelity's indexing; each re-gathers the rows)
    p00 = x[:, :, ylo, :][:, :, :, xlo]
    p01 = x[:, :, ylo, :][:, :, :, xhi]
    p10 = x[:, :, yhi, :][:, :, :, xlo]
    p11 = x[:, :, yhi, :][:, :, :, xhi]
    top = p00 + (p01 - p00) * fx
    bottom = p10 + (p11 - p10) * fx
    return top + (bottom - top) * fy


# ---- the network ---------------------------------------------------------------------------------

class BasicConv2d(nn.Module):
    def __init__(self, cin, cout, kernel_size, stride=1, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)), inplace=True)


def avg_pool_same(x):
    """3x3 stride-1 average over the real (unpadded) inputs only: TF's 'SAME' average pool."""
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class InceptionA(nn.Module):
    def __init__(self, cin, pool_features):
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 64, 1)
        self.branch5x5_1 = BasicConv2d(cin, 48, 1)
        self.branch5x5_2 = BasicConv2d(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, padding=1)
        self.branch_pool = BasicConv2d(cin, pool_features, 1)

    def forward(self, x):
        return torch.cat([
            self.branch1x1(x),
            self.branch5x5_2(self.branch5x5_1(x)),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            self.branch_pool(avg_pool_same(x)),
        ], 1)


class InceptionB(nn.Module):
    def __init__(self, cin):
        super().__init__()
        self.branch3x3 = BasicConv2d(cin, 384, 3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, stride=2)

    def forward(self, x):
        return torch.cat([
            self.branch3x3(x),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            F.max_pool2d(x, kernel_size=3, stride=2),
        ], 1)


class InceptionC(nn.Module):
    def __init__(self, cin, c7):
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 192, 1)
        self.branch7x7_1 = BasicConv2d(cin, c7, 1)
        self.branch7x7_2 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(cin, c7, 1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(cin, 192, 1)

    def forward(self, x):
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d = self.branch7x7dbl_1(x)
        for m in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            d = m(d)
        return torch.cat([self.branch1x1(x), b7, d, self.branch_pool(avg_pool_same(x))], 1)


class InceptionD(nn.Module):
    def __init__(self, cin):
        super().__init__()
        self.branch3x3_1 = BasicConv2d(cin, 192, 1)
        self.branch3x3_2 = BasicConv2d(192, 320, 3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(cin, 192, 1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, 3, stride=2)

    def forward(self, x):
        b = self.branch7x7x3_1(x)
        for m in (self.branch7x7x3_2, self.branch7x7x3_3, self.branch7x7x3_4):
            b = m(b)
        return torch.cat([self.branch3x3_2(self.branch3x3_1(x)), b, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class InceptionE(nn.Module):
    """Mixed_7b (pool 'avg', torch-fidelity's InceptionE_1) and Mixed_7c (pool 'max', InceptionE_2)."""

    def __init__(self, cin, pool):
        super().__init__()
        self.pool = pool
        self.branch1x1 = BasicConv2d(cin, 320, 1)
        self.branch3x3_1 = BasicConv2d(cin, 384, 1)
        self.branch3x3_2a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(cin, 448, 1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(cin, 192, 1)

    def forward(self, x):
        s = self.branch3x3_1(x)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        pooled = avg_pool_same(x) if self.pool == 'avg' else F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
        return torch.cat([
            self.branch1x1(x),
            torch.cat([self.branch3x3_2a(s), self.branch3x3_2b(s)], 1),
            torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1),
            self.branch_pool(pooled),
        ], 1)


class InceptionV3Features(nn.Module):
    def __init__(self):
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, 3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, 1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, 3)
        self.Mixed_5b = InceptionA(192, 32)
        self.Mixed_5c = InceptionA(256, 64)
        self.Mixed_5d = InceptionA(288, 64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, 128)
        self.Mixed_6c = InceptionC(768, 160)
        self.Mixed_6d = InceptionC(768, 160)
        self.Mixed_6e = InceptionC(768, 192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280, 'avg')
        self.Mixed_7c = InceptionE(2048, 'max')
        self.fc = nn.Linear(2048, 1008)

    def forward(self, images):
        """uint8 (N, 3, H, W) -> ('2048' (N, 2048), 'logits_unbiased' (N, 1008)), float32."""
        assert images.dtype == torch.uint8 and images.dim() == 4 and images.shape[1] == 3
        x = resize_tf1(images.to(torch.float32), INPUT_SIZE)
        x = (x - 128) / 128
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        for m in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b, self.Mixed_6c,
                  self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b, self.Mixed_7c):
            x = m(x)
        f2048 = torch.flatten(F.adaptive_avg_pool2d(x, (1, 1)), 1)
        return f2048, f2048.mm(self.fc.weight.T)


# ---- input ---------------------------------------------------------------------------------------

_ST_DTYPES = {'U8': torch.uint8, 'F32': torch.float32, 'F64': torch.float64, 'I64': torch.int64}


def read_safetensors(path):
    """A minimal safetensors reader (the safetensors package is not needed): {name: tensor}."""
    with open(path, 'rb') as f:
        blob = f.read()
    (n,) = struct.unpack('<Q', blob[:8])
    header = json.loads(blob[8:8 + n])
    header.pop('__metadata__', None)
    base = 8 + n
    out = {}
    for name, info in header.items():
        lo, hi = info['data_offsets']
        t = torch.frombuffer(bytearray(blob[base + lo:base + hi]), dtype=_ST_DTYPES[info['dtype']])
        out[name] = t.reshape(info['shape'])
    return out


def main():
    args = [a for a in sys.argv[1:] if not a.startswith('--')]
    as_json = '--json' in sys.argv
    if not args:
        sys.exit('usage: fidelity_features_ref.py WEIGHTS.pth [DATA.safetensors] [--json]')
    torch.set_num_threads(THREADS)

    model = InceptionV3Features()
    sd = torch.load(args[0], map_location='cpu', weights_only=True)
    res = model.load_state_dict(sd, strict=False)
    print(f'load_state_dict({os.path.basename(args[0])}): {len(sd)} tensors, missing {list(res.missing_keys)}, '
          f'unexpected {list(res.unexpected_keys)}')
    if res.missing_keys or res.unexpected_keys:
        sys.exit('fidelity_features_ref.py: the weight file does not match the network')
    del sd
    model.requires_grad_(False)
    model.eval()

    data = read_safetensors(args[1]) if len(args) > 1 else None
    if data is not None:
        images = data['images']
    else:
        torch.manual_seed(0)
        b, s = int(os.environ.get('BATCH') or 50), int(os.environ.get('SIZE') or 256)
        images = torch.randint(0, 256, (b, 3, s, s), dtype=torch.uint8)

    secs, first = [], None
    with torch.no_grad():
        for i in range(ITERS + 1):
            t0 = time.perf_counter()
            f2048, logits = model(images)
            dt = time.perf_counter() - t0
            if i == 0:
                first = (f2048.clone(), logits.clone())
            else:
                secs.append(dt)
            del f2048, logits
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss   # KiB on Linux

    out = dict(torch=torch.__version__, threads=torch.get_num_threads(), secs=secs, peak_rss_kib=rss_kib,
               batch=int(images.shape[0]), size=int(images.shape[2]))
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, mkldnn {torch.backends.mkldnn.is_available()}; '
          f'batch {images.shape[0]}, {images.shape[2]} px; seconds per forward: {", ".join(f"{s:.2f}" for s in secs)}')
    if data is not None:
        for feat, ref in (('2048', first[0]), ('logits_unbiased', first[1])):
            ours = data[f'ours.{feat}']
            ref = ref[:ours.shape[0]].double()
            rel = float((ours.double() - ref).abs().max() / ref.abs().max())
            out[f'rel_diff_{feat.replace(".", "_")}'] = rel
            print(f'check {feat}: first {ours.shape[0]} images, max|ours - ref| / max|ref| = {rel:.3e}'
                  + (f' ({"ok" if rel <= 1e-5 else "MISMATCH"} at 1e-5)' if feat == '2048' else ''))
    if as_json:
        print(json.dumps(out))
    else:
        med = sorted(secs)[len(secs) // 2]
        n = images.shape[0]
        print(f'pytorch batch {n}, {images.shape[2]} px → {INPUT_SIZE}: median {n / med:.2f} img/s '
              f'({n / max(secs):.2f}, {n / min(secs):.2f}), peak RSS {rss_kib / 1024:.0f} MiB')


if __name__ == '__main__':
    main()
