// Child-process fixture for test/errors.test.ts: triggers many different libtorch and argument
// errors in a row, catches each, and prints `caught N of M`. It exits 0 only if every call threw
// a proper JS error (TorchError or TypeError); an abort or segfault would kill the process instead.
// Run: node test/fixtures-scripts/many-errors.mjs   (after npx tsc -p tsconfig.json)
import * as torch from '../../dist/lib/torch.js';

const F = torch.nn.functional;
const a = torch.randn(2, 3);
const b = torch.randn(4, 5);
const idx = (xs) => torch.tensor(xs, { dtype: 'int64' });
const disposed = torch.ones(2, 3);
disposed.dispose();

const cases = [
  () => a.matmul(b),
  () => torch.ops.aten.mm(a, b),
  () => a.view(4, 2),
  () => a.t().view(6),
  () => a.reshape(5),
  () => a.reshape(-1, -1),
  () => torch.cat([a, b], 0),
  () => torch.cat([], 0),
  () => torch.cat([torch.ones(2), torch.ones(2, 2)]),
  () => torch.stack([a, b]),
  () => F.conv2d(torch.randn(1, 3, 8, 8), torch.randn(4, 2, 3, 3)),
  () => F.conv2d(torch.randn(3, 8), torch.randn(4, 3, 3, 3)),
  () => F.conv2d(torch.randn(1, 3, 2, 2), torch.randn(4, 3, 3, 3)),
  () => F.linear(a, torch.randn(4, 5)),
  () => F.layerNorm(a, [5]),
  () => a.sum(5),
  () => a.softmax(2),
  () => a.transpose(0, 7),
  () => a.unsqueeze(5),
  () => a.permute(0, 0),
  () => torch.arange(6).view(2, 3).matmul(torch.randn(3, 2)),
  () => torch.ops.aten.bmm(a, a),
  () => a.select(0, 5),
  () =>
    a.gather(
      1,
      idx([
        [0, 7, 1],
        [0, 0, 0],
      ]),
    ),
  () => a.indexSelect(0, idx([0, 9])),
  () => F.embedding(idx([10]), torch.randn(3, 4)),
  () => a.item(),
  () => torch.empty(0).item(),
  () => torch.fromTypedArray(new Float32Array(5), [2, 3]),
  () => torch.zeros(2, { dtype: 'float33' }),
  () => torch.zeros(2, { device: 'tpu' }),
  () => a.sum().backward(),
  () => torch.randn(3, { requiresGrad: true }).mul(2).backward(),
  () => torch.empty([1e15]),
  () => torch.zeros(1.5),
  () => a.add('x'),
  () => a.sum(0, 'yes'),
  () => a.add(disposed),
  () => disposed.shape,
  () => a.expand(3, 3),
  () => a.narrow(1, 2, 5),
  () => a.topk(10),
  () => F.crossEntropy(torch.randn(2, 3), idx([0, 5])),
];

let caught = 0;
const bad = [];
for (const [i, f] of cases.entries()) {
  try {
    f();
    bad.push(`case ${i} did not throw`);
  } catch (e) {
    if (e instanceof torch.TorchError || e instanceof TypeError) caught++;
    else bad.push(`case ${i} threw ${e?.constructor?.name}: ${e?.message}`);
  }
}
// The library still works after all of that.
const ok = torch.ones(2).add(1).sum().item() === 4;
console.log(`caught ${caught} of ${cases.length}`);
if (bad.length) console.log(bad.join('\n'));
if (!ok) console.log('library broken after errors');
process.exit(bad.length === 0 && ok ? 0 : 1);
