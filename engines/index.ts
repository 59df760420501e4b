/**
 * tsparallel's parallel runtime: start a local cluster, or connect to one, and run work on its
 * engines through direct and load-balanced views.
 *
 * ```ts
 * import { Cluster } from "tsparallel";
 * const rc = await Cluster.start({ n: 2 });
 * await rc.view().apply(() => process.pid);
 * await rc.cluster?.stop();
 * ```
 */
export {
  type CancelOptions,
  InterruptedError,
  InvalidOptionError,
} from "./cancellation.js";
export { AsyncResult, type DisplayOutput, type TaskInfo } from "./client/async-result.js";
export {
  Client,
  type ClientEvents,
  type ClusterControl,
  type ConnectOptions,
  type Targets,
} from "./client/client.js";
export { DirectView, type ExecuteOptions } from "./client/direct-view.js";
export {
  ClusterError,
  type ClusterErrorCode,
  CompositeError,
  EngineError,
  RemoteError,
  TaskAborted,
  TaskTimeout,
} from "./client/errors.js";
export { type Dependency, type LoadBalancedFlags, LoadBalancedView } from "./client/load-balanced-view.js";
export type {
  Gathered,
  GatheredValue,
  PulledValue,
  RemoteName,
  RemoteNames,
} from "./client/remote-names.js";
export type { LaneBytes, TransferStats } from "./client/transfer-stats.js";
export {
  Cluster,
  type ClusterBaseOptions,
  type ClusterOptions,
  type LauncherChoice,
  type LauncherReport,
} from "./cluster.js";
export { LauncherError, type LauncherKind } from "./launchers/launcher.js";
export type { MPILauncherOptions } from "./launchers/mpi-launcher.js";
export type { SlurmLauncherOptions } from "./launchers/slurm-launcher.js";
export type { SSHHost } from "./launchers/ssh-host.js";
export type { SSHLauncherOptions } from "./launchers/ssh-launcher.js";
export { StoreError, type StoreErrorCode } from "./store/store-error.js";
export { StoreHandle } from "./store/store-handle.js";
export { ConnectionFileError, type ConnectionInfo } from "./wire/protocol/connection-file.js";
export type {
  EngineId,
  EngineInfo,
  EngineQueueStatus,
  EngineState,
  RefusalCode,
  SchedulerScheme,
  TaskStreamContent,
} from "./wire/protocol/messages.js";
export { SerializationError } from "./wire/values/serialize.js";
