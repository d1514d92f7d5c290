# PyTorch reference for bench/train_step.ts: one tokenizer training step and the decode of 4 images,
# written from scratch with plain torch.nn modules at the same sizes and with the same math:
#   encoder  pre-norm ViT-S/16 (SIZE=L: ViT-B/16; LayerNorm eps 1e-6, exact GELU) over [CLS, 256
#            patches, 256 learned slots] with the slot-causal boolean mask and linearly ramped drop
#            path (0 → 0.1); the final-normed slots → Linear(dim, 16) → per-token standardisation
#            (unbiased std, no eps)
#   DiT-S-2  (SIZE=L: DiT-L-2) adaLN-Zero blocks (non-affine LayerNorms, tanh GELU) over 64 latent
#            patches + 256 condition tokens; positions beyond the nested k take the learned null_cond;
#            output 32 ch (eps + learned-sigma interpolation values); the 2-D sin-cos pos_embed is a
#            fixed buffer
#   loss     1000-step linear-beta Gaussian diffusion (lib/diffusion/gaussian.ts): eps MSE + VB term
#            (KL in bits/dim with eps detached; discretized-Gaussian NLL at t = 0), k ~ U{1..256}
#   step     backward, clip_grad_norm_(3.0), AdamW(lr 1e-4, betas 0.9/0.95, wd 0.05 on ndim >= 2,
#            foreach=True), zero_grad(set_to_none=True); batch 4, float32 weights (PRECISION=bf16:
#            encoder + loss under bf16 autocast), random weights and data
#   decode   eval, no_grad: 25 respaced ancestral steps at CFG 3 (batch 8 through the DiT), latents
#            only; under bf16 autocast with PRECISION=bf16 (the tokens are encoded once, untimed, fp32)
# Random latents (4, 16, 16, 16) stand in for VAE latents, as in the TS benchmark. Only the time matters.
# On CUDA each timing synchronizes the device before reading the clock, so that it covers the queued
# kernels. Prints the same lines as the TS benchmark (the trainable-parameter count must match it).
#
# Run:  python3 bench/python/train_step_ref.py   (a Python with PyTorch, e.g. a throwaway venv's)
# Environment (defaults first), as bench/train_step.ts:
#   ITERS=10, DECODES=3      timed steps and decodes
#   THREADS=2                intra-op CPU threads
#   DEVICE=cpu|cuda|cuda:N   where the model, AdamW state, data, generators and noise live (CUDA asked
#                            for but not available: fails at once)
#   SIZE=S|L                 S: ViT-S/16 + DiT-S-2; L: ViT-B/16 + DiT-L-2 (all else the same)
#   PRECISION=fp32|bf16      bf16: forward (training step and decode) under bfloat16 autocast on the
#                            device type, weights and AdamW state stay float32
import math, os, resource, statistics, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

ITERS = int(os.environ.get('ITERS') or 10)
DECODES = int(os.environ.get('DECODES') or 3)
WARMUP = 2
B, IMG, S, SD = 4, 256, 256, 16          # batch, image side, slots, slot dim
LC, LS = 16, 16                          # latent channels and side (MAR KL-16 at 256 px)
# (dim, depth, heads) of the encoder and of the DiT (patch 2 both sizes): timm ViT-S/16 | ViT-B/16, DiT-S-2 | DiT-L-2
SIZES = dict(S=((384, 12, 6), (384, 12, 6)), L=((768, 12, 12), (1024, 24, 16)))
SIZE, PRECISION, DEVICE = os.environ.get('SIZE') or 'S', os.environ.get('PRECISION') or 'fp32', os.environ.get('DEVICE') or 'cpu'
# Bad settings stop the run before any work, with what was asked (never a silent CPU or fp32 run).
if SIZE not in SIZES:
    sys.exit(f"train_step_ref: SIZE '{SIZE}' is not S or L")
if PRECISION not in ('fp32', 'bf16'):
    sys.exit(f"train_step_ref: PRECISION '{PRECISION}' is not fp32 or bf16")
try:
    dev = torch.device(DEVICE)
except RuntimeError:
    dev = torch.device('meta')   # not a device string: refused just below, as meta is
if dev.type not in ('cpu', 'cuda'):
    sys.exit(f"train_step_ref: DEVICE '{DEVICE}' is not cpu, cuda or cuda:N")
if dev.type == 'cuda':
    if not torch.cuda.is_available():
        sys.exit(f"train_step_ref: DEVICE '{DEVICE}': CUDA is not available (torch {torch.__version__}, "
                 f"built with CUDA {torch.version.cuda or 'none'}); use DEVICE=cpu or a CUDA PyTorch on a GPU machine")
    dev = torch.device('cuda', dev.index or 0)
    if dev.index >= torch.cuda.device_count():
        sys.exit(f"train_step_ref: DEVICE '{DEVICE}': {dev} does not exist, {torch.cuda.device_count()} CUDA devices visible")
    torch.cuda.set_device(dev)


def sync():   # CUDA runs asynchronously: wait for the queued kernels before reading the clock
    if dev.type == 'cuda':
        torch.cuda.synchronize(dev)


def amp():    # the forward in the run's precision (disabled: fp32 as it is)
    return torch.autocast(dev.type, dtype=torch.bfloat16, enabled=PRECISION == 'bf16')


torch.set_num_threads(int(os.environ.get('THREADS') or 2))
torch.manual_seed(0)


# ---- shared layers ----------------------------------------------------------------------------
class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads, self.qkv, self.proj = heads, nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)

    def forward(self, x, mask=None):
        Bn, N, C = x.shape
        q, k, v = self.qkv(x).reshape(Bn, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.proj(y.transpose(1, 2).reshape(Bn, N, C))


class Mlp(nn.Module):
    def __init__(self, dim, hidden, approximate='none'):
        super().__init__()
        self.fc1, self.fc2, self.approximate = nn.Linear(dim, hidden), nn.Linear(hidden, dim), approximate

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x), approximate=self.approximate))


def drop_path(x, p, training):
    if p == 0 or not training:
        return x
    keep = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(1 - p)
    return x * keep.div_(1 - p)


# ---- encoder: ViT-S/16 with 256 slot tokens -----------------------------------------------------
class VitBlock(nn.Module):
    def __init__(self, dim, heads, dp):
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim, eps=1e-6), Attention(dim, heads)
        self.norm2, self.mlp = nn.LayerNorm(dim, eps=1e-6), Mlp(dim, 4 * dim)
        self.dp = dp

    def forward(self, x, mask):
        x = x + drop_path(self.attn(self.norm1(x), mask), self.dp, self.training)
        return x + drop_path(self.mlp(self.norm2(x)), self.dp, self.training)


class SlotEncoder(nn.Module):
    def __init__(self, img=IMG, patch=16, dim=384, depth=12, heads=6, slots=S, slot_dim=SD, drop_path_rate=0.1):
        super().__init__()
        P = (img // patch) ** 2
        self.slots = slots
        self.patch_embed = nn.Conv2d(3, dim, patch, patch)
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.pos_embed = nn.Parameter(torch.randn(1, 1 + P + slots, dim) * 0.02)
        self.slot_embed = nn.Parameter(torch.randn(1, slots, dim) * 0.02)
        dpr = torch.linspace(0, drop_path_rate, depth).tolist()
        self.blocks = nn.ModuleList(VitBlock(dim, heads, dp) for dp in dpr)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.encoder2slot = nn.Linear(dim, slot_dim)
        T = 1 + P + slots   # slot-causal mask, True = may attend: CLS/patch keys always, slot keys j <= i
        idx = torch.arange(T)
        self.register_buffer('mask', (idx[None] < T - slots) | (idx[None] <= idx[:, None]), persistent=False)

    def forward(self, images):
        Bn = images.shape[0]
        x = self.patch_embed(images).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(Bn, -1, -1), x, self.slot_embed.expand(Bn, -1, -1)], 1) + self.pos_embed
        for blk in self.blocks:
            x = blk(x, self.mask)
        z = self.encoder2slot(self.norm(x)[:, -self.slots:])
        return (z - z.mean(-1, keepdim=True)) / z.std(-1, keepdim=True)   # norm_slots


# ---- decoder: DiT-S-2 with in-context condition tokens ------------------------------------------
def modulate(x, shift, scale):
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


def sincos_2d(dim, grid):
    def one(d, pos):
        omega = 1.0 / 10000 ** (torch.arange(d // 2, dtype=torch.float64) / (d // 2))
        a = pos[:, None] * omega[None]
        return torch.cat([a.sin(), a.cos()], 1)
    g = torch.arange(grid * grid, dtype=torch.float64)
    return torch.cat([one(dim // 2, g % grid), one(dim // 2, g // grid)], 1).float()


class DiTBlock(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.mlp = Mlp(dim, 4 * dim, 'tanh')
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, 6 * dim))

    def forward(self, x, c):
        s1, c1, g1, s2, c2, g2 = self.adaLN_modulation(c).chunk(6, 1)
        x = x + g1.unsqueeze(1) * self.attn(modulate(self.norm1(x), s1, c1))
        return x + g2.unsqueeze(1) * self.mlp(modulate(self.norm2(x), s2, c2))


class DiT(nn.Module):
    def __init__(self, size=LS, patch=2, cin=LC, dim=384, depth=12, heads=6, slots=S, slot_dim=SD):
        super().__init__()
        self.patch, self.cin, self.cout = patch, cin, 2 * cin
        self.x_embedder = nn.Conv2d(cin, dim, patch, patch)
        self.t_embedder = nn.Sequential(nn.Linear(256, dim), nn.SiLU(), nn.Linear(dim, dim))
        self.blocks = nn.ModuleList(DiTBlock(dim, heads) for _ in range(depth))
        self.norm_final = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.final_ada = nn.Sequential(nn.SiLU(), nn.Linear(dim, 2 * dim))
        self.final_linear = nn.Linear(dim, patch * patch * self.cout)
        self.null_cond = nn.Parameter(torch.randn(1, slots, slot_dim) * 0.02)
        self.autoenc_cond_embedder = nn.Linear(slot_dim, dim)
        self.register_buffer('pos_embed', sincos_2d(dim, size // patch)[None], persistent=False)
        for lin in [b.adaLN_modulation[-1] for b in self.blocks] + [self.final_ada[-1], self.final_linear]:
            nn.init.zeros_(lin.weight), nn.init.zeros_(lin.bias)   # adaLN-Zero

    def forward(self, x, t, tokens, keep_mask):
        h = self.x_embedder(x).flatten(2).transpose(1, 2) + self.pos_embed
        n = h.shape[1]
        freqs = torch.exp(-math.log(10000) * torch.arange(128, dtype=torch.float32, device=t.device) / 128)
        args = t.float()[:, None] * freqs[None]
        c = self.t_embedder(torch.cat([args.cos(), args.sin()], -1))
        cond = torch.where(keep_mask.unsqueeze(2), tokens, self.null_cond)
        h = torch.cat([h, self.autoenc_cond_embedder(cond)], 1)
        for blk in self.blocks:
            h = blk(h, c)
        shift, scale = self.final_ada(c).chunk(2, 1)
        out = self.final_linear(modulate(self.norm_final(h[:, :n]), shift, scale))
        Bn, p, g = out.shape[0], self.patch, math.isqrt(n)
        return out.reshape(Bn, g, g, p, p, self.cout).permute(0, 5, 1, 3, 2, 4).reshape(Bn, self.cout, g * p, g * p)

    def forward_with_cfg(self, x, t, tokens, keep_mask, scale):
        half = x[: len(x) // 2]
        out = self.forward(torch.cat([half, half]), t, tokens, keep_mask)
        eps, rest = out[:, : self.cin], out[:, self.cin:]
        cond_eps, uncond_eps = eps.chunk(2)
        half_eps = uncond_eps + scale * (cond_eps - uncond_eps)
        return torch.cat([torch.cat([half_eps, half_eps]), rest], 1)


# ---- Gaussian diffusion (ADM/DiT; schedule in float64, gathered then cast to float32) -----------
def space_timesteps(T, count):   # upstream's respacing for one section ("25"): round-half-even of a running stride
    stride, cur, out = (T - 1) / (count - 1), 0.0, set()
    for _ in range(count):
        out.add(round(cur))
        cur += stride
    return sorted(out)


class Diffusion:
    def __init__(self, betas, timestep_map):
        b = betas
        ac = torch.cumprod(1 - b, 0)
        acp = torch.cat([torch.ones(1, dtype=torch.float64), ac[:-1]])
        self.T, self.ac, self.map = len(b), ac, torch.tensor(timestep_map)
        self.sqrt_ac, self.sqrt_1mac = ac.sqrt(), (1 - ac).sqrt()
        self.sqrt_recip_ac, self.sqrt_recipm1_ac = (1 / ac).sqrt(), (1 / ac - 1).sqrt()
        pv = b * (1 - acp) / (1 - ac)
        self.post_logvar = torch.cat([pv[1:2], pv[1:]]).log()
        self.coef1, self.coef2 = b * acp.sqrt() / (1 - ac), (1 - acp) * (1 - b).sqrt() / (1 - ac)
        self.log_betas = b.log()

    def to(self, device):   # the tables live where the timesteps that index them do
        for k, v in vars(self).items():
            setattr(self, k, v.to(device) if torch.is_tensor(v) else v)
        return self

    @staticmethod
    def linear(T=1000):
        return Diffusion(torch.linspace(0.1 / T, 20 / T, T, dtype=torch.float64), list(range(T)))

    def respace(self, use):
        betas, last = [], 1.0
        for i in use:
            betas.append(1 - self.ac[i].item() / last)
            last = self.ac[i].item()
        return Diffusion(torch.tensor(betas, dtype=torch.float64), [int(self.map[i]) for i in use])

    @staticmethod
    def ex(a, t, x):
        return a[t].float().reshape(-1, *([1] * (x.ndim - 1)))

    def q_sample(self, x0, t, noise):
        return self.ex(self.sqrt_ac, t, x0) * x0 + self.ex(self.sqrt_1mac, t, x0) * noise

    def q_posterior(self, x0, xt, t):
        return self.ex(self.coef1, t, xt) * x0 + self.ex(self.coef2, t, xt) * xt, self.ex(self.post_logvar, t, xt)

    def p_mean_var(self, out, x, t):
        eps, v = out.split(x.shape[1], 1)
        frac = (v + 1) / 2
        logvar = frac * self.ex(self.log_betas, t, x) + (1 - frac) * self.ex(self.post_logvar, t, x)
        x0 = self.ex(self.sqrt_recip_ac, t, x) * x - self.ex(self.sqrt_recipm1_ac, t, x) * eps
        return self.q_posterior(x0, x, t)[0], logvar

    def training_loss(self, model, x0, t, noise):
        xt = self.q_sample(x0, t, noise)
        out = model(xt, self.map[t])
        eps, v = out.split(x0.shape[1], 1)
        mse = (noise - eps).pow(2).mean((1, 2, 3))
        true_mean, true_logvar = self.q_posterior(x0, xt, t)
        mean, logvar = self.p_mean_var(torch.cat([eps.detach(), v], 1), xt, t)   # VB trains the variance only
        kl = 0.5 * (-1 + logvar - true_logvar + (true_logvar - logvar).exp() + (true_mean - mean).pow(2) * (-logvar).exp())
        kl = kl.mean((1, 2, 3)) / math.log(2)
        nll = -discretized_gaussian_log_likelihood(x0, mean, 0.5 * logvar).mean((1, 2, 3)) / math.log(2)
        return (mse + torch.where(t == 0, nll, kl)).mean()

    @torch.no_grad()
    def p_sample_loop(self, model, noise, gen):
        x = noise
        for i in reversed(range(self.T)):
            t = torch.full((x.shape[0],), i, dtype=torch.long, device=x.device)
            mean, logvar = self.p_mean_var(model(x, self.map[t]), x, t)
            x = mean + float(i != 0) * (0.5 * logvar).exp() * torch.randn(x.shape, generator=gen, device=x.device)
        return x


def discretized_gaussian_log_likelihood(x, means, log_scales):
    cdf = lambda v: 0.5 * (1 + torch.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v.pow(3))))
    c, inv = x - means, (-log_scales).exp()
    cdf_plus, cdf_min = cdf(inv * (c + 1 / 255)), cdf(inv * (c - 1 / 255))
    log_cdf_plus, log_1m_cdf_min = cdf_plus.clamp(min=1e-12).log(), (1 - cdf_min).clamp(min=1e-12).log()
    log_delta = (cdf_plus - cdf_min).clamp(min=1e-12).log()
    return torch.where(x < -0.999, log_cdf_plus, torch.where(x > 0.999, log_1m_cdf_min, log_delta))


# ---- the benchmark ------------------------------------------------------------------------------
def stats(ms):
    return f"median {statistics.median(ms):8.1f} ms  (min {min(ms):.1f}, max {max(ms):.1f}, n {len(ms)})"


print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, load {os.getloadavg()[0]:.2f}; "
      f"device {dev}, size {SIZE}, {PRECISION}")
(enc_dim, enc_depth, enc_heads), (dit_dim, dit_depth, dit_heads) = SIZES[SIZE]
encoder = SlotEncoder(dim=enc_dim, depth=enc_depth, heads=enc_heads)
dit = DiT(dim=dit_dim, depth=dit_depth, heads=dit_heads)
model = nn.ModuleDict(dict(encoder=encoder, dit=dit)).to(dev).train()
params = [p for p in model.parameters() if p.requires_grad]
optimizer = torch.optim.AdamW([dict(params=[p for p in params if p.ndim >= 2], weight_decay=0.05),
                               dict(params=[p for p in params if p.ndim < 2], weight_decay=0.0)],
                              lr=1e-4, betas=(0.9, 0.95), eps=1e-8, foreach=True)
train_diffusion = Diffusion.linear(1000)
sample_diffusion = train_diffusion.respace(space_timesteps(1000, 25)).to(dev)   # respaced from the CPU tables
train_diffusion.to(dev)
images, latents = torch.rand(B, 3, IMG, IMG, device=dev), torch.randn(B, LC, LS, LS, device=dev)
print(f"{sum(p.numel() for p in params)} trainable parameters (encoder {sum(p.numel() for p in encoder.parameters())}, "
      f"DiT {sum(p.numel() for p in dit.parameters())})")


def train_step():
    with amp():
        tokens = encoder(images)
        t = torch.randint(0, 1000, (B,), device=dev)
        k = torch.randint(1, S + 1, (B,), device=dev)     # nested first-k mask
        keep_mask = torch.arange(S, device=dev)[None] < k[:, None]
        loss = train_diffusion.training_loss(lambda x, tt: dit(x, tt, tokens, keep_mask), latents, t, torch.randn_like(latents))
    loss.backward()
    grad_norm = torch.nn.utils.clip_grad_norm_(params, 3.0, foreach=True)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return loss.item(), grad_norm.item()


step_ms, losses = [], []
for i in range(WARMUP + ITERS):
    t0 = time.perf_counter()
    loss, grad_norm = train_step()
    sync()
    ms = (time.perf_counter() - t0) * 1e3
    if i >= WARMUP:
        step_ms.append(ms)
    losses.append(loss)
    if i == 0:
        print(f"step 1: loss {loss:.4f}, grad norm {grad_norm:.3f}")
print(f"{'train step (fwd+bwd+clip+AdamW+zero grad), batch 4':60s} {stats(step_ms)}")
print("  losses: " + " ".join(f"{l:.4f}" for l in losses))

# decode: 25 respaced ancestral steps at CFG 3 (conditional tokens first, null tokens second), no VAE
model.eval()
with torch.no_grad():
    tokens = encoder(images)
    slots = torch.cat([tokens, dit.null_cond.expand(B, -1, -1)])
    keep_all = torch.ones(2 * B, S, dtype=torch.bool, device=dev)


def decode():
    gen = torch.Generator(dev).manual_seed(0)   # seeded noise drawn on the device, as Tokenizer.sampleLatents
    z = torch.randn(B, LC, LS, LS, generator=gen, device=dev)
    cfg_model = lambda x, t: dit.forward_with_cfg(x, t, slots, keep_all, 3.0)
    with amp():
        return sample_diffusion.p_sample_loop(cfg_model, torch.cat([z, z]), gen)[:B]


decode_ms = []
for i in range(1 + DECODES):
    t0 = time.perf_counter()
    decode()
    sync()
    if i >= 1:
        decode_ms.append((time.perf_counter() - t0) * 1e3)
print(f"{'decode 4 images, 25 steps, CFG 3 (latents only, no VAE)':60s} {stats(decode_ms)}")
print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB; load {os.getloadavg()[0]:.2f}")
