// Module: torch.nn.Module. Parameters and child modules are the object's own fields that hold a
// Parameter or a Module, in the order the fields were first defined (class fields are defined in
// declaration order, others on first assignment), so the field name is the key: a field
// `adaLN_modulation` holding a Sequential gives `blocks.3.adaLN_modulation.1.weight`, as in PyTorch.
// Buffers are tensors registered with registerBuffer (persistent or not). A field holding a module
// that must not be a child (a back reference) belongs in a #private field.
import { Tensor } from '../core/tensor.js';
import { keep, scope, adoptHandle } from '../core/scope.js';
import { noGrad } from '../core/modes.js';
import { aten } from '../core/aten.js';
import { isFloating, normDtype, type DType, type DeviceLike } from '../core/dtype.js';
import { Parameter } from './parameter.js';

export type StateDict = Record<string, Tensor>;
export interface LoadStateDictOptions {
  /** Missing and unexpected keys are errors (default true). */
  strict?: boolean;
  /** Copy values of another floating dtype with a cast, as PyTorch does (default false: an error). */
  castDtype?: boolean;
}
export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

const shapeStr = (s: number[]) => `[${s.join(', ')}]`;

export class Module {
  /** Training mode (dropout and drop-path active); set with train()/eval(). */
  training = true;
  /** Registered buffer names, in registration order, with their persistence. */
  readonly #buffers = new Map<string, { value: Tensor | null; persistent: boolean }>();

  /** The computation; subclasses override it with their own signature. */
  forward(..._args: any[]): any {
    throw new Error(`${this.constructor.name} has no forward()`);
  }
  /** forward(...args), as calling a module in PyTorch. */
  call(...args: Parameters<this['forward']>): ReturnType<this['forward']> {
    return this.forward(...args);
  }

  // ---- registration ----------------------------------------------------------------------

  /** Own fields as [name, value] pairs; containers override this to list their entries. */
  protected _members(): [string, unknown][] {
    return Object.entries(this);
  }

  /** Adds a child under `name` (for names that are not fields, e.g. built in a loop). */
  registerModule<M extends Module | null>(name: string, module: M): M {
    checkName(name);
    if (module !== null && !(module instanceof Module)) throw new TypeError(`registerModule('${name}'): not a Module`);
    Object.defineProperty(this, name, { value: module, writable: true, enumerable: true, configurable: true });
    return module;
  }

  /** Adds a parameter under `name` (for names that are not fields). */
  registerParameter<P extends Parameter | null>(name: string, param: P): P {
    checkName(name);
    if (param !== null && !(param instanceof Parameter)) throw new TypeError(`registerParameter('${name}'): not a Parameter (wrap it: new Parameter(t))`);
    Object.defineProperty(this, name, { value: param, writable: true, enumerable: true, configurable: true });
    return param;
  }

  /**
   * Registers a buffer: a tensor saved in the state dict (unless persistent is false) and moved by
   * to(), but not trained. It becomes the field `name`; tensors assigned to it later are kept too.
   */
  registerBuffer<T extends Tensor | null>(name: string, tensor: T, opts: { persistent?: boolean } = {}): T {
    checkName(name);
    if (tensor !== null && !(tensor instanceof Tensor)) throw new TypeError(`registerBuffer('${name}'): not a Tensor`);
    const entry: { value: Tensor | null; persistent: boolean } = { value: tensor ? keep(tensor) : null, persistent: opts.persistent ?? true };
    this.#buffers.set(name, entry);
    Object.defineProperty(this, name, {
      get: () => entry.value,
      set: (v: Tensor | null) => {
        entry.value = v ? keep(v) : v;
      },
      enumerable: true,
      configurable: true,
    });
    return tensor;
  }

  // ---- own members -----------------------------------------------------------------------

  /** This module's own parameters (not its children's), null slots skipped. */
  ownParameters(): [string, Parameter][] {
    return this._members().filter((e): e is [string, Parameter] => e[1] instanceof Parameter);
  }

  /** This module's own buffers; with persistentOnly, those that go in the state dict. */
  ownBuffers(persistentOnly = false): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [name, b] of this.#buffers) {
      if (persistentOnly && !b.persistent) continue;
      const v = (this as any)[name];
      if (v instanceof Tensor) out.push([name, v]);
    }
    return out;
  }

  /** Direct children with their field names, each module once. */
  namedChildren(): [string, Module][] {
    const seen = new Set<Module>();
    const out: [string, Module][] = [];
    for (const [name, m] of this._rawChildren())
      if (!seen.has(m)) {
        seen.add(m);
        out.push([name, m]);
      }
    return out;
  }
  children(): Module[] {
    return this.namedChildren().map((e) => e[1]);
  }

  private _rawChildren(): [string, Module][] {
    return this._members().filter((e): e is [string, Module] => e[1] instanceof Module);
  }

  // ---- recursive views -------------------------------------------------------------------

  /** Every module in the tree, pre-order, each once, with its dotted name ('' for this one). */
  namedModules(prefix = '', memo = new Set<Module>()): [string, Module][] {
    if (memo.has(this)) return [];
    memo.add(this);
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, m] of this.namedChildren()) out.push(...m.namedModules(join(prefix, name), memo));
    return out;
  }
  modules(): Module[] {
    return this.namedModules().map((e) => e[1]);
  }

  /** All parameters with dotted names, each tensor once (a tied weight under its first name). */
  namedParameters(prefix = '', recurse = true): [string, Parameter][] {
    return this._namedMembers((m) => m.ownParameters(), prefix, recurse) as [string, Parameter][];
  }
  parameters(recurse = true): Parameter[] {
    return this.namedParameters('', recurse).map((e) => e[1]);
  }

  namedBuffers(prefix = '', recurse = true): [string, Tensor][] {
    return this._namedMembers((m) => m.ownBuffers(), prefix, recurse);
  }
  buffers(recurse = true): Tensor[] {
    return this.namedBuffers('', recurse).map((e) => e[1]);
  }

  private _namedMembers(get: (m: Module) => [string, Tensor][], prefix: string, recurse: boolean): [string, Tensor][] {
    const seen = new Set<Tensor>();
    const out: [string, Tensor][] = [];
    const mods: [string, Module][] = recurse ? this.namedModules(prefix) : [[prefix, this]];
    for (const [mp, m] of mods) {
      for (const [name, t] of get(m))
        if (!seen.has(t)) {
          seen.add(t);
          out.push([join(mp, name), t]);
        }
    }
    return out;
  }

  /** The module at a dotted path ('blocks.3.attn'); '' is this module. */
  getSubmodule(target: string): Module {
    let m: Module = this;
    if (target === '') return m;
    for (const part of target.split('.')) {
      const next = m._members().find((e) => e[0] === part)?.[1];
      if (!(next instanceof Module)) throw new Error(`${m.constructor.name} has no submodule '${part}' (in '${target}')`);
      m = next;
    }
    return m;
  }

  /** Number of parameter elements (tied tensors counted once). */
  numParameters(opts: { trainableOnly?: boolean } = {}): number {
    let n = 0;
    for (const p of this.parameters()) if (!opts.trainableOnly || p.requiresGrad) n += p.numel();
    return n;
  }

  // ---- modes -----------------------------------------------------------------------------

  /** Sets training mode here and in every descendant. */
  train(mode = true): this {
    this.training = mode;
    for (const m of this.children()) m.train(mode);
    return this;
  }
  eval(): this {
    return this.train(false);
  }

  /** Sets requiresGrad on every parameter (freezes with false). */
  requiresGrad_(requiresGrad = true): this {
    for (const p of this.parameters()) p.requiresGrad_(requiresGrad);
    return this;
  }

  /** Clears gradients: to null (default), or zeroes them in place. */
  zeroGrad(setToNone = true): void {
    const ps = this.parameters();
    if (setToNone) {
      for (const p of ps) p.grad = null;
      return;
    }
    scope(() => {
      const gs = ps.map((p) => p.grad).filter((g): g is Tensor => g !== null);
      if (gs.length) aten._foreach_zero_(gs);
    });
  }

  /** Calls fn on every descendant, children first, then on this module. */
  apply(fn: (m: Module) => void): this {
    for (const m of this.children()) m.apply(fn);
    fn(this);
    return this;
  }

  // ---- dtype and device ------------------------------------------------------------------

  /**
   * Moves parameters and buffers to a device and/or casts the floating ones to a floating dtype,
   * in place: each Parameter/buffer object keeps its identity (its data is swapped, as PyTorch's
   * `param.data = ...`), so optimizers and EMAs that hold them stay valid. Gradients follow.
   */
  to(target: DType | DeviceLike | { dtype?: DType | string; device?: DeviceLike }): this {
    let dtype: DType | undefined;
    let device: DeviceLike | undefined;
    if (typeof target === 'string') {
      let d: DType | null = null;
      try {
        d = normDtype(target);
      } catch {
        /* a device */
      }
      if (d) dtype = d;
      else device = target;
    } else {
      dtype = target.dtype === undefined ? undefined : normDtype(target.dtype);
      device = target.device;
    }
    if (dtype && !isFloating(dtype)) throw new TypeError(`Module.to only accepts floating point dtypes, but got ${dtype}`);
    const convert = (t: Tensor) => {
      const dt = dtype && t.isFloatingPoint() ? dtype : t.dtype;
      const dev = device ?? t.device;
      if (dt === t.dtype && sameDevice(dev, t.device)) return;
      if (dev === 'meta' || t.device === 'meta') {
        // set_data refuses meta ↔ real-device swaps (incompatible tensor types); like PyTorch's
        // Module._apply, make a new leaf (without the gradient), adopted by the same JS object so that references hold.
        const moved = t.to({ dtype: dt, device: dev }).detach();
        if (t.requiresGrad) moved.requiresGrad_(true);
        adoptHandle(t, moved);
        return;
      }
      aten.set_data(t, t.to({ dtype: dt, device: dev }));
      const g = t.grad;
      if (g) aten.set_data(g, g.to({ dtype: dt, device: dev }));
    };
    noGrad(() =>
      scope(() => {
        for (const t of this._allTensors()) convert(t);
      }),
    );
    return this;
  }
  float(): this {
    return this.to('float32');
  }
  double(): this {
    return this.to('float64');
  }
  half(): this {
    return this.to('float16');
  }
  bfloat16(): this {
    return this.to('bfloat16');
  }
  cpu(): this {
    return this.to({ device: 'cpu' });
  }
  cuda(device: number | string = 0): this {
    return this.to({ device: typeof device === 'number' ? `cuda:${device}` : device });
  }

  /** Parameters, then buffers, of the whole tree, each tensor once. */
  private _allTensors(): Tensor[] {
    return [...new Set<Tensor>([...this.parameters(), ...this.buffers()])];
  }

  // ---- state dict ------------------------------------------------------------------------

  /**
   * name → tensor for every parameter and persistent buffer, in PyTorch's order (own parameters,
   * own buffers, then each child). Values are detached views sharing storage (keepVars: the
   * Parameter objects themselves); the views are new handles owned by the current scope.
   */
  stateDict(opts: { prefix?: string; keepVars?: boolean } = {}): StateDict {
    const out: StateDict = {};
    const walk = (m: Module, prefix: string) => {
      for (const [name, p] of m.ownParameters()) out[prefix + name] = opts.keepVars ? p : p.detach();
      for (const [name, b] of m.ownBuffers(true)) out[prefix + name] = opts.keepVars ? b : b.detach();
      for (const [name, c] of m._rawChildren()) walk(c, prefix + name + '.');
    };
    walk(this, opts.prefix ?? '');
    return out;
  }

  /**
   * Copies values from a state dict into the parameters and persistent buffers (under noGrad).
   * Shape mismatches, and dtype mismatches unless castDtype, are errors naming the key; with
   * strict (default) so are missing and unexpected keys. Nothing is copied when any error occurs.
   */
  loadStateDict(sd: StateDict | Map<string, Tensor>, opts: LoadStateDictOptions = {}): LoadStateDictResult {
    const strict = opts.strict ?? true;
    const src = sd instanceof Map ? sd : new Map(Object.entries(sd));
    const targets: [string, Tensor][] = [];
    const walk = (m: Module, prefix: string) => {
      for (const e of m.ownParameters()) targets.push([prefix + e[0], e[1]]);
      for (const e of m.ownBuffers(true)) targets.push([prefix + e[0], e[1]]);
      for (const [name, c] of m._rawChildren()) walk(c, prefix + name + '.');
    };
    walk(this, '');
    const expected = new Set(targets.map((e) => e[0]));
    const missingKeys: string[] = [];
    const errors: string[] = [];
    const copies: [Tensor, Tensor][] = [];
    for (const [key, t] of targets) {
      const v = src.get(key);
      if (v === undefined || v === null) {
        missingKeys.push(key);
        continue;
      }
      if (!(v instanceof Tensor)) {
        errors.push(`value for ${key} is not a Tensor`);
        continue;
      }
      if (v.isDisposed) {
        errors.push(`value for ${key} is a disposed tensor`);
        continue;
      }
      const [ws, hs] = [v.shape, t.shape];
      if (ws.length !== hs.length || ws.some((s, i) => s !== hs[i])) {
        errors.push(`size mismatch for ${key}: copying a param with shape ${shapeStr(ws)} from checkpoint, the shape in current model is ${shapeStr(hs)}.`);
        continue;
      }
      if (v.dtype !== t.dtype && !(opts.castDtype && v.isFloatingPoint() && t.isFloatingPoint())) {
        errors.push(
          `dtype mismatch for ${key}: copying a param of dtype ${v.dtype} from checkpoint, the dtype in current model is ${t.dtype}` +
            (v.isFloatingPoint() && t.isFloatingPoint() ? ' (pass castDtype: true to cast).' : '.'),
        );
        continue;
      }
      copies.push([t, v]);
    }
    const unexpectedKeys = [...src.keys()].filter((k) => !expected.has(k));
    if (strict) {
      if (unexpectedKeys.length) errors.unshift(`Unexpected key(s) in state_dict: ${unexpectedKeys.map((k) => `"${k}"`).join(', ')}.`);
      if (missingKeys.length) errors.unshift(`Missing key(s) in state_dict: ${missingKeys.map((k) => `"${k}"`).join(', ')}.`);
    }
    if (errors.length) throw new Error(`Error(s) in loading state_dict for ${this.constructor.name}:\n\t${errors.join('\n\t')}`);
    noGrad(() => {
      for (const [t, v] of copies) t.copy_(v);
    });
    return { missingKeys, unexpectedKeys };
  }

  // ---- memory and printing ---------------------------------------------------------------

  /** Frees every parameter and buffer of the tree now (the module is unusable afterwards). */
  dispose(): void {
    for (const t of this._allTensors()) t.dispose();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** The part inside the parentheses of this module's printed form (as PyTorch's extra_repr). */
  extraRepr(): string {
    return '';
  }

  toString(): string {
    const kids = this._rawChildren().map(([name, m]) => `(${name}): ${m.toString().replace(/\n/g, '\n  ')}`);
    const extra = this.extraRepr();
    const lines = [...(extra ? extra.split('\n') : []), ...kids];
    const name = this.constructor.name;
    if (kids.length === 0 && lines.length <= 1) return `${name}(${extra})`;
    return `${name}(\n  ${lines.join('\n  ')}\n)`;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

function checkName(name: string): void {
  if (typeof name !== 'string' || name === '') throw new TypeError('module member name must be a non-empty string');
  if (name.includes('.')) throw new TypeError(`module member name can't contain ".", got: ${name}`);
}

function join(prefix: string, name: string): string {
  return prefix ? `${prefix}.${name}` : name;
}

function sameDevice(a: string, b: string): boolean {
  const n = (d: string) => (d === 'cuda' ? 'cuda:0' : d);
  return n(a) === n(b);
}
