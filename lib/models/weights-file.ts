// Reading model weights as upstream and our trainer write them, shared by the tokenizer's and the
// GPT's loaders: a weights file or a step folder (EMA first, as upstream's test mode), a dict that
// nests the weights under an EMA / model entry (picked and reported), and the key segments that
// torch.compile (`_orig_mod`) and DDP (`module`) wrappers add, removed. `notes` says what was done.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor } from '../core/tensor.js';
import { load, mapKeys, CheckpointError } from '../serialization/index.js';

/** Files a step folder may hold, in order of preference (EMA first, as upstream's test mode). */
const STEP_FOLDER_FILES: [string, string][] = [
  ['ema.safetensors', 'the EMA weights (our trainer)'],
  ['custom_checkpoint_1.pkl', 'the EMA weights (upstream trainer)'],
  ['model.safetensors', 'the raw (non-EMA) weights'],
];

/** A weights file, or the preferred file of a step folder (noted in `notes`). */
export function resolveWeightsFile(path: string, notes: string[] = [], what = 'weights'): string {
  if (!existsSync(path)) throw new Error(`${what} not found: ${path}`);
  if (!statSync(path).isDirectory()) return path;
  for (const [name, why] of STEP_FOLDER_FILES) {
    const f = join(path, name);
    if (existsSync(f)) {
      notes.push(`${path} is a step folder: using ${name}, ${why}`);
      return f;
    }
  }
  throw new Error(`${path}: a folder without ${what} (looked for ${STEP_FOLDER_FILES.map(([n]) => n).join(', ')})`);
}

/** Sub-dicts a checkpoint may nest its weights under: EMA entries first, then the raw model. */
const EMA_ENTRIES = ['ema', 'ema_state_dict', 'model_ema', 'ema_model', 'ema_params'];
const MODEL_ENTRIES = ['state_dict', 'model', 'model_state_dict', 'module', 'gpt', 'gpt_model'];

const describe = (x: unknown) => (x === null ? 'None' : Array.isArray(x) ? 'a list' : x instanceof Tensor ? 'a tensor' : typeof x);

/** The key segments wrappers add: torch.compile's `_orig_mod`, DDP's `module`. */
const WRAPPER_SEGMENTS = new Set(['_orig_mod', 'module']);

/**
 * A checkpoint (file or step folder) as a flat state dict with the wrappers' key segments removed
 * and an EMA / model sub-dict picked when the file nests one.
 */
export function readWeightsFile(path: string, what = 'weights'): { sd: Map<string, Tensor>; file: string; notes: string[] } {
  const notes: string[] = [];
  const file = resolveWeightsFile(path, notes, what);
  let dict: unknown = load(file, { mapLocation: 'cpu' });
  for (let depth = 0; ; depth++) {
    if (!(dict instanceof Map)) throw new CheckpointError(file, `not a state dict: the checkpoint holds ${describe(dict)}`);
    const d = dict as Map<unknown, unknown>;
    if (![...d.values()].some((v) => v instanceof Map)) break;
    const entry = [...EMA_ENTRIES, ...MODEL_ENTRIES].find((k) => d.get(k) instanceof Map);
    if (!entry || depth >= 2)
      throw new CheckpointError(
        file,
        `no state dict found among the entries ${[...d.keys()].map(String).join(', ')} (expected name → tensor, or the weights under one of ${[...EMA_ENTRIES, ...MODEL_ENTRIES].join(', ')})`,
      );
    const others = [...d.keys()].filter((k) => k !== entry).map(String);
    notes.push(
      `${file}: the weights are the '${entry}' entry${EMA_ENTRIES.includes(entry) ? ' (the EMA weights)' : ''}${others.length ? `; ignored: ${others.join(', ')}` : ''}`,
    );
    dict = d.get(entry);
  }
  const flat = new Map<string, Tensor>();
  const nonTensor: string[] = [];
  for (const [k, v] of dict as Map<unknown, unknown>) {
    if (typeof k !== 'string') throw new CheckpointError(file, `not a state dict: key ${String(k)} is not a string`);
    if (v instanceof Tensor) flat.set(k, v);
    else nonTensor.push(`${k} (${describe(v)})`);
  }
  if (nonTensor.length) notes.push(`${nonTensor.length} non-tensor entr${nonTensor.length === 1 ? 'y' : 'ies'} ignored: ${nonTensor.join(', ')}`);
  let renamed = 0;
  const sd = mapKeys(flat, (k) => {
    const nk = k
      .split('.')
      .filter((s) => !WRAPPER_SEGMENTS.has(s))
      .join('.');
    if (nk !== k) renamed++;
    return nk;
  });
  if (renamed) notes.push(`${renamed} key(s) renamed: '_orig_mod.' / 'module.' segments removed (torch.compile / DDP wrappers)`);
  return { sd, file, notes };
}
