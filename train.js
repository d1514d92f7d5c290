#!/usr/bin/env node
// Entry point: see lib/cli/train.ts (run `npm run build:ts` first when working from sources).
import { main } from './dist/lib/cli/train.js';

main().catch((e) => {
  console.error(`train.js: ${process.env.DEBUG ? e.stack : e.message}`);
  process.exit(1);
});
