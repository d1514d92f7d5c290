// State-dict key layouts of the KL-16 VAE and the conversion between them:
//   'ldm'       MAR `kl16.ckpt` / LDM names, the names of this package's modules
//               (encoder.down.{i}.block.{j}.nin_shortcut, decoder.up.{b}..., mid.attn_1.q [C,C,1,1])
//   'diffusers' diffusers AutoencoderKL names (`xwen99/mar-vae-kl16`): down_blocks.{i}.resnets.{j}.conv_shortcut,
//               up_blocks.{L-1-b} (reversed), mid_block.attentions.0.to_q [C,C] (Linear), conv_norm_out
// The rules are those of test/fixtures/upstream/vae_key_map.json (diffusers' convert_ldm_vae_checkpoint).
// Each key is parsed into a layout-free location and printed in the other layout; attention
// q/k/v/proj_out weights are reshaped between 1×1 conv [C,C,1,1] and Linear [C,C]. Diffusers' pre-0.14
// attention names (query/key/value/proj_attn) are read too.
import type { Tensor } from '../../core/tensor.js';

export type VaeKeyLayout = 'ldm' | 'diffusers';

type Side = 'encoder' | 'decoder';
type Loc =
  | { part: 'block' | 'attn'; side: Side; level: number; index: number; leaf: string }
  | { part: 'resample'; side: Side; level: number; leaf: string }
  | { part: 'mid'; side: Side; sub: 'block_1' | 'attn_1' | 'block_2'; leaf: string }
  | { part: 'norm_out'; side: Side; leaf: string }
  | { part: 'same'; key: string };

// Attention parameter names: LDM ↔ diffusers (first segment of the leaf).
const ATTN_TO_DIFFUSERS: Record<string, string> = { norm: 'group_norm', q: 'to_q', k: 'to_k', v: 'to_v', proj_out: 'to_out.0' };
const ATTN_TO_LDM: [string, string][] = [
  ['group_norm.', 'norm.'],
  ['to_q.', 'q.'],
  ['to_k.', 'k.'],
  ['to_v.', 'v.'],
  ['to_out.0.', 'proj_out.'],
  // diffusers < 0.14 (AttentionBlock)
  ['query.', 'q.'],
  ['key.', 'k.'],
  ['value.', 'v.'],
  ['proj_attn.', 'proj_out.'],
];
const PROJ_WEIGHTS = new Set(['q.weight', 'k.weight', 'v.weight', 'proj_out.weight']);

function attnLeafToLdm(leaf: string): string {
  for (const [d, l] of ATTN_TO_LDM) if (leaf.startsWith(d)) return l + leaf.slice(d.length);
  return leaf;
}
function attnLeafToDiffusers(leaf: string): string {
  const dot = leaf.indexOf('.');
  const head = dot < 0 ? leaf : leaf.slice(0, dot);
  const d = ATTN_TO_DIFFUSERS[head];
  return d === undefined ? leaf : d + leaf.slice(head.length);
}
const resnetLeafToLdm = (leaf: string) => (leaf.startsWith('conv_shortcut.') ? 'nin_' + leaf.slice(5) : leaf);
const resnetLeafToDiffusers = (leaf: string) => (leaf.startsWith('nin_shortcut.') ? 'conv_' + leaf.slice(4) : leaf);

function parseLdm(key: string): Loc {
  let m: RegExpExecArray | null;
  if ((m = /^encoder\.down\.(\d+)\.(block|attn)\.(\d+)\.(.+)$/.exec(key)))
    return { part: m[2] as 'block' | 'attn', side: 'encoder', level: +m[1], index: +m[3], leaf: m[4] };
  if ((m = /^encoder\.down\.(\d+)\.downsample\.conv\.(.+)$/.exec(key))) return { part: 'resample', side: 'encoder', level: +m[1], leaf: m[2] };
  if ((m = /^decoder\.up\.(\d+)\.(block|attn)\.(\d+)\.(.+)$/.exec(key)))
    return { part: m[2] as 'block' | 'attn', side: 'decoder', level: +m[1], index: +m[3], leaf: m[4] };
  if ((m = /^decoder\.up\.(\d+)\.upsample\.conv\.(.+)$/.exec(key))) return { part: 'resample', side: 'decoder', level: +m[1], leaf: m[2] };
  if ((m = /^(encoder|decoder)\.mid\.(block_1|attn_1|block_2)\.(.+)$/.exec(key)))
    return { part: 'mid', side: m[1] as Side, sub: m[2] as 'block_1', leaf: m[3] };
  if ((m = /^(encoder|decoder)\.norm_out\.(.+)$/.exec(key))) return { part: 'norm_out', side: m[1] as Side, leaf: m[2] };
  return { part: 'same', key };
}

function parseDiffusers(key: string, L: number): Loc {
  let m: RegExpExecArray | null;
  const lvl = (side: Side, i: number) => {
    if (side === 'encoder') return i;
    if (i >= L) throw new RangeError(`${key}: up block ${i} but only ${L} levels (pass numLevels)`);
    return L - 1 - i;
  };
  if ((m = /^(encoder|decoder)\.(down|up)_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.+)$/.exec(key))) {
    const side = m[1] as Side;
    if ((side === 'encoder') !== (m[2] === 'down')) return { part: 'same', key };
    const attn = m[4] === 'attentions';
    return { part: attn ? 'attn' : 'block', side, level: lvl(side, +m[3]), index: +m[5], leaf: attn ? attnLeafToLdm(m[6]) : resnetLeafToLdm(m[6]) };
  }
  if ((m = /^encoder\.down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.+)$/.exec(key))) return { part: 'resample', side: 'encoder', level: +m[1], leaf: m[2] };
  if ((m = /^decoder\.up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.+)$/.exec(key)))
    return { part: 'resample', side: 'decoder', level: lvl('decoder', +m[1]), leaf: m[2] };
  if ((m = /^(encoder|decoder)\.mid_block\.resnets\.([01])\.(.+)$/.exec(key)))
    return { part: 'mid', side: m[1] as Side, sub: m[2] === '0' ? 'block_1' : 'block_2', leaf: resnetLeafToLdm(m[3]) };
  if ((m = /^(encoder|decoder)\.mid_block\.attentions\.0\.(.+)$/.exec(key)))
    return { part: 'mid', side: m[1] as Side, sub: 'attn_1', leaf: attnLeafToLdm(m[2]) };
  if ((m = /^(encoder|decoder)\.conv_norm_out\.(.+)$/.exec(key))) return { part: 'norm_out', side: m[1] as Side, leaf: m[2] };
  return { part: 'same', key };
}

function printLdm(loc: Loc): string {
  switch (loc.part) {
    case 'block':
    case 'attn':
      return `${loc.side}.${loc.side === 'encoder' ? 'down' : 'up'}.${loc.level}.${loc.part}.${loc.index}.${loc.leaf}`;
    case 'resample':
      return loc.side === 'encoder' ? `encoder.down.${loc.level}.downsample.conv.${loc.leaf}` : `decoder.up.${loc.level}.upsample.conv.${loc.leaf}`;
    case 'mid':
      return `${loc.side}.mid.${loc.sub}.${loc.leaf}`;
    case 'norm_out':
      return `${loc.side}.norm_out.${loc.leaf}`;
    case 'same':
      return loc.key;
  }
}

function printDiffusers(loc: Loc, L: number): string {
  const idx = (side: Side, level: number) => {
    if (side === 'encoder') return level;
    if (level >= L) throw new RangeError(`VAE key conversion: decoder level ${level} but only ${L} levels (pass numLevels)`);
    return L - 1 - level;
  };
  switch (loc.part) {
    case 'block':
    case 'attn': {
      const blocks = loc.side === 'encoder' ? 'down_blocks' : 'up_blocks';
      const leaf = loc.part === 'attn' ? `attentions.${loc.index}.${attnLeafToDiffusers(loc.leaf)}` : `resnets.${loc.index}.${resnetLeafToDiffusers(loc.leaf)}`;
      return `${loc.side}.${blocks}.${idx(loc.side, loc.level)}.${leaf}`;
    }
    case 'resample':
      return loc.side === 'encoder'
        ? `encoder.down_blocks.${loc.level}.downsamplers.0.conv.${loc.leaf}`
        : `decoder.up_blocks.${idx('decoder', loc.level)}.upsamplers.0.conv.${loc.leaf}`;
    case 'mid':
      return loc.sub === 'attn_1'
        ? `${loc.side}.mid_block.attentions.0.${attnLeafToDiffusers(loc.leaf)}`
        : `${loc.side}.mid_block.resnets.${loc.sub === 'block_1' ? 0 : 1}.${resnetLeafToDiffusers(loc.leaf)}`;
    case 'norm_out':
      return `${loc.side}.conv_norm_out.${loc.leaf}`;
    case 'same':
      return loc.key;
  }
}

/** Whether a location is an attention q/k/v/proj_out weight (1×1 conv in LDM, Linear in diffusers). */
const isProjWeight = (loc: Loc) => (loc.part === 'attn' || (loc.part === 'mid' && loc.sub === 'attn_1')) && PROJ_WEIGHTS.has(loc.leaf);

const DIFFUSERS_MARK = /^(encoder|decoder)\.(down_blocks|up_blocks|mid_block|conv_norm_out)\./;
const LDM_MARK = /^(encoder\.down\.\d+\.|decoder\.up\.\d+\.|(encoder|decoder)\.mid\.|(encoder|decoder)\.norm_out\.)/;

/** The layout of a VAE state dict, from its keys; mixed or unrecognisable key sets are an error. */
export function detectVaeLayout(keys: Iterable<string>): VaeKeyLayout {
  let d: string | undefined,
    l: string | undefined,
    n = 0,
    first: string | undefined;
  for (const k of keys) {
    n++;
    first ??= k;
    if (!d && DIFFUSERS_MARK.test(k)) d = k;
    if (!l && LDM_MARK.test(k)) l = k;
  }
  if (d && l) throw new Error(`VAE state dict mixes layouts: "${l}" is LDM/MAR, "${d}" is diffusers`);
  if (d) return 'diffusers';
  if (l) return 'ldm';
  throw new Error(
    `not a VAE state dict: none of its ${n} keys (first: ${JSON.stringify(first)}) looks like ` +
      `encoder.down.{i}... / decoder.up.{b}... (LDM) or encoder.down_blocks.{i}... (diffusers); strip any prefix such as "vae." first`,
  );
}

/** Number of resolution levels a state dict describes (1 + the highest down/up index), in either layout. */
export function inferNumLevels(keys: Iterable<string>): number {
  let max = -1;
  for (const k of keys) {
    const m = /^(?:encoder\.down(?:_blocks)?|decoder\.up(?:_blocks)?)\.(\d+)\./.exec(k);
    if (m) max = Math.max(max, +m[1]);
  }
  return max + 1;
}

/** One key in the other layout (numLevels: resolution levels, needed for decoder up-block indices). */
export function convertVaeKey(key: string, from: VaeKeyLayout, to: VaeKeyLayout, numLevels: number): string {
  if (from === to) return key;
  return to === 'ldm' ? printLdm(parseDiffusers(key, numLevels)) : printDiffusers(parseLdm(key), numLevels);
}

export interface ConvertOptions {
  /** Resolution levels (len(ch_mult)); inferred from the keys when omitted. */
  numLevels?: number;
}

function convert(sd: Map<string, Tensor> | Record<string, Tensor>, to: VaeKeyLayout, o: ConvertOptions): Map<string, Tensor> {
  const entries = sd instanceof Map ? [...sd] : Object.entries(sd);
  const L = o.numLevels ?? inferNumLevels(entries.map((e) => e[0]));
  const out = new Map<string, Tensor>();
  const from = new Map<string, string>();
  for (const [key, t] of entries) {
    const loc = to === 'ldm' ? parseDiffusers(key, L) : parseLdm(key);
    const nk = to === 'ldm' ? printLdm(loc) : printDiffusers(loc, L);
    if (out.has(nk)) throw new Error(`VAE key conversion maps both ${JSON.stringify(from.get(nk))} and ${JSON.stringify(key)} to ${JSON.stringify(nk)}`);
    let v = t;
    if (isProjWeight(loc)) {
      const s = t.shape;
      if (to === 'ldm' && s.length === 2) v = t.reshape(s[0], s[1], 1, 1);
      else if (to === 'diffusers' && s.length === 4) {
        if (s[2] !== 1 || s[3] !== 1) throw new RangeError(`${key}: an attention projection must be a 1×1 conv, got shape [${s.join(', ')}]`);
        v = t.reshape(s[0], s[1]);
      }
    }
    out.set(nk, v);
    from.set(nk, key);
  }
  return out;
}

/**
 * A diffusers-layout VAE state dict in LDM/MAR names (this package's), in the same order; attention
 * projection weights [C, C] become [C, C, 1, 1] (views of the same data). Keys that no rule covers
 * (conv_in, conv_out, quant_conv, post_quant_conv, or foreign keys) are kept as they are.
 */
export function diffusersToLdm(sd: Map<string, Tensor> | Record<string, Tensor>, o: ConvertOptions = {}): Map<string, Tensor> {
  return convert(sd, 'ldm', o);
}

/** The inverse of diffusersToLdm: LDM/MAR names → diffusers names, [C, C, 1, 1] → [C, C] attention weights. */
export function ldmToDiffusers(sd: Map<string, Tensor> | Record<string, Tensor>, o: ConvertOptions = {}): Map<string, Tensor> {
  return convert(sd, 'diffusers', o);
}
