// The training config schema: upstream configs load, unknown keys and wrong types are named errors,
// --opt overrides reach nested keys with YAML-typed values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadTrainerConfig } from '../lib/train/tokenizer-trainer-config.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const write = (text: string) => {
  const f = join(mkdtempSync(join(tmpdir(), 'cfg-')), 'c.yaml');
  writeFileSync(f, text);
  return f;
};

test('the upstream tokenizer configs load with their values', () => {
  for (const v of ['l', 'xl']) {
    const c = loadTrainerConfig(join(root, `configs/tokenizer_${v}.yaml`));
    assert.equal(c.target, 'semanticist.engine.diffusion_trainer.DiffusionTrainer');
    assert.equal(c.params.blr, 2.5e-5);
    assert.equal(c.params.batch_size, 256);
    assert.equal(c.params.max_grad_norm, 3.0);
    assert.equal(c.params.model.params.dit_model, v === 'l' ? 'DiT-L-2' : 'DiT-XL-2');
  }
});

test('unknown keys and wrong types are errors naming the key', () => {
  assert.throws(
    () => loadTrainerConfig(write('trainer:\n  params:\n    model: {}\n    batchsize: 4\n')),
    /unknown key 'trainer.params.batchsize' \(valid: .*num_epoch, .*batch_size/,
  );
  assert.throws(
    () => loadTrainerConfig(write('trainer:\n  params:\n    model: {}\n    batch_size: 4.5\n')),
    /trainer.params.batch_size must be an integer, got 4.5/,
  );
  assert.throws(() => loadTrainerConfig(write('trainer:\n  params:\n    model: {}\n    precision: fp8\n')), /precision must be/);
  assert.throws(() => loadTrainerConfig(write('model: {}\n')), /missing 'trainer'/);
  assert.throws(() => loadTrainerConfig('/nonexistent.yaml'), /config file not found/);
});

test('--opt overrides nested keys with YAML-typed values', () => {
  const c = loadTrainerConfig(join(root, 'configs/tokenizer_l.yaml'), [
    'trainer.params.batch_size=8',
    'trainer.params.model.params.num_slots=32',
    'trainer.params.eval_num_tokens=[1, 2, 4]',
  ]);
  assert.equal(c.params.batch_size, 8);
  assert.equal(c.params.model.params.num_slots, 32);
  assert.deepEqual(c.params.eval_num_tokens, [1, 2, 4]);
  assert.throws(() => loadTrainerConfig(join(root, 'configs/tokenizer_l.yaml'), ['trainer.params.batch_size']), /expected key.path=value/);
});

test('the config text written to the run folder is the one actually used, overrides included', () => {
  const file = join(root, 'configs/tokenizer_l.yaml');
  const plain = loadTrainerConfig(file);
  assert.equal(plain.text, readFileSync(file, 'utf8'));
  const c = loadTrainerConfig(file, ['trainer.params.batch_size=8', 'trainer.params.model.params.num_slots=32']);
  assert.match(c.text, /^# .*tokenizer_l\.yaml with --opt trainer\.params\.batch_size=8 --opt trainer\.params\.model\.params\.num_slots=32\n/);
  // reading it back gives the same config
  const again = loadTrainerConfig(write(c.text));
  assert.deepEqual(again.raw, c.raw);
  assert.equal(again.params.batch_size, 8);
  assert.equal(again.params.model.params.num_slots, 32);
});

test('the built-in Fashion-MNIST config loads and builds its tokenizer', async () => {
  const { Tokenizer } = await import('../lib/models/tokenizer/tokenizer.js');
  const c = loadTrainerConfig(join(root, 'configs/tokenizer_fmnist.yaml'));
  assert.equal(c.params.dataset.target, 'FashionMNIST');
  const tok = Tokenizer.fromConfig({ trainer: { params: { model: c.params.model } } });
  assert.equal(tok.latentChannels, 1);
  assert.equal(tok.latentSize, 32);
  assert.equal(tok.numSlots, 16);
  assert.ok(tok.numParameters() > 1e5);
  tok.dispose();
});
