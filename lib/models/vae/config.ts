// The MAR / LDM KL-autoencoder's sizes (VaeConfig), the MAR KL-16 preset as data, and the two ways a
// config arrives from outside: the fixtures' snake_case JSON (`config.vae` in fixtures.json) and a
// diffusers AutoencoderKL config.json (the layout of `xwen99/mar-vae-kl16`).

export interface VaeConfig {
  /** Base channel count; level i has ch · chMult[i] channels. */
  ch: number;
  /** Channel multiplier per resolution level (its length is the number of levels; stride 2^(L-1)). */
  chMult: number[];
  /** ResnetBlocks per encoder level (the decoder has one more per level, as LDM). */
  numResBlocks: number;
  /** Latent channels (MAR: embed_dim; quant_conv gives 2·embedDim moments). */
  embedDim: number;
  /** Channels of the encoder output / decoder input z before (post_)quant_conv; MAR: = embedDim. */
  zChannels?: number;
  inChannels: number;
  outCh: number;
  /** Image size the attention placement is computed for (it is not checked against the input). */
  resolution: number;
  /** Encoder levels whose current resolution is in this list get an AttnBlock after each ResnetBlock (MAR: [16]). */
  attnResolutions: number[];
  /** The same for the decoder; MAR's Decoder defaults to () — no up-path attention. */
  decoderAttnResolutions?: number[];
  dropout: number;
  /** Latent scale used by the tokenizer-facing wrapper (not by the autoencoder itself). */
  scalingFactor?: number;
}

/** MAR's KL-16 (`kl16.ckpt`, `xwen99/mar-vae-kl16`): 5 levels, stride 16, 16 latent channels. */
export const MAR_KL16: Readonly<Required<VaeConfig>> = Object.freeze({
  ch: 128,
  chMult: [1, 1, 2, 2, 4],
  numResBlocks: 2,
  embedDim: 16,
  zChannels: 16,
  inChannels: 3,
  outCh: 3,
  resolution: 256,
  attnResolutions: [16],
  decoderAttnResolutions: [],
  dropout: 0,
  scalingFactor: 0.2325,
});

/** The config with every optional field filled in (MAR's defaults), validated. */
export function resolveVaeConfig(c: VaeConfig): Required<VaeConfig> {
  const r: Required<VaeConfig> = {
    ...c,
    chMult: [...c.chMult],
    attnResolutions: [...c.attnResolutions],
    zChannels: c.zChannels ?? c.embedDim,
    decoderAttnResolutions: [...(c.decoderAttnResolutions ?? [])],
    scalingFactor: c.scalingFactor ?? MAR_KL16.scalingFactor,
  };
  const posInt = (n: unknown) => Number.isInteger(n) && (n as number) > 0;
  for (const k of ['ch', 'numResBlocks', 'embedDim', 'zChannels', 'inChannels', 'outCh', 'resolution'] as const) {
    if (!posInt(r[k])) throw new RangeError(`VaeConfig.${k} must be a positive integer, got ${String(r[k])}`);
  }
  if (!Array.isArray(r.chMult) || r.chMult.length === 0 || !r.chMult.every(posInt)) {
    throw new RangeError(`VaeConfig.chMult must be a non-empty list of positive integers, got ${JSON.stringify(c.chMult)}`);
  }
  if (!(r.dropout >= 0 && r.dropout <= 1)) throw new RangeError(`VaeConfig.dropout must be in [0, 1], got ${r.dropout}`);
  if (!(typeof r.scalingFactor === 'number' && r.scalingFactor > 0))
    throw new RangeError(`VaeConfig.scalingFactor must be a positive number, got ${String(r.scalingFactor)}`);
  return r;
}

/** Encoder levels that hold attention (LDM: curr_res starts at resolution and is halved, floor, after each non-final level). */
export function encoderAttnLevels(c: Required<VaeConfig>): boolean[] {
  let res = c.resolution;
  return c.chMult.map((_, i) => {
    const has = c.attnResolutions.includes(res);
    if (i !== c.chMult.length - 1) res = Math.floor(res / 2);
    return has;
  });
}

/** Decoder levels (LDM index b, 0 = full resolution) that hold attention: curr_res = resolution // 2^(L-1), doubled per level going up. */
export function decoderAttnLevels(c: Required<VaeConfig>): boolean[] {
  const L = c.chMult.length;
  const lowest = Math.floor(c.resolution / 2 ** (L - 1));
  return c.chMult.map((_, b) => c.decoderAttnResolutions.includes(lowest * 2 ** (L - 1 - b)));
}

const JSON_KEYS: Record<string, keyof VaeConfig> = {
  ch: 'ch',
  ch_mult: 'chMult',
  num_res_blocks: 'numResBlocks',
  embed_dim: 'embedDim',
  z_channels: 'zChannels',
  in_channels: 'inChannels',
  out_ch: 'outCh',
  resolution: 'resolution',
  attn_resolutions: 'attnResolutions',
  decoder_attn_resolutions: 'decoderAttnResolutions',
  dropout: 'dropout',
  scaling_factor: 'scalingFactor',
};

/**
 * A VaeConfig from JSON in MAR's argument names (snake_case, as fixtures.json `config.vae`) or in
 * the camelCase names above. Fields it lacks take MAR KL-16's values (in/out 3 channels, encoder
 * attention at 16, none in the decoder, dropout 0); unknown fields are an error.
 */
export function vaeConfigFromJson(obj: Record<string, unknown>): Required<VaeConfig> {
  const out: Record<string, unknown> = {};
  const camel = new Set<string>(Object.values(JSON_KEYS));
  for (const [k, v] of Object.entries(obj)) {
    const name = JSON_KEYS[k] ?? (camel.has(k) ? k : undefined);
    if (!name) throw new Error(`vaeConfigFromJson: unknown field '${k}' (known: ${Object.keys(JSON_KEYS).join(', ')})`);
    out[name] = v;
  }
  const base: Record<string, unknown> = { ...MAR_KL16 };
  // A config that sets embed_dim but not z_channels means z_channels = embed_dim (MAR ties them).
  if (out.embedDim !== undefined && out.zChannels === undefined) delete base.zChannels;
  return resolveVaeConfig({ ...base, ...out } as unknown as VaeConfig);
}

/**
 * A VaeConfig from a diffusers AutoencoderKL config.json. block_out_channels[0] is ch and the rest
 * its multiples; AttnDownEncoderBlock2D / AttnUpDecoderBlock2D levels become attention resolutions
 * at `sample_size` (256 when absent). Settings this architecture cannot express are an error.
 */
export function vaeConfigFromDiffusers(cfg: Record<string, any>): Required<VaeConfig> {
  const boc: number[] = cfg.block_out_channels;
  if (!Array.isArray(boc) || boc.length === 0) throw new Error('diffusers VAE config: block_out_channels is missing');
  const L = boc.length;
  const ch = boc[0];
  const chMult = boc.map((c) => c / ch);
  if (!chMult.every((m) => Number.isInteger(m))) throw new Error(`diffusers VAE config: block_out_channels ${JSON.stringify(boc)} are not multiples of ${ch}`);
  const need = (cond: boolean, what: string) => {
    if (!cond) throw new Error(`diffusers VAE config: ${what} is not supported by the LDM/MAR layout`);
  };
  need((cfg.norm_num_groups ?? 32) === 32, `norm_num_groups=${cfg.norm_num_groups}`);
  need((cfg.act_fn ?? 'silu') === 'silu', `act_fn=${cfg.act_fn}`);
  need(cfg.use_quant_conv !== false && cfg.use_post_quant_conv !== false, 'use_quant_conv/use_post_quant_conv=false');
  need(cfg.mid_block_add_attention !== false, 'mid_block_add_attention=false');
  const down: string[] = cfg.down_block_types ?? Array(L).fill('DownEncoderBlock2D');
  const up: string[] = cfg.up_block_types ?? Array(L).fill('UpDecoderBlock2D');
  need(down.length === L && up.length === L, `${down.length} down / ${up.length} up blocks for ${L} block_out_channels`);
  for (const t of down) need(t === 'DownEncoderBlock2D' || t === 'AttnDownEncoderBlock2D', `down block type ${t}`);
  for (const t of up) need(t === 'UpDecoderBlock2D' || t === 'AttnUpDecoderBlock2D', `up block type ${t}`);
  // Only the placement of attention depends on it: sample_size when it halves cleanly L-1 times, else 256.
  const ss = Array.isArray(cfg.sample_size) ? cfg.sample_size[0] : cfg.sample_size;
  const resolution = Number.isInteger(ss) && ss > 0 && ss % 2 ** (L - 1) === 0 ? ss : MAR_KL16.resolution;
  const encRes: number[] = [];
  let res = resolution;
  for (let i = 0; i < L; i++) {
    if (down[i] === 'AttnDownEncoderBlock2D') encRes.push(res);
    if (i !== L - 1) res = Math.floor(res / 2);
  }
  // up_blocks.j is LDM level b = L-1-j (lowest resolution first).
  const lowest = Math.floor(resolution / 2 ** (L - 1));
  const decRes = up.flatMap((t, j) => (t === 'AttnUpDecoderBlock2D' ? [lowest * 2 ** j] : []));
  const sf = cfg.scaling_factor;
  return resolveVaeConfig({
    ch,
    chMult,
    numResBlocks: cfg.layers_per_block ?? 1,
    embedDim: cfg.latent_channels ?? 4,
    inChannels: cfg.in_channels ?? 3,
    outCh: cfg.out_channels ?? 3,
    resolution,
    attnResolutions: encRes,
    decoderAttnResolutions: decRes,
    dropout: 0,
    scalingFactor: typeof sf === 'number' ? sf : undefined,
  });
}
