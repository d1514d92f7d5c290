#!/usr/bin/env node
// Entry point: see lib/cli/launch.ts (run `npm run build:ts` first when working from sources).
import { main } from './dist/lib/cli/launch.js';

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`launch.js: ${e.message}`);
    process.exit(2);
  },
);
