// Child-process fixture for test/memory.test.ts (run with --expose-gc): creates many tensors outside
// any scope and drops them, yielding to the event loop between batches, then forces a GC and lets
// the FinalizationRegistry callbacks run. Prints one JSON line: {created, peak, beforeGc, after}.
// Run: node --expose-gc test/fixtures-scripts/gc-safety-net.mjs   (after npx tsc -p tsconfig.json)
import * as torch from '../../dist/lib/torch.js';

if (typeof globalThis.gc !== 'function') {
  console.error('run with --expose-gc');
  process.exit(2);
}
const tick = () => new Promise((r) => setImmediate(r));
const base = torch.memory().numTensors;
const batches = Number(process.argv[2] ?? 20);
let created = 0;
let peak = 0;
for (let b = 0; b < batches; b++) {
  for (let i = 0; i < 1000; i++) {
    torch.ones(256).mul(2); // two 1 KiB tensors, no scope, no reference kept
    created += 2;
  }
  peak = Math.max(peak, torch.memory().numTensors - base);
  await tick();
}
const beforeGc = torch.memory().numTensors - base;
for (let k = 0; k < 3; k++) {
  globalThis.gc();
  await tick();
  await tick();
}
const after = torch.memory().numTensors - base;
console.log(JSON.stringify({ created, peak, beforeGc, after, allocatedBytes: torch.memory().allocatedBytes }));
