// Loading VAE weights in either key layout (key-layout.ts) into AutoencoderKL: a state dict (Map or
// record), a checkpoint file (MAR `kl16.ckpt` = torch.save({'model': sd}), a flat .pth/.pkl, or a
// .safetensors file), or a diffusers model folder (config.json + diffusion_pytorch_model.safetensors,
// as `xwen99/mar-vae-kl16`). The layout is detected from the keys. `loss.*` keys (the LPIPS and
// discriminator of LDM training checkpoints) are dropped. Errors name the key, in both layouts
// when the checkpoint was a diffusers one.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor } from '../../core/tensor.js';
import { scope } from '../../core/scope.js';
import { load as loadCheckpoint, safetensors } from '../../serialization/index.js';
import type { LoadStateDictResult } from '../../nn/module.js';
import { AutoencoderKL } from './autoencoder-kl.js';
import { vaeConfigFromDiffusers, type VaeConfig } from './config.js';
import { convertVaeKey, detectVaeLayout, diffusersToLdm, type VaeKeyLayout } from './key-layout.js';

export interface LoadVaeOptions {
  /** Missing and unexpected keys are errors (default true). */
  strict?: boolean;
  /** The checkpoint's layout; 'auto' (default) detects it from the keys. */
  layout?: VaeKeyLayout | 'auto';
  /** Cast floating values of another dtype (e.g. a bf16/fp16 checkpoint) instead of failing. */
  castDtype?: boolean;
}

/** The checkpoint prefixes that hold training-only modules, not the autoencoder. */
const TRAINING_ONLY = ['loss.'];

/** Loads a VAE state dict of either layout into vae; returns the load result and the layout found. */
export function loadVaeStateDict(
  vae: AutoencoderKL,
  sd: Map<string, Tensor> | Record<string, Tensor>,
  o: LoadVaeOptions = {},
): LoadStateDictResult & { layout: VaeKeyLayout } {
  return scope(() => loadConverted(vae, sd, o)); // frees the reshaped views made by the conversion
}

function loadConverted(
  vae: AutoencoderKL,
  sd: Map<string, Tensor> | Record<string, Tensor>,
  o: LoadVaeOptions,
): LoadStateDictResult & { layout: VaeKeyLayout } {
  const entries = (sd instanceof Map ? [...sd] : Object.entries(sd)).filter(([k]) => !TRAINING_ONLY.some((p) => k.startsWith(p)));
  const layout = o.layout && o.layout !== 'auto' ? o.layout : detectVaeLayout(entries.map((e) => e[0]));
  const L = vae.config.chMult.length;
  const src = layout === 'ldm' ? new Map(entries) : diffusersToLdm(new Map(entries), { numLevels: L });
  try {
    return { ...vae.loadStateDict(src, { strict: o.strict ?? true, castDtype: o.castDtype }), layout };
  } catch (e) {
    if (layout !== 'diffusers' || !(e instanceof Error)) throw e;
    // Name each key the error mentions in the checkpoint's own (diffusers) names too.
    const original = new Map<string, string>();
    for (const [k] of entries) original.set(convertVaeKey(k, 'diffusers', 'ldm', L), k);
    for (const [k] of vae.namedParameters()) if (!original.has(k)) original.set(k, convertVaeKey(k, 'ldm', 'diffusers', L));
    const notes = [...original].filter(([k, d]) => k !== d && (e.message.includes(`${k}:`) || e.message.includes(`"${k}"`))).map(([k, d]) => `${k} ← ${d}`);
    if (notes.length) e.message += `\n\tThe checkpoint uses diffusers names (ours ← diffusers): ${notes.join(', ')}`;
    throw e;
  }
}

/** The flat state dict inside a loaded checkpoint object: itself, or its 'model' / 'state_dict' entry (MAR kl16.ckpt: 'model'). */
export function vaeStateDictOf(obj: unknown, what = 'checkpoint'): Map<string, Tensor> {
  if (!(obj instanceof Map)) throw new Error(`${what}: not a state dict (got ${obj === null ? 'None' : typeof obj})`);
  for (const inner of ['model', 'state_dict']) {
    const v = obj.get(inner);
    if (v instanceof Map) return vaeStateDictOf(v, `${what}['${inner}']`);
  }
  for (const [k, v] of obj) {
    if (typeof k !== 'string' || !(v instanceof Tensor)) throw new Error(`${what}: not a flat state dict (entry ${String(k)} is not a tensor)`);
  }
  return obj as Map<string, Tensor>;
}

/** Loads a checkpoint file (torch zip or safetensors, either layout) into vae. */
export function loadVaeCheckpoint(
  vae: AutoencoderKL,
  path: string,
  o: LoadVaeOptions & { device?: string } = {},
): LoadStateDictResult & { layout: VaeKeyLayout } {
  // The file's tensors are created in this scope and freed once copied into the parameters.
  return scope(() => loadVaeStateDict(vae, vaeStateDictOf(loadCheckpoint(path, { device: o.device }), path), o));
}

/**
 * A diffusers AutoencoderKL folder (config.json + diffusion_pytorch_model.safetensors) as an
 * AutoencoderKL with its weights; config.scalingFactor is the folder's scaling_factor.
 */
export function loadDiffusersVae(dir: string, o: LoadVaeOptions & { device?: string; config?: Partial<VaeConfig> } = {}): AutoencoderKL {
  return scope(() => {
    // parameters are kept; the file's tensors are freed on exit
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    const vae = new AutoencoderKL({ ...vaeConfigFromDiffusers(cfg), ...o.config });
    const st = join(dir, 'diffusion_pytorch_model.safetensors');
    const bin = join(dir, 'diffusion_pytorch_model.bin');
    const weights = existsSync(st) ? safetensors.loadFile(st) : existsSync(bin) ? vaeStateDictOf(loadCheckpoint(bin), bin) : null;
    if (!weights) throw new Error(`${dir}: no diffusion_pytorch_model.safetensors or .bin`);
    loadVaeStateDict(vae, weights, o);
    if (o.device) vae.to({ device: o.device }); // loaded on the CPU, then moved
    return vae;
  });
}
