// Loading the tokenizer's frozen parts and checkpoints from files (upstream fetches them from the
// hub; here they are files): the VAE, the DINOv2 REPA target, and a tokenizer state dict with
// upstream's key conventions (`_orig_mod.` segments from torch.compile, keys of frozen parts).
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Tensor } from '../../core/tensor.js';
import { readWeightsFile } from '../weights-file.js';
import { FrozenVAE, AutoencoderKL, MAR_KL16, loadVaeCheckpoint, loadDiffusersVae, vaeConfigFromJson } from '../vae/index.js';
import { Dinov2Target } from '../dinov2/repa.js';

/**
 * A frozen VAE from a file or folder: a diffusers folder (config.json + weights, e.g. a download of
 * xwen99/mar-vae-kl16) or a checkpoint file in either key layout (MAR's kl16.ckpt, .safetensors),
 * which takes the MAR KL-16 sizes unless `config` (snake_case sizes) says otherwise.
 */
export function loadFrozenVae(path: string, o: { device?: string; scalingFactor?: number; config?: Record<string, unknown> } = {}): FrozenVAE {
  if (!existsSync(path)) throw new Error(`VAE weights not found: ${path}`);
  if (statSync(path).isDirectory()) {
    if (!existsSync(join(path, 'config.json'))) throw new Error(`${path}: a VAE folder needs config.json (diffusers layout)`);
    return new FrozenVAE(loadDiffusersVae(path, { device: o.device }), { scalingFactor: o.scalingFactor });
  }
  const vae = new AutoencoderKL(o.config ? vaeConfigFromJson(o.config) : MAR_KL16);
  loadVaeCheckpoint(vae, path);
  if (o.device) vae.to({ device: o.device });
  return new FrozenVAE(vae, { scalingFactor: o.scalingFactor });
}

export function loadDinov2(path: string, o: { device?: string } = {}): Dinov2Target {
  if (!existsSync(path)) throw new Error(`DINOv2 weights not found: ${path}`);
  return Dinov2Target.load(path, { device: o.device });
}

/** Keys of parts that official tokenizer checkpoints may hold but that are not trainable weights. */
const FROZEN_PREFIXES: [string, string][] = [
  ['vae.', 'the frozen VAE (loaded separately)'],
  ['repa_encoder.', 'the frozen DINOv2 REPA target (loaded separately)'],
  ['nested_sampler.arange', 'a constant buffer, rebuilt on the fly'],
];

/**
 * A tokenizer checkpoint (a file or a step folder) as a state dict for Tokenizer.loadStateDict, read
 * as lib/models/weights-file.ts reads every checkpoint (`_orig_mod.` segments removed: upstream
 * compiles modules before making the EMA), keys of frozen parts set aside with the reason.
 */
export function readTokenizerCheckpoint(path: string): { sd: Map<string, Tensor>; file: string; notes: string[] } {
  const { sd, file, notes: setAside } = readWeightsFile(path, 'tokenizer weights');
  for (const [prefix, why] of FROZEN_PREFIXES) {
    const keys = [...sd.keys()].filter((k) => k.startsWith(prefix));
    for (const k of keys) {
      sd.get(k)!.dispose();
      sd.delete(k);
    }
    if (keys.length) setAside.push(`${keys.length} key(s) of ${prefix}* ignored: ${why}`);
  }
  return { sd, file, notes: setAside };
}
