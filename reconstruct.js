#!/usr/bin/env node
// Entry point: see lib/cli/reconstruct.ts (run `npm run build:ts` first when working from sources).
import { main } from './dist/lib/cli/reconstruct.js';

main().catch((e) => {
  console.error(`reconstruct.js: ${e.message}`);
  process.exit(1);
});
