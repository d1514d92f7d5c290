// The package entry as a user imports it (by name, through package.json's exports map): torch and
// the models without deep imports (the exports map blocks paths under dist/).
import { test } from 'node:test';
import assert from 'node:assert/strict';

test("import { torch, Tokenizer, ImageGenerator, … } from 'semanticist-ts'", async () => {
  const pkg = await import('semanticist-ts' as string);
  for (const name of ['Tokenizer', 'GPT', 'DiffLoss', 'ImageGenerator', 'AutoencoderKL', 'Tensor', 'TorchError'])
    assert.equal(typeof pkg[name], 'function', name);
  for (const name of ['generate', 'createGPT', 'buildGptFromConfig', 'loadArConfig', 'trainTokenizer', 'trainGpt', 'loadTrainerConfig'])
    assert.equal(typeof pkg[name], 'function', name);
  assert.equal(typeof pkg.torch.distributed.initProcessGroup, 'function');
  assert.equal(pkg.GPT_SIZES['GPT-L'].dim, 1024);
  const torch = await import('semanticist-ts/torch' as string);
  assert.equal(torch.tensor([1, 2]).sum().item(), 3);
  await assert.rejects(import('semanticist-ts/dist/lib/models/tokenizer/tokenizer.js' as string), /ERR_PACKAGE_PATH_NOT_EXPORTED|not exported/);
});
