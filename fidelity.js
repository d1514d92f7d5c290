#!/usr/bin/env node
// Entry point: see lib/cli/fidelity.ts (run `npm run build:ts` first when working from sources).
import { main } from './dist/lib/cli/fidelity.js';

main().catch((e) => {
  console.error(`fidelity.js: ${process.env.DEBUG ? e.stack : e.message}`);
  process.exit(1);
});
