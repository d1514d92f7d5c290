// The mixed blocks of the TF-compatible Inception-v3 (the 2015-12-05 graph that FID and IS are
// defined with). They differ from torchvision's Inception-v3 where the TF graph does: the average
// pools of the pool branches do not count the zero padding (TF's 'SAME' average pool), and the
// last block (Mixed_7c) pools its pool branch with a max pool. Field names are torch-fidelity's
// (branch1x1, branch5x5_1, ...), in its constructor order, so the state-dict keys and their order match.
import type { Tensor } from '../../core/tensor.js';
import { scope } from '../../core/scope.js';
import { cat } from '../../core/functions.js';
import { Module } from '../../nn/module.js';
import { avgPool2d, maxPool2d } from '../../nn/functional.js';
import { BasicConv2d } from './basic-conv.js';

/** 3×3 stride-1 average pool, padding 1, dividing by the number of real (unpadded) inputs. */
const avgPoolSame = (x: Tensor) => avgPool2d(x, 3, 1, 1, false, false);
/** 3×3 stride-2 max pool without padding (the grid reductions). */
const maxPoolReduce = (x: Tensor) => maxPool2d(x, 3, 2);

/** 35×35 block (Mixed_5b..5d): 1×1, 5×5, double 3×3 and pool branches. */
export class InceptionA extends Module {
  branch1x1: BasicConv2d;
  branch5x5_1: BasicConv2d;
  branch5x5_2: BasicConv2d;
  branch3x3dbl_1: BasicConv2d;
  branch3x3dbl_2: BasicConv2d;
  branch3x3dbl_3: BasicConv2d;
  branch_pool: BasicConv2d;

  constructor(inChannels: number, poolFeatures: number) {
    super();
    this.branch1x1 = new BasicConv2d(inChannels, 64, 1);
    this.branch5x5_1 = new BasicConv2d(inChannels, 48, 1);
    this.branch5x5_2 = new BasicConv2d(48, 64, 5, { padding: 2 });
    this.branch3x3dbl_1 = new BasicConv2d(inChannels, 64, 1);
    this.branch3x3dbl_2 = new BasicConv2d(64, 96, 3, { padding: 1 });
    this.branch3x3dbl_3 = new BasicConv2d(96, 96, 3, { padding: 1 });
    this.branch_pool = new BasicConv2d(inChannels, poolFeatures, 1);
  }

  override forward(x: Tensor): Tensor {
    return scope(() =>
      cat(
        [
          this.branch1x1.forward(x),
          this.branch5x5_2.forward(this.branch5x5_1.forward(x)),
          this.branch3x3dbl_3.forward(this.branch3x3dbl_2.forward(this.branch3x3dbl_1.forward(x))),
          this.branch_pool.forward(avgPoolSame(x)),
        ],
        1,
      ),
    );
  }
}

/** 35 → 17 grid reduction (Mixed_6a). */
export class InceptionB extends Module {
  branch3x3: BasicConv2d;
  branch3x3dbl_1: BasicConv2d;
  branch3x3dbl_2: BasicConv2d;
  branch3x3dbl_3: BasicConv2d;

  constructor(inChannels: number) {
    super();
    this.branch3x3 = new BasicConv2d(inChannels, 384, 3, { stride: 2 });
    this.branch3x3dbl_1 = new BasicConv2d(inChannels, 64, 1);
    this.branch3x3dbl_2 = new BasicConv2d(64, 96, 3, { padding: 1 });
    this.branch3x3dbl_3 = new BasicConv2d(96, 96, 3, { stride: 2 });
  }

  override forward(x: Tensor): Tensor {
    return scope(() =>
      cat([this.branch3x3.forward(x), this.branch3x3dbl_3.forward(this.branch3x3dbl_2.forward(this.branch3x3dbl_1.forward(x))), maxPoolReduce(x)], 1),
    );
  }
}

/** 17×17 block with factorised 7×7 convolutions (Mixed_6b..6e); c7 = channels inside the 7×7 branches. */
export class InceptionC extends Module {
  branch1x1: BasicConv2d;
  branch7x7_1: BasicConv2d;
  branch7x7_2: BasicConv2d;
  branch7x7_3: BasicConv2d;
  branch7x7dbl_1: BasicConv2d;
  branch7x7dbl_2: BasicConv2d;
  branch7x7dbl_3: BasicConv2d;
  branch7x7dbl_4: BasicConv2d;
  branch7x7dbl_5: BasicConv2d;
  branch_pool: BasicConv2d;

  constructor(inChannels: number, c7: number) {
    super();
    const row = { padding: [0, 3] as [number, number] },
      col = { padding: [3, 0] as [number, number] };
    this.branch1x1 = new BasicConv2d(inChannels, 192, 1);
    this.branch7x7_1 = new BasicConv2d(inChannels, c7, 1);
    this.branch7x7_2 = new BasicConv2d(c7, c7, [1, 7], row);
    this.branch7x7_3 = new BasicConv2d(c7, 192, [7, 1], col);
    this.branch7x7dbl_1 = new BasicConv2d(inChannels, c7, 1);
    this.branch7x7dbl_2 = new BasicConv2d(c7, c7, [7, 1], col);
    this.branch7x7dbl_3 = new BasicConv2d(c7, c7, [1, 7], row);
    this.branch7x7dbl_4 = new BasicConv2d(c7, c7, [7, 1], col);
    this.branch7x7dbl_5 = new BasicConv2d(c7, 192, [1, 7], row);
    this.branch_pool = new BasicConv2d(inChannels, 192, 1);
  }

  override forward(x: Tensor): Tensor {
    return scope(() => {
      const b7 = this.branch7x7_3.forward(this.branch7x7_2.forward(this.branch7x7_1.forward(x)));
      let d = this.branch7x7dbl_1.forward(x);
      for (const m of [this.branch7x7dbl_2, this.branch7x7dbl_3, this.branch7x7dbl_4, this.branch7x7dbl_5]) d = m.forward(d);
      return cat([this.branch1x1.forward(x), b7, d, this.branch_pool.forward(avgPoolSame(x))], 1);
    });
  }
}

/** 17 → 8 grid reduction (Mixed_7a). */
export class InceptionD extends Module {
  branch3x3_1: BasicConv2d;
  branch3x3_2: BasicConv2d;
  branch7x7x3_1: BasicConv2d;
  branch7x7x3_2: BasicConv2d;
  branch7x7x3_3: BasicConv2d;
  branch7x7x3_4: BasicConv2d;

  constructor(inChannels: number) {
    super();
    this.branch3x3_1 = new BasicConv2d(inChannels, 192, 1);
    this.branch3x3_2 = new BasicConv2d(192, 320, 3, { stride: 2 });
    this.branch7x7x3_1 = new BasicConv2d(inChannels, 192, 1);
    this.branch7x7x3_2 = new BasicConv2d(192, 192, [1, 7], { padding: [0, 3] });
    this.branch7x7x3_3 = new BasicConv2d(192, 192, [7, 1], { padding: [3, 0] });
    this.branch7x7x3_4 = new BasicConv2d(192, 192, 3, { stride: 2 });
  }

  override forward(x: Tensor): Tensor {
    return scope(() => {
      let b = this.branch7x7x3_1.forward(x);
      for (const m of [this.branch7x7x3_2, this.branch7x7x3_3, this.branch7x7x3_4]) b = m.forward(b);
      return cat([this.branch3x3_2.forward(this.branch3x3_1.forward(x)), b, maxPoolReduce(x)], 1);
    });
  }
}

/**
 * 8×8 block with split 1×3 / 3×1 outputs (Mixed_7b, Mixed_7c). pool 'avg' (Mixed_7b) is the
 * padding-excluding average pool; 'max' (Mixed_7c) a 3×3 stride-1 max pool with padding 1, as in
 * the TF graph (torch-fidelity's InceptionE_1 and InceptionE_2).
 */
export class InceptionE extends Module {
  branch1x1: BasicConv2d;
  branch3x3_1: BasicConv2d;
  branch3x3_2a: BasicConv2d;
  branch3x3_2b: BasicConv2d;
  branch3x3dbl_1: BasicConv2d;
  branch3x3dbl_2: BasicConv2d;
  branch3x3dbl_3a: BasicConv2d;
  branch3x3dbl_3b: BasicConv2d;
  branch_pool: BasicConv2d;
  readonly pool: 'avg' | 'max';

  constructor(inChannels: number, pool: 'avg' | 'max') {
    super();
    this.pool = pool;
    const row = { padding: [0, 1] as [number, number] },
      col = { padding: [1, 0] as [number, number] };
    this.branch1x1 = new BasicConv2d(inChannels, 320, 1);
    this.branch3x3_1 = new BasicConv2d(inChannels, 384, 1);
    this.branch3x3_2a = new BasicConv2d(384, 384, [1, 3], row);
    this.branch3x3_2b = new BasicConv2d(384, 384, [3, 1], col);
    this.branch3x3dbl_1 = new BasicConv2d(inChannels, 448, 1);
    this.branch3x3dbl_2 = new BasicConv2d(448, 384, 3, { padding: 1 });
    this.branch3x3dbl_3a = new BasicConv2d(384, 384, [1, 3], row);
    this.branch3x3dbl_3b = new BasicConv2d(384, 384, [3, 1], col);
    this.branch_pool = new BasicConv2d(inChannels, 192, 1);
  }

  override forward(x: Tensor): Tensor {
    return scope(() => {
      const s = this.branch3x3_1.forward(x);
      const d = this.branch3x3dbl_2.forward(this.branch3x3dbl_1.forward(x));
      const pooled = this.pool === 'avg' ? avgPoolSame(x) : maxPool2d(x, 3, 1, 1);
      return cat(
        [
          this.branch1x1.forward(x),
          this.branch3x3_2a.forward(s),
          this.branch3x3_2b.forward(s),
          this.branch3x3dbl_3a.forward(d),
          this.branch3x3dbl_3b.forward(d),
          this.branch_pool.forward(pooled),
        ],
        1,
      );
    });
  }
}
