import type { SchedulerScheme } from "../wire/protocol/messages.js";
import type { SignedSocket } from "../wire/transport/signed-socket.js";
import type { CoreSlots } from "./core-slots.js";
import type { EngineControl } from "./engine-control.js";
import type { EngineRegistry } from "./engine-registry.js";
import type { OutputRelay } from "./output-relay.js";
import type { TaskRouting } from "./task-routing.js";
import type { TaskStream } from "./task-stream.js";
import type { TaskTable } from "./task-table.js";

/** The parts of a controller its message handlers work with (client-handlers.ts, engine-handlers.ts). */
export interface ControllerParts {
  readonly name: string;
  readonly scheme: SchedulerScheme;
  readonly registry: EngineRegistry;
  /** Slots of this host's core board, given to engines here at registration. */
  readonly cores: CoreSlots;
  readonly table: TaskTable;
  readonly tasks: TaskRouting;
  readonly control: EngineControl;
  readonly relay: OutputRelay;
  /** What engines ran lately, for live views. */
  readonly stream: TaskStream;
  /** The sockets clients and engines connect to. */
  readonly clients: SignedSocket;
  readonly engines: SignedSocket;
  /** How often engines are pinged, in ms (told to each engine at registration). */
  readonly heartbeatInterval: number;
  /** Stops the whole cluster (a client's `shutdown_request` with `hub`). */
  stop(): Promise<void>;
}
