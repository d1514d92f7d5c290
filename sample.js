#!/usr/bin/env node
// Entry point: see lib/cli/sample.ts (run `npm run build:ts` first when working from sources).
import { main } from './dist/lib/cli/sample.js';

main().catch((e) => {
  console.error(`sample.js: ${e.message}`);
  process.exit(1);
});
