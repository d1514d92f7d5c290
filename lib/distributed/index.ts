// torch.distributed: c10d process groups, collectives, DistributedDataParallel, the launch environment.
export {
  initProcessGroup,
  destroyProcessGroup,
  isInitialized,
  isAvailable,
  isGlooAvailable,
  isNcclAvailable,
  getRank,
  getWorldSize,
  defaultProcessGroup,
  allReduce,
  broadcast,
  allGather,
  barrier,
  broadcastCoalesced,
  ReduceOp,
  ProcessGroup,
  Work,
  DistributedError,
  DEFAULT_TIMEOUT_MS,
  type Backend,
  type ReduceOpName,
  type InitOptions,
  type CollectiveOptions,
} from './process-group.js';
export { DistributedDataParallel, type DDPOptions } from './ddp.js';
export { readLaunchEnv, expandNodeList, type LaunchEnv } from './env.js';
export { allGatherRows } from './gather.js';
