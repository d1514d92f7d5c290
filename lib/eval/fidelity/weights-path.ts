// Where the Inception-v3 weights of torch-fidelity are found. Nothing is downloaded at run time:
// the file is taken from an explicit path (the CLI's --feature-extractor-weights-path), or from
// the torch hub checkpoint folder where torch-fidelity caches it after its first download.
import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** torch-fidelity's file name for the port of the TF 2015-12-05 Inception graph (torch hub: sha256 prefix 6726825d). */
export const INCEPTION_WEIGHTS_FILE = 'weights-inception-2015-12-05-6726825d.pth';
/** The GitHub release asset torch-fidelity downloads it from. */
export const INCEPTION_WEIGHTS_URL = `https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/${INCEPTION_WEIGHTS_FILE}`;

export interface WeightsLookup {
  /** Environment to read TORCH_HOME / XDG_CACHE_HOME from (default process.env). */
  env?: Record<string, string | undefined>;
  /** Home folder for `~` (default os.homedir()). */
  home?: string;
}

const expandHome = (p: string, home: string) => (p === '~' ? home : p.startsWith('~/') ? join(home, p.slice(2)) : p);

/**
 * The cache locations searched, in order, each with why: $TORCH_HOME/hub/checkpoints (torch hub's
 * folder when TORCH_HOME is set), $XDG_CACHE_HOME/torch/hub/checkpoints, ~/.cache/torch/hub/checkpoints
 * (torch hub's default). Paths listed once.
 */
export function inceptionWeightsCandidates(o: WeightsLookup = {}): { path: string; why: string }[] {
  const env = o.env ?? process.env;
  const home = o.home ?? homedir();
  const out: { path: string; why: string }[] = [];
  const add = (root: string | undefined, why: string) => {
    if (!root) return;
    const path = resolve(expandHome(root, home), 'hub', 'checkpoints', INCEPTION_WEIGHTS_FILE);
    if (!out.some((c) => c.path === path)) out.push({ path, why });
  };
  add(env.TORCH_HOME, '$TORCH_HOME/hub/checkpoints');
  add(env.XDG_CACHE_HOME && join(env.XDG_CACHE_HOME, 'torch'), '$XDG_CACHE_HOME/torch/hub/checkpoints');
  add(join(home, '.cache', 'torch'), "torch hub's default cache, ~/.cache/torch/hub/checkpoints");
  return out;
}

const isFile = (p: string) => existsSync(p) && statSync(p).isFile();

function notFound(looked: { path: string; why: string }[], explicit: boolean, putAt: string): Error {
  return new Error(
    [
      `Inception-v3 weights not found: ${INCEPTION_WEIGHTS_FILE} (torch-fidelity's port of the TF 2015-12-05 Inception, needed for FID/IS).`,
      `Looked ${explicit ? 'at the given path' : 'in'}:`,
      ...looked.map((c) => `  ${c.path}  (${c.why})`),
      "Nothing is downloaded at run time. Get the file from torch-fidelity's GitHub release:",
      `  ${INCEPTION_WEIGHTS_URL}`,
      'or let torch-fidelity download it once on a machine with internet access (it caches it in the torch hub',
      'checkpoints folder, e.g. ~/.cache/torch/hub/checkpoints/) and copy it over. Then put it at',
      `  ${putAt}`,
      'or pass its path with --feature-extractor-weights-path.',
    ].join('\n'),
  );
}

/**
 * The weight file to load: `explicitPath` when given (it must exist: no other place is tried, so a
 * typo is not hidden by a cached copy), else the first cache location that holds the file. Throws
 * one error listing every place looked at, where to get the file and where to put it.
 */
export function findInceptionWeights(explicitPath?: string | null, o: WeightsLookup = {}): string {
  const candidates = inceptionWeightsCandidates(o);
  if (explicitPath) {
    const p = resolve(expandHome(explicitPath, o.home ?? homedir()));
    if (isFile(p)) return p;
    throw notFound([{ path: p, why: 'given explicitly (--feature-extractor-weights-path)' }], true, p);
  }
  for (const c of candidates) if (isFile(c.path)) return c.path;
  throw notFound(candidates, false, candidates[0].path);
}
