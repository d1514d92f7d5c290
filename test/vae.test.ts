// MAR KL-16 VAE parity with the upstream fixtures (case 6: MAR models/vae.py at a tiny size), and the
// checkpoint layouts: the fixture's MAR/LDM state dict, the same converted to diffusers names
// (vae_key_map.json), and clear errors for missing or wrongly shaped keys.
// Sizes come from fixtures.json `config.vae`; weights from vae_state_dict.safetensors (LDM names);
// without that file, the key map or case 6 the tests that need them skip by name.
// Tolerance (README): |a − b| ≤ 1e-5 · max(1, max|ref|) for every output — single forwards in float32,
// where CPU PyTorch itself differs by ~1 ulp with input alignment; none needs a relative tolerance.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import * as torch from '../lib/torch.js';
import { safetensors, save } from '../lib/serialization/index.js';
import {
  AutoencoderKL,
  FrozenVAE,
  MAR_KL16,
  vaeConfigFromJson,
  vaeConfigFromDiffusers,
  loadVaeStateDict,
  detectVaeLayout,
  diffusersToLdm,
  ldmToDiffusers,
  convertVaeKey,
  inferNumLevels,
  DiagonalGaussianDistribution,
  loadVaeCheckpoint,
  loadDiffusersVae,
} from '../lib/models/vae/index.js';
import { UPSTREAM_FIXTURES, fixturesJson } from './fixture-paths.js';
import { assertNear, loadCase, skipUnless } from './parity.js';

const fx = fixturesJson();
const vaeJson = fx.config.vae;
const config = vaeConfigFromJson(vaeJson);
// The fixture-based tests need the VAE state dict and key map (and case 6); without them they skip by name.
const SKIP_SD = skipUnless('vae_state_dict.safetensors', 'vae_key_map.json');
const SKIP_CASE = skipUnless('vae_state_dict.safetensors', 'vae_key_map.json', 'case6_vae');
const keyMap = SKIP_SD ? null : JSON.parse(readFileSync(join(UPSTREAM_FIXTURES, 'vae_key_map.json'), 'utf8'));
const ldmSd = SKIP_SD ? new Map<string, torch.Tensor>() : safetensors.loadFile(join(UPSTREAM_FIXTURES, 'vae_state_dict.safetensors'));
const get = loadCase('case6_vae.safetensors');

function loadedVae(sd: Map<string, torch.Tensor> = ldmSd): AutoencoderKL {
  const vae = new AutoencoderKL(config).eval();
  loadVaeStateDict(vae, sd);
  return vae;
}
const vae = SKIP_SD ? new AutoencoderKL(config).eval() : loadedVae();

test('config from fixtures.json config.vae; the diffusers config of the tiny VAE describes the same model', { skip: SKIP_SD }, () => {
  assert.equal(config.ch, vaeJson.ch);
  assert.deepEqual(config.chMult, vaeJson.ch_mult);
  assert.equal(config.numResBlocks, vaeJson.num_res_blocks);
  assert.equal(config.embedDim, vaeJson.embed_dim);
  assert.equal(config.scalingFactor, vaeJson.scaling_factor);
  const fromDiffusers = vaeConfigFromDiffusers(keyMap.diffusers_config_of_this_tiny_vae);
  for (const k of [
    'ch',
    'chMult',
    'numResBlocks',
    'embedDim',
    'zChannels',
    'inChannels',
    'outCh',
    'attnResolutions',
    'decoderAttnResolutions',
    'scalingFactor',
  ] as const) {
    assert.deepEqual(fromDiffusers[k], config[k], k);
  }
  // The real KL-16's expected diffusers config (its scaling_factor is a note, not a number) gives the preset.
  const real = vaeConfigFromDiffusers({ ...keyMap.expected_diffusers_config_of_real_mar_kl16, scaling_factor: undefined });
  for (const k of [
    'ch',
    'chMult',
    'numResBlocks',
    'embedDim',
    'zChannels',
    'inChannels',
    'outCh',
    'resolution',
    'attnResolutions',
    'decoderAttnResolutions',
  ] as const) {
    assert.deepEqual(real[k], MAR_KL16[k], k);
  }
  assert.throws(() => vaeConfigFromJson({ ...vaeJson, chmult: [1] }), /unknown field 'chmult'/);
});

test('the model has exactly the checkpoint keys, shapes and order (MAR / LDM names)', { skip: SKIP_SD }, () =>
  torch.scope(() => {
    const mine = Object.entries(vae.stateDict());
    assert.deepEqual(
      mine.map(([k]) => k),
      keyMap.keys.map((r: any) => r.ldm),
    );
    for (const [k, t] of mine) assert.deepEqual(t.shape, ldmSd.get(k)!.shape, k);
    assert.equal(detectVaeLayout(ldmSd.keys()), 'ldm');
    assert.equal(inferNumLevels(ldmSd.keys()), config.chMult.length);
  }),
);

test('case 6: encoder, moments, posterior mean/logvar/std, sample with the recorded noise, decode', { skip: SKIP_CASE }, () =>
  torch.noGrad(() =>
    torch.scope(() => {
      const image = get('in.image');
      const noise = get('rng.vae.sample_noise');
      const x = image.mul(2).sub(1);
      assertNear(vae.encoder.forward(x), get('out.encoder_h'), 'encoder_h');
      const posterior = vae.encode(x);
      assertNear(posterior.parameters, get('out.moments'), 'moments');
      assertNear(posterior.mean, get('out.mean'), 'mean');
      assertNear(posterior.logvar, get('out.logvar'), 'logvar');
      assertNear(posterior.std, get('out.std'), 'std');
      assertNear(posterior.sample(noise), get('out.z'), 'z');
      assert.equal(posterior.mode(), posterior.mean);
      assertNear(vae.decode(get('out.z')), get('out.decoded_raw'), 'decoded_raw');
      // Chained from our own z as well.
      assertNear(vae.decode(posterior.sample(noise)), get('out.decoded_raw'), 'decoded_raw (chained)');
    }),
  ),
);

test('case 6: FrozenVAE encode (×scaling factor, recorded noise) and decode ((x + 1) / 2)', { skip: SKIP_CASE }, () =>
  torch.scope(() => {
    const frozen = new FrozenVAE(loadedVae(), { scalingFactor: vaeJson.scaling_factor });
    const latent = frozen.encode(get('in.image'), { noise: get('rng.vae.sample_noise') });
    assertNear(latent, get('out.latent'), 'latent');
    assert.equal(latent.requiresGrad, false);
    assertNear(frozen.decode(get('out.latent')), get('out.recon'), 'recon');
    assertNear(frozen.decode(latent), get('out.recon'), 'recon (chained)');
    // Frozen: eval whatever train() is asked, no trainable parameters, upstream's child names.
    frozen.train();
    assert.ok(frozen.modules().every((m) => !m.training));
    assert.equal(frozen.numParameters({ trainableOnly: true }), 0);
    assert.deepEqual(
      Object.keys(frozen.stateDict()),
      keyMap.keys.map((r: any) => r.ldm),
    );
    // The default scaling factor comes from the config (MAR's 0.2325).
    assert.equal(new FrozenVAE(loadedVae()).scalingFactor, vaeJson.scaling_factor);
    // Without given noise it draws one: mean + std · N(0, I), so the scaled latent differs from the mean.
    const drawn = frozen.encode(get('in.image'));
    assert.deepEqual(drawn.shape, get('out.latent').shape);
    assert.ok(drawn.sub(get('out.mean').mul(frozen.scalingFactor)).abs().max().item() > 0);
  }),
);

test('diffusers layout: the back-converter gives the key map names and shapes; both load identically', { skip: SKIP_SD }, () =>
  torch.scope(() => {
    // From the model's state dict (PyTorch order; the safetensors file stores its keys sorted).
    const ordered = new Map(Object.entries(vae.stateDict()));
    const diff = ldmToDiffusers(ordered);
    assert.deepEqual(
      [...diff.keys()],
      keyMap.keys.map((r: any) => r.diffusers),
    );
    assert.deepEqual([...ldmToDiffusers(ldmSd).keys()].sort(), [...diff.keys()].sort());
    let reshaped = 0;
    for (const r of keyMap.keys) {
      const t = diff.get(r.diffusers)!;
      assert.deepEqual(t.shape, r.shape_diffusers, r.diffusers);
      assert.ok(t.reshape(r.shape_ldm).equal(ldmSd.get(r.ldm)!), `${r.diffusers} values`);
      if (r.shape_ldm.length !== r.shape_diffusers.length) reshaped++;
    }
    assert.ok(reshaped > 0, 'the fixture has attention projections to reshape');
    assert.equal(detectVaeLayout(diff.keys()), 'diffusers');
    assert.equal(inferNumLevels(diff.keys()), config.chMult.length);
    // diffusers → LDM is the exact inverse (names, order, shapes, values).
    const back = diffusersToLdm(diff);
    assert.deepEqual([...back.keys()], [...ordered.keys()]);
    for (const [k, t] of back) assert.ok(t.equal(ldmSd.get(k)!), k);
    // A model loaded from the diffusers names: layout detected, same parameters, same output.
    const fresh = new AutoencoderKL(config).eval();
    assert.equal(loadVaeStateDict(fresh, diff).layout, 'diffusers');
    for (const [k, t] of Object.entries(fresh.stateDict())) assert.ok(t.equal(ldmSd.get(k)!), k);
    torch.noGrad(() => assert.ok(fresh.decode(get('out.z')).equal(vae.decode(get('out.z')))));
    // Single keys, both ways; diffusers' pre-0.14 attention names read too.
    assert.equal(convertVaeKey('decoder.up.0.block.2.nin_shortcut.weight', 'ldm', 'diffusers', 5), 'decoder.up_blocks.4.resnets.2.conv_shortcut.weight');
    assert.equal(convertVaeKey('encoder.mid_block.attentions.0.proj_attn.weight', 'diffusers', 'ldm', 5), 'encoder.mid.attn_1.proj_out.weight');
    assert.equal(convertVaeKey('decoder.up_blocks.0.upsamplers.0.conv.bias', 'diffusers', 'ldm', 5), 'decoder.up.4.upsample.conv.bias');
  }),
);

test('a missing or wrongly shaped key is an error naming it (in both layouts); mixed layouts are refused', { skip: SKIP_SD }, () =>
  torch.scope(() => {
    const fresh = new AutoencoderKL(config);
    const missing = new Map(ldmSd);
    missing.delete('encoder.mid.attn_1.k.bias');
    assert.throws(() => loadVaeStateDict(fresh, missing), /Missing key\(s\).*"encoder\.mid\.attn_1\.k\.bias"/s);
    const wrong = new Map(ldmSd);
    wrong.set('decoder.conv_in.weight', torch.zeros(1, 2, 3, 3));
    assert.throws(() => loadVaeStateDict(fresh, wrong), /size mismatch for decoder\.conv_in\.weight: .*\[1, 2, 3, 3\]/);
    const diff = ldmToDiffusers(ldmSd);
    diff.set('encoder.mid_block.attentions.0.to_q.weight', torch.zeros(32, 31));
    assert.throws(
      () => loadVaeStateDict(fresh, diff),
      (e: Error) => /size mismatch for encoder\.mid\.attn_1\.q\.weight/.test(e.message) && e.message.includes('encoder.mid_block.attentions.0.to_q.weight'),
    );
    const diffMissing = ldmToDiffusers(ldmSd);
    diffMissing.delete('decoder.up_blocks.3.resnets.0.conv_shortcut.bias');
    assert.throws(
      () => loadVaeStateDict(fresh, diffMissing),
      (e: Error) => e.message.includes('"decoder.up.1.block.0.nin_shortcut.bias"') && e.message.includes('decoder.up_blocks.3.resnets.0.conv_shortcut.bias'),
    );
    const mixed = new Map(ldmSd);
    mixed.set('decoder.conv_norm_out.weight', ldmSd.get('decoder.norm_out.weight')!);
    assert.throws(() => loadVaeStateDict(fresh, mixed), /mixes layouts/);
    assert.throws(() => detectVaeLayout(['vae.encoder.down.0.block.0.conv1.weight']), /not a VAE state dict.*vae\./s);
    // Nothing was copied by the failed loads; a training checkpoint's loss.* keys are ignored.
    const withLoss = new Map(ldmSd);
    withLoss.set('loss.logvar', torch.zeros(1));
    assert.deepEqual(loadVaeStateDict(fresh, withLoss), { missingKeys: [], unexpectedKeys: [], layout: 'ldm' });
  }),
);

test('posterior: clamp, deterministic mode, KL, noise shape check', () =>
  torch.scope(() => {
    const moments = torch.cat([torch.zeros(1, 2, 1, 1), torch.tensor([[[[-40]], [[25]]]])], 1);
    const p = new DiagonalGaussianDistribution(moments);
    assert.deepEqual(p.logvar.flatten().tolist(), [-30, 20]);
    assert.ok(Math.abs(p.std.flatten().tolist()[1] - Math.exp(10)) / Math.exp(10) < 1e-6);
    assert.throws(() => p.sample(torch.zeros(1, 3, 1, 1)), /noise has shape \[1, 3, 1, 1\], expected the mean's \[1, 2, 1, 1\]/);
    const d = new DiagonalGaussianDistribution(moments, true);
    assert.deepEqual(d.sample().flatten().tolist(), [0, 0]);
    const unit = new DiagonalGaussianDistribution(torch.zeros(2, 4, 3, 3));
    assert.deepEqual(unit.kl().tolist(), [0, 0]);
  }));

test('the MAR KL-16 preset: attention placement, stride 16, diffusers round trip of its keys', () =>
  torch.scope(() => {
    const big = new AutoencoderKL(MAR_KL16);
    try {
      assert.equal(big.downsampleFactor, 16);
      assert.deepEqual(
        big
          .namedModules()
          .filter(([, m]) => m.constructor.name === 'AttnBlock')
          .map(([n]) => n),
        ['encoder.down.4.attn.0', 'encoder.down.4.attn.1', 'encoder.mid.attn_1', 'decoder.mid.attn_1'],
      );
      assert.equal(big.quant_conv.weight.shape[0], 2 * MAR_KL16.embedDim);
      const sd = new Map(Object.entries(big.stateDict()));
      const diff = ldmToDiffusers(sd);
      assert.ok(!diff.has('decoder.up_blocks.0.resnets.0.conv_shortcut.weight'), '512 → 512: no shortcut conv');
      assert.ok(diff.has('decoder.up_blocks.1.resnets.0.conv_shortcut.weight'), '512 → 256: a shortcut conv');
      assert.deepEqual(diff.get('encoder.down_blocks.4.attentions.1.to_out.0.weight')!.shape, [512, 512]);
      assert.deepEqual([...diffusersToLdm(diff).keys()], [...sd.keys()]);
    } finally {
      big.dispose();
    }
  }));

test('checkpoint files: a MAR-style {model: sd} torch.save file, a diffusers safetensors, a diffusers folder', { skip: SKIP_SD }, () =>
  torch.scope(() => {
    const dir = mkdtempSync(join(tmpdir(), 'vae-test-'));
    try {
      save(
        new Map<string, unknown>([
          ['model', ldmSd],
          ['epoch', 3],
        ]),
        join(dir, 'kl16.ckpt'),
      );
      assert.equal(loadVaeCheckpoint(new AutoencoderKL(config), join(dir, 'kl16.ckpt')).layout, 'ldm');
      const diff = ldmToDiffusers(ldmSd);
      safetensors.saveFile(diff, join(dir, 'diffusion_pytorch_model.safetensors'));
      assert.equal(loadVaeCheckpoint(new AutoencoderKL(config), join(dir, 'diffusion_pytorch_model.safetensors')).layout, 'diffusers');
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ _class_name: 'AutoencoderKL', ...keyMap.diffusers_config_of_this_tiny_vae }));
      const fromDir = loadDiffusersVae(dir);
      assert.equal(fromDir.config.scalingFactor, vaeJson.scaling_factor);
      for (const [k, t] of Object.entries(fromDir.stateDict())) assert.ok(t.equal(ldmSd.get(k)!), k);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }),
);
