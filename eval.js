#!/usr/bin/env node
// Entry point: see lib/cli/eval.ts (run `npm run build:ts` first when working from sources).
import { main } from './dist/lib/cli/eval.js';

main().catch((e) => {
  console.error(`eval.js: ${process.env.DEBUG ? e.stack : e.message}`);
  process.exit(1);
});
