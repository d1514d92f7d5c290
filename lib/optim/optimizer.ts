// Optimizer: what AdamW and SGD share (torch.optim.Optimizer): parameter groups with their own
// hyper-parameters, per-parameter state that no scope owns, zeroGrad, and state dicts in
// PyTorch's layout: {state: {index: {...}}, param_groups: [{lr, ..., params: [index, ...]}]}.
import { Tensor } from '../core/tensor.js';
import { keep, scope } from '../core/scope.js';
import { aten } from '../core/aten.js';
import { scalarTensor } from '../core/creation.js';
import { enableGrad } from '../core/modes.js';

/** A group as given to a constructor: its tensors and any hyper-parameters to override. */
export type ParamGroupInput<O> = Partial<O> & { params: Iterable<Tensor> };
export type ParamGroup<O> = O & { params: Tensor[] };
/** A flat list of tensors (one group), or groups. */
export type ParamsInput<O> = Iterable<Tensor> | ParamGroupInput<O>[];

export type ParamState = Record<string, Tensor | number>;
export interface OptimizerStateDict {
  state: Record<number, Record<string, Tensor | number>>;
  param_groups: Record<string, unknown>[];
}

const toSnake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const toCamel = (k: string) => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

export abstract class Optimizer<O extends { lr: number }> {
  readonly defaults: O;
  readonly paramGroups: ParamGroup<O>[] = [];
  /** Per-parameter state, by the parameter object (PyTorch's names: step, exp_avg, momentum_buffer...). */
  readonly state = new Map<Tensor, ParamState>();

  constructor(params: ParamsInput<O>, defaults: O) {
    this.defaults = defaults;
    const list = [...params] as (Tensor | ParamGroupInput<O>)[];
    if (list.length === 0) throw new Error('optimizer got an empty parameter list');
    if (list[0] instanceof Tensor) this.addParamGroup({ params: list as Tensor[] } as unknown as ParamGroupInput<O>);
    else for (const g of list as ParamGroupInput<O>[]) this.addParamGroup(g);
  }

  addParamGroup(group: ParamGroupInput<O>): void {
    const params = [...group.params];
    for (const p of params) if (!(p instanceof Tensor)) throw new TypeError('optimizer can only optimize Tensors');
    if (new Set(params).size !== params.length) throw new Error('optimizer contains a parameter group with duplicate parameters');
    const seen = new Set(this.paramGroups.flatMap((g) => g.params));
    if (params.some((p) => seen.has(p))) throw new Error('some parameters appear in more than one parameter group');
    const g = { ...this.defaults, ...group, params } as ParamGroup<O>;
    this.validate(g);
    this.paramGroups.push(g);
  }

  /** Checks a group's hyper-parameters (throws RangeError). */
  protected validate(_g: ParamGroup<O>): void {}

  /** One update of every parameter that has a gradient; closure (if given) recomputes the loss. */
  step(closure?: () => Tensor): Tensor | undefined {
    const loss = closure ? enableGrad(closure) : undefined;
    scope(() => {
      for (const g of this.paramGroups) this.stepGroup(g);
    });
    return loss;
  }
  protected abstract stepGroup(group: ParamGroup<O>): void;

  /** Clears gradients: to null (default), or zeroes them in place in one foreach call. */
  zeroGrad(setToNone = true): void {
    const ps = this.paramGroups.flatMap((g) => g.params);
    if (setToNone) {
      for (const p of ps) p.grad = null;
      return;
    }
    scope(() => {
      const gs = ps.map((p) => p.grad).filter((g): g is Tensor => g !== null);
      if (gs.length) aten._foreach_zero_(gs);
    });
  }

  /** Parameters of a group that have a gradient, with their gradients (new handles, scope-owned). */
  protected withGrads(group: ParamGroup<O>): { params: Tensor[]; grads: Tensor[] } {
    const params: Tensor[] = [],
      grads: Tensor[] = [];
    for (const p of group.params) {
      const g = p.grad;
      if (g !== null) {
        params.push(p);
        grads.push(g);
      }
    }
    return { params, grads };
  }

  /**
   * PyTorch's layout. Parameters are numbered across groups in order; `step` becomes a float32
   * 0-d tensor (new, owned by the current scope); other state tensors are the live ones.
   */
  stateDict(): OptimizerStateDict {
    const state: OptimizerStateDict['state'] = {};
    const param_groups: Record<string, unknown>[] = [];
    let index = 0;
    for (const g of this.paramGroups) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(g)) if (k !== 'params') out[toSnake(k)] = Array.isArray(v) ? [...v] : v;
      const ids: number[] = [];
      for (const p of g.params) {
        const s = this.state.get(p);
        if (s) {
          const e: Record<string, Tensor | number> = {};
          for (const [k, v] of Object.entries(s)) e[k] = k === 'step' && typeof v === 'number' ? scalarTensor(v, 'float32') : v;
          state[index] = e;
        }
        ids.push(index++);
      }
      out.params = ids;
      param_groups.push(out);
    }
    return { state, param_groups };
  }

  /**
   * Restores hyper-parameters and state from stateDict() (or a PyTorch optimizer's state_dict).
   * State tensors are copied, cast to their parameter's dtype and device when floating.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    const groups = sd.param_groups;
    if (groups.length !== this.paramGroups.length) throw new Error('loaded state dict has a different number of parameter groups');
    const byIndex = new Map<number, Tensor>();
    groups.forEach((sg, i) => {
      const ids = sg.params as number[];
      const g = this.paramGroups[i];
      if (ids.length !== g.params.length) throw new Error("loaded state dict contains a parameter group that doesn't match the size of optimizer's group");
      ids.forEach((id, j) => byIndex.set(id, g.params[j]));
    });
    const newState = new Map<Tensor, ParamState>();
    scope(() => {
      for (const [id, s] of Object.entries(sd.state)) {
        const p = byIndex.get(Number(id));
        if (!p) throw new Error(`optimizer state has an entry for parameter ${id}, which no group holds`);
        const e: ParamState = {};
        for (const [k, v] of Object.entries(s)) {
          if (k === 'step') e[k] = v instanceof Tensor ? v.item() : Number(v);
          else if (v instanceof Tensor)
            e[k] = keep(v.isFloatingPoint() ? v.to({ dtype: p.dtype, device: p.device, copy: true }) : v.to({ device: p.device, copy: true }));
          else e[k] = v;
        }
        newState.set(p, e);
      }
    });
    this.disposeState();
    for (const [p, e] of newState) this.state.set(p, e);
    groups.forEach((sg, i) => {
      const g = this.paramGroups[i] as Record<string, unknown>;
      for (const [k, v] of Object.entries(sg)) if (k !== 'params') g[toCamel(k)] = Array.isArray(v) ? [...v] : v;
    });
  }

  private disposeState(): void {
    for (const s of this.state.values()) for (const v of Object.values(s)) if (v instanceof Tensor) v.dispose();
    this.state.clear();
  }

  /** Frees the optimizer's state tensors (not the parameters). */
  dispose(): void {
    this.disposeState();
  }
}
