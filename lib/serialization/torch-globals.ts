// The torch.* globals a checkpoint may name, resolved for the safe unpickler: storage classes,
// dtypes, torch.Size, torch.device and the tensor/parameter rebuild functions. Tensors are made
// by a TensorBuilder that the loader supplies (it owns the storage bytes). Also parses the
// persistent ids ('storage', StorageClass, key, location, numel) that point at storages.
import { Tensor } from '../core/tensor.js';
import type { DType } from '../core/dtype.js';
import { CheckpointError, wrapErrors } from './errors.js';
import { storageToDType, torchDTypeGlobals } from './dtypes.js';
import { PyGlobal, PyObject, describe } from './pickle.js';

/** A torch.<Name>Storage class (dtype null: a storage we cannot hold, e.g. complex). */
export class StorageType extends PyGlobal {
  constructor(
    module: string,
    name: string,
    readonly dtype: DType | null,
  ) {
    super(module, name);
  }
}
/** A torch.<dtype> global (dtype null when we cannot hold it). */
export class TorchDType extends PyGlobal {
  constructor(
    module: string,
    name: string,
    readonly dtype: DType | null,
  ) {
    super(module, name);
  }
}

/** A storage named by a persistent id; its bytes are the archive entry data/<key>. */
export class StorageRef {
  constructor(
    readonly key: string,
    readonly type: StorageType,
    readonly location: string,
    readonly numel: number,
  ) {}
  get dtype(): DType | null {
    return this.type.dtype;
  }
}

export interface TensorBuilder {
  /** A tensor with `size` and `stride` at element `offset` of the storage, read as `dtype` (default: the storage's). */
  rebuild(storage: StorageRef, offset: number, size: number[], stride: number[], dtype?: DType): Tensor;
}

export function parsePersistentId(pid: unknown, file: string): StorageRef {
  const bad = (msg: string): never => {
    throw new CheckpointError(file, `bad persistent id: ${msg}`);
  };
  if (!Array.isArray(pid) || pid.length < 5 || pid[0] !== 'storage') return bad(`expected ('storage', type, key, location, numel), got ${describe(pid)}`);
  const [, type, key, location, numel] = pid;
  if (!(type instanceof StorageType)) bad(`storage type is ${describe(type)}`);
  if (typeof key !== 'string' && typeof key !== 'number') bad(`storage key is ${describe(key)}`);
  if (typeof location !== 'string') bad(`storage location is ${describe(location)}`);
  if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) bad(`storage size ${String(numel)} is not a count`);
  return new StorageRef(String(key), type as StorageType, location as string, numel as number);
}

const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

/** Resolver for torch globals; `file` names the checkpoint in errors. */
export function torchGlobals(builder: TensorBuilder, file: string): (module: string, name: string) => PyGlobal | undefined {
  const fail = (fn: string, msg: string): never => {
    throw new CheckpointError(file, `${fn}: ${msg}`);
  };

  const rebuild = (fn: string, a: unknown[], requiresGrad: unknown, dtype?: unknown): Tensor => {
    const [storage, offset, size, stride] = a;
    if (!(storage instanceof StorageRef)) return fail(fn, `expected a storage, got ${describe(storage)}`);
    if (!isCount(offset)) fail(fn, `storage offset ${String(offset)} is not a count`);
    if (!Array.isArray(size) || !size.every(isCount)) fail(fn, `size ${describe(size)} is not a list of counts`);
    if (!Array.isArray(stride) || !stride.every(isCount) || stride.length !== (size as unknown[]).length)
      fail(fn, `stride ${describe(stride)} does not match size of ${(size as unknown[]).length} dims`);
    let dt: DType | undefined;
    if (dtype !== undefined) {
      if (!(dtype instanceof TorchDType)) return fail(fn, `dtype argument is ${describe(dtype)}`);
      if (!dtype.dtype) return fail(fn, `dtype torch.${dtype.name} is not supported`);
      dt = dtype.dtype;
    }
    const t = builder.rebuild(storage, offset as number, size as number[], stride as number[], dt);
    if (requiresGrad === true) wrapErrors(file, `${fn}: cannot set requires_grad`, () => t.requiresGrad_(true), `data/${storage.key}`);
    return t;
  };
  const param = (fn: string, data: unknown, requiresGrad: unknown): Tensor => {
    if (!(data instanceof Tensor)) return fail(fn, `expected a tensor, got ${describe(data)}`);
    if (typeof requiresGrad === 'boolean' && requiresGrad !== data.requiresGrad)
      wrapErrors(file, `${fn}: cannot set requires_grad`, () => data.requiresGrad_(requiresGrad));
    return data;
  };

  return (module, name) => {
    const g = (fn: (a: unknown[]) => unknown) => new PyGlobal(module, name, fn);
    if (module === 'torch' || module === 'torch.cuda') {
      if (name in storageToDType) return new StorageType(module, name, storageToDType[name]);
      if (name.endsWith('Storage') && name !== 'UntypedStorage') return new StorageType(module, name, null);
    }
    if ((module === 'torch' || module === 'torch.storage') && name === 'UntypedStorage') return new StorageType(module, name, 'uint8');
    if (module === 'torch' && name in torchDTypeGlobals) return new TorchDType(module, name, torchDTypeGlobals[name]);
    const q = `${module}.${name}`;
    switch (q) {
      case 'torch._utils._rebuild_tensor':
        return g((a) => rebuild(q, a, false));
      case 'torch._utils._rebuild_tensor_v2':
        return g((a) => rebuild(q, a, a[4]));
      case 'torch._utils._rebuild_tensor_v3':
        return g((a) => rebuild(q, a, a[4], a[6]));
      case 'torch._utils._rebuild_parameter':
      case 'torch._utils._rebuild_parameter_with_state':
        return g((a) => param(q, a[0], a[1]));
      case 'torch.nn.parameter.Parameter':
        return g((a) => param(q, a[0], a[1] ?? true));
      case 'torch._tensor._rebuild_from_type_v2':
        return g((a) => {
          // (func, new_type, args, state): rebuild with func; the Python subclass and its state are dropped.
          const [fn, , args] = a;
          if (fn instanceof PyGlobal && fn.call && Array.isArray(args)) return fn.call(args);
          return new PyObject(q, a);
        });
      case 'torch.Size':
        return g((a) => (Array.isArray(a[0]) ? [...a[0]] : []));
      case 'torch.device':
        return g((a) => (typeof a[1] === 'number' ? `${String(a[0])}:${a[1]}` : String(a[0])));
      case 'torch.serialization._get_layout':
        return g((a) => String(a[0]));
    }
    return undefined;
  };
}
