# PyTorch reference for bench/block.ts: transformer block (dim 384, 6 heads, 320 tokens, batch 4),
# forward + backward, loss = mean(out^2). Run:  python3 bench/python/block_ref.py
import statistics, time, torch
import torch.nn.functional as F

torch.manual_seed(0)
B, N, D, H = 4, 320, 384, 6
def p(*s, scale=0.02): return (torch.randn(*s) * scale).requires_grad_()
params = dict(ln1_w=torch.ones(D, requires_grad=True), ln1_b=torch.zeros(D, requires_grad=True),
              qkv_w=p(3 * D, D), qkv_b=torch.zeros(3 * D, requires_grad=True), proj_w=p(D, D), proj_b=torch.zeros(D, requires_grad=True),
              ln2_w=torch.ones(D, requires_grad=True), ln2_b=torch.zeros(D, requires_grad=True),
              fc1_w=p(4 * D, D), fc1_b=torch.zeros(4 * D, requires_grad=True), fc2_w=p(D, 4 * D), fc2_b=torch.zeros(D, requires_grad=True))
x = torch.randn(B, N, D)

def step():
    P = params
    h = F.layer_norm(x, (D,), P['ln1_w'], P['ln1_b'])
    qkv = F.linear(h, P['qkv_w'], P['qkv_b']).reshape(B, N, 3, H, D // H).permute(2, 0, 3, 1, 4)
    a = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2]).transpose(1, 2).reshape(B, N, D)
    y = x + F.linear(a, P['proj_w'], P['proj_b'])
    h = F.layer_norm(y, (D,), P['ln2_w'], P['ln2_b'])
    y = y + F.linear(F.gelu(F.linear(h, P['fc1_w'], P['fc1_b'])), P['fc2_w'], P['fc2_b'])
    loss = y.pow(2).mean()
    for t in P.values(): t.grad = None
    loss.backward()

for _ in range(2): step()
times = []
for _ in range(10):
    t0 = time.perf_counter(); step(); times.append((time.perf_counter() - t0) * 1e3)
print(f"torch {torch.__version__}, {torch.get_num_threads()} threads: block fwd+bwd median {statistics.median(times):.1f} ms")
