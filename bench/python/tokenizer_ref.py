# PyTorch reference for bench/tokenizer.ts: the same two forward passes written with plain torch ops
# (a pre-norm ViT-S/16 with 256 slot tokens and the slot-causal boolean mask; a DiT-S/2 with
# adaLN-Zero blocks over 64 latent + 256 condition tokens). Random weights; only the time matters.
# Run:  python3 bench/python/tokenizer_ref.py
import statistics, time, resource, torch
import torch.nn.functional as F

torch.manual_seed(0)
def lin(i, o, b=True): return (torch.randn(o, i) * 0.02, torch.zeros(o) if b else None)

def attn(x, qkv, proj, heads, mask=None):
    B, N, C = x.shape
    q, k, v = F.linear(x, *qkv).reshape(B, N, 3, heads, C // heads).permute(2, 0, 3, 1, 4)
    return F.linear(F.scaled_dot_product_attention(q, k, v, attn_mask=mask).transpose(1, 2).reshape(B, N, C), *proj)

def vit(images, D=384, depth=12, heads=6, S=256):
    P = (images.shape[-1] // 16) ** 2
    W = dict(patch=torch.randn(D, 3, 16, 16) * 0.02, pos=torch.randn(1, 1 + P + S, D) * 0.02, slots=torch.randn(1, S, D) * 0.02,
             blocks=[(lin(D, 3 * D), lin(D, D), lin(D, 4 * D), lin(4 * D, D)) for _ in range(depth)])
    T = 1 + P + S
    mask = torch.ones(T, T, dtype=torch.bool)
    mask[: 1 + P, 1 + P:] = False
    mask[1 + P:, 1 + P:] = torch.ones(S, S, dtype=torch.bool).tril()
    def run():
        x = F.conv2d(images, W['patch'], stride=16).flatten(2).transpose(1, 2)
        x = torch.cat([torch.zeros(images.shape[0], 1, D), x, W['slots'].expand(images.shape[0], -1, -1)], 1) + W['pos']
        for qkv, proj, fc1, fc2 in W['blocks']:
            x = x + attn(F.layer_norm(x, (D,)), qkv, proj, heads, mask)
            x = x + F.linear(F.gelu(F.linear(F.layer_norm(x, (D,)), *fc1)), *fc2)
        return F.layer_norm(x, (D,))[:, -S:]
    return run

def dit(x, t, tokens, D=384, depth=12, heads=6):
    W = dict(xemb=torch.randn(D, 16, 2, 2) * 0.02, t1=lin(256, D), t2=lin(D, D), cond=lin(16, D),
             blocks=[(lin(D, 6 * D), lin(D, 3 * D), lin(D, D), lin(D, 4 * D), lin(4 * D, D)) for _ in range(depth)], fin=lin(D, 2 * D), out=lin(D, 4 * 32))
    def mod(x, shift, scale): return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)
    def run():
        h = F.conv2d(x, W['xemb'], stride=2).flatten(2).transpose(1, 2)
        half = 128
        freqs = torch.exp(-torch.log(torch.tensor(10000.0)) * torch.arange(half) / half)
        args = t.float()[:, None] * freqs[None]
        c = F.linear(F.silu(F.linear(torch.cat([args.cos(), args.sin()], -1), *W['t1'])), *W['t2'])
        h = torch.cat([h, F.linear(tokens, *W['cond'])], 1)
        for ada, qkv, proj, fc1, fc2 in W['blocks']:
            s1, c1, g1, s2, c2, g2 = F.linear(F.silu(c), *ada).chunk(6, 1)
            h = h + g1.unsqueeze(1) * attn(mod(F.layer_norm(h, (D,), eps=1e-6), s1, c1), qkv, proj, heads)
            h = h + g2.unsqueeze(1) * F.linear(F.gelu(F.linear(mod(F.layer_norm(h, (D,), eps=1e-6), s2, c2), *fc1), approximate='tanh'), *fc2)
        sh, sc = F.linear(F.silu(c), *W['fin']).chunk(2, 1)
        return F.linear(mod(F.layer_norm(h[:, :64], (D,), eps=1e-6), sh, sc), *W['out'])
    return run

def bench(name, run, iters=10):
    with torch.no_grad():
        for _ in range(2): run()
        ms = []
        for _ in range(iters):
            t0 = time.perf_counter(); run(); ms.append((time.perf_counter() - t0) * 1e3)
    print(f"{name:58s} median {statistics.median(ms):7.1f} ms  (min {min(ms):.1f}, max {max(ms):.1f})")

print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
bench('encoder ViT-S/16 causal, 256 px, 256 slots, batch 4', vit(torch.rand(4, 3, 256, 256)))
bench('DiT-S-2, 16x16x16 latents + 256 tokens, batch 8', dit(torch.randn(8, 16, 16, 16), torch.randint(0, 1000, (8,)), torch.randn(8, 256, 16)))
print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
