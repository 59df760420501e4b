import type { Header } from "../wire/protocol/frames.js";
import {
  type EngineId,
  type LaneTaskRecord,
  type Message,
  TASK_REQUESTS,
} from "../wire/protocol/messages.js";
import type { EngineRecord, EngineRegistry } from "./engine-registry.js";
import type { TaskScheduler } from "./task-scheduler.js";
import type { TaskTable } from "./task-table.js";

/**
 * What the controller knows of tasks that clients sent straight to engines over lanes: it hears
 * of them only from the engines' records (`task_records`), after they ran. Until a record comes,
 * a placeholder stands for a lane task that a load-balanced task depends on, so the scheduler
 * waits for it (or knows where to follow it); a record completes the task in the table, frees a
 * load-balanced task's engine slot, and keeps a small reply for `getResult` from other clients.
 */
export class LaneLedger {
  constructor(
    private readonly registry: EngineRegistry,
    private readonly table: TaskTable,
    private readonly scheduler: TaskScheduler,
  ) {}

  /** A load-balanced task from `client` depends on these lane tasks (msg_id → engine). */
  awaitRecords(lane: Record<string, EngineId>, client: Buffer): void {
    for (const [msgId, engine] of Object.entries(lane)) {
      if (this.table.get(msgId) || this.table.wasEvicted(msgId)) continue;
      const rec = this.registry.get(engine);
      const header = { msg_id: msgId, msg_type: "apply_request" } as Header;
      const t = this.table.add({ msgId, type: "apply_request", header, client, engine, placeholder: true });
      if (rec) {
        t.state = "running";
        rec.outstanding.add(msgId);
      } else this.table.complete(msgId, "error", undefined); // its engine is gone: it failed
    }
  }

  /**
   * An engine's records of the tasks clients sent it over lanes. A message whose records are not
   * all well formed (a key holder's junk) is ignored whole, with one line in the log.
   */
  record(msg: Message<"task_records">, rec: EngineRecord | undefined): void {
    const records = (msg.content as { records?: unknown }).records;
    if (!Array.isArray(records) || !records.every(isLaneRecord)) {
      process.stderr.write(
        `[tsparallel controller] ignoring a malformed task_records from engine ${rec?.info.id ?? "?"}\n`,
      );
      return;
    }
    let at = 0;
    for (const r of records) {
      const frames = msg.buffers.slice(at, at + r.frames);
      at += r.frames;
      if (rec) {
        rec.outstanding.delete(r.msg_id);
        rec.completed++;
      }
      // A load-balanced task that went over a lane: its slot is free now.
      if (this.scheduler.owns(r.msg_id)) this.scheduler.finished(r.msg_id, r.outcome, rec?.info.id);
      const task =
        this.table.get(r.msg_id) ??
        this.table.add({
          msgId: r.msg_id,
          type: r.msg_type,
          header: { msg_id: r.msg_id, msg_type: r.msg_type } as Header,
          client: Buffer.from(r.client),
          engine: rec?.info.id,
        });
      task.engine = rec?.info.id ?? task.engine;
      task.placeholder = false;
      task.notKept = r.frames === 0;
      this.table.complete(r.msg_id, r.outcome, r.frames ? frames : undefined);
    }
    this.scheduler.dependenciesChanged();
  }
}

/** A lane task record as engines write it (see LaneTaskRecord). */
function isLaneRecord(r: unknown): r is LaneTaskRecord {
  if (typeof r !== "object" || r === null) return false;
  const x = r as Record<string, unknown>;
  return (
    typeof x.msg_id === "string" &&
    (TASK_REQUESTS as readonly unknown[]).includes(x.msg_type) &&
    typeof x.client === "string" &&
    (x.outcome === "ok" || x.outcome === "error" || x.outcome === "aborted") &&
    Number.isInteger(x.frames) &&
    (x.frames as number) >= 0
  );
}
