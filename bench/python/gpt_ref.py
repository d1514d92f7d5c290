# PyTorch reference for bench/gpt.ts: ϵLlamaGen at GPT-L's shape and a small width, written from
# scratch with plain torch.nn modules, timing the same things:
#   backbone  [label embedding (1001 rows, p = 0.1 drop to the null class in train), z_proj(tokens)]
#             + learned pos embed → RMSNorm (z_proj_ln) → 24 pre-norm Llama blocks (RMSNorm eps 1e-5 in
#             fp32; fused wqkv / wo without bias, causal SDPA, resid dropout 0.1; SwiGLU w2(silu(w1 x)·w3 x)
#             with hidden find_multiple(int(8·dim/3), 256), ffn dropout 0.1) → RMSNorm; the head condition
#             is h[:, 0:32] + diffusion_pos_embed_learned. No RoPE.
#   KV cache  gpt-fast style: per layer k/v stores (2B, H, find_multiple(33, 8), hd) written at
#             input_pos, attention over the whole store under causal_mask[:, None, input_pos]
#   head      SimpleMLPAdaLN with 'concat' conditioning (t drives adaLN, the condition is concatenated
#             in every ResBlock and the final layer), SiT linear transport: x_t = t·x1 + (1−t)·x0,
#             target x1 − x0, t ~ U[0, 1), each row repeated diffusion_batch_mul = 4 times
#   sampler   Euler–Maruyama, 250 grid points on [0, 0.96], diffusion form 1 − t, last step 'Mean'
#             (0.04), CFG inside the head (forward_with_cfg: first half of x for both halves,
#             v_u + s·(v_c − v_u)); the velocity computed twice per drift as upstream, or once
#   step      backward, clip_grad_norm_(1.0), AdamW(lr 1e-4, betas 0.9/0.95, wd 0.05 on ndim >= 2,
#             foreach=True), zero_grad(set_to_none=True); batch 8, float32, random weights and data
# Only the time matters (the init differs in details from upstream's).
#
# Run:  /tmp/venv/bin/python bench/python/gpt_ref.py
#       (ITERS=5, SEQS=5, SAMPLES=3, GENS=1, GEN_TOKENS=32, DIM=256, HEAD_DEPTH=3, HEAD_WIDTH=256, THREADS=2)
import math, os, re, resource, statistics, time
import torch
import torch.nn as nn
import torch.nn.functional as F

env = lambda k, d: int(os.environ.get(k) or d)
ITERS, SEQS, SAMPLES, GENS, GEN_TOKENS = env('ITERS', 5), env('SEQS', 5), env('SAMPLES', 3), env('GENS', 1), env('GEN_TOKENS', 32)
DIM, HEAD_DEPTH, HEAD_WIDTH = env('DIM', 256), env('HEAD_DEPTH', 3), env('HEAD_WIDTH', 256)
WARMUP = 2
B, L, C, NCLS, CFG, SDE_STEPS = 8, 32, 16, 1000, 4.0, 250
N_LAYER, N_HEAD = 24, 16
torch.set_num_threads(env('THREADS', 2))
torch.manual_seed(0)


def find_multiple(n, k):
    return n if n % k == 0 else n + k - n % k


# ---- backbone ---------------------------------------------------------------------------------
class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.eps, self.weight = eps, nn.Parameter(torch.ones(dim))

    def forward(self, x):
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).type_as(x) * self.weight


class KVCache(nn.Module):
    def __init__(self, batch, seq, heads, head_dim):
        super().__init__()
        self.register_buffer('k_cache', torch.zeros(batch, heads, seq, head_dim))
        self.register_buffer('v_cache', torch.zeros(batch, heads, seq, head_dim))

    def update(self, input_pos, k, v):
        self.k_cache[:, :, input_pos] = k
        self.v_cache[:, :, input_pos] = v
        return self.k_cache, self.v_cache


class Attention(nn.Module):
    def __init__(self, dim, heads, resid_p=0.1):
        super().__init__()
        self.heads, self.wqkv, self.wo = heads, nn.Linear(dim, 3 * dim, bias=False), nn.Linear(dim, dim, bias=False)
        self.resid_dropout, self.kv_cache = nn.Dropout(resid_p), None

    def forward(self, x, input_pos=None, mask=None):
        Bn, S, D = x.shape
        q, k, v = (t.view(Bn, S, self.heads, D // self.heads).transpose(1, 2) for t in self.wqkv(x).split(D, -1))
        if self.kv_cache is not None:
            k, v = self.kv_cache.update(input_pos, k, v)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=mask is None)
        return self.resid_dropout(self.wo(y.transpose(1, 2).contiguous().view(Bn, S, D)))


class FeedForward(nn.Module):
    def __init__(self, dim, hidden, p=0.1):
        super().__init__()
        self.w1, self.w3, self.w2 = nn.Linear(dim, hidden, bias=False), nn.Linear(dim, hidden, bias=False), nn.Linear(hidden, dim, bias=False)
        self.ffn_dropout = nn.Dropout(p)

    def forward(self, x):
        return self.ffn_dropout(self.w2(F.silu(self.w1(x)) * self.w3(x)))


class Block(nn.Module):
    def __init__(self, dim, heads, hidden):
        super().__init__()
        self.attention, self.feed_forward = Attention(dim, heads), FeedForward(dim, hidden)
        self.attention_norm, self.ffn_norm = RMSNorm(dim), RMSNorm(dim)

    def forward(self, x, input_pos=None, mask=None):
        h = x + self.attention(self.attention_norm(x), input_pos, mask)
        return h + self.feed_forward(self.ffn_norm(h))


class GPT(nn.Module):
    def __init__(self, head, dim=DIM, n_layer=N_LAYER, heads=N_HEAD, slots=L, slot_dim=C, num_classes=NCLS, drop_p=0.1):
        super().__init__()
        self.dim, self.heads, self.num_classes, self.drop_p = dim, heads, num_classes, drop_p
        self.pos_embed_learned = nn.Parameter(torch.randn(1, 1 + slots, dim) * 0.02)
        self.diffusion_pos_embed_learned = nn.Parameter(torch.randn(1, slots, dim) * 0.02)
        self.cls_embedding = nn.Embedding(num_classes + 1, dim)
        self.z_proj, self.z_proj_ln = nn.Linear(slot_dim, dim), RMSNorm(dim)
        hidden = find_multiple(int(2 * 4 * dim / 3), 256)
        self.layers = nn.ModuleList(Block(dim, heads, hidden) for _ in range(n_layer))
        self.norm = RMSNorm(dim)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)
                if getattr(m, 'bias', None) is not None:
                    nn.init.zeros_(m.bias)
        self.diffloss, self.causal_mask = head, None   # the head keeps its own init

    def trunk(self, h, input_pos=None, mask=None):
        h = self.z_proj_ln(h)
        for layer in self.layers:
            h = layer(h, input_pos, mask)
        return self.norm(h)

    def cls_embed(self, labels):
        if self.training and self.drop_p > 0:
            labels = torch.where(torch.rand(labels.shape[0]) < self.drop_p, self.num_classes, labels)
        return self.cls_embedding(labels).unsqueeze(1)

    def forward(self, tokens, labels):   # the training loss
        h = torch.cat([self.cls_embed(labels), self.z_proj(tokens)], 1) + self.pos_embed_learned
        z = self.trunk(h)[:, :-1] + self.diffusion_pos_embed_learned
        return self.diffloss(tokens.detach(), z)

    def setup_caches(self, batch, seq):
        seq = find_multiple(seq, 8)
        for layer in self.layers:
            layer.attention.kv_cache = KVCache(batch, seq, self.heads, self.dim // self.heads)
        self.causal_mask = torch.tril(torch.ones(seq, seq, dtype=torch.bool))[None].repeat(batch, 1, 1)

    def clear_caches(self):
        for layer in self.layers:
            layer.attention.kv_cache = None
        self.causal_mask = None

    def forward_cached(self, h, input_pos):   # h: the new entries before the pos embed; → the condition of the last one
        mask = self.causal_mask[:, None, input_pos]
        h = self.trunk(h + self.pos_embed_learned[:, input_pos], input_pos, mask)
        return h[:, -1] + self.diffusion_pos_embed_learned[:, int(input_pos[-1])]

    def prefill(self, labels):
        return self.forward_cached(self.cls_embed(labels), torch.tensor([0]))

    def decode_step(self, token, k):   # token (2B, C) at position k predicts token k
        return self.forward_cached(self.z_proj(token[:, None]), torch.tensor([k]))


# ---- head: SimpleMLPAdaLN ('concat') + SiT linear transport + EM sampler ------------------------
def modulate(x, shift, scale):
    return x * (1 + scale) + shift


class TimestepEmbedder(nn.Module):
    def __init__(self, w, freq=256):
        super().__init__()
        self.freq, self.mlp = freq, nn.Sequential(nn.Linear(freq, w), nn.SiLU(), nn.Linear(w, w))

    def forward(self, t):
        half = self.freq // 2
        freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
        args = t[:, None].float() * freqs[None]
        return self.mlp(torch.cat([torch.cos(args), torch.sin(args)], -1))


class ResBlock(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.in_ln = nn.LayerNorm(w, eps=1e-6)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(w, 3 * w))
        self.mlp = nn.Sequential(nn.Linear(2 * w, w), nn.SiLU(), nn.Linear(w, w))

    def forward(self, x, t, c):
        shift, scale, gate = self.adaLN_modulation(t).chunk(3, -1)
        return x + gate * self.mlp(torch.cat([modulate(self.in_ln(x), shift, scale), c], -1))


class FinalLayer(nn.Module):
    def __init__(self, w, out):
        super().__init__()
        self.norm_final = nn.LayerNorm(w, elementwise_affine=False, eps=1e-6)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(w, 2 * w))
        self.linear = nn.Linear(2 * w, out)

    def forward(self, x, t, c):
        shift, scale = self.adaLN_modulation(t).chunk(2, -1)
        return self.linear(torch.cat([modulate(self.norm_final(x), shift, scale), c], -1))


class SimpleMLPAdaLN(nn.Module):
    def __init__(self, c, w, z_dim, depth):
        super().__init__()
        self.time_embed, self.cond_embed, self.input_proj = TimestepEmbedder(w), nn.Linear(z_dim, w), nn.Linear(c, w)
        self.res_blocks = nn.ModuleList(ResBlock(w) for _ in range(depth))
        self.final_layer = FinalLayer(w, c)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight), nn.init.zeros_(m.bias)
        nn.init.normal_(self.time_embed.mlp[0].weight, std=0.02), nn.init.normal_(self.time_embed.mlp[2].weight, std=0.02)
        for lin in [b.adaLN_modulation[-1] for b in self.res_blocks] + [self.final_layer.adaLN_modulation[-1], self.final_layer.linear]:
            nn.init.zeros_(lin.weight), nn.init.zeros_(lin.bias)

    def forward(self, x, t, c):
        h, t, c = self.input_proj(x), self.time_embed(t), self.cond_embed(c)
        for blk in self.res_blocks:
            h = blk(h, t, c)
        return self.final_layer(h, t, c)

    def forward_with_cfg(self, x, t, c, scale):
        half = x[: len(x) // 2]
        out = self.forward(torch.cat([half, half]), t, c)
        cond, uncond = out.chunk(2)
        half_v = uncond + scale * (cond - uncond)
        return torch.cat([half_v, half_v])


class DiffLoss(nn.Module):
    def __init__(self, c, z_dim, depth, w, mul=4):
        super().__init__()
        self.net, self.mul = SimpleMLPAdaLN(c, w, z_dim, depth), mul

    def forward(self, target, z):   # SiT linear transport, velocity target, rows repeated mul times
        x1, c = target.reshape(-1, target.shape[-1]).repeat(self.mul, 1), z.reshape(-1, z.shape[-1]).repeat(self.mul, 1)
        x0 = torch.randn_like(x1)
        t = torch.rand(x1.shape[0])
        xt = t[:, None] * x1 + (1 - t[:, None]) * x0
        return ((self.net(xt, t, c) - (x1 - x0)) ** 2).mean(-1).mean()

    @torch.no_grad()
    def sample(self, z, cfg=1.0, temperature=1.0, model_calls='twice'):
        n = z.shape[0] // 2 if cfg != 1 else z.shape[0]
        x = torch.randn(n, self.net.input_proj.in_features)
        if cfg != 1:
            x = torch.cat([x, x])
            model = lambda x, t: self.net.forward_with_cfg(x, t, z, cfg)
        else:
            model = lambda x, t: self.net(x, t, z)

        def drift(x, t):   # v + D(t)·score, score from the velocity (computed again, as upstream)
            v = model(x, t)
            vs = model(x, t) if model_calls == 'twice' else v
            te = t[:, None]
            score = (te * vs - x) / ((1 - te) ** 2 - (te * -1) * (1 - te))
            return v + (1 - te) * score

        grid = torch.linspace(0, 1 - 0.04, SDE_STEPS)
        dt = grid[1] - grid[0]
        for tc in grid[:-1]:
            w = torch.randn_like(x)
            t = torch.ones(x.shape[0]) * tc
            x = x + drift(x, t) * dt + torch.sqrt(2 * (1 - t[:, None])) * w * torch.sqrt(dt) * temperature
        x = x + drift(x, torch.ones(x.shape[0]) * grid[-1]) * 0.04   # last step 'Mean'
        return x[:n] if cfg != 1 else x


@torch.no_grad()
def generate(gpt, labels, n, cfg_scale, temperature=1.0):   # linear CFG schedule, CFG-doubled batch
    Bn = labels.shape[0]
    gpt.setup_caches(2 * Bn, 1 + n)
    try:
        cond, tokens = gpt.prefill(torch.cat([labels, torch.full_like(labels, gpt.num_classes)])), []
        for k in range(n):
            if k > 0:
                cond = gpt.decode_step(torch.cat([tokens[-1], tokens[-1]]), k)
            tokens.append(gpt.diffloss.sample(cond, cfg=1 + (cfg_scale - 1) * (k + 1) / n, temperature=temperature))
        return torch.stack(tokens, 1)
    finally:
        gpt.clear_caches()


# ---- the benchmark ------------------------------------------------------------------------------
def stats(ms):
    return f"median {statistics.median(ms):8.1f} ms  (min {min(ms):.1f}, max {max(ms):.1f}, n {len(ms)})"


def timed(n, warm, body):
    ms = []
    for i in range(warm + n):
        t0 = time.perf_counter()
        body()
        if i >= warm:
            ms.append((time.perf_counter() - t0) * 1e3)
    return ms


def line(name, ms, rate):
    print(f"{name:62s} {stats(ms)}  {rate}")


blas = re.search(r'BLAS_INFO=([^,\s]+)', torch.__config__.show())
print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, BLAS {blas[1] if blas else 'unknown'}, load {os.getloadavg()[0]:.2f}")
head = DiffLoss(C, DIM, HEAD_DEPTH, HEAD_WIDTH)
gpt = GPT(head)
n_head = sum(p.numel() for p in head.parameters())
print(f"GPT-L shape at dim {DIM}: {N_LAYER} layers, {N_HEAD} heads (head_dim {DIM // N_HEAD}), SwiGLU hidden {find_multiple(int(8 * DIM / 3), 256)}, "
      f"{L} tokens x {C} ch + 1 class token, {NCLS} classes; head {HEAD_DEPTH} x {HEAD_WIDTH}, diffusion_batch_mul 4; batch {B}, float32")
print(f"{sum(p.numel() for p in gpt.parameters()) - n_head} backbone + {n_head} head parameters")

gpt.train()
params = list(gpt.parameters())
optimizer = torch.optim.AdamW([dict(params=[p for p in params if p.ndim >= 2], weight_decay=0.05),
                               dict(params=[p for p in params if p.ndim < 2], weight_decay=0.0)],
                              lr=1e-4, betas=(0.9, 0.95), eps=1e-8, foreach=True)
tokens, labels = torch.randn(B, L, C), torch.randint(0, NCLS, (B,))

# (a) training step
losses, norms = [], []


def train_step():
    loss = gpt(tokens, labels)
    loss.backward()
    norms.append(torch.nn.utils.clip_grad_norm_(params, 1.0, foreach=True).item())
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    losses.append(loss.item())


step_ms = timed(ITERS, WARMUP, train_step)
print(f"step 1: loss {losses[0]:.4f}, grad norm {norms[0]:.3f}")
line(f"(a) train step (fwd+bwd+clip+AdamW+zero grad), batch {B}", step_ms, f"{B * L / (statistics.median(step_ms) / 1e3):.0f} tokens/s")
print("  losses: " + " ".join(f"{l:.4f}" for l in losses))

# (b1) backbone with the KV cache: prefill + 31 decode steps on the CFG-doubled batch
gpt.eval()
all_labels = torch.cat([labels, torch.full_like(labels, NCLS)])
feed = torch.randn(2 * B, C)


@torch.no_grad()
def sequence():
    gpt.setup_caches(2 * B, 1 + L)
    try:
        gpt.prefill(all_labels)
        for k in range(1, L):
            gpt.decode_step(feed, k)
    finally:
        gpt.clear_caches()


seq_ms = timed(SEQS, 1, sequence)
line(f"(b1) KV-cache backbone: prefill + {L - 1} decode steps, {2 * B} rows", seq_ms,
     f"{B * L / (statistics.median(seq_ms) / 1e3):.0f} tokens/s ({statistics.median(seq_ms) / L:.2f} ms/position)")

# (b2) the head's sampler
z = torch.randn(2 * B, DIM)
for calls in ('twice', 'once'):
    ms = timed(SAMPLES, 1, lambda: head.sample(z, cfg=CFG, model_calls=calls))
    line(f"(b2) head.sample(z ({2 * B}, {DIM}), cfg {CFG:g}), model calls '{calls}'", ms, f"{SDE_STEPS / (statistics.median(ms) / 1e3):.0f} SDE steps/s")

# (b3) a full generate()
gen_ms = timed(GENS, 0, lambda: generate(gpt, labels, GEN_TOKENS, CFG))
line(f"(b3) generate({B} labels, {GEN_TOKENS} tokens, cfg {CFG:g} linear)", gen_ms,
     f"{statistics.median(gen_ms) / 1e3:.1f} s total, {B * GEN_TOKENS / (statistics.median(gen_ms) / 1e3):.1f} tokens/s")
print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB; load {os.getloadavg()[0]:.2f}")
