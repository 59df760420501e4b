import type { AnyMessage } from "../wire/protocol/messages.js";
import type { SignedSocket } from "../wire/transport/signed-socket.js";
import type { TaskTable } from "./task-table.js";

/**
 * Sends an engine's stream/display/execute_result messages to the one client whose task
 * produced them (ipyparallel publishes every engine's output to every client). Messages are
 * forwarded as received, signature included.
 */
export class OutputRelay {
  relayed = 0;
  orphaned = 0;

  constructor(
    private readonly clients: SignedSocket,
    private readonly table: TaskTable,
  ) {}

  relay(msg: AnyMessage): void {
    const parentId = (msg.parent_header as { msg_id?: string }).msg_id;
    const task = parentId ? this.table.get(parentId) : undefined;
    if (!task) {
      this.orphaned++;
      return;
    }
    this.relayed++;
    void this.clients.forward(msg, [task.client]);
  }
}
