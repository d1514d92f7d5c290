// Containers: Sequential, ModuleList, ModuleDict, with PyTorch's key names ('0', '1', ... for
// Sequential and ModuleList; the given keys, in insertion order, for ModuleDict).
import { Module } from './module.js';

/** Modules applied in order; children are named '0', '1', ... or by the keys of a record/Map. */
export class Sequential extends Module {
  readonly #modules = new Map<string, Module>();

  constructor(...modules: Module[] | [Record<string, Module> | Map<string, Module>]) {
    super();
    const first = modules[0];
    if (modules.length === 1 && !(first instanceof Module)) {
      const entries = first instanceof Map ? [...first] : Object.entries(first as Record<string, Module>);
      for (const [k, m] of entries) this.registerModule(k, m);
    } else {
      (modules as Module[]).forEach((m, i) => this.registerModule(String(i), m));
    }
  }

  protected override _members(): [string, unknown][] {
    return [...Object.entries(this), ...this.#modules];
  }
  override registerModule<M extends Module | null>(name: string, module: M): M {
    if (!(module instanceof Module)) throw new TypeError(`Sequential: '${name}' is not a Module`);
    this.#modules.set(name, module);
    return module;
  }

  get length(): number {
    return this.#modules.size;
  }
  /** The i-th module (negative counts from the end). */
  at(i: number): Module {
    const ms = [...this.#modules.values()];
    const m = ms[i < 0 ? i + ms.length : i];
    if (!m) throw new RangeError(`index ${i} is out of range for Sequential of length ${ms.length}`);
    return m;
  }
  append(m: Module): this {
    this.registerModule(String(this.#modules.size), m);
    return this;
  }
  [Symbol.iterator](): Iterator<Module> {
    return this.#modules.values();
  }

  override forward(x: any): any {
    for (const m of this.#modules.values()) x = m.forward(x);
    return x;
  }
}

/** A list of modules named '0', '1', ...; it has no forward. */
export class ModuleList<M extends Module = Module> extends Module {
  readonly #items: M[] = [];

  constructor(modules: Iterable<M> = []) {
    super();
    for (const m of modules) this.append(m);
  }

  protected override _members(): [string, unknown][] {
    return [...Object.entries(this), ...this.#items.map((m, i): [string, M] => [String(i), m])];
  }

  get length(): number {
    return this.#items.length;
  }
  at(i: number): M {
    const m = this.#items[i < 0 ? i + this.#items.length : i];
    if (!m) throw new RangeError(`index ${i} is out of range for ModuleList of length ${this.#items.length}`);
    return m;
  }
  append(m: M): this {
    if (!(m instanceof Module)) throw new TypeError('ModuleList.append: not a Module');
    this.#items.push(m);
    return this;
  }
  extend(ms: Iterable<M>): this {
    for (const m of ms) this.append(m);
    return this;
  }
  insert(index: number, m: M): this {
    if (!(m instanceof Module)) throw new TypeError('ModuleList.insert: not a Module');
    this.#items.splice(index < 0 ? index + this.#items.length : index, 0, m);
    return this;
  }
  [Symbol.iterator](): Iterator<M> {
    return this.#items[Symbol.iterator]();
  }
  map<T>(fn: (m: M, i: number) => T): T[] {
    return this.#items.map(fn);
  }
}

/** Modules by key, in insertion order (integer-like keys too); it has no forward. */
export class ModuleDict<M extends Module = Module> extends Module {
  readonly #items = new Map<string, M>();

  constructor(modules: Record<string, M> | Map<string, M> | Iterable<[string, M]> = {}) {
    super();
    const entries = modules instanceof Map || Symbol.iterator in modules ? [...(modules as Iterable<[string, M]>)] : Object.entries(modules);
    for (const [k, m] of entries) this.set(k, m);
  }

  protected override _members(): [string, unknown][] {
    return [...Object.entries(this), ...this.#items];
  }

  get size(): number {
    return this.#items.size;
  }
  get(key: string): M {
    const m = this.#items.get(key);
    if (!m) throw new Error(`ModuleDict has no key '${key}'`);
    return m;
  }
  set(key: string, m: M): this {
    if (!(m instanceof Module)) throw new TypeError(`ModuleDict: '${key}' is not a Module`);
    if (key === '' || key.includes('.')) throw new TypeError(`ModuleDict key can't be empty or contain ".", got: ${key}`);
    this.#items.set(key, m);
    return this;
  }
  has(key: string): boolean {
    return this.#items.has(key);
  }
  delete(key: string): boolean {
    return this.#items.delete(key);
  }
  keys(): string[] {
    return [...this.#items.keys()];
  }
  values(): M[] {
    return [...this.#items.values()];
  }
  entries(): [string, M][] {
    return [...this.#items];
  }
  [Symbol.iterator](): Iterator<string> {
    return this.#items.keys();
  }
}
