// `node reconstruct.js`: encodes images with a tokenizer and decodes them from the first k tokens
// for each k, writing the reconstructions side by side (one row per image, labelled columns).
import { Command } from 'commander';
import * as torch from '../torch.js';
import { Tokenizer } from '../models/tokenizer/tokenizer.js';
import { resolveDevice } from '../core/device.js';
import { readImage, centerCropArr, toUnitFloat, writePng } from '../data/image.js';
import { makeGrid } from '../data/grid.js';

const ints = (s: string) =>
  s.split(',').map((x) => {
    const n = Number(x.trim());
    if (!Number.isInteger(n) || n < 1) throw new Error(`--num-tokens: '${x}' is not a positive integer`);
    return n;
  });

export async function main(argv = process.argv): Promise<void> {
  const p = new Command()
    .name('reconstruct.js')
    .description('Reconstruct images from the first k tokens of a Semanticist tokenizer')
    .requiredOption('--config <file>', 'tokenizer config (upstream YAML layout)')
    .option('--checkpoint <file>', 'tokenizer weights (.pkl / .safetensors / .pt)')
    .requiredOption('--image <files...>', 'input images')
    .option('--num-tokens <list>', 'numbers of tokens to decode from, e.g. 1,4,16,64,256', ints)
    .option('--cfg <scale>', 'decoder classifier-free guidance scale', Number, 3.0)
    .option('--steps <respacing>', "sampling steps ('250', '25', 'ddim25'); default: the config's")
    .option('--seed <n>', 'seed for the sampling noise', Number, 0)
    .option('--vae <path>', "VAE weights (diffusers folder or checkpoint); default: the config's vae_checkpoint")
    .option('--device <device>', "'cpu', 'cuda' or 'cuda:N' (default: cuda when available, else cpu)")
    .requiredOption('--out <file.png>', 'output PNG grid');
  p.parse(argv);
  const o = p.opts();
  const device = resolveDevice(o.device, { what: '--device' });
  const tok = Tokenizer.fromPretrained({ config: o.config, checkpoint: o.checkpoint, vae: o.vae, device });
  for (const line of tok.loadReport) console.log(line);
  tok.eval();
  const size = tok.options.encImgSize;
  const numTokens: number[] = o.numTokens ?? [1, 4, 16, 64, tok.numSlots].filter((k, i, a) => k <= tok.numSlots && a.indexOf(k) === i);
  const rows: torch.Tensor[] = [];
  for (const file of o.image as string[]) {
    const u8 = await readImage(file);
    const img = torch.scope(() => {
      let x = toUnitFloat(centerCropArr(u8, size));
      if (tok.options.imageChannels === 1) x = x.mul(torch.tensor([0.299, 0.587, 0.114]).reshape(3, 1, 1)).sum(0, true);
      return x.unsqueeze(0).to(device);
    });
    u8.dispose();
    const t0 = Date.now();
    const rec = tok.reconstruct(img, {
      numTokens,
      cfg: o.cfg,
      steps: o.steps,
      seed: o.seed,
      progress: (step, total) => {
        if (process.stdout.isTTY) process.stdout.write(`\r${file}: step ${step}/${total}`);
      },
    });
    if (process.stdout.isTTY) process.stdout.write('\n');
    console.log(`${file}: decoded ${numTokens.length} reconstructions in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    rows.push(torch.scope(() => torch.cat([img, ...numTokens.map((k) => rec.get(k)!)], 0).cpu()));
    torch.dispose(img, [...rec.values()]);
  }
  const grid = torch.scope(() => {
    const all = torch.cat(rows, 0);
    return makeGrid(all, { nrow: numTokens.length + 1, colLabels: ['input', ...numTokens.map((k) => `k=${k}`)] });
  });
  await writePng(o.out, grid);
  console.log(`wrote ${o.out}`);
  torch.dispose(rows, grid);
  tok.dispose();
}
