// A GPT checkpoint read as upstream and our trainer write it (lib/models/weights-file.ts), with
// the KV-cache buffers set aside, and loaded non-strictly into a GPT, as upstream.
import type { Tensor } from '../../core/tensor.js';
import { scope } from '../../core/scope.js';
import { readWeightsFile } from '../weights-file.js';
import type { GPT } from './gpt.js';

/** A GPT checkpoint (file or step folder) as a flat state dict (see readWeightsFile), KV-cache buffers removed. */
export function readGptCheckpoint(path: string): { sd: Map<string, Tensor>; file: string; notes: string[] } {
  const { sd, file, notes } = readWeightsFile(path, 'GPT weights');
  const cacheKeys = [...sd.keys()].filter((k) => /(^|\.)kv_cache\./.test(k) || k === 'causal_mask');
  for (const k of cacheKeys) {
    sd.get(k)!.dispose();
    sd.delete(k);
  }
  if (cacheKeys.length) notes.push(`${cacheKeys.length} KV-cache buffer(s) ignored (rebuilt for each generation)`);
  return { sd, file, notes };
}

/** Loads a GPT checkpoint into gpt (non-strict, dtype-cast); returns the report lines. */
export function loadGptCheckpoint(gpt: GPT, path: string): string[] {
  return scope(() => {
    const { sd, file, notes } = readGptCheckpoint(path);
    const r = gpt.loadStateDict(sd, { strict: false, castDtype: true });
    const loaded = sd.size - r.unexpectedKeys.length;
    if (loaded === 0)
      throw new Error(`${file}: none of its ${sd.size} keys is a GPT weight (first keys: ${[...sd.keys()].slice(0, 4).join(', ')}); is it a GPT checkpoint?`);
    const report = [`${file}: ${loaded} tensors loaded`, ...notes];
    if (r.missingKeys.length) report.push(`missing (kept at their initial values): ${r.missingKeys.join(', ')}`);
    if (r.unexpectedKeys.length) report.push(`unexpected (ignored): ${r.unexpectedKeys.join(', ')}`);
    return report;
  });
}

/** The GPT's tokens must be the tokenizer's: same channels, no more tokens than it decodes. */
export function checkGptTokenizerCompat(gpt: { numSlots: number; slotDim: number }, tok: { numSlots: number; slotDim: number }): void {
  if (gpt.slotDim !== tok.slotDim)
    throw new Error(
      `the GPT and the tokenizer disagree on the token width: the GPT models tokens of slot_dim ${gpt.slotDim} (gpt_model.params.slot_dim), the tokenizer's tokens have slot_dim ${tok.slotDim} (ae_model.params.slot_dim)`,
    );
  if (gpt.numSlots > tok.numSlots)
    throw new Error(
      `the GPT models ${gpt.numSlots} tokens (gpt_model.params.num_slots) but the tokenizer decodes at most ${tok.numSlots} (ae_model.params.num_slots)`,
    );
}
