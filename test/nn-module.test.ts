// nn.Module: key names as PyTorch produces them (nested modules, Sequential, ModuleList,
// ModuleDict, buffers, tied weights), state-dict loading, modes, dtype moves and disposal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../lib/torch.js';
import * as nn from '../lib/nn/index.js';
import { AdamW } from '../lib/optim/index.js';
import { assertClose } from './helpers.js';

// A small DiT (facebookresearch/DiT models.py), field for field.
class TimestepEmbedder extends nn.Module {
  mlp = new nn.Sequential(new nn.Linear(4, 8), new nn.SiLU(), new nn.Linear(8, 8));
}
class LabelEmbedder extends nn.Module {
  embedding_table = new nn.Embedding(11, 8);
}
class PatchEmbed extends nn.Module {
  proj = new nn.Conv2d(3, 8, 2, { stride: 2 });
}
class Attention extends nn.Module {
  qkv = new nn.Linear(8, 24);
  proj = new nn.Linear(8, 8);
}
class Mlp extends nn.Module {
  fc1 = new nn.Linear(8, 16);
  act = new nn.GELU('tanh');
  fc2 = new nn.Linear(16, 8);
}
class DiTBlock extends nn.Module {
  norm1 = new nn.LayerNorm(8, { elementwiseAffine: false, eps: 1e-6 });
  attn = new Attention();
  norm2 = new nn.LayerNorm(8, { elementwiseAffine: false, eps: 1e-6 });
  mlp = new Mlp();
  adaLN_modulation = new nn.Sequential(new nn.SiLU(), new nn.Linear(8, 48));
}
class FinalLayer extends nn.Module {
  norm_final = new nn.LayerNorm(8, { elementwiseAffine: false, eps: 1e-6 });
  linear = new nn.Linear(8, 12);
  adaLN_modulation = new nn.Sequential(new nn.SiLU(), new nn.Linear(8, 16));
}
class DiT extends nn.Module {
  x_embedder = new PatchEmbed();
  t_embedder = new TimestepEmbedder();
  y_embedder = new LabelEmbedder();
  pos_embed = new nn.Parameter(torch.zeros(1, 4, 8), false);
  blocks = new nn.ModuleList([new DiTBlock(), new DiTBlock()]);
  final_layer = new FinalLayer();
}

const blockKeys = (i: number) => [
  `blocks.${i}.attn.qkv.weight`,
  `blocks.${i}.attn.qkv.bias`,
  `blocks.${i}.attn.proj.weight`,
  `blocks.${i}.attn.proj.bias`,
  `blocks.${i}.mlp.fc1.weight`,
  `blocks.${i}.mlp.fc1.bias`,
  `blocks.${i}.mlp.fc2.weight`,
  `blocks.${i}.mlp.fc2.bias`,
  `blocks.${i}.adaLN_modulation.1.weight`,
  `blocks.${i}.adaLN_modulation.1.bias`,
];
// Written by hand from PyTorch's rules: a module's own parameters first, then its buffers, then
// each child in assignment order (DiT checkpoints start with pos_embed).
const DIT_KEYS = [
  'pos_embed',
  'x_embedder.proj.weight',
  'x_embedder.proj.bias',
  't_embedder.mlp.0.weight',
  't_embedder.mlp.0.bias',
  't_embedder.mlp.2.weight',
  't_embedder.mlp.2.bias',
  'y_embedder.embedding_table.weight',
  ...blockKeys(0),
  ...blockKeys(1),
  'final_layer.linear.weight',
  'final_layer.linear.bias',
  'final_layer.adaLN_modulation.1.weight',
  'final_layer.adaLN_modulation.1.bias',
];

test("state-dict keys of a nested model are exactly PyTorch's (DiT)", () => {
  torch.scope(() => {
    const m = torch.scope(() => new DiT());
    assert.deepEqual(Object.keys(m.stateDict()), DIT_KEYS);
    assert.deepEqual(
      m.namedParameters().map((e) => e[0]),
      DIT_KEYS,
    );
    assert.deepEqual(m.stateDict()['blocks.1.adaLN_modulation.1.weight'].shape, [48, 8]);
    assert.deepEqual(m.stateDict()['x_embedder.proj.weight'].shape, [8, 3, 2, 2]);
    assert.equal(m.pos_embed.requiresGrad, false);
    assert.deepEqual(
      m.namedChildren().map((e) => e[0]),
      ['x_embedder', 't_embedder', 'y_embedder', 'blocks', 'final_layer'],
    );
    assert.deepEqual(
      m
        .namedModules()
        .slice(0, 6)
        .map((e) => e[0]),
      ['', 'x_embedder', 'x_embedder.proj', 't_embedder', 't_embedder.mlp', 't_embedder.mlp.0'],
    );
    assert.equal(m.getSubmodule('blocks.1.adaLN_modulation.1'), m.blocks.at(1).adaLN_modulation.at(1));
    m.dispose();
  });
});

test('Sequential with names, ModuleDict in insertion order, registerModule in a loop', () => {
  torch.scope(() => {
    const seq = new nn.Sequential({ conv: new nn.Conv2d(1, 2, 1), act: new nn.SiLU(), out: new nn.Linear(2, 2, false) });
    assert.deepEqual(Object.keys(seq.stateDict()), ['conv.weight', 'conv.bias', 'out.weight']);
    const d = new nn.ModuleDict({ b: new nn.Linear(1, 1), a: new nn.Linear(1, 1) });
    d.set('10', new nn.Linear(1, 1, false)).set('2', new nn.Linear(1, 1, false));
    assert.deepEqual(Object.keys(d.stateDict()), ['b.weight', 'b.bias', 'a.weight', 'a.bias', '10.weight', '2.weight']);
    assert.deepEqual(d.keys(), ['b', 'a', '10', '2']);

    class Stack extends nn.Module {
      first = new nn.Linear(1, 1);
      constructor() {
        super();
        for (let i = 0; i < 3; i++) this.registerModule(`layer${i}`, new nn.Linear(1, 1, false));
        this.registerParameter('scale', new nn.Parameter(torch.ones(1)));
      }
    }
    assert.deepEqual(Object.keys(new Stack().stateDict()), ['scale', 'first.weight', 'first.bias', 'layer0.weight', 'layer1.weight', 'layer2.weight']);

    const list = new nn.ModuleList<nn.Linear>();
    list
      .append(new nn.Linear(1, 1))
      .extend([new nn.Linear(1, 1, false)])
      .insert(0, new nn.Linear(1, 1, false));
    assert.deepEqual(Object.keys(list.stateDict()), ['0.weight', '1.weight', '1.bias', '2.weight']);
    assert.equal(list.length, 3);
    assert.equal([...list].length, 3);
    assert.equal(list.at(-1), list.at(2));
  });
});

test('buffers: persistent ones in the state dict after own parameters, non-persistent ones only in buffers()', () => {
  torch.scope(() => {
    class WithBuffers extends nn.Module {
      declare running_mean: torch.Tensor;
      lin = new nn.Linear(2, 2);
      weight = new nn.Parameter(torch.ones(2));
      constructor() {
        super();
        this.registerBuffer('running_mean', torch.zeros(2));
        this.registerBuffer('cache', torch.zeros(3), { persistent: false });
      }
    }
    const m = new WithBuffers();
    assert.deepEqual(Object.keys(m.stateDict()), ['weight', 'running_mean', 'lin.weight', 'lin.bias']);
    assert.deepEqual(
      m.namedBuffers().map((e) => e[0]),
      ['running_mean', 'cache'],
    );
    // A buffer assigned inside a scope is kept (not freed when the scope exits).
    torch.scope(() => {
      m.running_mean = torch.full([2], 5);
    });
    assertClose(m.running_mean, [5, 5]);
    assert.equal(m.stateDict().running_mean.tolist()[0], 5);
  });
});

test('tied weights: parameters() lists them once, the state dict under both names', () => {
  torch.scope(() => {
    class TiedLM extends nn.Module {
      wte = new nn.Embedding(10, 4);
      lm_head = new nn.Linear(4, 10, false);
      constructor() {
        super();
        this.lm_head.weight = this.wte.weight;
      }
    }
    const m = new TiedLM();
    assert.deepEqual(
      m.namedParameters().map((e) => e[0]),
      ['wte.weight'],
    );
    assert.deepEqual(Object.keys(m.stateDict()), ['wte.weight', 'lm_head.weight']);
    assert.equal(m.numParameters(), 40);
  });
});

test('stateDict values are detached views sharing storage', () => {
  torch.scope(() => {
    const lin = new nn.Linear(2, 3);
    const sd = lin.stateDict();
    assert.equal(sd.weight.requiresGrad, false);
    torch.noGrad(() => lin.weight.fill_(7));
    assert.equal(sd.weight.tolist()[0][0], 7);
    assert.equal(lin.stateDict({ keepVars: true }).weight, lin.weight);
  });
});

test('loadStateDict: strict and non-strict, values copied, errors name the key and copy nothing', () => {
  torch.scope(() => {
    const a = new nn.Sequential(new nn.Linear(3, 2), new nn.LayerNorm(2));
    const b = new nn.Sequential(new nn.Linear(3, 2), new nn.LayerNorm(2));
    assert.deepEqual(b.loadStateDict(a.stateDict()), { missingKeys: [], unexpectedKeys: [] });
    assert.ok(
      b
        .at(0)
        .forward(torch.ones(1, 3))
        .equal(a.at(0).forward(torch.ones(1, 3))),
    );
    const lin = new nn.Linear(3, 2);
    const out: torch.Tensor = lin.call(torch.ones(1, 3));
    assert.ok(out.equal(lin.forward(torch.ones(1, 3))));
    assert.equal(new nn.Identity().call(5), 5);

    const sd = a.stateDict();
    const partial = { '0.weight': sd['0.weight'], 'extra.weight': torch.zeros(1) };
    assert.throws(
      () => b.loadStateDict(partial),
      (e: Error) =>
        /Missing key\(s\) in state_dict: "0.bias", "1.weight", "1.bias"/.test(e.message) && /Unexpected key\(s\) in state_dict: "extra.weight"/.test(e.message),
    );
    const r = b.loadStateDict(partial, { strict: false });
    assert.deepEqual(r, { missingKeys: ['0.bias', '1.weight', '1.bias'], unexpectedKeys: ['extra.weight'] });

    const before = (b.at(0) as nn.Linear).weight.tolist();
    const bad = { ...b.stateDict(), '0.bias': torch.zeros(2), '0.weight': torch.zeros(2, 4) };
    assert.throws(
      () => b.loadStateDict(bad),
      /size mismatch for 0\.weight: copying a param with shape \[2, 4\] from checkpoint, the shape in current model is \[2, 3\]/,
    );
    assert.deepEqual((b.at(0) as nn.Linear).weight.tolist(), before, 'nothing copied on error');

    const f64 = { ...b.stateDict(), '1.weight': torch.ones(2, { dtype: 'float64' }) };
    assert.throws(() => b.loadStateDict(f64), /dtype mismatch for 1\.weight: .*float64.*float32.*castDtype/);
    b.loadStateDict({ ...b.stateDict(), '1.weight': torch.full([2], 3, { dtype: 'float64' }) }, { castDtype: true });
    assertClose((b.at(1) as nn.LayerNorm).weight!, [3, 3]);
    assert.throws(() => b.loadStateDict({ ...b.stateDict(), '1.bias': torch.zeros(2, { dtype: 'int64' }) }, { castDtype: true }), /dtype mismatch for 1\.bias/);
  });
});

test('train()/eval() propagate to every descendant', () => {
  torch.scope(() => {
    const m = new DiT();
    assert.ok(m.modules().every((x) => x.training));
    m.eval();
    assert.ok(m.modules().every((x) => !x.training));
    m.blocks.train();
    assert.equal(m.training, false);
    assert.ok(m.blocks.modules().every((x) => x.training));
    m.dispose();
  });
});

test('to(dtype) casts floating parameters and buffers in place; optimizers keep working', () => {
  torch.scope(() => {
    class M extends nn.Module {
      lin = new nn.Linear(2, 2);
      constructor() {
        super();
        this.registerBuffer('count', torch.zeros(1, { dtype: 'int64' }));
        this.registerBuffer('scale', torch.ones(1));
      }
    }
    const m = new M();
    const w = m.lin.weight;
    const opt = new AdamW(m.parameters(), { lr: 0.1 });
    m.lin.forward(torch.ones(1, 2)).sum().backward();
    m.to('float64');
    assert.equal(m.lin.weight, w, 'same Parameter object');
    assert.equal(w.dtype, 'float64');
    assert.equal(w.requiresGrad, true);
    assert.equal(w.isLeaf, true);
    assert.equal(w.grad!.dtype, 'float64');
    assert.equal(m.buffers()[0].dtype, 'int64');
    assert.equal(m.buffers()[1].dtype, 'float64');
    opt.step();
    assert.equal(w.dtype, 'float64');
    opt.zeroGrad();
    m.lin
      .forward(torch.ones(1, 2, { dtype: 'float64' }))
      .sum()
      .backward();
    assert.equal(w.grad!.dtype, 'float64');
    assert.throws(() => m.to('int32'), /floating point/);
    m.float();
    assert.equal(w.dtype, 'float32');
    opt.dispose();
  });
});

test('numParameters, requiresGrad_, zeroGrad, apply order', () => {
  torch.scope(() => {
    const m = new nn.Sequential(new nn.Linear(3, 4), new nn.LayerNorm(4), new nn.Linear(4, 2, false));
    assert.equal(m.numParameters(), 3 * 4 + 4 + 4 + 4 + 8);
    (m.at(0) as nn.Linear).requiresGrad_(false);
    assert.equal(m.numParameters({ trainableOnly: true }), 16);
    m.requiresGrad_(true);
    m.forward(torch.ones(2, 3)).sum().backward();
    assert.ok(m.parameters().every((p) => p.grad !== null));
    m.zeroGrad(false);
    assert.ok(m.parameters().every((p) => p.grad!.abs().sum().item() === 0));
    m.zeroGrad();
    assert.ok(m.parameters().every((p) => p.grad === null));
    const order: string[] = [];
    m.apply((x) => order.push(x.constructor.name));
    assert.deepEqual(order, ['Linear', 'LayerNorm', 'Linear', 'Sequential']);
  });
});

test('Module.dispose frees parameters and buffers; construction in a scope leaves no temporaries', () => {
  const before = torch.memory().numTensors;
  const m = torch.scope(() => new DiT());
  const n = m.parameters().length;
  assert.equal(torch.memory().numTensors, before + n);
  m.dispose();
  assert.equal(torch.memory().numTensors, before);
  assert.ok(m.pos_embed.isDisposed);
});

test("printing follows PyTorch's repr", () => {
  torch.scope(() => {
    const m = new nn.Sequential(new nn.Linear(2, 3), new nn.GELU('tanh'), new nn.LayerNorm(3, { eps: 1e-6 }));
    assert.equal(
      m.toString(),
      [
        'Sequential(',
        '  (0): Linear(in_features=2, out_features=3, bias=True)',
        "  (1): GELU(approximate='tanh')",
        '  (2): LayerNorm((3,), eps=1e-06, elementwise_affine=True)',
        ')',
      ].join('\n'),
    );
    assert.match(new nn.Parameter(torch.ones(1)).toString(), /^Parameter containing:\ntensor\(\[1\.\], requires_grad=True\)$/);
  });
});
