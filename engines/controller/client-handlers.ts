import type {
  ClusterHandlers,
  ContentByType,
  EngineId,
  EngineQueueStatus,
  Message,
  MsgType,
  TaskRequestType,
} from "../wire/protocol/messages.js";
import { ControllerError } from "./controller-error.js";
import type { ControllerParts } from "./controller-parts.js";

/**
 * How the controller answers its clients: each handler gets the message and the client's routing
 * id. Task requests go to the task routing; control requests are answered here, refusals with
 * the ControllerError's code.
 */
export function clientHandlers(c: ControllerParts): ClusterHandlers<"controllerFromClient", Buffer> {
  const reply = <T extends MsgType>(client: Buffer, msg: Message, type: T, content: ContentByType[T]) =>
    void c.clients.send(type, content, { identities: [client], parent: msg.header });
  /** Runs a control action, answering with `ok(result)` or with the refusal it threw. */
  const answer = <T extends "scale_reply" | "restart_engine_reply" | "signal_reply", R>(
    client: Buffer,
    msg: Message,
    type: T,
    action: () => R | Promise<R>,
    ok: (result: R) => ContentByType[T],
  ) => {
    const refuse = (e: unknown) =>
      reply(client, msg, type, {
        status: "error",
        code: e instanceof ControllerError ? e.code : "LAUNCHER_FAILED",
        evalue: (e as Error).message,
      } as ContentByType[T]);
    try {
      void Promise.resolve(action()).then((r) => reply(client, msg, type, ok(r)), refuse);
    } catch (e) {
      refuse(e);
    }
  };
  const submit = (m: Message<TaskRequestType>, client: Buffer) => c.tasks.submit(m, client);
  return {
    execute_request: submit,
    apply_request: submit,
    push_request: submit,
    pull_request: submit,
    task_batch: (m, client) => c.tasks.submitBatch(m, client),
    connect_request: (m, client) =>
      reply(client, m, "connect_reply", {
        engines: c.control.infos(),
        scheme: c.scheme,
        hwm: c.tasks.scheduler.hwm,
        cluster: c.name,
      }),
    queue_status_request: (m, client) => {
      const engines: Record<string, EngineQueueStatus> = {};
      for (const r of c.registry.alive())
        engines[r.info.id] = {
          ...r.status,
          outstanding: r.outstanding.size,
          completed: r.completed,
          state: r.paused ? "paused" : r.status.busy ? "busy" : "idle",
        };
      reply(client, m, "queue_status_reply", {
        engines,
        unassigned: c.tasks.scheduler.queued,
        respawned: c.control.respawned,
        respawns_left: c.control.respawnsLeft,
      });
    },
    abort_request: (m, client) => {
      // Ids are strings; anything else is a malformed request, which aborts nothing.
      const ids: unknown = m.content.msg_ids;
      const wanted = Array.isArray(ids) ? ids.filter((id): id is string => typeof id === "string") : [];
      reply(client, m, "abort_reply", { aborted: c.tasks.abort(new Set(wanted), c.engines) });
    },
    signal_request: (m, client) =>
      answer(
        client,
        m,
        "signal_reply",
        () => c.control.signal(m.content.targets, m.content.signal),
        (signalled) => ({ status: "ok", signalled }),
      ),
    result_request: (m, client) => c.tasks.answerResult(m.content.msg_id, client, m.header),
    shutdown_request: (m, client) => {
      // Stopping the cluster takes a request that says exactly that: `hub: true`, not any truthy value.
      const { targets, hub } = m.content as { targets: unknown; hub: unknown };
      const ids = targets === "all" || (Array.isArray(targets) && targets.every((t) => Number.isInteger(t)));
      if (!ids || typeof hub !== "boolean") {
        reply(client, m, "shutdown_reply", {
          status: "error",
          code: "MALFORMED_REQUEST",
          evalue: 'shutdown_request needs targets ("all" or engine ids) and hub (true or false)',
        });
        return;
      }
      if (!hub) c.control.shutdown(targets as EngineId[] | "all");
      reply(client, m, "shutdown_reply", { status: "ok" });
      if (hub) void c.stop().then(() => process.exit(0));
    },
    scale_request: (m, client) =>
      answer(
        client,
        m,
        "scale_reply",
        () => c.control.scale(m.content.n),
        (engines) => ({ status: "ok", engines }),
      ),
    // A client's store is short of room: every engine collects garbage and releases what it can.
    store_collect: () => {
      for (const r of c.registry.alive())
        void c.engines.send("store_collect", {}, { identities: [r.identity] });
    },
    // A client let go of blocks of an engine's store: tell that engine, naming the client.
    store_release: (m, client) => {
      const { owner, blocks } = m.content;
      const engine = typeof owner === "string" ? c.registry.byUuid(owner) : undefined;
      if (!engine || !Array.isArray(blocks) || !blocks.every(Number.isSafeInteger)) return;
      void c.engines.send(
        "store_release",
        { owner, client: client.toString(), blocks },
        { identities: [engine.identity] },
      );
    },
    task_stream_request: (m, client) =>
      reply(client, m, "task_stream_reply", c.stream.summary(m.content ?? {})),
    restart_engine_request: (m, client) =>
      answer(
        client,
        m,
        "restart_engine_reply",
        () => c.control.restart(m.content.id),
        () => ({ status: "ok" }),
      ),
  };
}
