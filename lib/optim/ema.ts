// EMA of a model's trainable parameters (Semanticist §5.2: decay 0.999, fp32 shadows, updated
// after every optimizer step): ema ← lerp(ema, p, 1 − decay) = decay·ema + (1 − decay)·p, in a
// few foreach calls whatever the number of parameters.
import type { Tensor } from '../core/tensor.js';
import { keep, scope } from '../core/scope.js';
import { noGrad } from '../core/modes.js';
import { aten } from '../core/aten.js';
import { opIndexOrMissing } from '../core/ops.js';
import type { Module, StateDict } from '../nn/module.js';
import type { Parameter } from '../nn/parameter.js';

const hasForeachLerp = opIndexOrMissing('_foreach_lerp_', 'Scalar') >= 0;

export class EMA {
  readonly names: string[] = [];
  readonly params: Parameter[] = [];
  /** fp32 shadow copies, in namedParameters() order. */
  readonly shadows: Tensor[] = [];

  /** Shadows every parameter of model that requires grad, starting as fp32 copies. */
  constructor(
    model: Module,
    readonly decay = 0.999,
  ) {
    scope(() =>
      noGrad(() => {
        for (const [name, p] of model.namedParameters()) {
          if (!p.requiresGrad) continue;
          this.names.push(name);
          this.params.push(p);
          this.shadows.push(keep(p.detach().to({ dtype: 'float32', copy: true })));
        }
      }),
    );
  }

  /** ema ← ema + (1 − decay)·(p − ema), for all shadows at once. */
  update(): void {
    if (this.shadows.length === 0) return;
    const w = 1 - this.decay;
    scope(() =>
      noGrad(() => {
        if (hasForeachLerp) {
          // libtorch 2.x's _foreach_lerp_ wants `end` in the shadows' dtype (1.13 converted on the
          // fly): fp32 copies of non-fp32 parameters, freed with the scope (as the fallback's diffs).
          const ends = this.params.map((p) => (p.dtype === 'float32' ? p : p.to({ dtype: 'float32' })));
          (aten as any)._foreach_lerp_.Scalar(this.shadows, ends, w);
          return;
        }
        const diff: Tensor[] = aten._foreach_sub.List(this.params, this.shadows);
        aten._foreach_add_.List(this.shadows, diff, { alpha: w });
      }),
    );
  }

  /** name → shadow (the live fp32 tensors), as Semanticist's EMA checkpoint dict. */
  stateDict(): StateDict {
    const out: StateDict = {};
    this.names.forEach((n, i) => {
      out[n] = this.shadows[i];
    });
    return out;
  }

  /** Copies shadows in from a state dict (cast to fp32); strict: every name must be present. */
  loadStateDict(sd: StateDict, opts: { strict?: boolean } = {}): { missingKeys: string[]; unexpectedKeys: string[] } {
    const missingKeys = this.names.filter((n) => !(n in sd));
    const known = new Set(this.names);
    const unexpectedKeys = Object.keys(sd).filter((k) => !known.has(k));
    if ((opts.strict ?? true) && (missingKeys.length || unexpectedKeys.length))
      throw new Error(`EMA.loadStateDict: missing ${JSON.stringify(missingKeys)}, unexpected ${JSON.stringify(unexpectedKeys)}`);
    this.names.forEach((n, i) => {
      const v = sd[n];
      if (!v) return;
      if (v.shape.join() !== this.shadows[i].shape.join())
        throw new Error(`EMA.loadStateDict: size mismatch for ${n}: [${v.shape}] vs [${this.shadows[i].shape}]`);
    });
    noGrad(() =>
      this.names.forEach((n, i) => {
        if (sd[n]) this.shadows[i].copy_(sd[n]);
      }),
    );
    return { missingKeys, unexpectedKeys };
  }

  /** Writes the shadows into the model's parameters (cast to their dtype), e.g. for evaluation. */
  copyTo(model?: Module): void {
    const targets = model ? new Map(model.namedParameters()) : null;
    noGrad(() =>
      this.names.forEach((n, i) => {
        const p = targets ? targets.get(n) : this.params[i];
        if (!p) throw new Error(`EMA.copyTo: the model has no parameter '${n}'`);
        p.copy_(this.shadows[i]);
      }),
    );
  }

  /** Frees the shadows. */
  dispose(): void {
    for (const t of this.shadows) t.dispose();
  }
}
