import type { CoreBoardRef } from "../store/core-board.js";
import type { ObjectStore } from "../store/object-store.js";
import { type UnpackedPart, unpackParts } from "../wire/protocol/batch.js";
import type { MessageSink } from "../wire/protocol/message-codec.js";
import {
  type ClusterHandlers,
  isTaskRequest,
  type Message,
  type TaskRequestType,
} from "../wire/protocol/messages.js";
import type { StreamSocket } from "../wire/transport/stream-socket.js";
import type { TaskRunner } from "./task-runner.js";

/** What an engine's handlers act on. */
export interface EngineParts {
  readonly runner: TaskRunner;
  /** The controller accepted the registration and gave this id (and, on its host, its core board). */
  registered(id: number, board?: CoreBoardRef): void;
  /** Ends the engine process. */
  exit(code: number, why: string): void;
  /** Logs a message the engine dropped. */
  log(text: string): void;
  /** The engine's own store, where it places large replies for clients on its host. */
  readonly replies: ObjectStore | undefined;
  /** Places a value a client sends once for several engines of this host, and answers over `lane`. */
  placeForHost(m: Message<"store_place_request">, lane: StreamSocket): void;
  /** Runs a full collection now, so that blocks of clients' stores that tasks dropped go back. */
  collectDropped(): void;
}

/** What an engine does with the messages its controller sends (the `origin` of replies is the controller). */
export function controllerHandlers(e: EngineParts): ClusterHandlers<"engineFromController", MessageSink> {
  const task = (m: Message<TaskRequestType>, origin: MessageSink) => e.runner.add(m, origin);
  return {
    execute_request: task,
    apply_request: task,
    push_request: task,
    pull_request: task,
    task_batch: (m, origin) => {
      // The controller batches task requests only, each under the msg_id its index names (the
      // id it holds this engine's slot by). A part that is not that is refused, never obeyed, and
      // answered under the index's id, so the controller frees the slot and its client hears why.
      for (const part of unpackParts(m)) {
        const why = refusal(part);
        if (!why) e.runner.add(part.message as Message<TaskRequestType>, origin);
        else if (typeof part.entry.msg_id === "string") e.runner.refuse(part.entry.msg_id, why);
        else e.log(`ignoring a part of a task batch that names no msg_id (${why})`);
      }
    },
    registration_reply: (m) => {
      if (m.content.status === "ok") e.registered(m.content.id, m.content.board);
      else e.exit(1, `registration refused: ${m.content.evalue}`);
    },
    abort_request: (m) => void e.runner.abort(new Set(m.content.msg_ids)),
    shutdown_request: () => e.exit(0, "shutdown requested"),
    // A client's store is short of room: what user code dropped is finalized, and its blocks released.
    store_collect: () => e.collectDropped(),
    // A client let go of replies it had mapped from this engine's store, or an engine of this
    // host of a value placed for it.
    store_release: (m) => {
      const { client, sibling, blocks } = m.content;
      const holder = client ?? sibling;
      if (typeof holder !== "string" || !Array.isArray(blocks)) return;
      for (const b of blocks) e.replies?.release(b, holder);
    },
  };
}

/** Why a task batch's part must not run (undefined: it is the task request its index names). */
function refusal({ entry, message }: UnpackedPart): string | undefined {
  if (!message) return "the part of the task batch is malformed (not a message its index describes)";
  if (!isTaskRequest(message))
    return `the task batch's part is a ${message.header.msg_type}, not a task request: refused`;
  if (message.header.msg_id !== entry.msg_id)
    return `the task batch's index names msg_id ${String(entry.msg_id)} but its part is ${message.header.msg_id}: refused`;
  return undefined;
}

/**
 * What an engine does with the messages a client sends it over a lane: tasks, aborts and values
 * to place for the engines of its host, nothing else.
 */
export function laneHandlers(e: EngineParts): ClusterHandlers<"engineFromLane", StreamSocket> {
  const task = (m: Message<TaskRequestType>, lane: StreamSocket) => e.runner.add(m, lane, lane);
  return {
    execute_request: task,
    apply_request: task,
    push_request: task,
    pull_request: task,
    store_place_request: (m, lane) => e.placeForHost(m, lane),
    // A lane client waits for the answer; the controller does not.
    abort_request: (m, lane) =>
      void lane.send(
        "abort_reply",
        { aborted: e.runner.abort(new Set(m.content.msg_ids)) },
        { parent: m.header },
      ),
  };
}
