import type { ClusterHandlers, Message, TaskReplyType } from "../wire/protocol/messages.js";
import type { ControllerParts } from "./controller-parts.js";

/**
 * How the controller handles what its engines send: each handler gets the message and the
 * engine's routing id (its uuid). Registration, status and leaving go to engine control,
 * replies and lane records to the task routing, outputs to the client whose task made them.
 */
export function engineHandlers(c: ControllerParts): ClusterHandlers<"controllerFromEngine", Buffer> {
  const reply = (m: Message<TaskReplyType>, identity: Buffer) => c.tasks.reply(m, identity);
  const output = (m: Message<"stream" | "display_data" | "execute_result">) => c.relay.relay(m);
  return {
    registration_request: (m, identity) => {
      const refused = c.control.refusal(m.content, identity);
      if (refused) {
        void c.engines.send(
          "registration_reply",
          { status: "error", evalue: refused },
          { identities: [identity], parent: m.header },
        );
        return;
      }
      // An engine repeats its request until answered: a repeat gets the same answer, and joins once.
      const repeat = c.registry.byUuid(m.content.uuid) !== undefined;
      const rec = c.control.register(m.content);
      const board = c.cores.refFor(rec);
      void c.engines.send(
        "registration_reply",
        { status: "ok", id: rec.info.id, hb_interval: c.heartbeatInterval, ...(board ? { board } : {}) },
        { identities: [identity], parent: m.header },
      );
      if (!repeat) c.control.joined(rec);
    },
    // An engine that exits on its own says so; it is leaving, not to be killed.
    unregistration_request: (m, identity) => {
      const rec = c.registry.byUuid(identity.toString());
      if (rec) c.control.left(rec, String(m.content.reason), Number(m.content.code ?? 1));
    },
    engine_status: (m, identity) => {
      const rec = c.registry.byUuid(identity.toString());
      if (rec) rec.status = m.content;
    },
    task_records: (m, identity) => c.tasks.lanes.record(m, c.registry.byUuid(identity.toString())),
    task_spans: (m, identity) => {
      const rec = c.registry.byUuid(identity.toString());
      if (rec) c.stream.record(rec.info.id, m.content);
    },
    assignment_received: (m) => {
      if (Array.isArray(m.content.msg_ids)) c.tasks.assignmentsReceived(m.content.msg_ids);
    },
    execute_reply: reply,
    apply_reply: reply,
    push_reply: reply,
    pull_reply: reply,
    reply_batch: (m, identity) => c.tasks.replyBatch(m, identity),
    store_release: (m, identity) => {
      const rec = c.registry.byUuid(identity.toString());
      const { owner, blocks } = m.content;
      if (!rec || typeof owner !== "string" || !Array.isArray(blocks) || !blocks.every(Number.isSafeInteger))
        return;
      // The owner is another engine of its host, which placed a value for it; or a client, whose
      // routing id is its session.
      const owning = c.registry.byUuid(owner);
      if (owning) {
        void c.engines.send(
          "store_release",
          { owner, sibling: rec.info.uuid, blocks },
          { identities: [owning.identity] },
        );
        return;
      }
      void c.clients.send(
        "store_release",
        { owner, engine: rec.info.id, blocks },
        { identities: [Buffer.from(owner)] },
      );
    },
    stream: output,
    display_data: output,
    execute_result: output,
  };
}
