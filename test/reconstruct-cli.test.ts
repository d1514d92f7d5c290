// reconstruct.js end to end on the fixture-sized tokenizer: config in the upstream YAML layout,
// the upstream checkpoint (with and without `_orig_mod.`), a real photo, a labelled PNG grid out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import sharp from 'sharp';
import { UPSTREAM_FIXTURES, LOCAL_FIXTURES, fixturesJson } from './fixture-paths.js';
import { skipUnless } from './parity.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const c = fixturesJson().config;

function writeConfig(dir: string): string {
  const params = {
    encoder: {
      patch_size: c.tokenizer.patch_size,
      embed_dim: c.tokenizer.embed_dim,
      depth: c.tokenizer.depth,
      num_heads: c.tokenizer.num_heads,
      mlp_ratio: c.tokenizer.mlp_ratio,
      qkv_bias: true,
    },
    enc_img_size: c.tokenizer.enc_img_size,
    num_slots: c.tokenizer.num_slots,
    slot_dim: c.tokenizer.slot_dim,
    norm_slots: true,
    dit_model: { depth: c.tokenizer.dit_depth, hidden_size: c.tokenizer.dit_hidden, num_heads: c.tokenizer.dit_heads, patch_size: c.tokenizer.dit_patch },
    vae: 'mar-kl16-tiny',
    use_repa: true,
    repa_encoder_depth: c.tokenizer.repa_encoder_depth,
    repa_z_dim: c.tokenizer.repa_z_dim,
    projector_dim: c.tokenizer.projector_dim,
    num_sampling_steps: '25',
    vae_checkpoint: join(UPSTREAM_FIXTURES, 'vae_state_dict.safetensors'),
    vae_config: c.vae,
  };
  const file = join(dir, 'tok.yaml');
  writeFileSync(file, stringify({ trainer: { params: { model: { target: 'semanticist.stage1.diffuse_slot.DiffuseSlot', params } } } }));
  return file;
}

for (const ckpt of ['tokenizer_state_dict.pkl', 'tokenizer_state_dict_orig_mod.pkl']) {
  test(`reconstruct.js writes a labelled grid (${ckpt})`, { skip: skipUnless('vae_state_dict.safetensors') }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'recon-'));
    const out = join(dir, 'out.png');
    const log = execFileSync(
      process.execPath,
      [
        join(root, 'reconstruct.js'),
        '--config',
        writeConfig(dir),
        '--checkpoint',
        join(UPSTREAM_FIXTURES, ckpt),
        '--image',
        join(LOCAL_FIXTURES, 'images', 'food.jpg'),
        join(LOCAL_FIXTURES, 'images', 'city.jpg'),
        '--num-tokens',
        `1,${Math.min(4, c.tokenizer.num_slots)},${c.tokenizer.num_slots}`,
        '--cfg',
        '3',
        '--out',
        out,
      ],
      { encoding: 'utf8' },
    );
    assert.match(log, /tensors loaded/);
    assert.doesNotMatch(log, /missing/);
    assert.match(log, /wrote /);
    const meta = await sharp(out).metadata();
    const size = c.tokenizer.enc_img_size;
    assert.ok(meta.width! > 4 * size && meta.height! > 2 * size, `grid ${meta.width}×${meta.height}`);
  });
}

test('reconstruct.js: a missing config or bad --num-tokens is a clear error and exit 1', () => {
  const run = (args: string[]) => {
    try {
      execFileSync(process.execPath, [join(root, 'reconstruct.js'), ...args], { encoding: 'utf8', stdio: 'pipe' });
      return '';
    } catch (e: any) {
      assert.equal(e.status, 1);
      return String(e.stderr);
    }
  };
  assert.match(run(['--config', '/nope.yaml', '--image', 'x.jpg', '--out', '/tmp/x.png']), /config file not found: \/nope.yaml/);
  assert.match(run(['--config', '/nope.yaml', '--image', 'x.jpg', '--num-tokens', '1,a', '--out', '/tmp/x.png']), /--num-tokens: 'a'/);
});
